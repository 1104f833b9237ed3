"""The register IR decoder: hand-built code units, and every method of real apps against androguard."""

from __future__ import annotations

import numpy as np
import pytest

from datasafety.analysis.taint import ir
from datasafety.app.model import load_app
from tests.conftest import shared_path


def units(*words: int) -> np.ndarray:
    return np.array(words, dtype=np.uint16)


def test_formats_and_operands():
    code = units(
        0x0312,          # 0: const/4 v3, #0
        0x011A, 0x0005,  # 1: const-string v1, string@5
        0x206E, 0x0007, 0x0013,  # 3: invoke-virtual {v3, v1}, meth@7
        0x000C,          # 6: move-result-object v0
        0x0038, 0x0004,  # 7: if-eqz v0, +4 -> 11
        0x0252, 0x0009,  # 9: iget v2, v0, field@9
        0x000E,          # 11: return-void
    )
    insns, at, truncated = ir.decode_units(code)
    assert not truncated
    assert [(i.pc, i.kind) for i in insns] == [
        (0, ir.CONST), (1, ir.CONST_STRING), (3, ir.INVOKE), (6, ir.MOVE_RESULT), (7, ir.IFZ), (9, ir.IGET), (11, ir.RETURN)
    ]
    assert (insns[0].a, insns[0].lit) == (3, 0)
    assert (insns[1].a, insns[1].idx) == (1, 5)
    assert (insns[2].idx, insns[2].sub, insns[2].args) == (7, 0, (3, 1))
    assert (insns[4].a, insns[4].sub, insns[4].targets) == (0, "eq", (11,))
    assert (insns[5].a, insns[5].b, insns[5].idx) == (2, 0, 9)


def test_packed_switch_payload_is_read_and_skipped():
    code = units(
        0x002B, 0x0004, 0x0000,  # 0: packed-switch v0, payload at +4
        0x000E,                  # 3: return-void
        0x0100, 0x0002, 0x0015, 0x0000, 0x0003, 0x0000, 0x0003, 0x0000,  # 4: payload, keys 21, 22 -> +3, +3
    )
    insns, at, _ = ir.decode_units(code)
    assert [i.pc for i in insns] == [0, 3]
    assert (insns[0].keys, insns[0].targets) == ((21, 22), (3, 3))


def test_truncated_code_stops_without_raising():
    insns, _, truncated = ir.decode_units(units(0x0312, 0x206E, 0x0007))
    assert truncated and [i.pc for i in insns] == [0]


@pytest.mark.parametrize("relative", ["droidbench/GeneralJava/Exceptions5.apk", "droidbench/Callbacks/Button2.apk"])
def test_instruction_offsets_equal_androguard(relative):
    from androguard.core.dex import DEX

    app = load_app(shared_path(relative))
    dex = app.dex[0]
    theirs = {}
    for cls in DEX(dex.data).get_classes():
        for m in cls.get_methods():
            if m.get_code() is None:
                continue
            pcs, pc = [], 0
            for insn in m.get_instructions():
                if not insn.get_name().endswith("-payload"):
                    pcs.append(pc)
                pc += insn.get_length() // 2
            theirs[(cls.get_name(), m.get_name(), m.get_descriptor().replace(" ", ""))] = pcs
    checked = 0
    for row in range(len(dex.def_class)):
        code = ir.decode_method(dex, row)
        if code is None:
            continue
        key = dex.method_ref(int(dex.def_method[row]))
        assert [i.pc for i in code.insns] == theirs[key], key
        checked += 1
    assert checked == len(theirs)
