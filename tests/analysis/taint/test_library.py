"""Matching calls to summaries, sources and sinks through class chains (app and framework)."""

from __future__ import annotations

from datasafety.analysis.callgraph import build_call_graph
from datasafety.analysis.taint.library import Library, parse_effect
from datasafety.app.model import load_app
from datasafety.knowledge.catalogue import load_knowledge
from datasafety.knowledge.flows import load_flow_knowledge
from tests.conftest import shared_path


def library(relative: str = "droidbench/Callbacks/Button2.apk") -> Library:
    cg = build_call_graph(load_app(shared_path(relative)))
    return Library(cg, load_flow_knowledge(), load_knowledge())


def test_effect_parsing():
    assert parse_effect("this.key[arg0]+=arg1") == ("this.key[arg0]", "+=", "arg1")
    assert parse_effect("ret=this") == ("ret", "=", "this")
    assert parse_effect("ret<-args") == ("ret", "<-", "args")
    assert parse_effect("icc:send") == ("icc:send",)


def test_framework_subclass_matches_the_base_class_entries():
    lib = library()
    # EditText -> TextView (framework_model.json supertypes): the password source applies.
    match = lib.match("Landroid/widget/EditText;", "getText")
    assert match.source is not None and match.source.requires == "password_view"
    # FileOutputStream -> OutputStream: write is a sink whose kind is the stream's.
    match = lib.match("Ljava/io/FileOutputStream;", "write")
    assert (match.sink.kind, match.sink.default_kind, match.api) == ("receiver", "file", "java.io.OutputStream.write")


def test_app_class_inherits_framework_summaries():
    lib = library()
    # de.ecspride.Button2 extends android.app.Activity: startActivity is an ICC send.
    match = lib.match("Lde/ecspride/Button2;", "startActivity")
    assert match.effects == (("icc:send",),)
    assert lib.chain("Lde/ecspride/Button2;")[:2] == ("de.ecspride.Button2", "android.app.Activity")


def test_catalogue_apis_are_sources():
    lib = library()
    match = lib.match("Landroid/telephony/TelephonyManager;", "getDeviceId")
    assert match.source.data_types == ("device_or_other_ids",)
    assert lib.string_source("content://sms/inbox").data_types == ("sms",)
