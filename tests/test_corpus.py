"""Every APK of ../shared/data/apks gives a schema-valid report or a clean one-line InputError."""

from __future__ import annotations

from datasafety import scan
from datasafety.app.container import InputError
from datasafety.report.json_format import dumps, validate
from tests.conftest import APKS, EXODUS, shared_path


def test_whole_corpus_reports_or_clean_errors():
    shared_path("SOURCES.md")
    files = sorted(p for p in APKS.rglob("*.apk") if p.is_file())
    assert len(files) == 280
    unusable = []
    for path in files:
        try:
            report = scan(path, trackers=EXODUS)
        except InputError as exc:
            assert "\n" not in str(exc)
            unusable.append(path.name)
            continue
        data = report.to_json()
        validate(data)
        assert dumps(data)  # serialises; byte-identity across runs is tested in tests/cli/test_cli.py
    # Every corpus file, including the parser edge cases, yields a report.
    assert unusable == []


def test_corpus_edge_cases_have_their_anomalies():
    expected = {
        "androguard/multidex.apk": {"manifest_missing", "flows_not_analysed", "signature_missing"},
        "androguard/compact-entry.apk": {"dex_missing", "signature_missing"},
        "fdroidserver/janus.apk": {"dex_prepended_to_zip", "zip_prefixed_data", "dex_duplicate_class"},
        "fdroidserver/urzip-badcert.apk": {"signature_missing"},
        "fdroidserver/repo/duplicate.permisssions_9999999.apk": {"manifest_duplicate_permission"},
    }
    for relative, codes in expected.items():
        report = scan(shared_path(relative))
        assert {a.code for a in report.anomalies} == codes, relative
