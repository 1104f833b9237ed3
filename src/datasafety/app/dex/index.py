"""DEX index: the tables of one DEX file as compact numpy arrays.

:class:`DexIndex` holds the raw bytes and, straight from them, the id tables
(strings, types, protos, fields, methods, class defs), every defined method
with its code offset, and one array-of-references table produced by a single
compiled pass over all method bodies (invokes, field reads/writes, const
strings, types). Names are decoded on demand only.

Format: https://source.android.com/docs/core/runtime/dex-format
"""

from __future__ import annotations

import functools
import struct
from dataclasses import dataclass, field

import numpy as np

from datasafety.app.dex import kernels

DEX_MAGIC_PREFIX = b"dex\n"
KNOWN_VERSIONS = {b"035", b"036", b"037", b"038", b"039", b"040", b"041"}
HEADER_SIZE = 0x70
NO_INDEX = 0xFFFFFFFF

# Item layouts of the id tables (parsed once: numpy parses a dtype string on every use).
_U4 = np.dtype("<u4")
_PROTO_ID = np.dtype("(3,)<u4")
_MEMBER_ID = np.dtype("<u2,<u2,<u4")
_CLASS_DEF = np.dtype("(8,)<u4")


STRING_READ_FACTOR = 4
"""Passes over all strings read at most this many times the DEX's size in bytes (hostile files
point many string ids into one huge unterminated string); strings past it are left unread."""


MAX_PROTO_PARAMS = 255
"""Most parameters a method can have: its arguments fill at most 255 registers (the 8-bit
argument count of invoke-kind/range), https://source.android.com/docs/core/runtime/dalvik-bytecode"""


class DexFormatError(ValueError):
    """The bytes are not a DEX file that can be indexed at all."""


@dataclass
class DexIndex:
    """Index of one DEX file.

    Arrays (all numpy, one row per table item):

    - ``string_starts`` int64: offset of each string's MUTF-8 bytes, -1 if bad.
    - ``string_hashes`` uint64: FNV-1a 64 of each string's bytes.
    - ``type_desc`` int64: string index of each type's descriptor.
    - ``proto_shorty``, ``proto_return``, ``proto_params_off``: proto table.
    - ``field_class``, ``field_type``, ``field_name``: field table.
    - ``method_class``, ``method_proto``, ``method_name``: method table.
    - ``class_type``, ``class_flags``, ``class_super``, ``class_interfaces_off``,
      ``class_data_off``: class defs.
    - ``def_class``, ``def_method``, ``def_flags``, ``def_code_off``: every
      defined method (row = "method row").
    - ``ref_kind``, ``ref_target``, ``ref_pc``, ``ref_row``: references found
      in method bodies (see :mod:`kernels`), ordered by method row then pc.
    """

    name: str
    data: bytes
    version: str
    buf: np.ndarray
    string_starts: np.ndarray
    string_hashes: np.ndarray
    type_desc: np.ndarray
    proto_shorty: np.ndarray
    proto_return: np.ndarray
    proto_params_off: np.ndarray
    field_class: np.ndarray
    field_type: np.ndarray
    field_name: np.ndarray
    method_class: np.ndarray
    method_proto: np.ndarray
    method_name: np.ndarray
    class_type: np.ndarray
    class_flags: np.ndarray
    class_super: np.ndarray
    class_interfaces_off: np.ndarray
    class_data_off: np.ndarray
    def_class: np.ndarray
    def_method: np.ndarray
    def_flags: np.ndarray
    def_code_off: np.ndarray
    ref_kind: np.ndarray
    ref_target: np.ndarray
    ref_pc: np.ndarray
    ref_row: np.ndarray
    problems: list[str] = field(default_factory=list)
    """Structural problems found while indexing (become report anomalies)."""
    _string_cache: dict[int, str] = field(default_factory=dict)

    def __getstate__(self) -> dict:
        """Pickle without ``buf`` (a view of ``data``) and caches: used by ``--jobs``."""
        state = dict(self.__dict__)
        state["buf"] = None
        state["_string_cache"] = {}
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.buf = np.frombuffer(self.data, dtype=np.uint8)

    # ----------------------------------------------------------------- strings
    def string(self, idx: int) -> str:
        """Decode string ``idx`` (MUTF-8). Returns ``""`` for a bad index."""
        cached = self._string_cache.get(idx)
        if cached is not None:
            return cached
        if idx < 0 or idx >= len(self.string_starts):
            return ""
        start = int(self.string_starts[idx])
        if start < 0:
            return ""
        end = self.data.find(b"\x00", start)
        raw = self.data[start : end if end >= 0 else len(self.data)]
        text = _decode_mutf8(raw)
        self._string_cache[idx] = text
        return text

    def string_bytes(self, idx: int) -> bytes:
        start = int(self.string_starts[idx])
        if start < 0:
            return b""
        end = self.data.find(b"\x00", start)
        return self.data[start : end if end >= 0 else len(self.data)]

    def find_strings(self, text: str | bytes) -> np.ndarray:
        """Indices of strings whose bytes equal ``text`` (usually 0 or 1 of them)."""
        return self.find_many_strings([text])[0]

    def find_many_strings(self, texts: list[str | bytes]) -> list[np.ndarray]:
        """:meth:`find_strings` for many texts: one compiled pass over the string hashes.

        The texts are encoded and hashed once per distinct list (the same
        catalogue is looked up in every DEX file), see :func:`_queries`.
        """
        try:
            q = _queries(tuple(texts))
        except TypeError:  # unhashable items
            q = _queries.__wrapped__(tuple(texts))
        ptr, items = kernels.match_strings(self.buf, self.string_starts, self.string_hashes, *q)
        bounds = ptr.tolist()
        return [items[bounds[j] : bounds[j + 1]] for j in range(len(bounds) - 1)]

    def strings_with_prefix(self, prefix: str) -> np.ndarray:
        """Indices of strings starting with ``prefix``."""
        pat = np.frombuffer(prefix.encode("utf-8"), dtype=np.uint8)
        return np.nonzero(kernels.strings_with_prefix(self.buf, self.string_starts, pat))[0]

    def strings_containing(self, text: str) -> tuple[np.ndarray, int]:
        """Indices of strings containing ``text``, and how many strings were left unsearched
        because the search reached :data:`STRING_READ_FACTOR` times the DEX's size."""
        needle = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
        mask, skipped = kernels.strings_containing(self.buf, self.string_starts, needle, np.int64(STRING_READ_FACTOR * len(self.buf)))
        return np.nonzero(mask)[0], int(skipped)

    # ------------------------------------------------------------------- names
    def type_name(self, type_idx: int) -> str:
        """Descriptor of a type, e.g. ``Landroid/location/LocationManager;``."""
        if type_idx < 0 or type_idx >= len(self.type_desc):
            return ""
        return self.string(int(self.type_desc[type_idx]))

    def find_types(self, descriptor: str) -> np.ndarray:
        strings = self.find_strings(descriptor)
        if len(strings) == 0:
            return strings
        return np.nonzero(np.isin(self.type_desc, strings))[0]

    def proto_descriptor(self, proto_idx: int) -> str:
        """``(params)ret`` descriptor of a proto, e.g. ``(Ljava/lang/String;)V``.

        A parameter list longer than :data:`MAX_PROTO_PARAMS` cannot belong to a
        callable method (hostile input): it reads as no parameters.
        """
        if proto_idx < 0 or proto_idx >= len(self.proto_return):
            return ""
        params = []
        off = int(self.proto_params_off[proto_idx])
        if 0 < off and off + 4 <= len(self.data):
            (size,) = struct.unpack_from("<I", self.data, off)
            if size <= MAX_PROTO_PARAMS and off + 4 + 2 * size <= len(self.data):
                params = [self.type_name(t) for t in struct.unpack_from(f"<{size}H", self.data, off + 4)]
        return "(" + "".join(params) + ")" + self.type_name(int(self.proto_return[proto_idx]))

    def method_ref(self, method_idx: int) -> tuple[str, str, str]:
        """(class descriptor, method name, proto descriptor) of a method id."""
        return (
            self.type_name(int(self.method_class[method_idx])),
            self.string(int(self.method_name[method_idx])),
            self.proto_descriptor(int(self.method_proto[method_idx])),
        )

    def field_ref(self, field_idx: int) -> tuple[str, str, str]:
        """(class descriptor, field name, type descriptor) of a field id."""
        return (
            self.type_name(int(self.field_class[field_idx])),
            self.string(int(self.field_name[field_idx])),
            self.type_name(int(self.field_type[field_idx])),
        )

    def class_descriptor_starts(self) -> np.ndarray:
        """Byte offset of each class def's descriptor string (-1 when an index is out of range)."""
        types = self.class_type
        if not len(self.type_desc) or not len(self.string_starts):
            return np.full(len(types), -1, dtype=np.int64)
        ok = (types >= 0) & (types < len(self.type_desc))
        desc = np.where(ok, self.type_desc[np.where(ok, types, 0)], -1)
        ok2 = (desc >= 0) & (desc < len(self.string_starts))
        return np.where(ok2, self.string_starts[np.where(ok2, desc, 0)], -1)

    def row_refs(self, row: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(kinds, targets, pcs) of the references in defined method ``row`` (views, in pc order)."""
        lo = np.searchsorted(self.ref_row, row, side="left")
        hi = np.searchsorted(self.ref_row, row, side="right")
        return self.ref_kind[lo:hi], self.ref_target[lo:hi], self.ref_pc[lo:hi]

    def code_units(self, row: int) -> np.ndarray:
        """The 16-bit code units of defined method ``row`` (decoded on demand)."""
        off = int(self.def_code_off[row])
        if off <= 0 or off + 16 > len(self.data):
            return np.empty(0, dtype=np.uint16)
        (size,) = struct.unpack_from("<I", self.data, off + 12)
        end = off + 16 + 2 * size
        if end > len(self.data):
            return np.empty(0, dtype=np.uint16)
        return np.frombuffer(self.data, dtype="<u2", count=size, offset=off + 16)


@functools.lru_cache(maxsize=65536)
def dotted(descriptor: str) -> str:
    """Java name of a class type descriptor: ``Lcom/foo/Bar$Baz;`` -> ``com.foo.Bar$Baz``; other descriptors unchanged."""
    if descriptor.startswith("L") and descriptor.endswith(";"):
        return descriptor[1:-1].replace("/", ".")
    return descriptor


def fnv1a(raw: bytes) -> int:
    """FNV-1a 64-bit hash, the same function as :func:`kernels.string_hashes`."""
    h = 0xCBF29CE484222325
    for b in raw:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


@functools.lru_cache(maxsize=256)
def _queries(texts: tuple[str | bytes, ...]) -> tuple[np.ndarray, ...]:
    """The query arrays of :func:`kernels.match_strings` for ``texts`` (UTF-8 encoded).

    Returns (sorted hashes, query of each, concatenated bytes, offsets, top-16-bit filter);
    read-only, as they are shared between DEX files and threads.
    """
    raws = [t.encode("utf-8") if isinstance(t, str) else bytes(t) for t in texts]
    hashes = kernels.fnv1a_many(raws)
    order = np.argsort(hashes, kind="stable")
    offs = np.zeros(len(raws) + 1, dtype=np.int64)
    np.cumsum([len(r) for r in raws], out=offs[1:])
    blob = np.frombuffer(b"".join(raws), dtype=np.uint8)
    filt = np.zeros(1 << 16, dtype=np.uint8)
    filt[(hashes >> np.uint64(48)).astype(np.intp)] = 1
    out = (hashes[order], order.astype(np.int64), blob, offs, filt)
    for a in out:
        a.flags.writeable = False
    return out


def _decode_mutf8(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        import mutf8

        return mutf8.decode_modified_utf8(raw)
    except Exception:  # noqa: BLE001 - hostile bytes: keep what can be shown
        return raw.decode("utf-8", errors="replace")


def looks_like_dex(data: bytes) -> bool:
    return len(data) >= HEADER_SIZE and data[:4] == DEX_MAGIC_PREFIX


def _table(data: bytes, off: int, count: int, itemsize: int, fields: np.dtype, problems: list[str], label: str):
    """Read ``count`` fixed-size items at ``off`` as a structured array, truncating at EOF."""
    if count < 0:
        count = 0
    if off < 0 or (count and off >= len(data)):
        if count:
            problems.append(f"{label}: offset {off:#x} outside the file")
        count = 0
        off = 0
    avail = (len(data) - off) // itemsize if count else 0
    if count > avail:
        problems.append(f"{label}: {count} items declared, {avail} fit in the file")
        count = avail
    return np.frombuffer(data, dtype=fields, count=count, offset=off) if count else np.zeros(0, dtype=fields)


def _first_use_only(offsets: np.ndarray, problems: list[str], message: str) -> np.ndarray:
    """Zero every non-zero offset already used by an earlier row (a valid DEX never shares them)."""
    nonzero = np.nonzero(offsets)[0]
    if not len(nonzero):
        return offsets
    used = offsets[nonzero]
    if len(used) < 2 or bool((used[1:] > used[:-1]).all()):  # the usual layout: ascending, so no repeats
        return offsets
    _, first = np.unique(used, return_index=True)
    if len(first) == len(nonzero):
        return offsets
    keep = np.zeros(len(nonzero), dtype=bool)
    keep[first] = True
    out = offsets.copy()
    out[nonzero[~keep]] = 0
    problems.append(message.format(int((~keep).sum())))
    return out


def index_dex(data: bytes, name: str = "classes.dex") -> DexIndex:
    """Build the :class:`DexIndex` of one DEX file.

    Raises :class:`DexFormatError` when ``data`` has no DEX header. Structural
    problems that still allow indexing (unknown version, truncated tables,
    malformed class data or code items) are listed in ``problems``.
    """
    if not looks_like_dex(data):
        raise DexFormatError(f"{name}: not a DEX file (bad magic)")
    problems: list[str] = []
    version = data[4:7]
    if version not in KNOWN_VERSIONS:
        problems.append(f"{name}: unknown DEX version {version!r}")
    (
        _file_size,
        _header_size,
        endian,
        _link_size,
        _link_off,
        _map_off,
        string_ids_size,
        string_ids_off,
        type_ids_size,
        type_ids_off,
        proto_ids_size,
        proto_ids_off,
        field_ids_size,
        field_ids_off,
        method_ids_size,
        method_ids_off,
        class_defs_size,
        class_defs_off,
    ) = struct.unpack_from("<18I", data, 32)
    if endian != 0x12345678:
        problems.append(f"{name}: unusual endian tag {endian:#x}")

    buf = np.frombuffer(data, dtype=np.uint8)
    strings = _table(data, string_ids_off, string_ids_size, 4, _U4, problems, f"{name} string_ids")
    string_starts = kernels.string_data_starts(buf, np.int64(string_ids_off), np.int64(len(strings)))
    bad_strings = int(np.count_nonzero(string_starts < 0))
    if bad_strings:
        problems.append(f"{name}: {bad_strings} string ids point outside the file")
    string_hashes, unhashed = kernels.string_hashes(buf, string_starts, np.int64(STRING_READ_FACTOR * len(data)))
    if unhashed:
        problems.append(f"{name}: {unhashed} strings not read (string data overlaps beyond the file's size)")

    types = _table(data, type_ids_off, type_ids_size, 4, _U4, problems, f"{name} type_ids").astype(np.int64)
    protos = _table(data, proto_ids_off, proto_ids_size, 12, _PROTO_ID, problems, f"{name} proto_ids")
    fields_ = _table(data, field_ids_off, field_ids_size, 8, _MEMBER_ID, problems, f"{name} field_ids")
    methods = _table(data, method_ids_off, method_ids_size, 8, _MEMBER_ID, problems, f"{name} method_ids")
    classes = _table(data, class_defs_off, class_defs_size, 32, _CLASS_DEF, problems, f"{name} class_defs")

    class_data_off = _first_use_only(classes[:, 6].astype(np.int64), problems, f"{name}: {{}} class defs share another's class data (ignored)")
    def_class, def_method, def_flags, def_code_off, bad_classes = kernels.parse_class_data(
        buf, class_data_off, np.int64(len(methods))
    )
    nbad = int(np.count_nonzero(bad_classes == 1))
    if nbad:
        problems.append(f"{name}: {nbad} classes with malformed class data")
    nskipped = int(np.count_nonzero(bad_classes == 2))
    if nskipped:
        problems.append(f"{name}: {nskipped} classes with class data not read (class data overlaps beyond the file's size)")
    limits = np.array([len(methods), len(fields_), len(strings), len(types)], dtype=np.int64)
    scan_offs = _first_use_only(def_code_off, problems, f"{name}: {{}} methods share another method's code item (scanned once)")
    ref_kind, ref_target, ref_pc, ref_row, status = kernels.scan_code(buf, scan_offs, kernels.OPCODE_WIDTHS, limits)
    ntrunc = int(np.count_nonzero(status == 1))
    if ntrunc:
        problems.append(f"{name}: {ntrunc} method bodies truncated or out of bounds")
    nskip = int(np.count_nonzero(status == 3))
    if nskip:
        problems.append(f"{name}: {nskip} method bodies skipped: code items overlap beyond the file's size")

    return DexIndex(
        name=name,
        data=data,
        version=version.decode("ascii", errors="replace"),
        buf=buf,
        string_starts=string_starts,
        string_hashes=string_hashes,
        type_desc=types,
        proto_shorty=protos[:, 0].astype(np.int64),
        proto_return=protos[:, 1].astype(np.int64),
        proto_params_off=protos[:, 2].astype(np.int64),
        field_class=fields_["f0"].astype(np.int64) if len(fields_) else np.zeros(0, np.int64),
        field_type=fields_["f1"].astype(np.int64) if len(fields_) else np.zeros(0, np.int64),
        field_name=fields_["f2"].astype(np.int64) if len(fields_) else np.zeros(0, np.int64),
        method_class=methods["f0"].astype(np.int64) if len(methods) else np.zeros(0, np.int64),
        method_proto=methods["f1"].astype(np.int64) if len(methods) else np.zeros(0, np.int64),
        method_name=methods["f2"].astype(np.int64) if len(methods) else np.zeros(0, np.int64),
        class_type=classes[:, 0].astype(np.int64),
        class_flags=classes[:, 1].astype(np.int64),
        class_super=classes[:, 2].astype(np.int64),
        class_interfaces_off=classes[:, 3].astype(np.int64),
        class_data_off=class_data_off,
        def_class=def_class,
        def_method=def_method,
        def_flags=def_flags,
        def_code_off=def_code_off,
        ref_kind=ref_kind,
        ref_target=ref_target,
        ref_pc=ref_pc,
        ref_row=ref_row,
        problems=problems,
    )
