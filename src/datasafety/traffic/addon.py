"""Live mode: a mitmproxy addon that appends findings to a JSON Lines file as traffic passes.

Run (see docs/traffic.md)::

    mitmdump -s "$(python -c 'import datasafety.traffic.addon as m; print(m.__file__)')" \
        --set datasafety_out=findings.jsonl --set datasafety_device=device.yaml

Each line is one observation (the fields of ``Observation.to_json()``, with ids
``live:<request number>:<n>``), written when the response arrives (so the server address is
known) or when the flow fails. Options: ``datasafety_out`` (JSON Lines path),
``datasafety_device`` (device profile YAML), ``datasafety_trackers`` (Exodus
``trackers.json``); WhoTracks.me and geoip data come from ``$DATASAFETY_WHOTRACKSME`` and
``$DATASAFETY_GEOIP_DIR``. Addon API: https://docs.mitmproxy.org/stable/addons-overview/
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path

from datasafety.traffic.analyse import KnowledgeError, load_knowledge, observation_sort_key, observe_request
from datasafety.traffic.destinations import DestinationResolver
from datasafety.traffic.detect.profile import ProfileError, load_profile
from datasafety.traffic.mitm import request_of

log = logging.getLogger(__name__)


class DataSafetyAddon:
    """Appends one JSON line per observation to ``datasafety_out``."""

    def __init__(self) -> None:
        self.count = 0
        self.profile = None
        self.resolver = DestinationResolver()
        self._seen: set[str] = set()

    def load(self, loader) -> None:
        loader.add_option("datasafety_out", str, "datasafety-traffic.jsonl", "JSON Lines file that findings are appended to.")
        loader.add_option("datasafety_device", str, "", "Device profile YAML (test phone identifiers and mock GPS fix).")
        loader.add_option("datasafety_trackers", str, "", "Exodus trackers.json for tracker names.")

    def configure(self, updated) -> None:
        from mitmproxy import ctx
        from mitmproxy.exceptions import OptionsError

        if "datasafety_device" in updated or "datasafety_trackers" in updated:
            try:
                self.profile = load_profile(ctx.options.datasafety_device) if ctx.options.datasafety_device else None
                exodus, whotracksme, geoip = load_knowledge(ctx.options.datasafety_trackers or None, None, None)
            except (ProfileError, KnowledgeError) as exc:
                raise OptionsError(str(exc)) from None
            self.resolver = DestinationResolver(exodus, whotracksme, geoip)

    def _handle(self, flow) -> None:
        from mitmproxy import ctx

        if flow.id in self._seen:
            return
        self._seen.add(flow.id)
        index = self.count
        self.count += 1
        try:
            observations, _anomalies, _destination = observe_request(request_of(index, flow), self.profile, self.resolver)
        except Exception as exc:  # a live proxy must keep running whatever one flow holds
            log.warning("datasafety: request %d not analysed: %s", index, exc)
            return
        if not observations:
            return
        lines = []
        for number, observation in enumerate(sorted(observations, key=observation_sort_key), 1):
            lines.append(json.dumps(replace(observation, id=f"live:{index}:{number}").to_json(), sort_keys=True))
        with open(Path(ctx.options.datasafety_out), "a", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")

    def response(self, flow) -> None:
        self._handle(flow)

    def error(self, flow) -> None:
        self._handle(flow)


addons = [DataSafetyAddon()]
