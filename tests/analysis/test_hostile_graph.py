"""Hostile DEX files against the call-graph kernels: the work stays bounded and every cut is reported.

Each test builds its hostile input at test time: a real corpus DEX patched with ``struct``
(repacked into an APK in ``tmp_path``), or small arrays given to the kernels directly.
"""

from __future__ import annotations

import struct

import numpy as np
from tests.conftest import apk_with, corpus_entry, shared_path

from datasafety import scan
from datasafety.analysis import callgraph
from datasafety.analysis import graph_kernels as g

I64 = np.int64
INSTAPAPER = "exodus-core/instapaper.apk"
SMALL = "droidbench/Callbacks/Button1.apk"


def _instapaper_with_header(tmp_path, name: str, field: int, value_of: int):
    """instapaper.apk repacked with the classes.dex header field at ``field`` set to the value of the one at ``value_of``."""

    dex = bytearray(corpus_entry(INSTAPAPER))
    struct.pack_into("<I", dex, field, struct.unpack_from("<I", dex, value_of)[0])
    return apk_with(tmp_path / name, INSTAPAPER, {"classes.dex": bytes(dex)})


def _capped(report) -> list[str]:
    return [a.message for a in report.anomalies if a.code == "call_graph_capped"]


# -------------------------------------------------------- 2. type_list amplification
def test_proto_lists_read_once_and_capped(tmp_path):
    # proto_ids_size = type_ids_off: about 90k protos read from type_ids and string data, so most
    # parameters_off point at a few long "lists". Before: 6 GB; each offset is now read once.
    report = scan(_instapaper_with_header(tmp_path, "proto.apk", 0x48, 0x44))  # proto_ids_size <- type_ids_off
    assert _capped(report) == [
        "DEX 0: the protos' parameter lists hold more entries than the file can; methods past the limit have an unknown signature"
    ]
    assert "reachability" in report.incomplete


def test_protos_read_from_data_have_no_parameters(tmp_path):
    # proto_ids_off = data_off: the protos' parameter lists are garbage, some "lists" tens of
    # thousands of entries long. No method takes more than 255 parameters (the 8-bit argument
    # count of invoke/range), so such a list reads as none. Before: 80 s and 915 MB in the flows.
    report = scan(_instapaper_with_header(tmp_path, "protos_in_data.apk", 0x4C, 0x6C))  # proto_ids_off <- data_off
    assert report.incomplete == ("reachability",)
    assert {a.code for a in report.anomalies} == {"call_graph_capped"}
    assert max(len(c.api_descriptor) for c in report.call_sites) < 4096


def test_type_lists_one_read_per_offset_and_item_cap():
    # one list of 3 entries (a duplicate among them) at offset 4, named by 10000 offsets
    buf = np.array([0, 0, 0, 0, 3, 0, 0, 0, 1, 0, 2, 0, 1, 0], dtype=np.uint8)
    buf.flags.writeable = False
    status = np.zeros(1, np.uint8)
    ptr, items, list_of = callgraph._read_type_lists(buf, np.full(10000, 4, dtype=I64), 5, status)
    assert ptr.tolist() == [0, 2] and items.tolist() == [1, 2] and set(list_of.tolist()) == {0}
    assert status[0] == 0
    # a list longer than the cap is read as empty, and the cut is flagged
    ptr, items = g.type_lists(buf, np.array([4], dtype=I64), I64(5), I64(2), status)
    assert ptr.tolist() == [0, 0] and status[0] == 1


def test_supertypes_with_many_repeated_interfaces_is_linear():
    # class 0 implements interface 1 a million times (as an alias-heavy file could make it look)
    n = 1_000_000
    cg = callgraph.CallGraph.__new__(callgraph.CallGraph)
    cg.type_super = np.array([-1, -1], dtype=I64)
    cg.iface_ptr = np.array([0, n, n], dtype=I64)
    cg.ifaces = np.ones(n, dtype=I64)
    assert cg.supertypes(0) == [0, 1]


# ------------------------------------------------------------ 3. CHA pair explosion
def _fan(n_sub: int):
    """Type 0 with ``n_sub`` concrete subclasses; one method (type 0, subsig 7) with code."""
    type_super = np.concatenate([[-1], np.zeros(n_sub, dtype=I64)]).astype(I64)
    child_ptr = np.concatenate([[0], np.full(n_sub + 1, n_sub)]).astype(I64)
    children = np.arange(1, n_sub + 1, dtype=I64)
    concrete = np.concatenate([[False], np.ones(n_sub, dtype=bool)])
    return type_super, concrete, child_ptr, children


def test_cha_pairs_stop_at_the_limit():
    ts, conc, cp, ch = _fan(10_000)
    st, ss, order, code = np.array([0], I64), np.array([7], np.uint64), np.array([0], I64), np.array([True])
    nq = 10_000  # 10k call sites x 10k receivers: 10^8 pairs without a limit
    status = np.zeros(1, np.uint8)
    ptr, recv, targ = g.cha_targets(ts, conc, cp, ch, st, ss, order, code, np.zeros(nq, I64), np.full(nq, 7, np.uint64),
                                    I64(25_000), I64(-1), status)
    assert status[0] == 1 and len(recv) == 25_000
    assert ptr[-1] == 25_000 and np.all(np.diff(ptr) >= 0)
    assert ptr[1] - ptr[0] == 10_000 and ptr[4] == 25_000


def test_pipeline_reports_cha_pair_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(callgraph, "_CHA_PAIRS_MIN", 0)
    monkeypatch.setattr(callgraph, "_CHA_PAIRS_PER_METHOD", 0)
    report = scan(shared_path(SMALL))
    capped = _capped(report)
    assert len(capped) == 1 and capped[0].startswith("class-hierarchy dispatch stopped at 0 (receiver, target) pairs")
    assert "reachability" in report.incomplete


# ----------------------------------------------------- 4. CHA and callback step budget
def _chain(n: int):
    """Types 0 <- 1 <- ... <- n-1 (each the superclass of the next), all concrete; no methods."""
    type_super = np.arange(-1, n - 1, dtype=I64)
    child_ptr = np.concatenate([np.arange(n, dtype=I64), [n - 1]]).astype(I64)
    children = np.arange(1, n, dtype=I64)
    return type_super, np.ones(n, dtype=bool), child_ptr, children


def test_cha_steps_stop_at_the_budget():
    ts, conc, cp, ch = _chain(8000)  # each query: 8000 classes x a 256-step climb; 8000 queries
    st, ss, order, code = np.array([0], I64), np.array([7], np.uint64), np.array([0], I64), np.array([False])
    status = np.zeros(1, np.uint8)
    ptr, recv, _ = g.cha_targets(ts, conc, cp, ch, st, ss, order, code, np.zeros(8000, I64), np.full(8000, 9, np.uint64),
                                 I64(-1), I64(10_000_000), status)
    assert status[0] == 2 and len(ptr) == 8001 and ptr[-1] == 0


def test_callback_steps_stop_at_the_budget():
    n = 8000
    ts, conc, _, _ = _chain(n)
    inst = np.ones(n, dtype=bool)
    cb_of_type = np.zeros(n, dtype=I64)  # every type has callback entry 0 with 50 names: 8000 x 50 x 256 climbs
    names = np.arange(1, 51, dtype=np.uint64)
    st, order = np.array([0], I64), np.array([0], I64)
    meth = (np.array([999], np.uint64), np.array([0], I64), np.array([True]), np.array([False]))
    no = np.zeros(n, dtype=bool)
    status = np.zeros(1, np.uint8)
    gms, _, _ = g.callback_methods(inst, conc, ts, np.zeros(n + 1, I64), np.zeros(0, I64), cb_of_type,
                                   np.array([0, 50], I64), names, no, no, I64(-1), st, order, *meth, I64(5_000_000), status)
    assert status[0] == 2 and len(gms) == 0


def test_pipeline_reports_step_budget(monkeypatch):
    monkeypatch.setattr(callgraph, "_STEPS_MIN", 0)
    monkeypatch.setattr(callgraph, "_STEPS_PER_DEX_BYTE", 0)
    report = scan(shared_path(SMALL))
    capped = _capped(report)
    assert any(m.startswith("class-hierarchy dispatch stopped after 0 steps, the limit for") for m in capped)
    assert any(m.startswith("the search for framework callbacks stopped after 0 steps") for m in capped)
    assert "reachability" in report.incomplete
