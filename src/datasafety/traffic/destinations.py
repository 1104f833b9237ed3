"""Destinations: who receives a request, and where.

- Organisation, its country and tracker category: WhoTracks.me 2022 (host or nearest
  listed parent domain), :mod:`datasafety.knowledge.whotracksme`.
- Tracker: Exodus Privacy ``network_signature`` regexes searched in the host name
  (:mod:`datasafety.knowledge.exodus`).
- Country of the server: IPFire Location data for the server IP recorded in the capture
  (:mod:`datasafety.knowledge.geoip`). No DNS lookups are made: a capture without server
  IPs gives no country.
- First party: the host's registrable domain (Public Suffix List, via ``publicsuffix2``),
  reversed, is a prefix of the publisher's package name (``api.example.com`` is first party
  for ``com.example.app``). Without a package name it is unknown (None).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from functools import lru_cache

from datasafety.traffic.model import Destination


@lru_cache(maxsize=8192)
def registrable_domain(host: str) -> str | None:
    """``example.co.uk`` for ``api.example.co.uk``; None for IP literals and bare names."""
    host = host.lower().strip(".")
    try:
        ipaddress.ip_address(host.strip("[]"))
        return None
    except ValueError:
        pass
    if "." not in host:
        return None
    from publicsuffix2 import get_sld

    return get_sld(host) or None


def is_first_party(host: str, publisher_package: str | None) -> bool | None:
    """True when ``host``'s registrable domain matches the package's reverse-domain prefix."""
    if not publisher_package:
        return None
    domain = registrable_domain(host)
    if not domain:
        return False
    reversed_domain = ".".join(reversed(domain.split(".")))
    package = publisher_package.lower()
    return package == reversed_domain or package.startswith(reversed_domain + ".")


@dataclass
class DestinationResolver:
    """Resolves hosts and IPs; caches per host. Each knowledge set is optional."""

    exodus: object | None = None
    """:class:`datasafety.knowledge.exodus.ExodusSignatures` or None."""
    whotracksme: object | None = None
    """:class:`datasafety.knowledge.whotracksme.WhoTracksMe` or None."""
    geoip: object | None = None
    """:class:`datasafety.knowledge.geoip.GeoIP` or None."""
    publisher_package: str | None = None
    _hosts: dict = field(default_factory=dict)

    def resolve(self, host: str, server_ip: str | None) -> Destination:
        """Destination of one request to ``host`` at ``server_ip`` (may be None)."""
        cached = self._hosts.get(host)
        if cached is None:
            cached = self._host_facts(host)
            self._hosts[host] = cached
        tracker, wtm = cached
        ip = server_ip
        if ip is None:
            try:
                ip = str(ipaddress.ip_address(host.strip("[]")))
            except ValueError:
                ip = None
        country = self.geoip.country(ip) if self.geoip is not None and ip else None
        return Destination(
            host=host,
            organisation=wtm.company if wtm else None,
            organisation_country=wtm.company_country if wtm else None,
            tracker=tracker,
            whotracksme_tracker=wtm.tracker if wtm else None,
            category=wtm.category if wtm else None,
            country=country,
            first_party=is_first_party(host, self.publisher_package),
        )

    def _host_facts(self, host: str):
        tracker = None
        if self.exodus is not None:
            for candidate in self.exodus.trackers:
                if candidate.network_signature is not None and candidate.network_signature.search(host):
                    tracker = candidate.name
                    break
        wtm = self.whotracksme.lookup(host) if self.whotracksme is not None else None
        return tracker, wtm
