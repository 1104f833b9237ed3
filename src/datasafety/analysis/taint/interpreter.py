"""Intra-procedural flow analysis: abstract interpretation of one method in one calling context.

The state at each basic-block leader is (registers, heap, last call result,
caught exception). Blocks are interpreted in order of position; states are
joined where control flow merges, until nothing changes (or a leader has been
visited :data:`MAX_VISITS` times). Instructions that the feasibility analysis
(:mod:`datasafety.analysis.feasible`) rules out are never interpreted, so dead
branches carry no flows. Calls are delegated to the engine
(:meth:`Engine.invoke`), which applies library summaries or analyses the
callee in its own context.

Heap writes are strong updates when the target register points to exactly one
abstract object, weak (joined) otherwise. Exceptions: a ``throw`` reaches the
handlers of its ``try`` blocks, or leaves the method and is thrown again at
the call site; calls into the framework are not assumed to throw, so a
``catch`` block reached only through them is not analysed (FlowDroid makes
the same choice); an array access may throw (index out of bounds).
"""

from __future__ import annotations

from dataclasses import dataclass

from datasafety.analysis.taint import ir
from datasafety.analysis.taint.values import (
    NONE,
    Heap,
    Val,
    const_num,
    const_str,
    heap_join,
    heap_leq,
    join,
    merge_data,
)

MAX_VISITS = 12
WIDE_RESULT = (0x0B,)


@dataclass
class State:
    regs: list
    heap: Heap
    result: Val | None = None
    exc: Val | None = None


@dataclass(frozen=True)
class Summary:
    """The outcome of a call in one context."""

    ret: Val | None
    exc: Val | None
    heap: Heap
    """The heap after the call (cells reachable from the arguments, and new objects)."""


def _join_states(old: State, new: State) -> tuple[State, bool]:
    changed = False
    regs = old.regs
    out_regs = None
    for r, (a, b) in enumerate(zip(regs, new.regs)):
        j = join(a, b)
        if j is not a and j != a:
            if out_regs is None:
                out_regs = list(regs)
            out_regs[r] = j
            changed = True
    heap = old.heap
    if not heap_leq(new.heap, old.heap):
        heap = heap_join(old.heap, new.heap)
        changed = True
    result = join(old.result, new.result)
    exc = join(old.exc, new.exc)
    if result != old.result or exc != old.exc:
        changed = True
    if not changed:
        return old, False
    return State(out_regs if out_regs is not None else list(regs), heap, result, exc), True


def interpret(engine, gm: int, params: list[Val | None], heap: Heap) -> Summary:
    """Analyse method ``gm`` with parameter values ``params`` (``this`` first) and entry heap ``heap``."""
    code = engine.code(gm)
    if code is None or not code.insns:
        return Summary(None, None, heap)
    feasible = engine.feasible(gm)
    leaders = engine.leaders(gm)
    regs0: list = [None] * code.registers
    for reg, val in engine.param_layout(gm, code, params):
        if 0 <= reg < code.registers:
            regs0[reg] = val
    states: dict[int, State] = {0: State(regs0, heap)}
    visits: dict[int, int] = {}
    work = [0]
    ret: Val | None = None
    exc_out: Val | None = None
    heap_out: Heap | None = None
    insns = code.insns
    dex_no = engine.dex_no(gm)

    def flow(pos: int, state: State) -> None:
        if pos < 0 or pos >= len(insns):
            return
        if feasible is not None and insns[pos].pc not in feasible:
            return
        old = states.get(pos)
        if old is None:
            states[pos] = State(list(state.regs), dict(state.heap), state.result, state.exc)
        else:
            merged, changed = _join_states(old, state)
            if not changed:
                return
            states[pos] = merged
        n = visits.get(pos, 0) + 1
        visits[pos] = n
        if n <= MAX_VISITS and pos not in work:
            work.append(pos)

    def to_handlers(pc: int, regs: list, heap_now: Heap, value: Val | None) -> bool:
        handlers = code.handlers_for(pc)
        for _type, hpos in handlers:
            flow(hpos, State(regs, heap_now, None, value))
        return bool(handlers)

    while work:
        engine.tick()
        work.sort(reverse=True)
        pos = work.pop()
        st = states[pos]
        regs = list(st.regs)
        heap_now: Heap = dict(st.heap)
        result = st.result
        exc = st.exc
        i = pos
        while True:
            insn = insns[i]
            engine.work += 1
            if feasible is not None and insn.pc not in feasible:
                break
            k = insn.kind
            if k == ir.MOVE:
                regs[insn.a] = regs[insn.b] if 0 <= insn.b < len(regs) else None
                if insn.sub == "wide" and insn.a + 1 < len(regs):
                    regs[insn.a + 1] = None
            elif k == ir.MOVE_RESULT:
                regs[insn.a] = result if result is not None else NONE
                result = None
            elif k == ir.MOVE_EXCEPTION:
                regs[insn.a] = exc if exc is not None else NONE
            elif k == ir.CONST:
                regs[insn.a] = const_num(insn.lit) if insn.sub != "wide" else NONE
                if insn.sub == "wide" and insn.a + 1 < len(regs):
                    regs[insn.a + 1] = None
            elif k == ir.CONST_STRING:
                regs[insn.a] = engine.const_string(gm, dex_no, insn)
            elif k == ir.CONST_CLASS:
                regs[insn.a] = engine.class_literal(dex_no, insn.idx)
            elif k == ir.NEW_INSTANCE:
                desc = engine.type_desc(dex_no, insn.idx)
                engine.run_clinit(desc)
                regs[insn.a] = engine.alloc(gm, insn.pc, desc)
            elif k == ir.NEW_ARRAY:
                size = regs[insn.b] if 0 <= insn.b < len(regs) else None
                arr = engine.alloc(gm, insn.pc, engine.type_desc(dex_no, insn.idx))
                if size is not None and size.num is not None:
                    engine.heap_write(heap_now, next(iter(arr.objs)), "@length", Val(num=size.num), True)
                regs[insn.a] = arr
            elif k == ir.FILLED_NEW_ARRAY:
                arr = engine.alloc(gm, insn.pc, engine.type_desc(dex_no, insn.idx))
                obj = next(iter(arr.objs))
                for n, r in enumerate(insn.args):
                    engine.heap_write(heap_now, obj, f"[{n}]", regs[r] if 0 <= r < len(regs) else None, True)
                result = arr
            elif k == ir.ARRAY_LENGTH:
                regs[insn.a] = NONE
            elif k == ir.AGET:
                # An index out of bounds throws: the handlers see the state before the read.
                if engine.may_be_out_of_bounds(heap_now, regs[insn.b], regs[insn.c]) and not (
                    code.tries and to_handlers(insn.pc, regs, heap_now, NONE)
                ):
                    exc_out = join(exc_out, NONE)
                regs[insn.a] = engine.array_read(heap_now, regs[insn.b], regs[insn.c])
                if insn.sub == "wide" and insn.a + 1 < len(regs):
                    regs[insn.a + 1] = None
            elif k == ir.APUT:
                if engine.may_be_out_of_bounds(heap_now, regs[insn.b], regs[insn.c]) and not (
                    code.tries and to_handlers(insn.pc, regs, heap_now, NONE)
                ):
                    exc_out = join(exc_out, NONE)
                engine.array_write(heap_now, regs[insn.b], regs[insn.c], regs[insn.a])
            elif k == ir.IGET:
                regs[insn.a] = engine.field_read(heap_now, regs[insn.b], engine.field_name(dex_no, insn.idx))
                if insn.sub == "wide" and insn.a + 1 < len(regs):
                    regs[insn.a + 1] = None
            elif k == ir.IPUT:
                engine.field_write(heap_now, regs[insn.b], engine.field_name(dex_no, insn.idx), regs[insn.a])
            elif k == ir.SGET:
                regs[insn.a] = engine.static_read(gm, insn.pc, dex_no, insn.idx, heap_now)
                if insn.sub == "wide" and insn.a + 1 < len(regs):
                    regs[insn.a + 1] = None
            elif k == ir.SPUT:
                engine.run_clinit(engine.static_key(dex_no, insn.idx)[0])
                engine.static_write(dex_no, insn.idx, regs[insn.a], heap_now)
            elif k == ir.INVOKE:
                result, thrown, heap_now = engine.invoke(gm, dex_no, insn, regs, heap_now)
                # Only exceptions thrown explicitly (in app code, possibly in a callee) reach
                # handlers; library calls are not assumed to throw (as FlowDroid does).
                if thrown is not None and not (code.tries and to_handlers(insn.pc, regs, heap_now, thrown)):
                    exc_out = join(exc_out, thrown)
            elif k in (ir.BINOP, ir.BINOP_LIT, ir.UNOP, ir.CMP):
                regs[insn.a] = _arith(insn, regs)
                if isinstance(insn.sub, str) and insn.sub.startswith(("long", "double")) and insn.a + 1 < len(regs):
                    regs[insn.a + 1] = None
            elif k == ir.INSTANCE_OF:
                regs[insn.a] = NONE
            elif k == ir.RETURN:
                if insn.a >= 0 and insn.a < len(regs):
                    ret = join(ret, regs[insn.a] if regs[insn.a] is not None else NONE)
                heap_out = heap_now if heap_out is None else heap_join(heap_out, heap_now)
                break
            elif k == ir.THROW:
                value = regs[insn.a] if 0 <= insn.a < len(regs) else None
                if not to_handlers(insn.pc, regs, heap_now, value):
                    exc_out = join(exc_out, value if value is not None else NONE)
                    heap_out = heap_now if heap_out is None else heap_join(heap_out, heap_now)
                break
            elif k == ir.GOTO:
                flow(code.at.get(insn.targets[0], -1), State(regs, heap_now, result, exc))
                break
            elif k in (ir.IF, ir.IFZ, ir.SWITCH):
                state = State(regs, heap_now, result, exc)
                for s in code.successors(i):
                    flow(s, state)
                break
            # NOP, MONITOR, CHECK_CAST, FILL_ARRAY_DATA, UNKNOWN: no effect on the abstract state
            nxt = i + 1
            if nxt >= len(insns):
                break
            if nxt in leaders:
                flow(nxt, State(regs, heap_now, result, exc))
                break
            i = nxt
    return Summary(ret, exc_out, heap_out if heap_out is not None else heap)


def _arith(insn: ir.Insn, regs: list) -> Val:
    b = regs[insn.b] if 0 <= insn.b < len(regs) else None
    if insn.kind == ir.BINOP_LIT:
        v = merge_data(b)
        if b is not None and b.num is not None and insn.sub in ("add", "rsub", "mul"):
            n = b.num + insn.lit if insn.sub == "add" else (insn.lit - b.num if insn.sub == "rsub" else b.num * insn.lit)
            return Val(v.objs, v.taint, v.strs, False, n)
        return v
    if insn.kind in (ir.UNOP,):
        return merge_data(b)
    c = regs[insn.c] if 0 <= insn.c < len(regs) else None
    v = merge_data(b, c)
    if insn.kind == ir.BINOP and b is not None and c is not None and b.num is not None and c.num is not None and insn.sub in ("add", "sub", "mul"):
        n = b.num + c.num if insn.sub == "add" else (b.num - c.num if insn.sub == "sub" else b.num * c.num)
        return Val(v.objs, v.taint, v.strs, False, n)
    return v


__all__ = ["interpret", "Summary", "State", "const_str"]
