"""Flows: a value from a source call site reaches a sink call site (the report's ``flows`` list)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class FlowEnd:
    """One end of a flow: an instruction in a method."""

    api: str
    """Dotted API called there, e.g. ``android.telephony.TelephonyManager.getDeviceId``."""
    caller_class: str
    caller_method: str
    """Name and descriptor, e.g. ``onCreate(Landroid/os/Bundle;)V``."""
    pc: int
    dex: str

    def to_json(self) -> dict:
        return {
            "api": self.api,
            "caller_class": self.caller_class,
            "caller_method": self.caller_method,
            "pc": self.pc,
            "dex": self.dex,
        }


@dataclass(frozen=True)
class Flow:
    id: str
    """``flow:0001`` ..., numbered in report order."""
    data_types: tuple[str, ...]
    """What the source yields (catalogue data types, or e.g. ``password``)."""
    source: FlowEnd
    source_call_site: str
    """Id of the matching entry of ``call_sites`` (``cs:...``), or ``""`` for sources outside the catalogue."""
    sink: FlowEnd
    sink_kind: str
    """``network``, ``sms``, ``log``, ``file`` or ``ipc``."""
    path: tuple[str, ...]
    """Methods the value passes through, from the source's method to the sink's method."""
    actor: str
    """Who collects it: the actor of the source's caller (``first_party`` or an SDK id)."""
    sink_actor: str
    """The actor of the sink's caller."""
    destinations: tuple[str, ...] = ()
    """For network sinks: URL or host string constants that reach the sink."""

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "data_types": list(self.data_types),
            "source": self.source.to_json() | {"call_site": self.source_call_site},
            "sink": self.sink.to_json() | {"kind": self.sink_kind},
            "sink_kind": self.sink_kind,
            "path": list(self.path),
            "actor": self.actor,
            "sink_actor": self.sink_actor,
            "destinations": list(self.destinations),
        }
