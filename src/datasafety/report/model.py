"""The report: the JSON contract every output format renders from.

``Report.to_json()`` returns plain dicts and lists in a fixed order; with
``json.dumps(..., sort_keys=False)`` via :func:`datasafety.report.json_format.dumps`
the same input gives byte-identical JSON. The JSON Schema is
``report/schema/report.schema.json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from datasafety.analysis.call_sites import CallSite
from datasafety.analysis.permissions import PermissionFinding
from datasafety.analysis.sdks import SdkFinding
from datasafety.analysis.taint.model import Flow
from datasafety.app.anomaly import Anomaly
from datasafety.knowledge.sources import KnowledgeSource
from datasafety.verdict.verdicts import Verdict

SCHEMA_VERSION = "1.2"


@dataclass(frozen=True)
class AppSummary:
    file_name: str
    file_sha256: str
    input_kind: str
    package: str
    version_name: str
    version_code: str
    min_sdk: int | None
    target_sdk: int | None
    max_sdk: int | None
    effective_target_sdk: int
    signer_sha256: tuple[str, ...]
    splits: tuple[str, ...]
    dex_count: int
    class_count: int
    method_count: int

    def to_json(self) -> dict:
        return {
            "file_name": self.file_name,
            "file_sha256": self.file_sha256,
            "input_kind": self.input_kind,
            "package": self.package,
            "version_name": self.version_name,
            "version_code": self.version_code,
            "min_sdk": self.min_sdk,
            "target_sdk": self.target_sdk,
            "max_sdk": self.max_sdk,
            "effective_target_sdk": self.effective_target_sdk,
            "signer_sha256": list(self.signer_sha256),
            "splits": list(self.splits),
            "dex_count": self.dex_count,
            "class_count": self.class_count,
            "method_count": self.method_count,
        }


@dataclass(frozen=True)
class Report:
    app: AppSummary
    permissions: tuple[PermissionFinding, ...]
    call_sites: tuple[CallSite, ...]
    sdks: tuple[SdkFinding, ...]
    verdicts: tuple[Verdict, ...]
    anomalies: tuple[Anomaly, ...]
    knowledge: tuple[KnowledgeSource, ...]
    incomplete: tuple[str, ...] = field(default_factory=tuple)
    """Pipeline stages that did not finish (budget ran out)."""
    tool_version: str = ""
    flows: tuple[Flow, ...] = field(default_factory=tuple)
    """Static data flows from sources to sinks (empty when flows were not analysed)."""
    observations: tuple = field(default_factory=tuple)
    """Traffic observations linked to static evidence (``verdict.observed.LinkedObservation``)."""
    traffic_summary: dict | None = None
    """The capture merged with ``--traffic``: name, format, requests read, its anomalies."""

    def __repr__(self) -> str:
        """Short, for notebooks: the full content is in :meth:`to_json`."""
        verdicts = ", ".join(f"{v.data_type}={v.verdict}" for v in self.verdicts if v.verdict not in ("not_possible", "not_found"))
        return (
            f"<Report {self.app.package or self.app.file_name} {self.app.version_name}: "
            f"{_count(len(self.call_sites), 'call site')}, {_count(len(self.sdks), 'SDK')}, "
            f"{_count(len(getattr(self, 'flows', ())), 'flow')}; {verdicts}>"
        )

    def to_json_text(self) -> str:
        """The JSON report as the CLI writes it (byte-identical for the same input)."""
        from datasafety.report.json_format import dumps

        return dumps(self.to_json())

    def verdict(self, data_type: str) -> Verdict | None:
        return next((v for v in self.verdicts if v.data_type == data_type), None)

    def to_json(self) -> dict:
        return {
            "schema_version": SCHEMA_VERSION,
            "tool": {"name": "datasafety", "version": self.tool_version},
            "app": self.app.to_json(),
            "permissions": [p.to_json() for p in self.permissions],
            "call_sites": [c.to_json() for c in self.call_sites],
            "sdks": [s.to_json() for s in self.sdks],
            "flows": [f.to_json() for f in self.flows],
            "verdicts": [v.to_json() for v in self.verdicts],
            "anomalies": [a.to_json() for a in self.anomalies],
            "knowledge": [k.to_json() for k in self.knowledge],
            "incomplete": list(self.incomplete),
            "observations": [o.to_json() for o in self.observations],
            "traffic": self.traffic_summary,
        }


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
