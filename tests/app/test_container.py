"""Inputs: split bundles, bare DEX, and the container anomalies, built from real APKs."""

from __future__ import annotations

import io
import struct
import zipfile

import pytest

from datasafety import scan
from datasafety.app.container import InputError, read_input
from tests.conftest import shared_path

LEAK = "droidbench/Callbacks/LocationLeak1.apk"
IMEI = "droidbench/GeneralJava/Loop1.apk"


def _rezip(src: bytes, extra: dict[str, bytes] | None = None, stored: bool = False) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(src)) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            zout.writestr(info.filename, data, compress_type=zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED)
        for name, data in (extra or {}).items():
            zout.writestr(name, data)
    return out.getvalue()


def test_split_bundle_reports_union_of_both_apks(tmp_path):
    base = shared_path(LEAK).read_bytes()
    split = shared_path(IMEI).read_bytes()
    bundle = tmp_path / "app.apks"
    with zipfile.ZipFile(bundle, "w") as zf:
        zf.writestr("base.apk", base)
        zf.writestr("split_feature.apk", split)
    report = scan(bundle)
    alone_base = scan(shared_path(LEAK))
    alone_split = scan(shared_path(IMEI))
    assert report.app.input_kind == "bundle"
    assert report.app.package == "de.ecspride"
    assert report.app.splits == ("split_feature.apk",)
    assert report.app.dex_count == 2

    def keyset(r):
        return {(c.data_type, c.api, c.caller_class, c.caller_method, c.pc) for c in r.call_sites}

    assert keyset(report) == keyset(alone_base) | keyset(alone_split)
    assert keyset(alone_split) - keyset(alone_base)  # the split adds call sites of its own
    assert {c.dex for c in report.call_sites} >= {"split_feature.apk:classes.dex"}


def test_xapk_suffix_is_a_bundle(tmp_path):
    bundle = tmp_path / "app.xapk"
    with zipfile.ZipFile(bundle, "w") as zf:
        zf.writestr("de.ecspride.apk", shared_path(LEAK).read_bytes())
        zf.writestr("manifest.json", b"{}")
    report = scan(bundle)
    assert report.app.input_kind == "bundle"
    assert [c.caller_class for c in report.call_sites] == ["de.ecspride.LocationLeak1"]


def test_bare_dex(tmp_path):
    dex = tmp_path / "classes.dex"
    dex.write_bytes(zipfile.ZipFile(shared_path(LEAK)).read("classes.dex"))
    report = scan(dex)
    assert report.app.input_kind == "dex"
    assert report.app.package == ""
    assert [(c.data_type, c.caller_class) for c in report.call_sites] == [("precise_location", "de.ecspride.LocationLeak1")]
    # No manifest: whether the permission is held is unknown, and the report says so.
    assert report.verdict("precise_location").verdict == "present_permission_unknown"
    assert ("manifest_missing", "bare DEX input: no manifest, so permissions, components and target SDK are unknown") in {
        (a.code, a.message) for a in report.anomalies
    }


def test_non_dex_files_named_like_dex_are_skipped_with_anomalies(tmp_path):
    apk = tmp_path / "odd.apk"
    apk.write_bytes(_rezip(shared_path(LEAK).read_bytes(), {"assets/classes.dex.dat": b"\x00" * 64, "classes2.dex": b"not a dex file at all"}))
    report = scan(apk)
    codes = sorted((a.code, a.message) for a in report.anomalies)
    assert ("dex_not_dex", "classes2.dex: named like a DEX file but has no DEX header; skipped") in codes
    assert ("dex_name_not_loaded", "assets/classes.dex.dat: looks like a DEX name but the runtime does not load it; skipped") in codes
    assert report.app.dex_count == 1
    assert len(report.call_sites) == 1


def test_bad_crc_and_duplicate_entry_are_anomalies(tmp_path):
    data = bytearray(_rezip(shared_path(LEAK).read_bytes(), stored=True))
    # Corrupt the CRC-32 of classes.dex in the central directory.
    cd = data.rfind(b"PK\x01\x02", 0)
    pos = 0
    while True:
        pos = data.find(b"PK\x01\x02", pos)
        if pos < 0:
            break
        name_len = struct.unpack_from("<H", data, pos + 28)[0]
        if bytes(data[pos + 46 : pos + 46 + name_len]) == b"classes.dex":
            struct.pack_into("<I", data, pos + 16, 0xDEADBEEF)
        pos += 4
    assert cd > 0
    apk = tmp_path / "badcrc.apk"
    apk.write_bytes(bytes(data))
    report = scan(apk)
    assert ("zip_bad_crc", "classes.dex: CRC-32 does not match the central directory") in {(a.code, a.message) for a in report.anomalies}
    assert len(report.call_sites) == 1  # still analysed

    dup = tmp_path / "dup.apk"
    with zipfile.ZipFile(io.BytesIO(shared_path(LEAK).read_bytes())) as zin, zipfile.ZipFile(dup, "w") as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info.filename))
        with pytest.warns(UserWarning):
            zout.writestr("classes.dex", zin.read("classes.dex"))
    report = scan(dup)
    assert "zip_duplicate_entry" in {a.code for a in report.anomalies}


@pytest.mark.parametrize(
    "content,message",
    [
        (b"", "not an APK, split bundle or DEX file"),
        (b"hello world" * 100, "not an APK, split bundle or DEX file"),
    ],
)
def test_unreadable_input_raises_one_line_input_error(tmp_path, content, message):
    path = tmp_path / "x.apk"
    path.write_bytes(content)
    with pytest.raises(InputError) as err:
        read_input(path)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_zip_without_manifest_or_dex_is_unusable(tmp_path):
    path = tmp_path / "empty.apk"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("README", b"nothing here")
    with pytest.raises(InputError, match="neither a readable AndroidManifest.xml nor a DEX file"):
        read_input(path)


def test_janus_prepended_dex(scan_apk):
    report = scan_apk("fdroidserver/janus.apk")
    codes = {a.code for a in report.anomalies}
    assert {"dex_prepended_to_zip", "dex_duplicate_class"} <= codes
    assert report.app.package == "com.example"
    assert report.app.dex_count == 2


def test_bundle_of_foreign_split_and_without_base_are_flagged(tmp_path):
    mixed = tmp_path / "mixed.apks"
    with zipfile.ZipFile(mixed, "w") as zf:
        zf.writestr("base.apk", shared_path(LEAK).read_bytes())
        zf.writestr("split_other.apk", shared_path("exodus-core/instapaper.apk").read_bytes())
    report = scan(mixed)
    messages = {(a.code, a.message) for a in report.anomalies}
    assert ("bundle_package_mismatch", "split_other.apk belongs to com.olivierpayen.leaninstapaper, not de.ecspride; analysed as part of the app") in messages
    assert "bundle_signer_mismatch" in {a.code for a in report.anomalies}
    assert "bundle_several_bases" in {a.code for a in report.anomalies}
