"""Abstract values and abstract heaps of the flow analysis.

A register or a heap cell holds a :class:`Val`:

- ``objs``: abstract objects it may point to (allocation sites, framework
  results, component instances), as small integers;
- ``taint``: source labels whose data it may carry;
- ``strs``: string constants it may be or contain; ``exact`` is True when the
  value is known to be exactly one of them (used for intent actions, extra
  keys, reflective names), False when they are only parts (URL prefixes);
- ``num``: the integer constant it holds, if known (array indices, substring
  bounds).

The heap maps an object to its fields: ``{obj: {field: Val}}``. Inner dicts
are never mutated in place (copy on write), so copying a heap is copying the
outer dict. Field names are plain strings; library contents use reserved
names starting with ``@`` (``@content``, ``@key:<k>``, ``@cb``, ...).
"""

from __future__ import annotations

MAX_STRS = 16
MAX_STR_LEN = 512
EMPTY: frozenset = frozenset()


class Val:
    __slots__ = ("objs", "taint", "strs", "exact", "num", "_hash")

    def __init__(self, objs=EMPTY, taint=EMPTY, strs=EMPTY, exact=False, num=None):
        self.objs = objs
        self.taint = taint
        self.strs = strs
        self.exact = exact
        self.num = num
        self._hash = None

    def __eq__(self, other) -> bool:
        return (
            self is other
            or isinstance(other, Val)
            and self.objs == other.objs
            and self.taint == other.taint
            and self.strs == other.strs
            and self.exact == other.exact
            and self.num == other.num
        )

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash((self.objs, self.taint, self.strs, self.exact, self.num))
        return self._hash

    def __repr__(self) -> str:
        parts = []
        if self.objs:
            parts.append(f"objs={sorted(self.objs)}")
        if self.taint:
            parts.append(f"taint={sorted(self.taint)}")
        if self.strs:
            parts.append(f"strs={sorted(self.strs)}{'!' if self.exact else ''}")
        if self.num is not None:
            parts.append(f"num={self.num}")
        return "Val(" + ", ".join(parts) + ")"

    def with_taint(self, taint: frozenset) -> "Val":
        if taint <= self.taint:
            return self
        return Val(self.objs, self.taint | taint, self.strs, self.exact, self.num)

    def without_objs(self) -> "Val":
        if not self.objs:
            return self
        return Val(EMPTY, self.taint, self.strs, False, self.num)


NONE = Val()


def significant(old: Val | None, new: Val | None) -> bool:
    """``new`` differs from ``old`` in a way flows can depend on: taint, objects, exact constants.

    Changes of string fragments or numbers in global stores do not require re-running components.
    """
    if new is None:
        return False
    if old is None:
        return bool(new.taint or new.objs or (new.exact and new.strs))
    return new.taint != old.taint or new.objs != old.objs or new.exact != old.exact or (new.exact and new.strs != old.strs)


def const_str(text: str) -> Val:
    return Val(strs=frozenset((text[:MAX_STR_LEN],)), exact=True)


def const_num(value: int) -> Val:
    return Val(num=value)


def _cap(strs: frozenset) -> tuple[frozenset, bool]:
    if len(strs) <= MAX_STRS:
        return strs, True
    return frozenset(sorted(strs)[:MAX_STRS]), False


def join(a: Val | None, b: Val | None) -> Val | None:
    """Least upper bound; ``None`` is bottom (an undefined register)."""
    if a is None:
        return b
    if b is None or a is b or a == b:
        return a
    strs, fits = _cap(a.strs | b.strs)
    exact = a.exact and b.exact and fits
    return Val(a.objs | b.objs, a.taint | b.taint, strs, exact, a.num if a.num == b.num else None)


def taint_only(v: Val | None) -> Val:
    """The data of ``v`` without its object identity (taint and string parts)."""
    if v is None:
        return NONE
    return Val(EMPTY, v.taint, v.strs, v.exact, v.num)


def merge_data(*vals: Val | None) -> Val:
    """Taint and string parts of several values (a derived value: not exact)."""
    taint: frozenset = EMPTY
    strs: frozenset = EMPTY
    for v in vals:
        if v is not None:
            taint = taint | v.taint
            strs = strs | v.strs
    strs, _ = _cap(strs)
    return Val(EMPTY, taint, strs, False, None)


# ------------------------------------------------------------------ heaps
class Cell(dict):
    """The fields of one object: a dict that is never changed after it is stored (copy on write),
    so its hash is computed once (memo keys hash whole heaps)."""

    __slots__ = ("_h",)

    def __hash__(self) -> int:  # type: ignore[override]
        try:
            return self._h
        except AttributeError:
            self._h = hash(frozenset(self.items()))
            return self._h


Heap = dict  # {obj: Cell}


def heap_get(heap: Heap, obj: int, fieldname: str) -> Val | None:
    cell = heap.get(obj)
    return cell.get(fieldname) if cell else None


def heap_put(heap: Heap, obj: int, fieldname: str, value: Val, strong: bool) -> bool:
    """Write (strong: replace, else join). Returns True when the heap changed."""
    cell = heap.get(obj)
    old = cell.get(fieldname) if cell else None
    new = value if strong or old is None else join(old, value)
    if old is not None and (old is new or old == new):
        return False
    if cell is None:
        heap[obj] = Cell({fieldname: new})
    else:
        updated = Cell(cell)
        updated[fieldname] = new
        heap[obj] = updated
    return True


def heap_join(a: Heap, b: Heap) -> Heap:
    """Join of two heaps (a missing cell is an empty value)."""
    if a is b:
        return a
    out = dict(a)
    for obj, cell in b.items():
        mine = out.get(obj)
        if mine is None:
            out[obj] = cell
            continue
        if mine is cell:
            continue
        merged = None
        for f, v in cell.items():
            old = mine.get(f)
            nv = v if old is None else join(old, v)
            if old is None or nv != old:
                if merged is None:
                    merged = Cell(mine)
                merged[f] = nv
        if merged is not None:
            out[obj] = merged
    return out


def heap_leq(a: Heap, b: Heap) -> bool:
    """``a`` is contained in ``b`` (every cell of ``a`` is below ``b``'s)."""
    for obj, cell in a.items():
        other = b.get(obj)
        if other is None:
            return False
        if other is cell:
            continue
        for f, v in cell.items():
            w = other.get(f)
            if w is None or join(w, v) != w:
                return False
    return True


def reachable_objects(heap: Heap, roots, limit: int = 4096) -> set[int]:
    """Objects reachable from ``roots`` through the heap's fields."""
    seen = set(roots)
    todo = list(seen)
    while todo and len(seen) < limit:
        obj = todo.pop()
        cell = heap.get(obj)
        if not cell:
            continue
        for v in cell.values():
            for o in v.objs:
                if o not in seen:
                    seen.add(o)
                    todo.append(o)
    return seen


def project(heap: Heap, roots) -> Heap:
    """The part of the heap reachable from ``roots``."""
    return {o: heap[o] for o in reachable_objects(heap, roots) if o in heap}


def freeze(heap: Heap) -> frozenset:
    """Hashable form of a heap (for memo keys); cells hash once."""
    return frozenset(heap.items())


def _deep_union(heap: Heap, v: Val | None, depth: int, attr: str) -> frozenset:
    """Union of ``attr`` (``taint`` or ``strs``) over ``v`` and what is reachable from it.

    Walks ``depth`` field levels; callback cells (``@cb...``) are not followed.
    """
    if v is None:
        return EMPTY
    found = getattr(v, attr)
    frontier = set(v.objs)
    seen = set(frontier)
    for _ in range(depth):
        nxt = set()
        for obj in frontier:
            for f, w in (heap.get(obj) or {}).items():
                if f.startswith("@cb"):
                    continue
                found = found | getattr(w, attr)
                for o in w.objs:
                    if o not in seen:
                        seen.add(o)
                        nxt.add(o)
        if not nxt:
            break
        frontier = nxt
    return found


def deep_taint(heap: Heap, v: Val | None, depth: int = 3) -> frozenset:
    """Taint of ``v`` and of everything reachable from it (``depth`` field levels)."""
    return _deep_union(heap, v, depth, "taint")


def deep_strs(heap: Heap, v: Val | None, depth: int = 3) -> frozenset:
    """String constants of ``v`` and of everything reachable from it."""
    return _deep_union(heap, v, depth, "strs")


def content_data(heap: Heap, v: Val | None) -> Val:
    """Taint and string parts of ``v`` and of its library contents (``@`` cells, one level)."""
    if v is None:
        return NONE
    vals = [v]
    for obj in v.objs:
        for f, w in (heap.get(obj) or {}).items():
            if f.startswith("@") and not f.startswith("@cb") and f != "@kind":
                vals.append(w)
    return merge_data(*vals) if len(vals) > 1 else taint_only(v)
