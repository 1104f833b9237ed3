"""The compiled DEX index against androguard's own instruction decoder, on real DEX files."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from datasafety.app.dex import kernels
from datasafety.app.dex.index import DexFormatError, index_dex
from tests.conftest import shared_path

INVOKES = set(range(0x6E, 0x73)) | set(range(0x74, 0x79)) | {0xFA, 0xFB}


def _androguard_refs(data: bytes) -> dict[int, list[tuple[int, int, int]]]:
    from loguru import logger

    logger.remove()
    from androguard.core.dex import DEX

    refs: dict[int, list[tuple[int, int, int]]] = {}
    for method in DEX(data).get_encoded_methods():
        code = method.get_code()
        if not code:
            continue
        found = []
        pc = 0
        for ins in code.get_bc().get_instructions():
            op = ins.get_op_value()
            if op in INVOKES:
                found.append((pc, kernels.REF_INVOKE, ins.BBBB))
            elif 0x52 <= op <= 0x5F:
                found.append((pc, kernels.REF_FIELD_READ if op - 0x52 < 7 else kernels.REF_FIELD_WRITE, ins.CCCC))
            elif 0x60 <= op <= 0x6D:
                found.append((pc, kernels.REF_FIELD_READ if op - 0x60 < 7 else kernels.REF_FIELD_WRITE, ins.BBBB))
            elif op == 0x1A:
                found.append((pc, kernels.REF_STRING, ins.BBBB))
            elif op == 0x1B:
                found.append((pc, kernels.REF_STRING, ins.BBBBBBBB))
            elif op in (0x1C, 0x22):
                found.append((pc, kernels.REF_TYPE, ins.BBBB))
            pc += ins.get_length() // 2
        refs[method.get_code_off()] = found
    return refs


@pytest.mark.parametrize(
    "apk,entry",
    [("exodus-core/instapaper.apk", "classes.dex"), ("npm-android-apidemos/ApiDemos-debug.apk", "classes.dex")],
)
def test_references_equal_androguard_decoding(apk, entry):
    data = zipfile.ZipFile(shared_path(apk)).read(entry)
    index = index_dex(data, entry)
    ours: dict[int, list[tuple[int, int, int]]] = {}
    for kind, target, pc, row in zip(index.ref_kind, index.ref_target, index.ref_pc, index.ref_row):
        ours.setdefault(int(index.def_code_off[row]), []).append((int(pc), int(kind), int(target)))
    theirs = _androguard_refs(data)
    assert len(theirs) == int(np.count_nonzero(index.def_code_off))
    mismatched = [off for off, refs in theirs.items() if ours.get(off, []) != refs]
    assert mismatched == []
    assert index.problems == []


def test_instapaper_tables():
    data = zipfile.ZipFile(shared_path("exodus-core/instapaper.apk")).read("classes.dex")
    index = index_dex(data)
    assert index.version == "035"
    assert len(index.class_type) == 4249
    assert len(index.def_method) == 26289
    assert len(index.ref_kind) == 177646
    (loc,) = index.find_strings("Landroid/location/LocationManager;")
    assert index.string(int(loc)) == "Landroid/location/LocationManager;"
    assert len(index.find_strings("no such string in this dex")) == 0
    (t,) = index.find_types("Landroid/location/LocationManager;")
    assert index.type_name(int(t)) == "Landroid/location/LocationManager;"


def test_not_a_dex_raises_format_error():
    with pytest.raises(DexFormatError):
        index_dex(b"PK\x03\x04" + b"\x00" * 200)


def test_truncated_dex_is_indexed_with_problems():
    data = zipfile.ZipFile(shared_path("exodus-core/instapaper.apk")).read("classes.dex")
    index = index_dex(data[: len(data) // 3], "cut.dex")
    assert index.problems  # truncation is reported, not raised
    assert len(index.ref_kind) < 177646


def test_garbage_after_header_never_crashes():
    data = bytearray(zipfile.ZipFile(shared_path("droidbench/Callbacks/LocationLeak1.apk")).read("classes.dex"))
    rng = np.random.default_rng(7)
    for _ in range(30):
        mutated = bytearray(data)
        for pos in rng.integers(0x70, len(data), size=200):
            mutated[int(pos)] = int(rng.integers(0, 256))
        index = index_dex(bytes(mutated), "fuzzed.dex")
        assert index.ref_kind.shape == index.ref_target.shape
