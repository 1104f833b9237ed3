"""Which instructions of a method can execute: interval analysis of int registers.

A method reached in the call graph may still hold code that never runs: a
branch on a constant (``if (foo() + 80 < 10)`` with ``foo()`` returning 42),
a comparison that ``Random.nextInt(30)`` can never satisfy (``> 40``), a
``switch`` case that the value range excludes. This module runs a small
forward interval analysis over one method's decoded instructions (on demand,
for the methods whose call sites are reported or whose flows are analysed):

- constants, moves and ``add``/``sub``/``mul``/``rsub`` with literals or other
  intervals, and any integer operation on two constants; everything else an
  instruction writes is unknown;
- ``java.util.Random.nextInt(n)`` with a constant ``n`` returns ``[0, n - 1]``
  (https://docs.oracle.com/javase/8/docs/api/java/util/Random.html#nextInt-int-);
- a call with a single target whose code returns a constant (analysed the same
  way, two calls deep) returns that constant;
- ``if-*`` and ``switch`` prune the successors the intervals rule out; every
  exception handler of a ``try`` block with a live instruction is live.

Unknown values are unbounded, so the analysis only removes code that cannot
run under any input. Loops widen to unbounded after a few visits.
"""

from __future__ import annotations

from datasafety.analysis.callgraph import INVOKE_DIRECT, INVOKE_INTERFACE, INVOKE_STATIC, INVOKE_SUPER, INVOKE_VIRTUAL, CallGraph
from datasafety.analysis.taint import ir

Interval = tuple[float, float]
TOP: Interval = (float("-inf"), float("inf"))
MAX_VISITS = 4
MAX_INSNS = 20000
CALL_DEPTH = 2

RANDOM_NEXT_INT = ("Ljava/util/Random;", "nextInt", "(I)I")


def _join(a: Interval | None, b: Interval | None) -> Interval | None:
    if a is None:
        return b
    if b is None:
        return a
    return (min(a[0], b[0]), max(a[1], b[1]))


def _arith(op: str, x: Interval, y: Interval) -> Interval:
    if x[0] == x[1] and y[0] == y[1] and abs(x[0]) < 2**31 and abs(y[0]) < 2**31:
        exact = _exact_int(op, int(x[0]), int(y[0]))
        if exact is not None:
            return (float(exact), float(exact))
    if op == "add":
        return (x[0] + y[0], x[1] + y[1])
    if op == "sub":
        return (x[0] - y[1], x[1] - y[0])
    if op == "rsub":
        return (y[0] - x[1], y[1] - x[0])
    if op == "mul":
        if TOP in (x, y) or float("inf") in (abs(x[0]), abs(x[1]), abs(y[0]), abs(y[1])):
            return TOP
        products = [x[0] * y[0], x[0] * y[1], x[1] * y[0], x[1] * y[1]]
        return (min(products), max(products))
    return TOP


def _exact_int(op: str, a: int, b: int) -> int | None:
    """Java int arithmetic on two constants (truncating division and remainder)."""
    if op in ("div", "rem") and b == 0:
        return None
    if op == "div":
        q = abs(a) // abs(b)
        return q if (a >= 0) == (b >= 0) else -q
    if op == "rem":
        r = abs(a) % abs(b)
        return r if a >= 0 else -r
    if op == "and":
        return a & b
    if op == "or":
        return a | b
    if op == "xor":
        return a ^ b
    if op == "shl":
        return a << (b & 31)
    if op == "shr":
        return a >> (b & 31)
    return None


def _clamp(v: Interval) -> Interval:
    """Int arithmetic wraps at 32 bits: give up on anything outside the int range."""
    if v[0] < -(1 << 31) or v[1] > (1 << 31) - 1:
        return TOP
    return v


def _compare(op: str, x: Interval, y: Interval) -> tuple[bool, bool]:
    """(may be true, may be false) of ``x op y``."""
    if op == "eq":
        may_true = not (x[1] < y[0] or y[1] < x[0])
        may_false = not (x[0] == x[1] == y[0] == y[1])
    elif op == "ne":
        t, f = _compare("eq", x, y)
        return f, t
    elif op == "lt":
        may_true = x[0] < y[1]
        may_false = x[1] >= y[0]
    elif op == "ge":
        t, f = _compare("lt", x, y)
        return f, t
    elif op == "gt":
        may_true = x[1] > y[0]
        may_false = x[0] <= y[1]
    else:  # le
        t, f = _compare("gt", x, y)
        return f, t
    return may_true, may_false


_WRITES_A = {
    ir.MOVE_EXCEPTION, ir.CONST_STRING, ir.CONST_CLASS, ir.INSTANCE_OF, ir.ARRAY_LENGTH, ir.NEW_INSTANCE,
    ir.NEW_ARRAY, ir.CMP, ir.AGET, ir.IGET, ir.SGET, ir.UNOP, ir.BINOP, ir.BINOP_LIT,
}


class Feasibility:
    """Per-method feasible instruction offsets, memoised. ``cg`` resolves callees."""

    def __init__(self, cg: CallGraph):
        self.cg = cg
        self._pcs: dict[int, frozenset[int] | None] = {}
        self._ret: dict[int, Interval | None] = {}

    def feasible_pcs(self, gm: int) -> frozenset[int] | None:
        """pcs that may execute; None when the method cannot be decoded (then: all of them)."""
        if gm not in self._pcs:
            self._pcs[gm] = self._analyse(gm, 0)[0]
        return self._pcs[gm]

    def is_feasible(self, gm: int, pc: int) -> bool:
        pcs = self.feasible_pcs(gm)
        return pcs is None or pc in pcs

    def constant_return(self, gm: int, depth: int) -> Interval | None:
        if gm in self._ret:
            return self._ret[gm]
        self._ret[gm] = None  # recursion guard
        _, ret = self._analyse(gm, depth)
        self._ret[gm] = ret
        return ret

    # ------------------------------------------------------------------ core
    def _callee(self, dex, insn: ir.Insn) -> int:
        cg = self.cg
        d = int(cg.m_dex[self._current])
        if insn.idx < 0 or insn.idx >= len(dex.method_class):
            return -1
        t = int(cg.dex_mref_type[d][insn.idx])
        s = int(cg.dex_mref_subsig[d][insn.idx])
        if insn.sub in (INVOKE_STATIC, INVOKE_DIRECT, INVOKE_SUPER):
            gm = cg.resolve(t, s)
            return gm if gm >= 0 and cg.m_code[gm] else -1
        if insn.sub in (INVOKE_VIRTUAL, INVOKE_INTERFACE):
            gm = cg.resolve(t, s)
            if gm < 0 or not cg.m_code[gm]:
                return -1
            # only when nothing below overrides it
            for sub in self._subtypes(t):
                other = cg.resolve(sub, s)
                if other != gm and other >= 0:
                    return -1
            return gm
        return -1

    def _subtypes(self, t: int) -> list[int]:
        cg = self.cg
        out, todo, seen = [], [t], {t}
        while todo and len(out) < 64:
            x = todo.pop()
            for c in cg.children[cg.child_ptr[x] : cg.child_ptr[x + 1]]:
                c = int(c)
                if c not in seen:
                    seen.add(c)
                    out.append(c)
                    todo.append(c)
        return out

    def _invoke_result(self, dex, insn: ir.Insn, state: dict[int, Interval], depth: int) -> Interval:
        if insn.idx < 0 or insn.idx >= len(dex.method_class):
            return TOP
        ref = dex.method_ref(insn.idx)
        if ref == RANDOM_NEXT_INT and len(insn.args) == 2:
            bound = state.get(insn.args[1], TOP)
            if bound[0] == bound[1] and bound[0] > 0:
                return (0.0, bound[0] - 1)
            return (0.0, max(bound[1] - 1, 0.0)) if bound[1] != float("inf") else (0.0, float("inf"))
        if depth >= CALL_DEPTH:
            return TOP
        gm = self._callee(dex, insn)
        if gm < 0:
            return TOP
        saved = self._current
        ret = self.constant_return(gm, depth + 1)
        self._current = saved
        return ret if ret is not None else TOP

    def _analyse(self, gm: int, depth: int) -> tuple[frozenset[int] | None, Interval | None]:
        cg = self.cg
        self._current = gm
        dex = cg.dex_of(gm)
        code = ir.decode_method(dex, int(cg.m_row[gm]))
        if code is None or not code.insns or code.truncated or len(code.insns) > MAX_INSNS:
            return None, None
        insns = code.insns
        states: list[dict[int, Interval] | None] = [None] * len(insns)
        visits = [0] * len(insns)
        states[0] = {}
        work = [0]
        live_tries: set[int] = set()
        ret: Interval | None = None
        returns_value = False
        while work:
            i = work.pop()
            state = dict(states[i])
            insn = insns[i]
            k = insn.kind
            for bi, block in enumerate(code.tries):
                if bi not in live_tries and block.start <= insn.pc < block.end:
                    live_tries.add(bi)
                    for _type, addr in block.handlers:
                        pos = code.at.get(addr, -1)
                        if pos >= 0:
                            self._flow(states, visits, work, pos, {})
            succ = code.successors(i)
            out = [(s, state) for s in succ]
            if k == ir.CONST:
                if insn.sub == "wide":
                    state.pop(insn.a, None)
                    state.pop(insn.a + 1, None)
                else:
                    state[insn.a] = (float(insn.lit), float(insn.lit))
            elif k == ir.MOVE:
                if insn.sub == "wide" or insn.b not in state:
                    state.pop(insn.a, None)
                    if insn.sub == "wide":
                        state.pop(insn.a + 1, None)
                else:
                    state[insn.a] = state[insn.b]
            elif k == ir.INVOKE:
                state[-1] = self._invoke_result(dex, insn, state, depth)
                self._current = gm
            elif k == ir.MOVE_RESULT:
                if insn.op == 0x0B:
                    state.pop(insn.a, None)
                    state.pop(insn.a + 1, None)
                else:
                    state[insn.a] = state.get(-1, TOP)
            elif k == ir.BINOP_LIT and insn.b in state:
                state[insn.a] = _clamp(_arith(insn.sub, state[insn.b], (float(insn.lit), float(insn.lit))))
            elif k == ir.BINOP and isinstance(insn.sub, str) and "-" not in insn.sub and insn.b in state and insn.c in state:
                state[insn.a] = _clamp(_arith(insn.sub, state[insn.b], state[insn.c]))
            elif k == ir.RETURN:
                if insn.a >= 0 and insn.op == 0x0F:
                    ret = _join(ret, state.get(insn.a, TOP))
                returns_value = returns_value or insn.a >= 0
            elif k == ir.IF:
                x, y = state.get(insn.a, TOP), state.get(insn.b, TOP)
                may_t, may_f = _compare(insn.sub, x, y)
                tgt = code.at.get(insn.targets[0], -1)
                out = [(s, state) for s in succ if (s == tgt and may_t) or (s != tgt and may_f) or (s == tgt and s == i + 1)]
            elif k == ir.IFZ:
                x = state.get(insn.a, TOP)
                may_t, may_f = _compare(insn.sub, x, (0.0, 0.0))
                tgt = code.at.get(insn.targets[0], -1)
                out = [(s, state) for s in succ if (s == tgt and may_t) or (s != tgt and may_f) or (s == tgt and s == i + 1)]
            elif k == ir.SWITCH:
                x = state.get(insn.a, TOP)
                live = {code.at.get(t, -1) for key, t in zip(insn.keys, insn.targets) if x[0] <= key <= x[1]}
                keys = set(insn.keys)
                if x[1] - x[0] <= 4096:
                    fall_live = any(v not in keys for v in range(int(x[0]), int(x[1]) + 1))
                else:
                    fall_live = True
                out = [(s, state) for s in succ if s in live or (s == i + 1 and fall_live)]
            elif k in _WRITES_A:
                state.pop(insn.a, None)
                if insn.sub == "wide" or insn.op in (0x53, 0x61, 0x45):
                    state.pop(insn.a + 1, None)
                if k == ir.ARRAY_LENGTH:
                    state[insn.a] = (0.0, float((1 << 31) - 1))
                elif k == ir.CMP:
                    state[insn.a] = (-1.0, 1.0)
            for s, st in out:
                self._flow(states, visits, work, s, st)
        pcs = frozenset(insns[i].pc for i in range(len(insns)) if states[i] is not None)
        return pcs, (ret if returns_value else None)

    @staticmethod
    def _flow(states, visits, work, pos: int, state: dict[int, Interval]) -> None:
        old = states[pos]
        if old is None:
            states[pos] = dict(state)
            visits[pos] += 1
            work.append(pos)
            return
        merged = {}
        for reg, v in old.items():
            if reg in state:
                merged[reg] = _join(v, state[reg])
        if merged == old:
            return
        visits[pos] += 1
        if visits[pos] > MAX_VISITS:
            merged = {r: v for r, v in merged.items() if v == old.get(r)}
        states[pos] = merged
        work.append(pos)
