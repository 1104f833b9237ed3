"""The flow knowledge files: every entry documented, well-formed and loadable."""

from __future__ import annotations

import json

from datasafety.analysis.taint.effects import SPECIAL
from datasafety.analysis.taint.library import parse_effect
from datasafety.knowledge.catalogue import DATA_DIR, load_knowledge
from datasafety.knowledge.flows import SINK_KINDS, load_flow_knowledge


def test_every_entry_has_a_documentation_url():
    for name in ("framework_model.json", "sources_sinks.json"):
        raw = json.loads((DATA_DIR / name).read_text(encoding="utf-8"))
        assert raw["licence"].startswith("Apache-2.0")
        entries = raw.get("callbacks", []) + raw.get("summaries", []) + raw.get("sources", []) + raw.get("sinks", [])
        entries += raw.get("callback_sources", []) + list(raw.get("components", {}).values())
        assert entries
        for entry in entries:
            assert entry["source_url"].startswith("https://"), entry


def test_sinks_kinds_sources_data_types():
    fk = load_flow_knowledge()
    data_types = {d.id for d in load_knowledge().data_types} | {"password"}
    assert {s.kind for s in fk.sinks} <= set(SINK_KINDS) | {"receiver"}
    assert all(s.default_kind in SINK_KINDS for s in fk.sinks if s.kind == "receiver")
    assert {d for s in fk.sources for d in s.data_types} <= data_types
    assert {d for s in fk.callback_sources for d in s.data_types} <= data_types
    assert {s.kind for s in fk.sinks} >= {"network", "sms", "log", "file", "ipc", "receiver"}


def test_summary_effects_are_known():
    fk = load_flow_knowledge()
    for summary in fk.summaries:
        for text in summary.effects:
            effect = parse_effect(text)
            if len(effect) == 1:
                assert effect[0] in SPECIAL, text


def test_lifecycles_are_connected_automata():
    fk = load_flow_knowledge()
    for kind, lifecycle in fk.lifecycles.items():
        names = {p.name for p in lifecycle.phases}
        assert all(a in names and b in names for a, b in lifecycle.transitions), kind
        reached = {lifecycle.phases[0].name}
        for _ in names:
            reached |= {b for a, b in lifecycle.transitions if a in reached}
        assert reached == names, kind
