"""Framework and library knowledge for the flow analysis: which call is a source, a sink, or what it does.

A method reference is matched through its class *chain*: the class named in
the reference, then (for app classes) its superclasses and interfaces defined
in the app, then the framework classes above them with their supertypes from
``framework_model.json`` (``supertypes``). The first class in the chain with
an entry decides. Sources come from the API catalogue (every catalogued call,
field read and string constant) and from ``sources_sinks.json``.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from datasafety.analysis.callgraph import CallGraph
from datasafety.knowledge.catalogue import Knowledge, SensitiveApi
from datasafety.app.dex.index import dotted
from datasafety.knowledge.flows import FlowKnowledge, SinkSpec, SourceSpec

EFFECT = re.compile(r"^(?P<lhs>[A-Za-z0-9_.\[\],]+?)(?P<op>\+=|:=|\?=|<-|=)(?P<rhs>.+)$")


@dataclass(frozen=True)
class SourceMatch:
    """A call (or field read, or string constant) whose value is personal data."""

    key: str
    """Stable id: catalogue id or sources_sinks id."""
    api: str
    """Dotted API name."""
    data_types: tuple[str, ...]
    requires: str = ""
    """``password_view``: the receiver must be a password field."""
    requires_string: tuple[str, ...] = ()
    """One argument must be one of these string constants (catalogue ``requires_string``)."""
    getter: bool = False
    """Reads data out of an object (Location.getLatitude): no new label when the object is already tainted."""


@dataclass(frozen=True)
class Match:
    effects: tuple | None
    """Parsed summary effects, or None when the library does not know the method."""
    sink: SinkSpec | None
    source: SourceMatch | None
    api: str
    """Dotted name of the matched class and method (``android.util.Log.i``)."""


def parse_effect(text: str) -> tuple:
    """``this.key[arg0]+=arg1`` -> ("this.key[arg0]", "+=", "arg1"); ``str:concat`` -> ("str:concat",)."""
    if ":" in text and not any(op in text for op in ("+=", ":=", "?=", "<-")) and "=" not in text.split(":", 1)[0]:
        return (text,)
    m = EFFECT.match(text)
    if not m:
        raise ValueError(f"unknown summary effect {text!r}")
    return (m.group("lhs"), m.group("op"), m.group("rhs"))


class Library:
    """Look-ups of summaries, sources and sinks by (class descriptor, method name)."""

    def __init__(self, cg: CallGraph, fk: FlowKnowledge, knowledge: Knowledge):
        self.cg = cg
        self.fk = fk
        self.summaries: dict[str, list[tuple[str, tuple]]] = {}
        for s in fk.summaries:
            parsed = tuple(parse_effect(e) for e in s.effects)
            for m in s.methods:
                self.summaries.setdefault(s.class_name, []).append((m, parsed))
        self.sinks: dict[tuple[str, str], SinkSpec] = {(s.class_name, s.method): s for s in fk.sinks}
        self.sink_classes = {s.class_name for s in fk.sinks}
        self.sources: dict[tuple[str, str], SourceMatch] = {}
        for api in knowledge.apis:
            if api.kind == "invoke":
                self.sources[(api.class_name, api.member)] = self._catalogue_source(api)
        for spec in fk.sources:
            self.sources[(spec.class_name, spec.method)] = self._extra_source(spec)
        self.source_classes = {c for c, _ in self.sources}
        self.field_sources: dict[tuple[str, str], SourceMatch] = {
            (api.class_name, api.member): self._catalogue_source(api) for api in knowledge.apis if api.kind == "field"
        }
        self.string_sources: list[tuple[str, SourceMatch]] = [
            (api.member, self._catalogue_source(api)) for api in knowledge.apis if api.kind == "string"
        ]

    @staticmethod
    def _catalogue_source(api: SensitiveApi) -> SourceMatch:
        return SourceMatch(
            key=api.id,
            api=api.api_name,
            data_types=tuple(y.data_type for y in api.yields),
            requires_string=api.requires_string,
        )

    @staticmethod
    def _extra_source(spec: SourceSpec) -> SourceMatch:
        return SourceMatch(
            key=spec.id,
            api=f"{spec.class_name}.{spec.method}",
            data_types=spec.data_types,
            requires=spec.requires,
            getter=spec.class_name == "android.location.Location",
        )

    # ------------------------------------------------------------ chains
    @functools.lru_cache(maxsize=65536)
    def chain(self, class_desc: str) -> tuple[str, ...]:
        """Dotted class names to match for a reference to ``class_desc``, nearest first."""
        out: list[str] = []
        cg = self.cg
        gid = cg.type_gid(class_desc) if class_desc.startswith("L") else -1
        if gid >= 0 and cg.type_class[gid]:
            for t in cg.supertypes(gid):
                out.append(dotted(cg.type_descriptor(t)))
        else:
            out.append(dotted(class_desc))
        seen = set()
        todo = list(out)
        result: list[str] = []
        while todo:
            name = todo.pop(0)
            if name in seen:
                continue
            seen.add(name)
            result.append(name)
            todo.extend(self.fk.supertypes.get(name, ()))
        if "java.lang.Object" in seen:
            result.remove("java.lang.Object")
            result.append("java.lang.Object")
        return tuple(result)

    @functools.lru_cache(maxsize=65536)
    def match(self, class_desc: str, name: str) -> Match:
        chain = self.chain(class_desc)
        effects = None
        api = f"{dotted(class_desc)}.{name}"
        sink = source = None
        for cls in chain:
            if sink is None and (cls, name) in self.sinks:
                sink = self.sinks[(cls, name)]
                api = f"{cls}.{name}"
            if source is None and (cls, name) in self.sources:
                source = self.sources[(cls, name)]
                api = f"{cls}.{name}"
            if effects is None and cls in self.summaries:
                effects = self._summary(cls, name)
                if effects is not None and sink is None and source is None:
                    api = f"{cls}.{name}"
        return Match(effects=effects, sink=sink, source=source, api=api)

    def _summary(self, cls: str, name: str) -> tuple | None:
        entries = self.summaries[cls]
        for pattern, effects in entries:
            if pattern == name:
                return effects
        for pattern, effects in entries:
            if pattern.endswith("*") and pattern != "*" and name.startswith(pattern[:-1]):
                return effects
        for pattern, effects in entries:
            if pattern == "*" and name != "<init>":
                return effects
        return None

    def field_source(self, class_desc: str, name: str) -> SourceMatch | None:
        return self.field_sources.get((dotted(class_desc), name))

    def string_source(self, text: str) -> SourceMatch | None:
        for prefix, match in self.string_sources:
            if text.startswith(prefix):
                return match
        return None

    def is_library_class(self, class_desc: str) -> bool:
        """The class has framework knowledge of its own (summaries, sinks or sources)."""
        name = dotted(class_desc)
        return name in self.summaries or name in self.sink_classes or name in self.source_classes
