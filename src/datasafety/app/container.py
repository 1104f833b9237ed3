"""Reading the input container: an APK, a split bundle, or a bare DEX.

The zip container, the binary XML manifest and the certificates are read with
androguard (which uses apkInspector's tolerant zip parser); this module adds
the checks that turn oddities into :class:`Anomaly` values instead of errors.
Nothing from the archive is written to disk.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from datasafety.app.anomaly import Anomaly
from datasafety.app.dex.index import looks_like_dex

BUNDLE_SUFFIXES = {".apks", ".xapk", ".apkm"}
DEX_NAME = re.compile(r"^classes(\d*)\.dex$")


MANIFEST_LIMIT = 16 << 20
"""A binary manifest above 16 MB is hostile (real ones are kilobytes)."""


def inflate_limit(container_size: int) -> int:
    """Most bytes one entry may inflate to: 10x the container + 64 MB (the project's memory budget)."""
    return 10 * container_size + (64 << 20)


class InputError(Exception):
    """The input cannot be read at all (message: one line, for the CLI)."""


@dataclass(frozen=True)
class DexBlob:
    """One DEX entry of the input, read (inflated) only when :meth:`load` is called."""

    name: str
    """Entry name, prefixed with the split name for bundles (``split_config.arm64:classes.dex``)."""
    apk: object | None = None
    """androguard ``APK`` holding the entry; None when ``data`` is given."""
    entry: str = ""
    """Zip entry name inside ``apk``."""
    declared_crc: int | None = None
    data: bytes | None = None
    """The bytes, for inputs that are already in memory (bare or prepended DEX)."""
    part: str = ""
    limit: int = 1 << 40
    """Most bytes the entry may inflate to (see :func:`inflate_limit`)."""

    def load(self) -> tuple[bytes | None, list[Anomaly]]:
        """Inflate the entry. Returns (DEX bytes or None, anomalies); never raises."""
        if self.data is not None:
            return self.data, []
        anomalies: list[Anomaly] = []
        try:
            blob = _bounded_entry(self.apk, self.entry, self.limit)
        except _TooLarge:
            return None, [Anomaly("zip_bomb", f"{self.entry}: inflates past {self.limit >> 20} MB (10x the APK + 64 MB); skipped", self.part)]
        except Exception as exc:  # noqa: BLE001 - hostile zips raise many types
            return None, [Anomaly("zip_entry_unreadable", f"{self.entry}: {type(exc).__name__}: {exc}"[:300], self.part)]
        if self.declared_crc is not None and zlib.crc32(blob) & 0xFFFFFFFF != self.declared_crc:
            anomalies.append(Anomaly("zip_bad_crc", f"{self.entry}: CRC-32 does not match the central directory", self.part))
        if not looks_like_dex(blob):
            anomalies.append(Anomaly("dex_not_dex", f"{self.entry}: named like a DEX file but has no DEX header; skipped", self.part))
            return None, anomalies
        return blob, anomalies


@dataclass
class ApkPart:
    """One APK of the input (the app itself, or one APK of a split bundle)."""

    name: str
    apk: object | None
    """androguard ``APK`` object, or None for a bare DEX input."""
    dex: list[DexBlob]
    is_base: bool = True


@dataclass
class InputBundle:
    """Everything read from the input file."""

    path: Path
    kind: str
    """``apk``, ``bundle`` or ``dex``."""
    data: bytes
    parts: list[ApkPart]
    anomalies: list[Anomaly]


def _silence_androguard() -> None:
    try:
        from loguru import logger

        logger.remove()
    except Exception:  # noqa: BLE001 - logging setup must never stop a scan
        pass


def _dex_sort_key(name: str) -> tuple[int, str]:
    m = DEX_NAME.match(name)
    if not m:
        return (1 << 30, name)
    return (int(m.group(1) or 1), name)


class _TooLarge(Exception):
    pass


def _bounded_entry(apk, name: str, limit: int) -> bytes:
    """Inflate one entry through androguard's (apkInspector's) tolerant headers, at most ``limit`` bytes.

    Raises ``_TooLarge`` past the limit, so that a small zip bomb costs no memory.
    """
    local = apk.zip.get_local_header_dict(name)
    central = apk.zip.get_central_directory_entry_dict(name)
    method = local["compression_method"]
    if method != 8 or limit >= (1 << 40):
        blob = apk.get_file(name)
        if len(blob) > limit:
            raise _TooLarge
        return blob
    size = local["compressed_size"] or central["compressed_size"]
    stream = apk.zip.zip
    stream.seek(central["relative_offset_of_local_file_header"] + 30 + local["file_name_length"] + local["extra_field_length"])
    inflater = zlib.decompressobj(-15)
    out = inflater.decompress(stream.read(size), limit + 1)
    if len(out) > limit:
        raise _TooLarge
    return out


def _zip_entry_anomalies(data: bytes, label: str) -> tuple[list[Anomaly], dict[str, int]]:
    """Duplicate names, traversal names and declared CRCs, via the stdlib central-directory reader."""
    anomalies: list[Anomaly] = []
    crcs: dict[str, int] = {}
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            seen: set[str] = set()
            for info in zf.infolist():
                name = info.filename
                if name in seen:
                    anomalies.append(Anomaly("zip_duplicate_entry", f"entry {name!r} appears more than once", label))
                seen.add(name)
                if name.startswith("/") or ".." in name.split("/"):
                    anomalies.append(Anomaly("zip_path_traversal", f"entry name {name!r} escapes the archive root", label))
                crcs.setdefault(name, info.CRC)
    except (zipfile.BadZipFile, ValueError, OSError, NotImplementedError) as exc:
        anomalies.append(Anomaly("zip_nonstandard", f"the standard zip reader rejects this archive: {exc}", label))
    if data[:4] != b"PK\x03\x04":
        anomalies.append(Anomaly("zip_prefixed_data", "the archive does not start with a local file header", label))
    return anomalies, crcs


def _read_apk(data: bytes, label: str, anomalies: list[Anomaly]) -> ApkPart:
    """Open one APK from bytes with androguard; raises InputError when it is no zip at all."""
    from androguard.core.apk import APK

    _silence_androguard()
    zip_anomalies, crcs = _zip_entry_anomalies(data, label)
    anomalies.extend(zip_anomalies)
    try:
        apk = APK(data, raw=True, skip_analysis=True)
    except Exception as exc:  # noqa: BLE001 - androguard raises many types on hostile zips
        raise InputError(f"{label}: not a readable zip/APK ({type(exc).__name__}: {exc})".splitlines()[0][:300]) from None
    # The manifest is decoded only once it is known not to be a decompression bomb.
    manifest_ok = True
    if "AndroidManifest.xml" in _apk_names(apk):
        try:
            _bounded_entry(apk, "AndroidManifest.xml", MANIFEST_LIMIT)
        except _TooLarge:
            manifest_ok = False
            anomalies.append(Anomaly("zip_bomb", f"AndroidManifest.xml inflates past {MANIFEST_LIMIT >> 20} MB; not decoded", label))
        except Exception:  # noqa: BLE001 - left to androguard's own reading below
            pass
    if manifest_ok:
        try:
            apk._apk_analysis()  # what APK() runs when skip_analysis is False
        except Exception as exc:  # noqa: BLE001 - the zip is fine, only the manifest is hostile
            anomalies.append(Anomaly("manifest_malformed", f"AndroidManifest.xml could not be decoded ({type(exc).__name__})", label))
    names = _apk_names(apk)
    if "AndroidManifest.xml" not in names:
        anomalies.append(Anomaly("manifest_missing", "no AndroidManifest.xml entry", label))
    elif not getattr(apk, "valid_apk", False) and not any(a.code == "manifest_malformed" and a.location == label for a in anomalies):
        anomalies.append(Anomaly("manifest_malformed", "AndroidManifest.xml could not be parsed as binary XML", label))
    dex = [
        DexBlob(name=name, apk=apk, entry=name, declared_crc=crcs.get(name), part=label, limit=inflate_limit(len(data)))
        for name in sorted((n for n in names if DEX_NAME.match(n)), key=_dex_sort_key)
    ]
    for name in sorted(n for n in names if re.search(r"classes\d*\.dex", n) and not DEX_NAME.match(n)):
        anomalies.append(Anomaly("dex_name_not_loaded", f"{name}: looks like a DEX name but the runtime does not load it; skipped", label))
    return ApkPart(name=label, apk=apk, dex=dex)


def _apk_names(apk) -> list[str]:
    try:
        return list(apk.get_files())
    except Exception:  # noqa: BLE001
        return []


def _read_bundle(path: Path, data: bytes, anomalies: list[Anomaly]) -> list[ApkPart]:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise InputError(f"{path.name}: not a readable split bundle ({exc})") from None
    parts: list[ApkPart] = []
    with zf:
        apk_names = sorted(i.filename for i in zf.infolist() if i.filename.lower().endswith(".apk"))
        if not apk_names:
            raise InputError(f"{path.name}: split bundle contains no .apk entries")
        limit = inflate_limit(len(data))
        for name in apk_names:
            try:
                with zf.open(name) as handle:
                    inner = handle.read(limit + 1)
            except Exception as exc:  # noqa: BLE001 - zipfile raises many types (lzma, bz2, CRC, encryption)
                anomalies.append(Anomaly("bundle_entry_unreadable", f"{name}: {type(exc).__name__}: {exc}"[:300], path.name))
                continue
            if len(inner) > limit:
                anomalies.append(
                    Anomaly("zip_bomb", f"{name}: inflates past {limit >> 20} MB (10x the bundle + 64 MB); skipped", path.name)
                )
                continue
            try:
                part = _read_apk(inner, name, anomalies)
            except InputError as exc:
                anomalies.append(Anomaly("bundle_entry_unreadable", str(exc), path.name))
                continue
            parts.append(part)
    if not parts:
        raise InputError(f"{path.name}: no APK in the bundle could be read")
    _mark_base(parts, anomalies, path.name)
    return parts


def _mark_base(parts: list[ApkPart], anomalies: list[Anomaly], label: str) -> None:
    """The base APK is the one whose manifest has no ``split`` attribute (else ``base.apk``)."""
    def is_split(part: ApkPart) -> bool:
        try:
            xml = part.apk.get_android_manifest_xml()
            return xml is not None and xml.get("split") not in (None, "")
        except Exception:  # noqa: BLE001
            return True

    base = [p for p in parts if not is_split(p)]
    chosen = base[0] if base else next((p for p in parts if Path(p.name).name == "base.apk"), parts[0])
    if not base:
        anomalies.append(Anomaly("bundle_no_base", f"no base APK in the bundle; {chosen.name}'s manifest is used", label))
    elif len(base) > 1:
        anomalies.append(
            Anomaly("bundle_several_bases", f"{len(base)} APKs without a split name; {chosen.name}'s manifest is used", label)
        )
    for part in parts:
        part.is_base = part is chosen
    parts.sort(key=lambda p: (not p.is_base, p.name))


def read_input(path: str | Path) -> InputBundle:
    """Read an ``.apk``, a split bundle (``.apks``, ``.xapk``, ``.apkm``) or a bare ``.dex``.

    Raises :class:`InputError` (one-line message) when nothing can be read:
    missing file, not a zip and not a DEX, a zip with neither manifest nor DEX.
    """
    path = Path(path)
    try:
        if not path.exists():
            raise FileNotFoundError
        if not path.is_dir() and not path.is_file():
            raise InputError(f"{path}: not a regular file (device, FIFO or socket)")
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not an APK") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    anomalies: list[Anomaly] = []
    has_zip_directory = len(data) >= 22 and b"PK\x05\x06" in data[-(1 << 16) - 22 :]
    if looks_like_dex(data):
        if not has_zip_directory:
            anomalies.append(
                Anomaly("manifest_missing", "bare DEX input: no manifest, so permissions, components and target SDK are unknown", path.name)
            )
            return InputBundle(path, "dex", data, [ApkPart(path.name, None, [DexBlob(path.name, data=data, part=path.name)])], anomalies)
        # A DEX file with a zip appended: the "Janus" layout (CVE-2017-13156). Vulnerable
        # Android versions run the DEX while verifying the zip's v1 signature.
        anomalies.append(
            Anomaly("dex_prepended_to_zip", "a DEX file is prepended to the APK (Janus, CVE-2017-13156); both are analysed", path.name)
        )
        part = _read_apk(data, path.name, anomalies)
        dex_size = int.from_bytes(data[32:36], "little")
        prepended = DexBlob(f"{path.name}:prepended.dex", data=data[: dex_size or len(data)], part=path.name)
        part.dex.insert(0, prepended)
        return InputBundle(path, "apk", data, [part], anomalies)
    if not has_zip_directory:
        raise InputError(f"{path.name}: not an APK, split bundle or DEX file (no zip directory, no DEX header)")
    if path.suffix.lower() in BUNDLE_SUFFIXES or _looks_like_bundle(data):
        parts = _read_bundle(path, data, anomalies)
        kind = "bundle"
    else:
        parts = [_read_apk(data, path.name, anomalies)]
        kind = "apk"
    has_manifest = any(p.apk is not None and getattr(p.apk, "valid_apk", False) for p in parts)
    has_dex = any(p.dex for p in parts)
    if not has_manifest and not has_dex:
        raise InputError(f"{path.name}: neither a readable AndroidManifest.xml nor a DEX file")
    if not has_dex:
        anomalies.append(Anomaly("dex_missing", "no classes*.dex file: the app has no bytecode to analyse", path.name))
    return InputBundle(path, kind, data, parts, anomalies)


def _looks_like_bundle(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return False
    return "AndroidManifest.xml" not in names and any(n.lower().endswith(".apk") for n in names)
