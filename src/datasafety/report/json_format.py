"""JSON rendering of the report, and validation against the bundled JSON Schema."""

from __future__ import annotations

import functools
import json
from importlib import resources

SCHEMA_FILE = "report.schema.json"


def dumps(report_json: dict) -> str:
    """Deterministic JSON text (2-space indent, keys in contract order, trailing newline)."""
    return json.dumps(report_json, indent=2, ensure_ascii=False) + "\n"


@functools.lru_cache(maxsize=1)
def schema() -> dict:
    """The report's JSON Schema (draft 2020-12)."""
    text = (resources.files("datasafety.report") / "schema" / SCHEMA_FILE).read_text(encoding="utf-8")
    return json.loads(text)


def validate(report_json: dict) -> None:
    """Raise ``jsonschema.ValidationError`` if ``report_json`` breaks the contract."""
    import jsonschema

    jsonschema.validate(report_json, schema(), cls=jsonschema.Draft202012Validator)
