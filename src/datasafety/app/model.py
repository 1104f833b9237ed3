"""AppModel: the app as the analyses see it (manifest, signers, merged DEX index).

``load_app(path)`` is the first pipeline stage: container -> manifest -> DEX
index. Multi-DEX and split APKs are merged into one namespace: a class defined
in more than one DEX file is kept where it is first defined (base APK first,
then ``classes.dex``, ``classes2.dex``, ...), as the runtime's class loader does,
and each shadowed definition is an anomaly.
"""

from __future__ import annotations

import hashlib
import struct
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Callable

import numpy as np

from datasafety.app.anomaly import Anomaly
from datasafety.app.container import DexBlob, InputBundle, read_input
from datasafety.app.dex.index import DexFormatError, DexIndex, index_dex
from datasafety.app.layouts import LayoutFacts, read_layouts
from datasafety.app.manifest import Manifest, read_manifest
from datasafety.budget import Budget


@dataclass
class AppModel:
    path: Path
    kind: str
    """``apk``, ``bundle`` or ``dex``."""
    file_sha256: str
    manifest: Manifest
    """Manifest of the base APK (empty for a bare DEX)."""
    split_names: tuple[str, ...]
    signer_sha256: tuple[str, ...]
    """sha256 of each signer certificate (DER), sorted."""
    dex: list[DexIndex]
    class_kept: list[np.ndarray]
    """Per DEX: bool per class def, False where an earlier DEX defines the same class."""
    anomalies: list[Anomaly] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)
    """Stages that did not finish because a budget ran out."""
    base_apk: object = field(default=None, repr=False, compare=False)
    """androguard ``APK`` of the base part (None for a bare DEX); layouts are read from it on demand."""

    @cached_property
    def layouts(self) -> LayoutFacts:
        """onClick handlers, password fields and view classes named in the base APK's layouts.

        Read on first use: only the call graph and the flow analysis need them.
        """
        return read_layouts(self.base_apk)

    @property
    def has_manifest(self) -> bool:
        """False for a bare DEX (or a zip without a readable manifest): permissions and components are unknown."""
        return bool(self.manifest.package)

    @property
    def class_count(self) -> int:
        return int(sum(int(k.sum()) for k in self.class_kept))

    @property
    def method_count(self) -> int:
        total = 0
        for dex, kept in zip(self.dex, self.class_kept):
            if len(dex.def_class):
                total += int(kept[dex.def_class].sum())
        return total

    def kept_rows(self, dex_no: int) -> np.ndarray:
        """Bool per defined method of DEX ``dex_no``: True when its class definition is the one kept."""
        dex = self.dex[dex_no]
        if not len(dex.def_class):
            return np.zeros(0, dtype=bool)
        return self.class_kept[dex_no][dex.def_class]


def _signers(apk, label: str, anomalies: list[Anomaly]) -> tuple[str, ...]:
    if apk is None:
        return ()
    ders: list[bytes] = []
    for getter in ("get_certificates_der_v3", "get_certificates_der_v2"):
        try:
            ders.extend(getattr(apk, getter)() or [])
        except Exception as exc:  # noqa: BLE001 - androguard raises many types on bad blocks
            anomalies.append(Anomaly("signature_block_malformed", f"{getter[17:]} signing block: {type(exc).__name__}", label))
    if not ders:
        try:
            for cert in apk.get_certificates_v1() or []:
                if cert is not None:
                    ders.append(cert.dump())
        except Exception as exc:  # noqa: BLE001
            anomalies.append(Anomaly("signature_v1_malformed", f"v1 signature: {type(exc).__name__}", label))
    if not ders:
        anomalies.append(Anomaly("signature_missing", "no signer certificate could be read (unsigned, or a broken signature)", label))
    return tuple(sorted({hashlib.sha256(d).hexdigest() for d in ders}))


ProgressFn = Callable[[str, int, int], None]

def _index_blob(blob: DexBlob) -> tuple[DexIndex | None, list[Anomaly]]:
    data, anomalies = blob.load()
    if data is None:
        return None, anomalies
    try:
        dex = index_dex(data, blob.name)
    except (DexFormatError, ValueError, IndexError, OverflowError, struct.error, TypeError, KeyError) as exc:
        anomalies.append(Anomaly("dex_unreadable", f"{blob.name}: {exc}", blob.part))
        return None, anomalies
    for problem in dex.problems:
        code = "dex_unknown_version" if "unknown DEX version" in problem else "dex_malformed"
        anomalies.append(Anomaly(code, problem, blob.part))
    return dex, anomalies


def _index_all(
    blobs: list[DexBlob], jobs: int, budget: Budget, progress: ProgressFn | None
) -> tuple[list[tuple[DexIndex | None, list[Anomaly]]], str | None]:
    """Index DEX entries in order, in ``jobs`` threads. Returns results and the exhausted budget, if any."""
    results: list[tuple[DexIndex | None, list[Anomaly]]] = []
    if jobs <= 1 or len(blobs) < 2:
        for i, blob in enumerate(blobs):
            reason = budget.exhausted()
            if reason:
                return results, reason
            results.append(_index_blob(blob))
            if progress:
                progress("index", i + 1, len(blobs))
        return results, None
    # Threads, not processes: inflating (zlib) and the compiled kernels (nogil)
    # release the GIL, and threads avoid copying every DEX back from a worker.
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="dex-index") as pool:
        futures = [pool.submit(_index_blob, blob) for blob in blobs]
        reason = None
        for i, future in enumerate(futures):
            try:
                results.append(future.result(timeout=budget.remaining()))
            except FutureTimeout:
                reason = "time"
            if reason is None and i + 1 < len(futures):
                reason = budget.exhausted()
            if reason:
                for pending in futures[i + 1 :]:
                    pending.cancel()
                pool.shutdown(wait=False, cancel_futures=True)
                return results, reason
            if progress:
                progress("index", i + 1, len(blobs))
    return results, None


def build_model(
    bundle: InputBundle,
    jobs: int = 1,
    budget: Budget | None = None,
    progress: ProgressFn | None = None,
) -> AppModel:
    """Index every DEX of every part (``jobs`` processes) and merge them into one namespace.

    The result does not depend on ``jobs``. When ``budget`` runs out, the DEX
    files indexed so far are kept and ``incomplete`` names the stage.
    """
    budget = budget or Budget()
    anomalies = list(bundle.anomalies)
    base = bundle.parts[0]
    manifest = Manifest()
    if base.apk is not None:
        manifest = read_manifest(base.apk, base.name)
        anomalies.extend(manifest.anomalies)
    for part in bundle.parts[1:]:
        if part.apk is not None:
            split_manifest = read_manifest(part.apk, part.name)
            anomalies.extend(split_manifest.anomalies)
            if manifest.package and split_manifest.package and split_manifest.package != manifest.package:
                anomalies.append(
                    Anomaly(
                        "bundle_package_mismatch",
                        f"{part.name} belongs to {split_manifest.package}, not {manifest.package}; analysed as part of the app",
                        part.name,
                    )
                )
    blobs: list[DexBlob] = []
    for part in bundle.parts:
        for blob in part.dex:
            label = blob.name if part.name == bundle.path.name or blob.name.startswith(part.name + ":") else f"{part.name}:{blob.name}"
            blobs.append(replace(blob, name=label))
    results, reason = _index_all(blobs, jobs, budget, progress)
    dexes: list[DexIndex] = []
    for dex, found in results:
        anomalies.extend(found)
        if dex is not None:
            dexes.append(dex)
    incomplete: list[str] = []
    if reason:
        incomplete.append("dex_index")
        anomalies.append(
            Anomaly("budget_exhausted", f"{reason} budget ran out after {len(results)} of {len(blobs)} DEX files", "scan")
        )
    class_kept = _dedup_classes(dexes, anomalies)
    return AppModel(
        path=bundle.path,
        kind=bundle.kind,
        file_sha256=hashlib.sha256(bundle.data).hexdigest(),
        manifest=manifest,
        split_names=tuple(p.name for p in bundle.parts[1:]),
        signer_sha256=_bundle_signers(bundle, anomalies),
        dex=dexes,
        class_kept=class_kept,
        anomalies=anomalies,
        incomplete=incomplete,
        base_apk=base.apk,
    )


def _bundle_signers(bundle: InputBundle, anomalies: list[Anomaly]) -> tuple[str, ...]:
    """The base APK's signers; a split signed by other keys is an anomaly."""
    base = bundle.parts[0]
    signers = _signers(base.apk, base.name, anomalies)
    for part in bundle.parts[1:]:
        other = _signers(part.apk, part.name, anomalies)
        if other and signers and other != signers:
            anomalies.append(Anomaly("bundle_signer_mismatch", f"{part.name} is signed by other keys than the base APK", part.name))
    return signers


def _dedup_classes(dexes: list[DexIndex], anomalies: list[Anomaly]) -> list[np.ndarray]:
    """Keep the first definition of each class descriptor across DEX files."""
    keys = []
    for dex in dexes:
        desc = dex.type_desc[np.clip(dex.class_type, 0, max(len(dex.type_desc) - 1, 0))] if len(dex.type_desc) else np.zeros(len(dex.class_type), np.int64)
        keys.append(dex.string_hashes[np.clip(desc, 0, max(len(dex.string_hashes) - 1, 0))] if len(dex.string_hashes) else np.zeros(len(desc), np.uint64))
    if not keys:
        return []
    allkeys = np.concatenate(keys) if keys else np.zeros(0, np.uint64)
    _, first = np.unique(allkeys, return_index=True)
    keep_all = np.zeros(len(allkeys), dtype=bool)
    keep_all[first] = True
    kept: list[np.ndarray] = []
    start = 0
    for dex, key in zip(dexes, keys):
        mask = keep_all[start : start + len(key)]
        start += len(key)
        dropped = np.nonzero(~mask)[0]
        if len(dropped):
            example = dex.type_name(int(dex.class_type[dropped[0]]))
            anomalies.append(
                Anomaly(
                    "dex_duplicate_class",
                    f"{dex.name}: {len(dropped)} classes already defined earlier (e.g. {example}); the first definition is kept",
                    dex.name,
                )
            )
        kept.append(mask.copy())
    return kept


def load_app(path: str | Path, jobs: int = 1, budget: Budget | None = None, progress: ProgressFn | None = None) -> AppModel:
    """Read and index an app. Raises ``InputError`` when the input is unusable."""
    return build_model(read_input(path), jobs=jobs, budget=budget, progress=progress)
