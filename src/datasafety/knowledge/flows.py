"""Knowledge for reachability and flow analysis: how the framework calls app code, sources, sinks.

Two data files in ``datasafety/knowledge/data/``, authored by the project from
the Android platform documentation (each entry has a ``source_url``):

- ``framework_model.json``: component lifecycles (ordered phases and the
  transitions between them), callback interfaces and classes whose methods
  the framework calls on app objects, and summaries of library methods for
  taint propagation (what a ``StringBuilder.append`` or an ``Intent.putExtra``
  does with its arguments).
- ``sources_sinks.json``: taint sources beyond the API catalogue (e.g. the
  Location getters, the text of password fields) and sinks with their kind
  (``network``, ``sms``, ``log``, ``file``, ``ipc``).

The sensitive API catalogue (``api_catalogue.json``) supplies the other
sources: every catalogued call, field read or string constant.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

from datasafety.knowledge.catalogue import DATA_DIR
from datasafety.knowledge.sources import KnowledgeSource, project_file_source

SINK_KINDS = ("network", "sms", "log", "file", "ipc")


@dataclass(frozen=True)
class Phase:
    """One phase of a component lifecycle: methods called in this order."""

    name: str
    methods: tuple[str, ...]
    optional: tuple[str, ...]
    """Methods that may not be called (``*`` = all of them)."""
    callbacks: bool
    """Registered callbacks (listeners, threads, handlers) run in this phase."""

    def is_optional(self, method: str) -> bool:
        return "*" in self.optional or method in self.optional


@dataclass(frozen=True)
class Lifecycle:
    kind: str
    """``activity``, ``service``, ``receiver``, ``provider`` or ``application``."""
    framework_class: str
    phases: tuple[Phase, ...]
    transitions: tuple[tuple[str, str], ...]
    source_url: str
    saved_state: tuple[str, ...] = ()
    """Methods whose ``Bundle`` parameter is the saved instance state (kept across instances)."""

    @property
    def method_names(self) -> tuple[str, ...]:
        return tuple(m for p in self.phases for m in p.methods)


@dataclass(frozen=True)
class Callback:
    """A framework type whose listed methods the framework calls on app objects."""

    class_name: str
    methods: tuple[str, ...]
    source_url: str

    @property
    def descriptor(self) -> str:
        return "L" + self.class_name.replace(".", "/") + ";"


@dataclass(frozen=True)
class Summary:
    """What library methods do with taint (see ``framework_model.json``, ``summaries``)."""

    class_name: str
    methods: tuple[str, ...]
    """Method names; ``put*`` matches a prefix, ``*`` every other method of the class."""
    effects: tuple[str, ...]
    """Effects in the vocabulary of ``summary_effects`` (e.g. ``this.key[arg0]+=arg1``)."""
    source_url: str


@dataclass(frozen=True)
class SourceSpec:
    """A source beyond the API catalogue: the return value of a call carries personal data."""

    id: str
    class_name: str
    method: str
    data_types: tuple[str, ...]
    requires: str
    """Extra condition: ``""`` or ``password_view`` (the receiver is a password field)."""
    source_url: str


@dataclass(frozen=True)
class CallbackSource:
    """A parameter of a framework callback that delivers personal data (``onLocationChanged(Location)``)."""

    id: str
    class_name: str
    method: str
    param: int
    """Parameter position, 0 = first parameter after ``this``."""
    data_types: tuple[str, ...]
    source_url: str


@dataclass(frozen=True)
class SinkSpec:
    id: str
    class_name: str
    method: str
    kind: str
    """One of :data:`SINK_KINDS`, or ``receiver`` (the kind of the stream written to)."""
    args: tuple[int, ...] | None
    """Argument positions that leak (0 = receiver for instance methods); None = all."""
    source_url: str
    default_kind: str = ""
    """For kind ``receiver``: the kind when the stream's kind is unknown."""
    store: str = ""
    """``shared_preferences``: a sink only when the app never reads the value back."""


@dataclass(frozen=True)
class FlowKnowledge:
    lifecycles: dict[str, Lifecycle]
    callbacks: tuple[Callback, ...]
    callback_name_prefix: str
    summaries: tuple[Summary, ...]
    supertypes: dict[str, tuple[str, ...]]
    """Framework class -> its framework supertypes (for matching sinks and summaries)."""
    sources: tuple[SourceSpec, ...]
    callback_sources: tuple[CallbackSource, ...]
    sinks: tuple[SinkSpec, ...]
    knowledge_sources: tuple[KnowledgeSource, ...]


@functools.lru_cache(maxsize=4)
def load_flow_knowledge(data_dir: str | None = None) -> FlowKnowledge:
    """Load ``framework_model.json`` and ``sources_sinks.json``.

    Raises ``FileNotFoundError`` / ``ValueError`` / ``KeyError`` for a missing or
    malformed file: these ship with the installation, they are not user input.
    """
    base = Path(data_dir) if data_dir else DATA_DIR
    path = base / "framework_model.json"
    raw = json.loads(path.read_text(encoding="utf-8"))
    used = [project_file_source("framework_model", path, raw)]
    lifecycles = {
        kind: Lifecycle(
            kind=kind,
            framework_class=spec["class"],
            phases=tuple(
                Phase(
                    name=p["phase"],
                    methods=tuple(p["methods"]),
                    optional=tuple(p.get("optional") or ()),
                    callbacks=bool(p.get("callbacks", False)),
                )
                for p in spec["phases"]
            ),
            transitions=tuple((a, b) for a, b in spec["transitions"]),
            source_url=spec["source_url"],
            saved_state=tuple(spec.get("saved_state", ())),
        )
        for kind, spec in raw["components"].items()
    }
    callbacks = tuple(Callback(c["class"], tuple(c["methods"]), c["source_url"]) for c in raw["callbacks"])
    summaries = tuple(
        Summary(s["class"], tuple(s["methods"]), tuple(s["effects"]), s.get("source_url", "")) for s in raw.get("summaries", [])
    )
    supertypes = {k: tuple(v) for k, v in raw.get("supertypes", {}).items()}

    path = base / "sources_sinks.json"
    raw2 = json.loads(path.read_text(encoding="utf-8"))
    used.append(project_file_source("sources_sinks", path, raw2))
    sources = tuple(
        SourceSpec(
            id=s["id"],
            class_name=s["class"],
            method=s["method"],
            data_types=tuple(s["data_types"]),
            requires=s.get("requires", ""),
            source_url=s["source_url"],
        )
        for s in raw2["sources"]
    )
    callback_sources = tuple(
        CallbackSource(c["id"], c["class"], c["method"], int(c["param"]), tuple(c["data_types"]), c["source_url"])
        for c in raw2.get("callback_sources", [])
    )
    sinks = []
    for s in raw2["sinks"]:
        if s["kind"] not in SINK_KINDS + ("receiver",):
            raise ValueError(f"sink {s['id']}: unknown kind {s['kind']!r}")
        sinks.append(
            SinkSpec(
                id=s["id"],
                class_name=s["class"],
                method=s["method"],
                kind=s["kind"],
                args=tuple(s["args"]) if s.get("args") is not None else None,
                source_url=s["source_url"],
                default_kind=s.get("default_kind", ""),
                store=s.get("store", ""),
            )
        )
    return FlowKnowledge(
        lifecycles=lifecycles,
        callbacks=callbacks,
        callback_name_prefix=str(raw.get("callback_name_prefix", "on")),
        summaries=summaries,
        supertypes=supertypes,
        sources=sources,
        callback_sources=callback_sources,
        sinks=tuple(sinks),
        knowledge_sources=tuple(used),
    )
