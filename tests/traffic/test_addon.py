"""The live mitmproxy addon appends observations as JSON Lines."""

from __future__ import annotations

import json

from mitmproxy.http import Headers
from mitmproxy.test import taddons, tflow, tutils

from datasafety.traffic.addon import DataSafetyAddon


def test_addon_appends_json_lines(tmp_path, device_yaml):
    out = tmp_path / "live.jsonl"
    addon = DataSafetyAddon()
    with taddons.context(addon) as context:
        context.configure(addon, datasafety_out=str(out), datasafety_device=str(device_yaml))
        request = tutils.treq(method=b"GET", host="api.example.com", port=443, scheme=b"https",
                              path=b"/v1?lat=48.8584&lon=2.2945&gaid=38400000-8cf0-11bd-b23e-10b96e40000d", headers=Headers(), content=b"")
        flow = tflow.tflow(req=request, resp=tutils.tresp())
        flow.server_conn.peername = ("8.8.8.8", 443)
        addon.response(flow)
        addon.response(flow)  # the same flow twice is written once
        clean = tflow.tflow(req=tutils.treq(path=b"/static/app.js?v=10.4.2", headers=Headers(), content=b""), resp=tutils.tresp())
        addon.response(clean)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(l["id"], l["where"], l["data_type"], l["value"], l["match"], l["matched_profile_key"], l["server_ip"]) for l in lines] == [
        ("live:0:1", "query:gaid", "device_or_other_ids", "38400000-8cf0-11bd-b23e-10b96e40000d", "exact", "advertising_id", "8.8.8.8"),
        ("live:0:2", "query:lat", "precise_location", "48.8584,2.2945", "rounded", "gps_fix", "8.8.8.8"),
    ]
