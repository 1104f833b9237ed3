"""Hostile inputs that made the DEX kernels (GIL released, no budget check) quadratic or lose work.

Each test builds its input at test time from a real corpus DEX, patched with ``struct``.
"""

from __future__ import annotations

import struct

import numpy as np

from datasafety import scan
from datasafety.app.dex import kernels
from datasafety.app.dex.index import index_dex
from tests.conftest import apk_with, corpus_entry
from tests.traffic.conftest import har_entry, write_har

LEAK = "droidbench/Callbacks/LocationLeak1.apk"
SKIPPED_HOSTS = 46312  # string ids of _hosts_dex(1 << 18, 50_000) past the 4x budget (as string_hashes)


def _leak_dex() -> bytes:
    return corpus_entry(LEAK)


def _header(data: bytes, offset: int) -> int:
    return struct.unpack_from("<I", data, offset)[0]


def _apk_with_dex(tmp_path, name: str, dex: bytes):
    return apk_with(tmp_path / name, LEAK, {"classes.dex": dex})


def _pad4(d: bytearray) -> None:
    while len(d) % 4:
        d.append(0)


def _class_data_walk_dex(hostile: int, chunks: int) -> bytes:
    """The real class defs, then ``hostile`` more whose class data (distinct offsets) declare
    2^28 - 1 static fields: each walks the rest of the file looking for them."""
    d = bytearray(_leak_dex())
    _pad4(d)
    cd = len(d)
    d += b"\xff\xff\xff\x7f\x00\x00\x00" * chunks
    _pad4(d)
    count, off = _header(d, 0x60), _header(d, 0x64)
    rows = bytes(d[off : off + 32 * count])
    new_off = len(d)
    d += rows
    for i in range(hostile):
        row = bytearray(rows[32 * (i % count) : 32 * (i % count) + 32])
        struct.pack_into("<I", row, 24, cd + 7 * (i % chunks))
        d += row
    struct.pack_into("<II", d, 0x60, count + hostile, new_off)
    struct.pack_into("<I", d, 0x20, len(d))  # file_size
    return bytes(d)


def test_class_data_walks_share_one_budget(tmp_path):
    # Finding 1: before the budget, 8000 classes each skipped "fields" to the end of the
    # 1 MB file (minutes). Now the reads over all classes stop at twice the file's size.
    valid = index_dex(_leak_dex(), "classes.dex")
    data = _class_data_walk_dex(hostile=8000, chunks=80000)
    index = index_dex(data, "classes.dex")
    # The real classes come first and are read in full, as in the valid file.
    assert np.array_equal(index.def_method, valid.def_method)
    assert np.array_equal(index.def_code_off, valid.def_code_off)
    assert "classes.dex: 2 classes with malformed class data" in index.problems
    assert "classes.dex: 7998 classes with class data not read (class data overlaps beyond the file's size)" in index.problems

    report = scan(_apk_with_dex(tmp_path, "classdata.apk", data), flows=False)
    malformed = sorted(a.message for a in report.anomalies if a.code == "dex_malformed")
    assert malformed == [
        "classes.dex: 2 classes with malformed class data",
        "classes.dex: 7998 classes with class data not read (class data overlaps beyond the file's size)",
    ]


def test_valid_class_data_fits_the_budget():
    d = _leak_dex()
    index = index_dex(d, "classes.dex")
    assert not any("class data" in p for p in index.problems)
    assert len(index.def_method) == 2305


def _hosts_dex(run: int, ids: int) -> bytes:
    """String ids past the real ones all point into one ``run``-byte string without a NUL."""
    d = bytearray(_leak_dex())
    _pad4(d)
    ns, so = _header(d, 0x38), _header(d, 0x3C)
    real = bytes(d[so : so + 4 * ns])
    run_off = len(d)
    d += b"\x10" + b"A" * run
    _pad4(d)
    table = len(d)
    d += real + b"".join(struct.pack("<I", run_off + 1 + (i * 7) % run) for i in range(ids - ns))
    struct.pack_into("<II", d, 0x38, ids, table)
    struct.pack_into("<I", d, 0x20, len(d))
    return bytes(d)


def test_host_search_stops_at_the_budget_and_says_so(tmp_path):
    # Finding 5: strings_containing read every string to its (missing) NUL for each
    # observed host: ids x run bytes per host. Now it reads at most 4x the DEX size.
    dex = _hosts_dex(run=1 << 18, ids=50_000)
    buf = np.frombuffer(dex, dtype=np.uint8)
    index = index_dex(dex, "classes.dex")
    mask, skipped = kernels.strings_containing(buf, index.string_starts, np.frombuffer(b"example.com", np.uint8), np.int64(4 * len(dex)))
    assert skipped == SKIPPED_HOSTS
    assert not mask.any()

    har = write_har(tmp_path / "c.har", [har_entry("GET", "https://api.weather.example/w?lat=48.8584&lon=2.2945")])
    report = scan(_apk_with_dex(tmp_path, "hosts.apk", dex), flows=False, traffic=har)
    incomplete = [(a.message, a.location) for a in report.anomalies if a.code == "host_search_incomplete"]
    assert incomplete == [
        (
            f"classes.dex: {SKIPPED_HOSTS} strings not searched for observed hosts (string data overlaps beyond the file's size); "
            "the classes linked to an observation may be incomplete",
            "scan",
        )
    ]


def test_host_search_on_valid_dex_reads_everything():
    dex = _leak_dex()
    index = index_dex(dex, "classes.dex")
    buf = np.frombuffer(dex, dtype=np.uint8)
    mask, skipped = kernels.strings_containing(buf, index.string_starts, np.frombuffer(b"Location", np.uint8), np.int64(4 * len(dex)))
    assert skipped == 0
    expected = [i for i in range(len(index.string_starts)) if "Location" in index.string(i)]
    assert np.nonzero(mask)[0].tolist() == expected
    assert expected


def test_truncated_body_does_not_hide_later_methods():
    # Finding 6: one insns_size of 0xFFFFFFFF used to use up the sweep budget of the whole
    # file, so every later method was skipped (0 references instead of 10754).
    data = _leak_dex()
    valid = index_dex(data, "classes.dex")
    counts = np.bincount(valid.ref_row, minlength=len(valid.def_code_off))
    assert len(valid.ref_kind) == 10754
    row = 1274  # a method in the middle of the file, with 3 references
    code_off = int(valid.def_code_off[row])
    assert code_off and counts[row] == 3
    patched = bytearray(data)
    struct.pack_into("<I", patched, code_off + 12, 0xFFFFFFFF)
    index = index_dex(bytes(patched), "classes.dex")
    after = np.bincount(index.ref_row, minlength=len(valid.def_code_off))
    assert after[:row].sum() == 5226 == counts[:row].sum()
    assert after[row] == 0
    assert after[row + 1 :].sum() == 5525 == counts[row + 1 :].sum()
    assert np.array_equal(np.delete(after, row), np.delete(counts, row))
    assert len(index.ref_kind) == 10751
    assert index.problems == ["classes.dex: 1 method bodies truncated or out of bounds"]
