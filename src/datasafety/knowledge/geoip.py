"""IP address -> country, from the IPFire Location database in Tor's ``geoip`` format.

Files (as Debian's ``tor-geoipdb`` installs them in ``/usr/share/tor/``; CC BY-SA 4.0,
IPFire Project, https://location.ipfire.org): ``geoip`` with lines ``start_int,end_int,CC``
(IPv4 as 32-bit integers) and ``geoip6`` with lines ``start_ip,end_ip,CC`` (IPv6 text);
``#`` starts a comment; ``??`` means unknown. Gzipped copies (``geoip.gz``) are read too.

Lookup is a binary search (:mod:`bisect`) over the sorted range starts. Each family is
parsed on its first lookup and cached per file.

Directory: the ``directory`` argument, else ``$DATASAFETY_GEOIP_DIR``.
"""

from __future__ import annotations

import gzip
import ipaddress
import os
import re
import socket
from bisect import bisect_right
from dataclasses import dataclass, field

from functools import lru_cache
from pathlib import Path
from typing import Callable

from datasafety.knowledge.sources import KnowledgeSource, file_sha256

ENV_VAR = "DATASAFETY_GEOIP_DIR"
LICENCE = "CC-BY-SA-4.0 (IPFire Location database, https://location.ipfire.org)"
_GENERATED_RE = re.compile(r"#\s*Generated:\s*(.+)")


class GeoIPError(ValueError):
    """The directory holds no readable geoip file."""


def resolve_dir(directory: str | Path | None) -> Path | None:
    """``directory`` if given, else ``$DATASAFETY_GEOIP_DIR``, else None."""
    if directory:
        return Path(directory)
    env = os.environ.get(ENV_VAR)
    return Path(env) if env else None


def _find(directory: Path, name: str) -> Path | None:
    for candidate in (directory / name, directory / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _read_lines(path: Path) -> list[str]:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return raw.decode("ascii", "replace").splitlines()


@dataclass
class _Table:
    starts: list[int]
    ends: list[int]
    countries: list[str]
    generated: str


def _v6_int(text: str) -> int:
    return int.from_bytes(socket.inet_pton(socket.AF_INET6, text), "big")


def _load(path: str, address: Callable[[str], int]) -> _Table:
    """Read ``start,end,CC`` lines (``address`` turns start/end into integers) and the header's date."""
    starts, ends, countries = [], [], []
    generated = ""
    for line in _read_lines(Path(path)):
        if not line or line[0] == "#":
            match = _GENERATED_RE.match(line)
            if match and not generated:
                generated = match.group(1).strip()
            continue
        start, end, country = line.split(",", 2)
        starts.append(address(start))
        ends.append(address(end))
        countries.append(country.strip())
    return _sorted(starts, ends, countries, generated)


@lru_cache(maxsize=8)
def _load_v4(path: str, _mtime: int) -> _Table:
    """IPv4 file: addresses written as integers."""
    return _load(path, int)


@lru_cache(maxsize=8)
def _load_v6(path: str, _mtime: int) -> _Table:
    """IPv6 file: addresses written as text."""
    return _load(path, _v6_int)


def _sorted(starts, ends, countries, generated) -> _Table:
    if any(starts[i] > starts[i + 1] for i in range(len(starts) - 1)):
        order = sorted(range(len(starts)), key=starts.__getitem__)
        starts = [starts[i] for i in order]
        ends = [ends[i] for i in order]
        countries = [countries[i] for i in order]
    return _Table(starts, ends, countries, generated)


@dataclass
class GeoIP:
    """Country lookup over one directory's ``geoip`` and ``geoip6`` files."""

    directory: Path
    v4_path: Path | None
    v6_path: Path | None
    _used: set = field(default_factory=set)

    def country(self, ip: str | None) -> str | None:
        """ISO 3166-1 alpha-2 country of ``ip``; None when unknown, private or unparsable."""
        if not ip:
            return None
        try:
            address = ipaddress.ip_address(ip.strip("[]"))
        except ValueError:
            return None
        if address.version == 6 and address.ipv4_mapped:
            address = address.ipv4_mapped
        if address.is_private or address.is_loopback or address.is_link_local or address.is_multicast:
            return None
        path = self.v4_path if address.version == 4 else self.v6_path
        if path is None:
            return None
        table = (_load_v4 if address.version == 4 else _load_v6)(str(path), path.stat().st_mtime_ns)
        self._used.add(path)
        value = int(address)
        index = bisect_right(table.starts, value) - 1
        if index < 0 or value > table.ends[index]:
            return None
        country = table.countries[index].upper()
        return None if country in ("??", "") else country

    def sources(self) -> tuple[KnowledgeSource, ...]:
        """Provenance of the files actually consulted, in path order."""
        out = []
        for path in sorted(self._used):
            table = (_load_v4 if path == self.v4_path else _load_v6)(str(path), path.stat().st_mtime_ns)
            out.append(
                KnowledgeSource(
                    name="ipfire_geoip6" if path == self.v6_path else "ipfire_geoip",
                    version=f"generated {table.generated}" if table.generated else "unversioned",
                    sha256=_sha256_cached(str(path), path.stat().st_mtime_ns),
                    path=path.name,
                    licence=LICENCE,
                )
            )
        return tuple(out)


@lru_cache(maxsize=8)
def _sha256_cached(path: str, _mtime: int) -> str:
    return file_sha256(path)


def load_geoip(directory: str | Path) -> GeoIP:
    """GeoIP over ``directory`` (files parsed lazily on first lookup).

    Raises :class:`GeoIPError` when neither ``geoip`` nor ``geoip6`` (plain or ``.gz``) is there.
    """
    directory = Path(directory)
    v4 = _find(directory, "geoip")
    v6 = _find(directory, "geoip6")
    if v4 is None and v6 is None:
        raise GeoIPError(f"no geoip or geoip6 file in {directory}")
    return GeoIP(directory, v4, v6)
