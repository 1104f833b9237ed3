"""Result model of traffic analysis: captured requests in, observations out.

Every model is a frozen dataclass. Bad input never raises out of the traffic
stage: it becomes an :class:`Anomaly` with a reason, and only the CLI turns
"nothing readable" into exit code 2.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from datasafety.knowledge.sources import KnowledgeSource

SCHEMA_VERSION = "1"


def split_url(url: str) -> tuple[str, str, str]:
    """``(lower-case host, path, query)`` of ``url``; never raises. A malformed authority
    (``http://[::1/x``, which ``urlsplit`` rejects) is split by hand: the host is then the
    raw authority text."""
    from urllib.parse import urlsplit

    try:
        split = urlsplit(url)
        return (split.hostname or "").lower(), split.path, split.query
    except ValueError:
        rest = url.partition("://")[2] if "://" in url else url
        rest = rest.partition("#")[0]
        rest, _, query = rest.partition("?")
        authority, slash, path = rest.partition("/")
        return authority.rpartition("@")[2].lower(), slash + path, query


def host_of(url: str) -> str:
    """Lower-case host of ``url`` (see :func:`split_url`); never raises."""
    return split_url(url)[0]


@dataclass(frozen=True, slots=True)
class CapturedRequest:
    """One HTTP request as it left the device, whatever the capture format."""

    index: int
    """0-based position of the request in the capture (stable across runs)."""
    method: str
    url: str
    """Full URL including scheme, host and query string."""
    host: str
    """Host name (or IP literal) the request was addressed to, lower case, no port."""
    headers: tuple[tuple[str, str], ...]
    """Header (name, value) pairs in capture order, cookies included."""
    body: bytes
    """Request body as sent on the wire (still content-encoded), at most the reader's cap."""
    server_ip: str | None = None
    """IP address of the server when the capture records it (HAR ``serverIPAddress``,
    mitmproxy ``server_conn.peername``, pcap destination address)."""
    body_truncated: bool = False
    """True when the reader cut the body at its byte cap."""

    def header(self, name: str) -> str | None:
        """First value of header ``name`` (case-insensitive), or None."""
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None


@dataclass(frozen=True, slots=True)
class Anomaly:
    """Something in the capture that could not be read, or was only partly read."""

    kind: str
    """Short id, e.g. ``har_invalid_json``, ``pcap_truncated``, ``body_truncated``,
    ``unknown_content_encoding``, ``tshark_missing``."""
    detail: str
    """One human-readable line."""
    request_index: int | None = None
    """Request the anomaly concerns, or None for the capture as a whole."""

    def to_json(self) -> dict:
        return {"kind": self.kind, "detail": self.detail, "request_index": self.request_index}


@dataclass(frozen=True, slots=True)
class Precision:
    """How precise an observed coordinate is, under each regime of domain-rules.md §1.6."""

    decimals: int
    """Decimal places of the coarser of the two values as written in the traffic."""
    metres: float
    """Ground resolution in metres: 111,320 m x 10^-decimals north-south (domain-rules.md
    §1.5, [S31]), or the grid size when the value sits on Android's coarse grid."""
    area_km2: float
    """Area of the cell the value pins the device to: metres^2 x cos(latitude), in km^2
    (the grid cell for coarse-grid values)."""
    play_precise: bool
    """Google Play Data safety: precise when the area is under 3 km² ([S1])."""
    apple_precise: bool
    """Apple App Privacy: precise at a resolution equal to or finer than 3 decimal places,
    i.e. ``metres <= 111.32`` ([S3])."""
    coarse_grid: bool
    """True when both values sit on AOSP ``LocationFudger``'s 2,000 m snapping grid
    (111,000 m per degree; [S8]), i.e. the OS-coarsened location."""

    def to_json(self) -> dict:
        return {
            "decimals": self.decimals,
            "metres": self.metres,
            "area_km2": self.area_km2,
            "play_precise": self.play_precise,
            "apple_precise": self.apple_precise,
            "coarse_grid": self.coarse_grid,
        }


@dataclass(frozen=True, slots=True)
class Destination:
    """Where a request went: organisation, tracker, country, party."""

    host: str
    organisation: str | None = None
    """Company owning the host (WhoTracks.me 2022 ``companies.name``), or None."""
    organisation_country: str | None = None
    """Company's country (WhoTracks.me), ISO 3166-1 alpha-2, or None."""
    tracker: str | None = None
    """Exodus tracker name whose ``network_signature`` matches the host, or None."""
    whotracksme_tracker: str | None = None
    """WhoTracks.me tracker name for the host, or None."""
    category: str | None = None
    """WhoTracks.me category of the tracker (``advertising``, ``site_analytics``...), or None."""
    country: str | None = None
    """Country of the server IP (IPFire Location database), or None when no IP is known."""
    first_party: bool | None = None
    """True when the host belongs to the app publisher's domain, False when it does not,
    None when no publisher package was given."""


@dataclass(frozen=True, slots=True)
class Observation:
    """One piece of personal data seen in one request."""

    id: str
    """Stable id ``obs:0001``..., assigned after sorting."""
    request_index: int
    method: str
    url: str
    host: str
    where: str
    """Where in the request: ``path``, ``query:lat``, ``header:User-Agent``, ``cookie:uid``,
    ``body.json:$.loc.lat``, ``body.form:lat``, ``body.xml:/loc/@lat``,
    ``body.protobuf:1.2``, ``body.multipart[meta]...``, ``body.text``; a nested value
    appends the inner path after ``>``."""
    data_type: str
    """Play Data safety id: ``precise_location``, ``approximate_location``,
    ``device_or_other_ids``, ``email``, ``phone_number``."""
    kind: str
    """Finer kind: ``coordinates``, ``advertising_id``, ``android_id``, ``imei``, ``imsi``,
    ``mac``, ``bssid``, ``email``, ``phone_number``."""
    value: str
    """The value as found (after peeling encodings); ``lat,lon`` for coordinates."""
    encodings: tuple[str, ...]
    """Encodings peeled to reach the value, outermost first: ``gzip``, ``deflate``, ``br``,
    ``zstd``, ``base64``, ``hex``, ``url``."""
    match: str
    """``pattern`` (no device profile), or how a device profile value matched:
    ``exact``, ``md5``, ``sha1``, ``sha256``, ``reversed``, ``rounded``, ``truncated``."""
    matched_profile_key: str | None
    precision: Precision | None
    organisation: str | None
    tracker: str | None
    country: str | None
    first_party: bool | None
    server_ip: str | None = None

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "request_index": self.request_index,
            "method": self.method,
            "url": self.url,
            "host": self.host,
            "where": self.where,
            "data_type": self.data_type,
            "kind": self.kind,
            "value": self.value,
            "encodings": list(self.encodings),
            "match": self.match,
            "matched_profile_key": self.matched_profile_key,
            "precision": self.precision.to_json() if self.precision else None,
            "organisation": self.organisation,
            "tracker": self.tracker,
            "country": self.country,
            "first_party": self.first_party,
            "server_ip": self.server_ip,
        }


@dataclass(frozen=True)
class TrafficResult:
    """Everything the traffic stage found in one capture."""

    capture: str
    """Capture file name (basename only)."""
    capture_format: str
    """``har``, ``mitmproxy``, ``pcap`` or ``unknown``."""
    observations: tuple[Observation, ...]
    anomalies: tuple[Anomaly, ...]
    knowledge: tuple[KnowledgeSource, ...]
    """Knowledge files used (only those actually loaded)."""
    requests_read: int
    destinations: tuple[Destination, ...] = field(default=())
    """One entry per distinct host contacted, sorted by host."""
    enrichment_missing: tuple[str, ...] = field(default=())
    """Enrichments skipped because no data path was given: ``exodus``, ``whotracksme``,
    ``geoip``, ``publisher``."""

    @property
    def readable(self) -> bool:
        """False when nothing at all could be read from the capture."""
        return self.requests_read > 0 or not any(a.kind == "capture_unreadable" for a in self.anomalies)

    def to_json(self) -> dict:
        """Deterministic JSON: same capture and options give byte-identical output."""
        document = self.to_json_shell()
        document["observations"] = [o.to_json() for o in self.observations]
        document["anomalies"] = [a.to_json() for a in self.anomalies]
        return document

    def to_json_shell(self) -> dict:
        """:meth:`to_json` without the ``observations`` and ``anomalies`` lists (for streaming)."""
        return {
            "schema_version": SCHEMA_VERSION,
            "capture": self.capture,
            "capture_format": self.capture_format,
            "requests_read": self.requests_read,
            "destinations": [
                {
                    "host": d.host,
                    "organisation": d.organisation,
                    "organisation_country": d.organisation_country,
                    "tracker": d.tracker,
                    "whotracksme_tracker": d.whotracksme_tracker,
                    "category": d.category,
                    "country": d.country,
                    "first_party": d.first_party,
                }
                for d in self.destinations
            ],
            "knowledge": [k.to_json() for k in self.knowledge],
            "enrichment_missing": list(self.enrichment_missing),
        }
