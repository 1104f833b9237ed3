"""Hostile inputs found by adversarial testing: each gives a report with anomalies, bounded."""

from __future__ import annotations

import os
import resource
import struct
import subprocess
import sys
import zipfile

from datasafety import scan
from datasafety.app.dex.index import index_dex
from tests.conftest import apk_with, corpus_entry, shared_path

LEAK = "droidbench/Callbacks/LocationLeak1.apk"


def _leak_dex() -> bytes:
    return corpus_entry(LEAK)


def _apk_with(tmp_path, name: str, entries: dict[str, bytes]):
    return apk_with(tmp_path / name, LEAK, entries)


def test_class_defs_sharing_one_class_data_item_are_read_once():
    data = bytearray(_leak_dex())
    count, offset = struct.unpack_from("<II", data, 0x60)
    first = struct.unpack_from("<I", data, offset + 6 * 4)[0]
    assert first
    for i in range(count):
        struct.pack_into("<I", data, offset + 32 * i + 24, first)
    index = index_dex(bytes(data), "shared.dex")
    assert f"shared.dex: {count - 1} class defs share another's class data (ignored)" in index.problems
    assert len(index.def_method) < 50


def test_methods_sharing_one_code_item_are_swept_once(monkeypatch):
    from datasafety.app.dex import index as index_mod

    seen = {}
    real = index_mod.kernels.scan_code

    def spy(buf, offs, widths, limits):
        seen["offs"] = offs
        return real(buf, offs, widths, limits)

    monkeypatch.setattr(index_mod.kernels, "scan_code", spy)
    index = index_dex(_leak_dex(), "ok.dex")
    nonzero = seen["offs"][seen["offs"] != 0]
    assert len(set(nonzero.tolist())) == len(nonzero)  # a valid DEX never shares code items
    assert not any("share" in p for p in index.problems)


def test_zip_bomb_dex_is_skipped_without_inflating_it(tmp_path):
    path = tmp_path / "bomb.apk"
    src = zipfile.ZipFile(shared_path(LEAK))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        out.writestr("AndroidManifest.xml", src.read("AndroidManifest.xml"))
        with out.open("classes.dex", "w") as entry:
            entry.write(src.read("classes.dex")[:0x70])
            for _ in range(12):  # 192 MB of zeros: far past 10x this small file + 64 MB
                entry.write(bytes(1 << 24))
    assert path.stat().st_size < 1_000_000
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    report = scan(path, flows=False)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert [a.code for a in report.anomalies if a.code == "zip_bomb"] == ["zip_bomb"]
    assert report.app.dex_count == 0
    assert grown_mb < 150


def test_fifo_is_rejected_not_waited_on(tmp_path):
    fifo = tmp_path / "app.apk"
    os.mkfifo(fifo)
    result = subprocess.run([sys.executable, "-m", "datasafety.cli", "scan", str(fifo)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().endswith("not a regular file (device, FIFO or socket)")


def test_usage_errors_are_one_line():
    for args in (["scan", "--jobs", "0", "x.apk"], ["scan"], ["bogus"], ["scan", "--time-budget", "-1", "x.apk"]):
        result = subprocess.run([sys.executable, "-m", "datasafety.cli", *args], capture_output=True, text=True, timeout=60)
        assert result.returncode == 2, args
        assert len(result.stderr.strip().splitlines()) == 1, (args, result.stderr)
        assert result.stderr.startswith("datasafety: ")


def test_anomaly_messages_are_single_lines(tmp_path):
    path = _apk_with(tmp_path, "nl.apk", {"assets/classes\n.dex.dat": b"x"})
    report = scan(path, flows=False)
    assert all("\n" not in a.message for a in report.anomalies)
