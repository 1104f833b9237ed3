"""Call sites of sensitive APIs, from the DEX reference table and the API catalogue.

For each catalogue entry the matching method / field / string ids are found
per DEX with vectorised look-ups (no name is decoded except the ones that
match), then the reference table gives every instruction that uses them.
Each call site carries its data type, the caller, the actor (app or SDK), the
permission the API needs at the app's targetSdkVersion, and whether the
manifest requests it.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import numpy as np

from datasafety.analysis.actors import FIRST_PARTY, ActorResolver, in_package
from datasafety.analysis.precision import LOCATION_TYPES, location_precision
from datasafety.app.dex import kernels
from datasafety.app.dex.index import DexIndex, dotted
from datasafety.app.model import AppModel
from datasafety.knowledge.catalogue import Knowledge, SensitiveApi


@dataclass(frozen=True)
class CallSite:
    id: str
    data_type: str
    api: str
    """Dotted API name, e.g. ``android.location.LocationManager.requestLocationUpdates``."""
    api_id: str
    """Catalogue entry id."""
    api_descriptor: str
    """Descriptor of the referenced method (or field type / string value)."""
    caller_class: str
    caller_method: str
    """Name and descriptor, e.g. ``onCreate(Landroid/os/Bundle;)V``."""
    pc: int
    """Instruction offset in the caller's code, in 16-bit code units."""
    dex: str
    actor: str
    """``first_party`` or an SDK catalogue id."""
    in_app_package: bool
    permission_any_of: tuple[str, ...]
    """Permissions of which one is needed at the app's targetSdkVersion; empty = none needed."""
    permission_requested: bool
    """True when no permission is needed or the manifest requests one of ``permission_any_of``."""
    precision: str
    """For location data types: ``precise``, ``approximate`` or ``unspecified``; else ``""``."""
    precision_evidence: str
    reachable: bool | None = None
    """Reachable from an entry point (None: reachability was not analysed)."""
    reachable_path: tuple[str, ...] = ()
    """One call chain from an entry point to the caller (methods, entry point first)."""
    reachable_entry: str = ""
    """Why the first method of ``reachable_path`` runs: the component and callback, or rule, that makes it an entry point."""
    dex_no: int = field(default=-1, compare=False, repr=False)
    """Position of ``dex`` in ``AppModel.dex`` (not part of the JSON)."""
    method_row: int = field(default=-1, compare=False, repr=False)
    """Method row of the caller in that DEX (not part of the JSON)."""

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "data_type": self.data_type,
            "api": self.api,
            "api_id": self.api_id,
            "api_descriptor": self.api_descriptor,
            "caller_class": self.caller_class,
            "caller_method": self.caller_method,
            "pc": self.pc,
            "dex": self.dex,
            "actor": self.actor,
            "in_app_package": self.in_app_package,
            "permission_any_of": list(self.permission_any_of),
            "permission_requested": self.permission_requested,
            "precision": self.precision,
            "precision_evidence": self.precision_evidence,
            "reachable": self.reachable,
            "reachable_path": list(self.reachable_path),
            "reachable_entry": self.reachable_entry,
        }


def _catalogue_texts(apis: tuple[SensitiveApi, ...]) -> list[str]:
    """Class descriptors and member names of the catalogue's invoke and field entries, sorted."""
    return sorted({t for api in apis if api.kind != "string" for t in (api.class_descriptor, api.member)})


def _member_targets(dex: DexIndex, apis: tuple[SensitiveApi, ...], plan: list[tuple[int, str, str, str]], texts: list[str]) -> dict[tuple[int, int], list[int]]:
    """``(reference kind, method or field id) -> catalogue positions`` for the invoke and field entries.

    One batched string look-up for every descriptor and name (``texts``, from
    :func:`_catalogue_texts`), then one vectorised membership test per table
    on ``class << 32 | name`` keys; only the protos of matching methods are decoded.
    ``plan``: ``(catalogue position, kind, member, class descriptor)`` of each
    invoke and field entry.
    """
    strings = dict(zip(texts, dex.find_many_strings(texts)))
    descriptors = [strings[t] for t in texts if t[:1] == "L" and t[-1:] == ";"]
    wanted_types = np.concatenate(descriptors) if descriptors else np.zeros(0, np.int64)
    types_of: dict[int, list[int]] = {}
    for t in np.nonzero(np.isin(dex.type_desc, wanted_types))[0].tolist():
        types_of.setdefault(int(dex.type_desc[t]), []).append(t)
    wanted: dict[str, dict[int, list[int]]] = {"invoke": {}, "field": {}}
    for pos, kind, member, class_descriptor in plan:
        names, cls = strings.get(member), strings.get(class_descriptor)
        if names is None or cls is None or not len(names) or not len(cls):
            continue
        for c in cls.tolist():
            for t in types_of.get(c, ()):
                for n in names.tolist():
                    positions = wanted[kind].setdefault((t << 32) | n, [])
                    if pos not in positions:
                        positions.append(pos)
    out: dict[tuple[int, int], list[int]] = {}
    for kind, classes, name_ids, ref in (
        ("invoke", dex.method_class, dex.method_name, kernels.REF_INVOKE),
        ("field", dex.field_class, dex.field_name, kernels.REF_FIELD_READ),
    ):
        if not wanted[kind] or not len(classes):
            continue
        keys = (classes.astype(np.int64) << 32) | name_ids.astype(np.int64)
        for idx in np.nonzero(np.isin(keys, np.fromiter(wanted[kind], dtype=np.int64)))[0].tolist():
            for pos in wanted[kind][int(keys[idx])]:
                api = apis[pos]
                if kind == "invoke" and api.descriptor and dex.proto_descriptor(int(dex.method_proto[idx])) != api.descriptor:
                    continue
                out.setdefault((ref, idx), []).append(pos)
    return out


def _strings_in_row(dex: DexIndex, row: int) -> set[int]:
    kinds, targets, _ = dex.row_refs(row)
    return set(int(t) for t in targets[kinds == kernels.REF_STRING])


def _permission_state(api: SensitiveApi, data_type: str, target_sdk: int, requested: set[str]) -> tuple[tuple[str, ...], bool] | None:
    for y in api.yields:
        if y.data_type == data_type:
            rule = y.rule_for(target_sdk)
            if rule is None:
                return (), True
            if not rule.any_of:
                return (), True
            return tuple(rule.any_of), any(p in requested for p in rule.any_of)
    return None


def find_call_sites(app: AppModel, knowledge: Knowledge, resolver: ActorResolver, jobs: int = 1) -> list[CallSite]:
    """Every use of a catalogued API in the app's (kept) code, sorted and given stable ids.

    ``jobs`` threads search the DEX files; the result does not depend on it.
    """
    manifest = app.manifest
    target_sdk = manifest.effective_target_sdk
    min_sdk = manifest.min_sdk or 1
    requested = {
        p.name for p in manifest.permissions if p.max_sdk_version is None or p.max_sdk_version >= min_sdk
    }
    apis = tuple(knowledge.apis)
    texts = _catalogue_texts(apis)
    plan = [(pos, api.kind, api.member, api.class_descriptor) for pos, api in enumerate(apis) if api.kind in ("invoke", "field")]
    prefixes = [(pos, api.member) for pos, api in enumerate(apis) if api.kind == "string"]

    def hits_in(dex_no: int) -> list[tuple]:
        dex = app.dex[dex_no]
        found: list[tuple] = []
        if not len(dex.ref_kind):
            return found
        kept_rows = app.kept_rows(dex_no)
        # (catalogue position, reference row) of every use, in catalogue then file order.
        wanted = _member_targets(dex, apis, plan, texts)
        for pos, prefix in prefixes:
            for sid in dex.strings_with_prefix(prefix).tolist():
                wanted.setdefault((kernels.REF_STRING, sid), []).append(pos)
        uses: list[tuple[int, int]] = []
        if wanted:
            keys = np.fromiter(((k << 40) | i for k, i in wanted), dtype=np.int64)
            ref_keys = (dex.ref_kind.astype(np.int64) << 40) | dex.ref_target
            for hit in np.nonzero(np.isin(ref_keys, keys))[0].tolist():
                uses.extend((pos, hit) for pos in wanted[(int(dex.ref_kind[hit]), int(dex.ref_target[hit]))])
        uses.sort()
        required_of: dict[int, set[int]] = {}
        for pos, hit in uses:
            api = apis[pos]
            row = int(dex.ref_row[hit])
            if not kept_rows[row]:
                continue
            if api.requires_string:
                if pos not in required_of:
                    required_of[pos] = {int(i) for ids in dex.find_many_strings(list(api.requires_string)) for i in ids}
                if not (required_of[pos] & _strings_in_row(dex, row)):
                    continue
            found.append((dex_no, row, int(dex.ref_pc[hit]), int(dex.ref_target[hit]), api))
        return found
        return found

    raw: list[tuple] = []
    if jobs > 1 and len(app.dex) > 1:
        with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="call-sites") as pool:
            for found in pool.map(hits_in, range(len(app.dex))):
                raw.extend(found)
    else:
        for dex_no in range(len(app.dex)):
            raw.extend(hits_in(dex_no))
    sites: list[CallSite] = []
    for dex_no, row, pc, target, api in raw:
        dex = app.dex[dex_no]
        method_idx = int(dex.def_method[row])
        if method_idx >= 0:
            cls_desc, mname, proto = dex.method_ref(method_idx)
        else:
            cls_desc, mname, proto = dex.type_name(int(dex.class_type[int(dex.def_class[row])])), "?", ""
        caller_class = dotted(cls_desc)
        sdk = resolver.sdk_for_class(caller_class)
        if api.kind == "invoke":
            descriptor = dex.proto_descriptor(int(dex.method_proto[target]))
        elif api.kind == "field":
            descriptor = dex.type_name(int(dex.field_type[target]))
        else:
            descriptor = dex.string(target)
        yielded = [y.data_type for y in api.yields]
        precision, evidence = "", ""
        if set(yielded) & LOCATION_TYPES:
            precision, evidence = location_precision(dex, row, pc, target if api.kind == "invoke" else None)
            if precision == "precise" and "precise_location" in yielded:
                yielded = [t for t in yielded if t != "approximate_location"]
            elif precision == "approximate" and "approximate_location" in yielded:
                yielded = [t for t in yielded if t != "precise_location"]
        for data_type in yielded:
            state = _permission_state(api, data_type, target_sdk, requested)
            any_of, ok = state if state else ((), True)
            sites.append(
                CallSite(
                    id="",
                    data_type=data_type,
                    api=api.api_name,
                    api_id=api.id,
                    api_descriptor=descriptor,
                    caller_class=caller_class,
                    caller_method=f"{mname}{proto}",
                    pc=pc,
                    dex=dex.name,
                    actor=sdk.id if sdk else FIRST_PARTY,
                    in_app_package=in_package(caller_class, manifest.package),
                    permission_any_of=any_of,
                    permission_requested=ok,
                    precision=precision if data_type in LOCATION_TYPES else "",
                    precision_evidence=evidence if data_type in LOCATION_TYPES else "",
                    dex_no=dex_no,
                    method_row=row,
                )
            )
    sites.sort(key=lambda s: (s.data_type, s.caller_class, s.caller_method, s.pc, s.api, s.dex))
    # One instruction matched by two catalogue entries (e.g. "content://mms" and
    # "content://mms-sms") is one call site per data type: keep the first entry.
    unique: dict[tuple, CallSite] = {}
    for site in sites:
        unique.setdefault((site.data_type, site.dex, site.caller_class, site.caller_method, site.pc), site)
    sites = list(unique.values())
    numbered = []
    counters: dict[str, int] = {}
    for site in sites:
        counters[site.data_type] = counters.get(site.data_type, 0) + 1
        numbered.append(_with_id(site, f"cs:{site.data_type}:{counters[site.data_type]:04d}"))
    return numbered


def _with_id(site: CallSite, new_id: str) -> CallSite:
    return replace(site, id=new_id)


def with_reachability(sites: list[CallSite], reachability) -> list[CallSite]:
    """Each call site with ``reachable`` and an example path (``reachability``: :class:`Reachability`)."""
    cg = reachability.cg
    out = []
    for site in sites:
        gm = int(cg.gm_of_row[site.dex_no][site.method_row]) if site.dex_no >= 0 else -1
        ok = bool(gm >= 0 and reachability.site_reachable(gm, site.pc))
        out.append(replace(site, reachable=ok, reachable_path=reachability.path_labels(gm) if ok else (),
                           reachable_entry=reachability.entry_reason(gm) if ok else ""))
    return out
