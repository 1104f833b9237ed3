"""Applying library summaries (``framework_model.json``) to the abstract state.

Operands: ``this`` (the receiver), ``argN`` (N-th argument after the
receiver), ``arglast``, ``args`` (all arguments), ``ret`` (the result).
See ``summary_effects`` in ``framework_model.json`` for the vocabulary; the
special operations (``str:``, ``sb:``, ``list:``, ``icc:``, ``prefs:``,
``reflect:``, ``app:``, ``cb:``, ``intent:``) are implemented here.
String operations are evaluated on constants where all inputs are exact, so
that intent actions, extra keys and reflective names built from literals are
still known; otherwise only their taint and constant parts are kept.
"""

from __future__ import annotations

import re

from datasafety.app.dex.index import dotted
from datasafety.analysis.taint.values import (
    EMPTY,
    MAX_STR_LEN,
    MAX_STRS,
    NONE,
    Val,
    const_str,
    deep_taint,
    heap_put,
    join,
    merge_data,
    significant,
    taint_only,
)

SETTER_PREFIXES = ("set", "put", "add", "append", "write", "insert", "push", "offer", "update")
STRINGLIKE = ("Ljava/lang/String;", "Ljava/lang/CharSequence;")
ACTIVITY_SENDS = ("startActivity", "startActivityForResult", "startActivityIfNeeded", "startActivities")
SERVICE_SENDS = ("startService", "startForegroundService", "bindService")
KEY = re.compile(r"^(?P<base>this|ret|arg\d+|arglast)\.(?P<what>content|elems|keys|fields|cb|key\[arg\d+\]|attr\[\w+\]|cb\[method\]|arg\[\w+,\d+\])$")


# ---------------------------------------------------------------- operands
def _operand(name: str, ref, params: list) -> Val | None:
    off = 0 if ref.static else 1
    if name == "this":
        return params[0] if not ref.static and params else None
    if name == "arglast":
        return params[-1] if len(params) > off else None
    if name.startswith("arg") and name[3:].isdigit():
        i = int(name[3:]) + off
        return params[i] if i < len(params) else None
    return None


def _args(ref, params: list) -> list:
    return params[0 if ref.static else 1 :]


def _data(engine, heap, v: Val | None) -> Val:
    """Taint and string parts of ``v`` and of what it holds (library cells and elements, one level).

    Only framework objects (strings, builders, collections, intents) hand their contents to a
    library call; an object of an app class is turned into text by its own ``toString``.
    """
    if v is None:
        return NONE
    vals = [v]
    for o in v.objs:
        gid = engine.objs[o].gid
        if gid >= 0 and engine.cg.type_class[gid]:
            continue
        for k, w in engine.cells(heap, o).items():
            if (k.startswith("@") and not k.startswith("@cb") and k != "@attr:kind" and k != "@size") or k.startswith("["):
                vals.append(w)
    return merge_data(*vals)


def _source_value(engine, heap, text: str, ref, params: list) -> Val | None:
    """``argN`` / ``this`` / ``args`` / ``X.content`` / ``X.keys`` / ``X.elems`` / ``X.attr[n]``: the full value."""
    if text == "args":
        out = None
        for a in _args(ref, params):
            out = join(out, a)
        return out
    if "." in text:
        base, what = text.split(".", 1)
        v = _operand(base, ref, params)
        if v is None:
            return None
        if what == "content" or what == "elems":
            return engine.contents(heap, v)
        if what == "keys":
            out = None
            for o in v.objs:
                for k, w in engine.cells(heap, o).items():
                    if k.startswith("@key:"):
                        out = join(out, w)
            return out
        if what == "fields":
            out = None
            for o in v.objs:
                for k, w in engine.cells(heap, o).items():
                    if not k.startswith("@"):
                        out = join(out, w)
            return out
        m = re.match(r"attr\[(\w+)\]", what)
        if m:
            out = None
            for o in v.objs:
                out = join(out, engine.cell(heap, o, f"@attr:{m.group(1)}"))
            return out
        return None
    return _operand(text, ref, params)


def _keys(v: Val | None) -> list[str]:
    if v is not None and v.exact and v.strs:
        return [f"@key:{s}" for s in sorted(v.strs)]
    return ["@key:*"]


def _key_read(engine, heap, obj_val: Val | None, key: Val | None) -> Val | None:
    if obj_val is None:
        return None
    exact = key is not None and key.exact and key.strs
    return engine.keyed_read(heap, obj_val.objs, "@key:", key.strs if exact else None, "@key:*")


# ----------------------------------------------------------------- effects
def apply_effects(engine, caller: int, pc: int, ref, effects: tuple, params: list, heap) -> Val | None:
    """Apply a summary; returns the call's result."""
    ret: Val | None = None
    ret_obj: Val | None = None
    for effect in effects:
        if len(effect) == 1:
            special = SPECIAL.get(effect[0])
            if special is None:
                continue
            out = special(engine, caller, pc, ref, params, heap)
            if out is not None:
                ret = join(ret, out)
            continue
        lhs, op, rhs = effect
        if lhs == "ret":
            if op == "<-":
                vals = _args(ref, params) if rhs == "args" else [_operand(rhs, ref, params)]
                for v in vals:
                    ret = join(ret, _data(engine, heap, v))
            elif op == "=":
                if rhs == "new":
                    ret_obj = engine.external(("ret", caller, pc), ref.ret)
                    ret = join(ret, ret_obj)
                elif rhs.startswith(("this.key[", "arg")) and ".key[" in rhs:
                    base, key = rhs.split(".key[")
                    ret = join(ret, _key_read(engine, heap, _operand(base, ref, params), _operand(key[:-1], ref, params)))
                else:
                    v = _source_value(engine, heap, rhs, ref, params)
                    ret = join(ret, v)
                    if v is not None and v.objs and ret_obj is None:
                        ret_obj = Val(objs=v.objs)
            continue
        if lhs == "reg":
            reg = engine.registry()
            v = _source_value(engine, heap, rhs, ref, params)
            if reg is not None and v is not None and v.objs:
                heap_put(heap, reg, "@cb", Val(objs=v.objs), False)
            continue
        m = KEY.match(lhs)
        if not m:
            continue
        base = ret_obj if m.group("base") == "ret" else _operand(m.group("base"), ref, params)
        if base is None or not base.objs:
            continue
        what = m.group("what")
        strong = op == ":=" and len(base.objs) == 1
        if what in ("content", "elems", "fields") and op == "<-":
            value = _data(engine, heap, _source_value(engine, heap, rhs, ref, params))
        elif what.startswith("attr[") and rhs.isalpha() and not rhs.startswith("arg") and rhs not in ("this",):
            value = const_str(rhs)
        else:
            value = _source_value(engine, heap, rhs, ref, params)
        if value is None:
            continue
        if what == "content":
            names = ["@content"]
        elif what == "elems":
            names = ["[*]"]
        elif what == "fields":
            names = ["@content", "obj"]
        elif what == "keys":
            src = _operand(rhs.split(".")[0], ref, params) if rhs.endswith(".keys") else None
            for o in base.objs:
                for so in (src.objs if src is not None else ()):
                    for k, w in engine.cells(heap, so).items():
                        if k.startswith("@key:") or k.startswith("@attr:"):
                            engine.heap_write(heap, o, k, w, False)
            continue
        elif what == "cb":
            names = ["@cb"]
            value = Val(objs=value.objs)
        elif what == "cb[method]":
            names = [f"@cb:{ref.name}"]
            value = Val(objs=value.objs)
        elif what.startswith("key["):
            names = _keys(_operand(what[4:-1], ref, params))
            strong = False
        elif what.startswith("attr["):
            names = [f"@attr:{what[5:-1]}"]
            if op == "?=":
                for o in base.objs:
                    if engine.cell(heap, o, names[0]) is None:
                        engine.heap_write(heap, o, names[0], value, True)
                continue
            strong = len(base.objs) == 1
        elif what.startswith("arg["):
            method, idx = what[4:-1].split(",")
            names = [f"@arg:{method}:{idx}"]
        else:
            continue
        for o in base.objs:
            for name in names:
                engine.heap_write(heap, o, name, value, strong)
    if ret is None and ref.ret != "V":
        if ref.ret.startswith(("L", "[")) and ref.ret not in STRINGLIKE and not ref.ret.startswith("Ljava/lang/"):
            ret = engine.external(("ret", caller, pc), ref.ret)
        else:
            ret = NONE
    return ret


def default_effects(engine, caller: int, pc: int, ref, params: list, heap) -> Val | None:
    """An unknown library method: the result carries the data of the receiver and the arguments.

    A constructor or a setter-like method (``set...``, ``put...``, ``add...``) stores its
    arguments in the receiver's contents (an exception keeps its message, a wrapper its value).
    """
    engine.register_escaping(heap, params)
    if not ref.static and params and (ref.name.startswith(SETTER_PREFIXES) or ref.name == "<init>") and len(params) > 1:
        value = None
        for a in params[1:]:
            value = join(value, a)
        if value is not None and (value.taint or value.objs or value.strs):
            for o in params[0].objs:
                engine.heap_write(heap, o, "@content", value, False)
    if ref.ret == "V":
        return None
    data = merge_data(*[_data(engine, heap, p) for p in params])
    if ref.ret.startswith(("L", "[")) and ref.ret not in STRINGLIKE:
        ext = engine.external(("ret", caller, pc), ref.ret)
        return Val(ext.objs, data.taint, data.strs, False, None)
    return data


# -------------------------------------------------------- string operations
def _sval(engine, heap, v: Val | None) -> Val | None:
    """A string operand: a value, or a ``new String(...)`` object holding its value."""
    if v is None or not v.objs:
        return v
    out = None
    for o in v.objs:
        out = join(out, engine.cell(heap, o, "@content"))
    if out is None:
        return v
    return Val(EMPTY, v.taint | out.taint, out.strs, out.exact, out.num)


def _exact(v: Val | None) -> list[str] | None:
    if v is None:
        return None
    if v.exact and v.strs:
        return sorted(v.strs)
    if v.num is not None and not v.strs:
        return [str(v.num)]
    return None


def _strings(values: list[str], taint: frozenset) -> Val:
    values = sorted({s[:MAX_STR_LEN] for s in values})
    if len(values) > MAX_STRS:
        return Val(EMPTY, taint, frozenset(values[:MAX_STRS]), False, None)
    return Val(EMPTY, taint, frozenset(values), True, None)


def _str_concat(engine, caller, pc, ref, params, heap):
    a, b = _sval(engine, heap, _operand("this", ref, params)), _sval(engine, heap, _operand("arg0", ref, params))
    ea, eb = _exact(a), _exact(b)
    taint = (a.taint if a else EMPTY) | (b.taint if b else EMPTY)
    if ea is not None and eb is not None and len(ea) * len(eb) <= MAX_STRS:
        return _strings([x + y for x in ea for y in eb], taint)
    return merge_data(a, b)


def _str_substring(engine, caller, pc, ref, params, heap):
    s = _sval(engine, heap, _operand("this", ref, params))
    a = _operand("arg0", ref, params)
    b = _operand("arg1", ref, params)
    es = _exact(s)
    if es is not None and a is not None and a.num is not None and (b is None or b.num is not None):
        out = []
        for text in es:
            out.append(text[a.num : b.num] if b is not None else text[a.num :])
        return _strings(out, s.taint if s else EMPTY)
    return merge_data(s)


def _str_map(fn):
    def op(engine, caller, pc, ref, params, heap):
        s = _sval(engine, heap, _operand("this", ref, params))
        es = _exact(s)
        if es is not None:
            return _strings([fn(t) for t in es], s.taint)
        return merge_data(s)

    return op


def _str_same_arg0(engine, caller, pc, ref, params, heap):
    v = _operand("arg0", ref, params) if not ref.static else (params[0] if params else None)
    return taint_only(v) if v is not None else NONE


def _str_replace(engine, caller, pc, ref, params, heap):
    s, a, b = (_sval(engine, heap, _operand(n, ref, params)) for n in ("this", "arg0", "arg1"))
    es, ea, eb = _exact(s), _exact(a), _exact(b)
    if es is not None and ea is not None and eb is not None and len(es) * len(ea) * len(eb) <= MAX_STRS and ref.name == "replace":
        return _strings([x.replace(y, z) for x in es for y in ea for z in eb], merge_data(s, b).taint)
    return merge_data(s, b)


def _str_valueof(engine, caller, pc, ref, params, heap):
    args = _args(ref, params)
    if not args:
        return _data(engine, heap, params[0] if params else None)
    v = _sval(engine, heap, args[0])
    e = _exact(v)
    if e is not None:
        return _strings(e, v.taint)
    return merge_data(*[_data(engine, heap, a) for a in args])


def _str_init(engine, caller, pc, ref, params, heap):
    """``new String(...)``: the new object holds the value (from a string, bytes, chars or a builder)."""
    recv = params[0] if params else None
    args = _args(ref, params)
    if not args:
        value = const_str("")
    else:
        v = _sval(engine, heap, args[0]) if args[0] is not None and ref.params[:1] in (("Ljava/lang/String;",),) else args[0]
        e = _exact(v) if v is not None and not v.objs else None
        value = _strings(e, v.taint) if e is not None else merge_data(*[_data(engine, heap, a) for a in args])
    if recv is not None:
        for o in recv.objs:
            engine.heap_write(heap, o, "@content", value, len(recv.objs) == 1)
    return None


# ----------------------------------------------------------- string builders
def _builder_value(engine, heap, recv: Val | None) -> Val | None:
    if recv is None:
        return None
    out = None
    for o in recv.objs:
        out = join(out, engine.cell(heap, o, "@content"))
    return out


def _sb_init(engine, caller, pc, ref, params, heap):
    recv = params[0] if params else None
    if recv is None:
        return None
    args = _args(ref, params)
    value = const_str("")
    if args and ref.params and ref.params[0] in STRINGLIKE:
        v = args[0]
        e = _exact(v)
        value = _strings(e, v.taint) if e is not None else _data(engine, heap, v)
    for o in recv.objs:
        engine.heap_write(heap, o, "@content", value, len(recv.objs) == 1)
    return None


def _sb_append(engine, caller, pc, ref, params, heap):
    recv = params[0] if params else None
    if recv is None:
        return None
    arg = params[1] if len(params) > 1 else None
    if ref.params and ref.params[0] == "C" and arg is not None and arg.num is not None:
        piece = [chr(arg.num % 0x110000)]
    else:
        piece = _exact(arg) if arg is None or not arg.objs else None
    arg_data = _data(engine, heap, arg)
    for o in recv.objs:
        old = engine.cell(heap, o, "@content")
        eo = _exact(old)
        taint = (old.taint if old else EMPTY) | arg_data.taint
        if eo is not None and piece is not None and len(eo) * len(piece) <= MAX_STRS:
            new = _strings([x + y for x in eo for y in piece], taint)
        else:
            new = merge_data(old, arg_data)
        engine.heap_write(heap, o, "@content", new, len(recv.objs) == 1)
    return None


def _sb_reverse(engine, caller, pc, ref, params, heap):
    recv = params[0] if params else None
    if recv is None:
        return None
    for o in recv.objs:
        old = engine.cell(heap, o, "@content")
        eo = _exact(old)
        if eo is not None:
            engine.heap_write(heap, o, "@content", _strings([x[::-1] for x in eo], old.taint), len(recv.objs) == 1)
    return None


def _sb_tostring(engine, caller, pc, ref, params, heap):
    value = _builder_value(engine, heap, params[0] if params else None)
    if value is None:
        return NONE
    if ref.name == "toString":
        return Val(EMPTY, value.taint, value.strs, value.exact, None)
    return merge_data(value)


# ------------------------------------------------------------------ lists
def _list_add(engine, caller, pc, ref, params, heap):
    recv = params[0] if params else None
    args = _args(ref, params)
    if recv is None or not args:
        return NONE
    value = args[-1]
    for o in recv.objs:
        size = engine.cell(heap, o, "@size")
        if len(args) == 1 and len(recv.objs) == 1 and size is not None and size.num is not None:
            engine.heap_write(heap, o, f"[{size.num}]", value, True)
            engine.heap_write(heap, o, "@size", Val(num=size.num + 1), True)
        else:
            engine.heap_write(heap, o, "[*]", value, False)
            engine.heap_write(heap, o, "@size", NONE, True)
    return NONE


def _list_get(engine, caller, pc, ref, params, heap):
    recv = params[0] if params else None
    args = _args(ref, params)
    if recv is None:
        return NONE
    idx = args[0].num if ref.name in ("get", "elementAt", "remove") and args and args[0] is not None and ref.params[:1] == ("I",) else None
    if ref.name in ("getFirst", "peek", "peekFirst", "element", "poll", "pollFirst", "firstElement", "removeFirst", "pop"):
        idx = 0
    out = None
    for o in recv.objs:
        cells = engine.cells(heap, o)
        if idx is not None and "@content" not in cells:
            out = join(out, cells.get(f"[{idx}]"))
            out = join(out, cells.get("[*]"))
        else:
            for k, w in cells.items():
                if k == "@content" or k.startswith("["):
                    out = join(out, w)
    return out if out is not None else NONE


def _list_init(engine, caller, pc, ref, params, heap):
    recv = params[0] if params else None
    if recv is None:
        return None
    empty = not ref.params or ref.params == ("I",)
    for o in recv.objs:
        engine.heap_write(heap, o, "@size", Val(num=0) if empty else NONE, len(recv.objs) == 1)
    return None


# ----------------------------------------------------------------- streams
def _innermost(engine, heap, v: Val | None) -> set[int]:
    """The streams a (possibly wrapping) stream writes to / reads from."""
    out: set[int] = set()
    todo = list(v.objs) if v is not None else []
    seen: set[int] = set()
    while todo:
        o = todo.pop()
        if o in seen:
            continue
        seen.add(o)
        wrapped = engine.cell(heap, o, "@attr:wraps")
        if wrapped is not None and wrapped.objs:
            todo.extend(wrapped.objs)
        else:
            out.add(o)
    return out


def _stream_wrap(engine, caller, pc, ref, params, heap):
    recv = params[0] if params else None
    args = _args(ref, params)
    if recv is None or not args or args[0] is None or not args[0].objs:
        return None
    for o in recv.objs:
        engine.heap_write(heap, o, "@attr:wraps", Val(objs=args[0].objs), len(recv.objs) == 1)
    return None


def _file_keys(engine, heap, v: Val | None) -> list[str]:
    """Names of the file a path string or ``File`` designates (last path segment), ``*`` when unknown."""
    if v is None:
        return []
    texts: set[str] = set()
    exact = v.exact and bool(v.strs)
    if exact:
        texts.update(v.strs)
    for o in v.objs:
        content = engine.cell(heap, o, "@content")
        if content is not None and content.strs:
            texts.update(content.strs)
            exact = exact or content.exact
    names = sorted({t.rstrip("/").rsplit("/", 1)[-1] for t in texts if t.strip("/")})
    return names if names and exact else ["*"]


def _stream_write(engine, caller, pc, ref, params, heap):
    recv = params[0] if params else None
    value = None
    for a in _args(ref, params):
        value = join(value, a)
    if recv is None or value is None:
        return None
    for o in sorted(_innermost(engine, heap, recv)):
        engine.heap_write(heap, o, "@content", value, False)
        for name in _file_keys(engine, heap, engine.cell(heap, o, "@attr:file")):
            old = engine.files.get(name)
            new = join(old, _data(engine, heap, value))
            if new != old:
                engine.files[name] = new
                if significant(old, new):
                    engine.version += 1
    return recv if ref.ret.startswith("L") and ref.ret not in STRINGLIKE else None


def _file_open_input(engine, caller, pc, ref, params, heap):
    """An input stream on an app file: it holds what the app wrote to files of that name."""
    stream = params[0] if ref.name == "<init>" else engine.external(("ret", caller, pc), "Ljava/io/FileInputStream;")
    args = _args(ref, params)
    names = _file_keys(engine, heap, args[0]) if args else ["*"]
    engine.read_global()
    value = None
    for name in names:
        value = join(value, engine.files.get(name))
        if name == "*":
            for v in engine.files.values():
                value = join(value, v)
    value = join(value, engine.files.get("*"))
    if value is not None and stream is not None:
        for o in stream.objs:
            engine.heap_write(heap, o, "@content", value, len(stream.objs) == 1)
    return stream if ref.name != "<init>" else None


def _stream_read(engine, caller, pc, ref, params, heap):
    recv = params[0] if params else None
    out = None
    for o in sorted(_innermost(engine, heap, recv)):
        out = join(out, engine.cell(heap, o, "@content"))
    args = _args(ref, params)
    if args and args[0] is not None and args[0].objs and out is not None:
        for o in args[0].objs:
            engine.heap_write(heap, o, "[*]", out, False)
    if ref.ret in ("I", "J", "Z"):
        return merge_data(out)
    return out if out is not None else NONE


def _stream_toarray(engine, caller, pc, ref, params, heap):
    recv = params[0] if params else None
    arr = engine.external(("ret", caller, pc), ref.ret)
    content = None
    for o in sorted(_innermost(engine, heap, recv)):
        content = join(content, engine.cell(heap, o, "@content"))
    if content is not None:
        for o in arr.objs:
            engine.heap_write(heap, o, "[*]", content, False)
    return arr


def _stream_from_array(engine, caller, pc, ref, params, heap):
    recv = params[0] if params else None
    args = _args(ref, params)
    if recv is None or not args:
        return None
    value = engine.contents(heap, args[0]) if args[0] is not None and args[0].objs else args[0]
    value = join(value, taint_only(args[0]) if args[0] is not None else None)
    if value is not None:
        for o in recv.objs:
            engine.heap_write(heap, o, "@content", value, len(recv.objs) == 1)
    return None


def _array_new(engine, caller, pc, ref, params, heap):
    """``Array.newInstance(type, n)`` or ``(type, int[] dims)``: an array, of arrays when several dimensions."""
    outer = engine.external(("ret", caller, pc), "[Ljava/lang/Object;")
    if ref.params[1:2] == ("[I",):
        inner = engine.external(("ret-inner", caller, pc), "[Ljava/lang/Object;")
        for o in outer.objs:
            engine.heap_write(heap, o, "[*]", inner, True)
    return outer


# -------------------------------------------------------------------- ICC
def _intent_param(ref, params: list) -> Val | None:
    off = 0 if ref.static else 1
    for i, desc in enumerate(ref.params):
        if desc in ("Landroid/content/Intent;", "[Landroid/content/Intent;"):
            return params[i + off] if i + off < len(params) else None
    return None


def _icc_send(engine, caller, pc, ref, params, heap):
    intent = _intent_param(ref, params)
    if intent is None:
        return None
    if ref.name.startswith("startActivit"):
        kind = "activity"
    elif ref.name in SERVICE_SENDS:
        kind = "service"
    else:
        kind = "receiver"
    if ref.name == "startActivityForResult" and engine.component is not None:
        if engine.component.name not in engine.result_requesters:
            engine.result_requesters.add(engine.component.name)
            engine.version += 1
    if ref.name == "startActivities":
        intent = engine.contents(heap, intent) or intent
    targets, resolved = engine.icc.targets(engine, heap, intent, kind)
    for name in targets:
        engine.icc.deliver(engine, heap, name, intent)
    if ref.name == "bindService":
        off = 0 if ref.static else 1
        for i, desc in enumerate(ref.params):
            if desc == "Landroid/content/ServiceConnection;" and i + off < len(params):
                engine.icc.connect(engine, heap, targets, params[i + off])
                reg = engine.registry()
                if reg is not None and params[i + off] is not None and params[i + off].objs:
                    heap_put(heap, reg, "@cb", Val(objs=params[i + off].objs), False)
    if not resolved:
        for label in deep_taint(heap, intent):
            engine.record_flow(label, caller, pc, ref.match.api, "ipc")
    return None


def _icc_set_result(engine, caller, pc, ref, params, heap):
    intent = _intent_param(ref, params)
    if intent is None:
        return None
    taint = deep_taint(heap, intent)
    engine.read_global()  # who receives the result is known only once every startActivityForResult is seen
    engine.icc.deliver_result(engine, heap, intent)
    for label in taint:
        engine.pending_results.append((label, caller, pc, ref.match.api, tuple(engine.stack)))
    return None


def _icc_get_intent(engine, caller, pc, ref, params, heap):
    recv = params[0] if params else None
    return engine.icc.incoming(engine, heap, recv)


def _intent_init(engine, caller, pc, ref, params, heap):
    recv = params[0] if params else None
    if recv is None:
        return None
    strong = len(recv.objs) == 1
    args = _args(ref, params)
    for desc, value in zip(ref.params, args):
        if value is None:
            continue
        if desc == "Ljava/lang/String;" and "@attr:action" not in {k for o in recv.objs for k in engine.cells(heap, o)}:
            name = "@attr:action"
        elif desc == "Ljava/lang/Class;":
            name = "@attr:class"
        elif desc == "Landroid/net/Uri;":
            name = "@attr:data"
        elif desc == "Landroid/content/Intent;":
            for o in recv.objs:
                for so in value.objs:
                    for k, w in engine.cells(heap, so).items():
                        engine.heap_write(heap, o, k, w, False)
            continue
        else:
            continue
        for o in recv.objs:
            engine.heap_write(heap, o, name, value, strong)
    return None


# ------------------------------------------------------------ preferences
def _prefs_put(engine, caller, pc, ref, params, heap):
    args = _args(ref, params)
    if len(args) < 2:
        return None
    for k in _keys(args[0]):
        old = engine.prefs.get(k)
        new = join(old, args[1])
        if new != old:
            engine.prefs[k] = new
            if significant(old, new):
                engine.version += 1
    engine.publish(heap, args[1].objs if args[1] is not None else ())
    return None


def _prefs_get(engine, caller, pc, ref, params, heap):
    engine.read_global()
    args = _args(ref, params)
    key = args[0] if args else None
    out = args[1] if len(args) > 1 else None
    if key is not None and key.exact and key.strs:
        for s in key.strs:
            out = join(out, engine.prefs.get(f"@key:{s}"))
            engine.prefs_read.add(f"@key:{s}")
        out = join(out, engine.prefs.get("@key:*"))
    else:
        engine.prefs_read.add("@key:*")
        for v in engine.prefs.values():
            out = join(out, v)
    return out if out is not None else NONE


# ------------------------------------------------------------- reflection
def _class_names(v: Val | None) -> list[str]:
    if v is None or not v.exact:
        return []
    return sorted(s.split("#")[0] for s in v.strs)


def _reflect_forname(engine, caller, pc, ref, params, heap):
    args = _args(ref, params)
    v = args[0] if args else None
    if v is not None and v.exact and v.strs:
        return Val(EMPTY, v.taint, frozenset(s.replace("/", ".") for s in v.strs), True, None)
    return Val(EMPTY, v.taint if v else EMPTY, EMPTY, False, None)


def _reflect_getclass(engine, caller, pc, ref, params, heap):
    recv = params[0] if params else None
    names = {dotted(engine.objs[o].desc) for o in (recv.objs if recv else ()) if engine.objs[o].desc.startswith("L")}
    if names:
        return Val(EMPTY, EMPTY, frozenset(names), True, None)
    return NONE


def _reflect_getmethod(engine, caller, pc, ref, params, heap):
    recv = params[0] if params else None
    args = _args(ref, params)
    name = args[0] if args else None
    classes = _class_names(recv)
    if classes and name is not None and name.exact and name.strs and len(classes) * len(name.strs) <= MAX_STRS:
        return Val(EMPTY, EMPTY, frozenset(f"{c}#{m}" for c in classes for m in name.strs), True, None)
    return NONE


def _reflect_getctor(engine, caller, pc, ref, params, heap):
    classes = _class_names(params[0] if params else None)
    if classes:
        return Val(EMPTY, EMPTY, frozenset(f"{c}#<init>" for c in classes), True, None)
    return NONE


def _reflect_classname(engine, caller, pc, ref, params, heap):
    recv = params[0] if params else None
    if recv is None or not recv.exact:
        return NONE
    names = []
    for s in recv.strs:
        names.append(s.split("#", 1)[1] if "#" in s else s)
    return _strings(names, recv.taint)


def _reflect_newinstance(engine, caller, pc, ref, params, heap):
    recv = params[0] if params else None
    args = _args(ref, params)
    out = None
    for name in _class_names(recv):
        desc = "L" + name.replace(".", "/") + ";"
        obj = Val(objs=frozenset((engine.obj(("reflect", caller, pc, name), desc, "alloc"),)))
        out = join(out, obj)
        gid = engine.cg.type_gid(desc)
        if gid >= 0 and engine.cg.type_class[gid]:
            ctor_args = engine.array_elements(heap, args[0]) if args else []
            engine.call_named(heap, gid, "<init>", [obj] + ctor_args)
    return out if out is not None else engine.external(("ret", caller, pc), "Ljava/lang/Object;")


def _reflect_invoke(engine, caller, pc, ref, params, heap):
    recv = params[0] if params else None
    args = _args(ref, params)
    target = args[0] if args else NONE
    call_args = engine.array_elements(heap, args[1]) if len(args) > 1 else []
    out = None
    if recv is None or not recv.exact:
        return merge_data(*[_data(engine, heap, a) for a in args])
    for s in sorted(recv.strs):
        if "#" not in s:
            continue
        cls, name = s.split("#", 1)
        desc = "L" + cls.replace(".", "/") + ";"
        gid = engine.cg.type_gid(desc)
        if gid >= 0 and engine.cg.type_class[gid]:
            ret = engine.call_named(heap, gid, name, ([target] if target is not None and target.objs else []) + call_args)
            out = join(out, ret)
        else:
            ret = engine.invoke_by_name(caller, pc, desc, name, target, call_args, heap)
            out = join(out, ret)
    return out if out is not None else NONE


# ------------------------------------------------------------------ others
def _app_application(engine, caller, pc, ref, params, heap):
    return engine.application_object(heap)


def _cb_run(engine, caller, pc, ref, params, heap):
    recv = params[0] if params else None
    if recv is None:
        return None
    for o in sorted(recv.objs):
        cb = engine.cell(heap, o, "@cb")
        if cb is None:
            continue
        for r in sorted(cb.objs):
            info = engine.objs[r]
            if info.gid >= 0:
                engine.call_named(heap, info.gid, "run", [Val(objs=frozenset((r,)))])
    return None


SPECIAL = {
    "str:concat": _str_concat,
    "str:substring": _str_substring,
    "str:same": _str_map(lambda s: s),
    "str:trim": _str_map(str.strip),
    "str:upper": _str_map(str.upper),
    "str:lower": _str_map(str.lower),
    "str:same_arg0": _str_same_arg0,
    "str:replace": _str_replace,
    "str:valueof": _str_valueof,
    "str:init": _str_init,
    "sb:init": _sb_init,
    "sb:append": _sb_append,
    "sb:reverse": _sb_reverse,
    "sb:tostring": _sb_tostring,
    "list:add": _list_add,
    "list:init": _list_init,
    "stream:wrap": _stream_wrap,
    "stream:write": _stream_write,
    "stream:read": _stream_read,
    "stream:toarray": _stream_toarray,
    "stream:from_array": _stream_from_array,
    "file:open_input": _file_open_input,
    "array:new": _array_new,
    "list:get": _list_get,
    "icc:send": _icc_send,
    "icc:set_result": _icc_set_result,
    "icc:get_intent": _icc_get_intent,
    "intent:init": _intent_init,
    "prefs:put": _prefs_put,
    "prefs:get": _prefs_get,
    "reflect:forname": _reflect_forname,
    "reflect:getclass": _reflect_getclass,
    "reflect:getmethod": _reflect_getmethod,
    "reflect:getctor": _reflect_getctor,
    "reflect:classname": _reflect_classname,
    "reflect:newinstance": _reflect_newinstance,
    "reflect:invoke": _reflect_invoke,
    "app:application": _app_application,
    "cb:run": _cb_run,
}

__all__ = ["apply_effects", "default_effects"]
