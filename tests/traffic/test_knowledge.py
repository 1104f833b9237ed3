"""WhoTracks.me and IPFire geoip loaders on the shared data (and on tiny files made here)."""

from __future__ import annotations

import gzip

from datasafety.knowledge.geoip import load_geoip
from datasafety.knowledge.whotracksme import load_whotracksme


def test_whotracksme_lookup_walks_parent_domains(trackers_dir):
    data = load_whotracksme(trackers_dir / "whotracksme-2022-08" / "trackerdb.sql.gz")
    entry = data.lookup("api.adjust.com")
    assert (entry.domain, entry.tracker, entry.company, entry.company_country, entry.category) == ("adjust.com", "Adjust", "Adjust GmbH", "DE", "site_analytics")
    assert data.lookup("example.com") is None
    assert (data.source.name, data.source.version, data.source.path) == ("whotracksme", "4327 domains", "trackerdb.sql.gz")


def test_geoip_shared_data(trackers_dir):
    geo = load_geoip(trackers_dir / "ipfire-location-via-tor")
    assert [geo.country(ip) for ip in ("8.8.8.8", "1.1.1.1", "10.0.0.1", "not-an-ip")] == ["US", "AU", None, None]
    assert [s.name for s in geo.sources()] == ["ipfire_geoip"]


def test_geoip_small_files(tmp_path):
    (tmp_path / "geoip").write_text("# Generated: test\n16777216,16777471,AU\n134744064,134744319,US\n")
    (tmp_path / "geoip6.gz").write_bytes(gzip.compress(b"2001:4860::,2001:4860:ffff:ffff:ffff:ffff:ffff:ffff,US\n"))
    geo = load_geoip(tmp_path)
    assert [geo.country(ip) for ip in ("1.0.0.5", "8.8.8.8", "8.8.9.1", "2001:4860::8888", "2a00::1")] == ["AU", "US", None, "US", None]
    assert [(s.name, s.version) for s in geo.sources()] == [("ipfire_geoip", "generated test"), ("ipfire_geoip6", "unversioned")]
