"""The state's type: which leaves are ints or bools, their bounds, which tuples vary in length.

A model's system state ``(world, procs)`` is a tree of NamedTuples, tuples, ints, IntEnums and
bools.  Its *type* is inferred from states (the initial ones and those the explorer reached):

* ``Leaf``  an int in ``[lo, hi]`` (an IntEnum keeps its class, for printing) or a bool;
* ``Rec``   a tuple of fixed length (a NamedTuple keeps its class);
* ``Seq``   a tuple whose length varies, up to ``maxlen`` (a GPU's ranges, a range's pfns).

The type gives every state a fixed set of Z3 variables (a Seq has ``maxlen`` slots and a length
variable) and the type constraints ``prove`` assumes of an arbitrary pre-state.  ``bind``
states that the variables of one frame equal a (symbolic or concrete) state; ``decode`` reads
a concrete state back from a Z3 model.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import z3

from ..errors import SvmCheckError
from . import values
from .dialect import Smt
from .values import LazySeq, Leaf as SLeaf, SBool, SInt, STuple

smt_int = Smt().int


@dataclass(frozen=True)
class Leaf:
    kind: str                 # "int" | "bool"
    lo: int = 0
    hi: int = 1
    enum: Any = None


@dataclass(frozen=True)
class Rec:
    children: tuple
    cls: Any = None           # a NamedTuple class, or None for a plain tuple


@dataclass(frozen=True)
class Seq:
    elem: Any
    maxlen: int


class LayoutError(SvmCheckError):
    """A state that the symbolic layer cannot type (a list, a dict, a string...)."""


# --------------------------------------------------------------------------------------------
# inference
# --------------------------------------------------------------------------------------------

def typeof(v):
    if isinstance(v, bool):
        return Leaf("bool", int(v), int(v))
    if isinstance(v, int):
        return Leaf("int", int(v), int(v), type(v) if isinstance(v, IntEnum) else None)
    if isinstance(v, tuple):
        cls = type(v) if hasattr(v, "_fields") else None
        return Rec(tuple(typeof(c) for c in v), cls)
    raise LayoutError(f"a state holds {type(v).__name__} {v!r}; Z3 needs ints, bools, IntEnums "
                      f"and tuples — replace it in the model's state")


def merge_all(types):
    """The least type containing every one of ``types`` (None for none)."""
    typ = None
    for t in types:
        typ = merge(typ, t)
    return typ


def merge(a, b):
    """The least type containing both."""
    if a is None:
        return b
    if a == b:
        return a
    if isinstance(a, Leaf) and isinstance(b, Leaf):
        if a.kind == b.kind == "bool":       # a flag no state sets stays a constant
            return Leaf("bool", min(a.lo, b.lo), max(a.hi, b.hi))
        enum = a.enum if a.enum is b.enum else None
        return Leaf("int", min(a.lo, b.lo), max(a.hi, b.hi), enum)
    if isinstance(a, Rec) and isinstance(b, Rec) and len(a.children) == len(b.children) \
            and a.cls is b.cls:
        return Rec(tuple(merge(x, y) for x, y in zip(a.children, b.children)), a.cls)
    if isinstance(a, (Rec, Seq)) and isinstance(b, (Rec, Seq)):
        return Seq(_elem(_elem(None, a), b), max(_maxlen(a), _maxlen(b)))
    raise LayoutError(f"a state position holds both {_show(a)} and {_show(b)}; keep one kind "
                      f"of value per position (e.g. NO=-1 rather than None)")


def _elem(acc, t):
    if isinstance(t, Seq):
        return merge(acc, t.elem)
    for c in t.children:
        acc = merge(acc, c)
    return acc


def _maxlen(t):
    return t.maxlen if isinstance(t, Seq) else len(t.children)


def _show(t):
    return {Leaf: "a number", Rec: "a tuple", Seq: "a tuple"}[type(t)]


def infer(states) -> Any:
    """The type of a collection of system states, walking each distinct sub-value once."""
    t = None
    states = list(states)
    if not states:
        raise LayoutError("no states to infer the state's type from")
    width = len(states[0])
    if all(isinstance(s, tuple) and len(s) == width for s in states):
        # one column at a time: most columns have few distinct values
        cols = []
        for i in range(width):
            sub = states[0][i]
            if isinstance(sub, tuple) and all(len(s[i]) == len(sub) for s in states):
                inner = []
                for j in range(len(sub)):
                    ct = None
                    for v in {s[i][j] for s in states}:
                        ct = merge(ct, typeof(v))
                    inner.append(ct)
                cols.append(Rec(tuple(inner), type(sub) if hasattr(sub, "_fields") else None))
            else:
                ct = None
                for v in {s[i] for s in states}:
                    ct = merge(ct, typeof(v))
                cols.append(ct)
        return Rec(tuple(cols), None)
    for s in states:
        t = merge(t, typeof(s))
    return t


def learned(states):
    """The layout of explored states: their type, IntEnum leaves widened to the whole enum."""
    return widen(infer(states))


def free_flags(t):
    """``t`` with every bool leaf free to take both values (the Promela/TLA+ exports).

    Not a semantic need: with constant flags the exported transitions still reach exactly
    svmcheck's states (tests/test_spin.py runs them directly) and pan built with gcc agrees
    (xe-retry-unbounded at one GPU: 9 states, no error).  But pan built with tcc reports
    "end state in claim reached" at depth 7: tcc miscompiles the 9,500-character claim
    condition that constant flags produce for ``migrations_hold_their_locks`` (its
    ``v40 == 4`` disjunct alone, true in that state, compiles right).  Free flags keep the
    claims in a shape tcc compiles correctly, and tcc keeps the SPIN tests fast."""
    if isinstance(t, Leaf):
        return Leaf("bool") if t.kind == "bool" else t
    if isinstance(t, Rec):
        return Rec(tuple(free_flags(c) for c in t.children), t.cls)
    return Seq(free_flags(t.elem), t.maxlen)


def widen(t):
    """IntEnum leaves widened to their whole enum; other leaves keep their explored bounds."""
    if isinstance(t, Leaf):
        if t.kind == "bool":
            return t
        if t.enum is not None:
            vals = [int(m) for m in t.enum]
            return Leaf("int", min(vals), max(vals), t.enum)
        return t
    if isinstance(t, Rec):
        return Rec(tuple(widen(c) for c in t.children), t.cls)
    return Seq(widen(t.elem), t.maxlen)


# --------------------------------------------------------------------------------------------
# variables
# --------------------------------------------------------------------------------------------

def instantiate(t, name: str):
    """A value tree of fresh Z3 variables named after their position."""
    if isinstance(t, Leaf):
        if t.kind == "bool":
            return SBool(f"|{name}|", tuple(bool(x) for x in range(t.lo, t.hi + 1)))
        return SInt(f"|{name}|", range(t.lo, t.hi + 1), t.enum)
    if isinstance(t, Rec):
        kids = [instantiate(c, f"{name}.{i}") for i, c in enumerate(t.children)]
        return t.cls(*kids) if t.cls is not None else STuple(kids)
    slots = tuple(instantiate(t.elem, f"{name}[{i}]") for i in range(t.maxlen))
    return LazySeq(slots, SInt(f"|{name}#len|", range(t.maxlen + 1)))


def variables(t, v) -> list:
    """(SMT name, kind) of every variable of an instantiated tree, in a fixed order."""
    if isinstance(t, Leaf):
        return [(v.e, t.kind)]
    if isinstance(t, Rec):
        return [x for c, cv in zip(t.children, v) for x in variables(c, cv)]
    return [(v.length.e, "int")] + [x for s in v.slots for x in variables(t.elem, s)]


def constraints(t, v, guard=None) -> list:
    """The type constraints of an instantiated tree (slots past a Seq's length are free)."""
    if isinstance(t, Leaf):
        if t.kind == "bool":
            if t.lo < t.hi:
                return []
            c = v.e if t.lo else f"(not {v.e})"
            return [c if guard is None else f"(=> {guard} {c})"]
        c = f"(and (<= {smt_int(t.lo)} {v.e}) (<= {v.e} {smt_int(t.hi)}))"
        return [c if guard is None else f"(=> {guard} {c})"]
    if isinstance(t, Rec):
        return [c for ct, cv in zip(t.children, v) for c in constraints(ct, cv, guard)]
    n = v.length.e
    out = [f"(and (<= 0 {n}) (<= {n} {t.maxlen}))"]
    for i, s in enumerate(v.slots):
        g = f"(> {n} {i})" if guard is None else f"(and {guard} (> {n} {i}))"
        out += constraints(t.elem, s, g)
    return out


def constraints_in(t, v, guard=None) -> list:
    """The type constraints of ``t`` on a frame ``v`` instantiated from a wider layout (``t``
    merged with others — prove --free types each configuration by its own layout): a
    fixed-length tuple of ``t`` may be a sequence of the frame, and a sequence shorter."""
    if isinstance(v, LazySeq):
        n = v.length.e
        if isinstance(t, Rec):
            out, elems = [f"(= {n} {len(t.children)})"], t.children
        else:
            out, elems = [f"(and (<= 0 {n}) (<= {n} {t.maxlen}))"], [t.elem] * t.maxlen
        for i, (ct, s) in enumerate(zip(elems, v.slots)):
            g = f"(> {n} {i})" if guard is None else f"(and {guard} (> {n} {i}))"
            out += constraints_in(ct, s, g)
        return out
    if isinstance(t, Rec):
        return [c for ct, cv in zip(t.children, v) for c in constraints_in(ct, cv, guard)]
    return constraints(t, v, guard)


class Misfit(Exception):
    """A value that does not fit the layout (a longer tuple, a tuple where a number was)."""


def ref(x, kind: str):
    """A post-state value as data: ("c", constant) or ("v", variable name, its kind)."""
    if isinstance(x, SLeaf):
        p = values._current
        vals = p.values(x) if p is not None else x.domain
        if len(vals) == 1:
            x = vals[0]
        else:
            return ("v", x.e, "bool" if isinstance(x, SBool) else "int")
    return ("c", bool(x) if kind == "bool" else int(x))


def bind(t, target, value, guard=None) -> list:
    """Assignments saying the variables ``target`` hold ``value`` (raises Misfit).

    Each is ``(target name, kind, value ref or None, guard)``: ``None`` marks a slot past a
    sequence's length (free for Z3, reset to a canonical 0 by the Promela export); ``guard``
    is ``(length ref, i)`` when the assignment only matters if that length exceeds ``i``.
    """
    if isinstance(t, Leaf):
        if not isinstance(value, (int, SLeaf)):
            raise Misfit(f"expected a number, found {type(value).__name__}")
        return [(target.e, t.kind, ref(value, t.kind), guard)]
    if isinstance(t, Rec):
        if isinstance(value, LazySeq):
            value = value.get()
        if not isinstance(value, tuple) or len(value) != len(t.children):
            raise Misfit(f"expected a tuple of {len(t.children)}")
        return [c for ct, tv, vv in zip(t.children, target, value)
                for c in bind(ct, tv, vv, guard)]
    if isinstance(value, LazySeq):
        p = values._current
        if p is not None and id(value) in p.mat:
            value = p.mat[id(value)]
        else:
            return _bind_lazy(t, target, value, guard)
    if not isinstance(value, tuple):
        raise Misfit("expected a tuple")
    if len(value) > t.maxlen:
        raise Misfit(f"a tuple of {len(value)} where at most {t.maxlen} fit")
    out = [(target.length.e, "int", ("c", len(value)), guard)]
    for tv, vv in zip(target.slots, value):
        out += bind(t.elem, tv, vv, guard)
    for tv in target.slots[len(value):]:
        out += [(n, k, None, guard) for n, k in variables(t.elem, tv)]
    return out


def _bind_lazy(t, target, value: LazySeq, guard) -> list:
    """An untouched sequence carried over: same length, same slots (under the length)."""
    if len(value.slots) > t.maxlen:
        raise Misfit("a sequence longer than its layout moved here")
    n = ref(value.length, "int")
    out = [(target.length.e, "int", n, guard)]
    for i, (tv, vv) in enumerate(zip(target.slots, value.slots)):
        out += bind(t.elem, tv, vv, (n, i))
    return out


def decode(t, v, model):
    """The concrete value of an instantiated tree in a Z3 model."""
    if isinstance(t, Leaf):
        x = model.eval(_var(v.e, t.kind), model_completion=True)
        if t.kind == "bool":
            return z3.is_true(x)
        n = x.as_long()
        return t.enum(n) if t.enum is not None and n in t.enum._value2member_map_ else n
    if isinstance(t, Rec):
        kids = [decode(c, cv, model) for c, cv in zip(t.children, v)]
        return t.cls(*kids) if t.cls is not None else tuple(kids)
    n = model.eval(_var(v.length.e, "int"), model_completion=True).as_long()
    return tuple(decode(t.elem, s, model) for s in v.slots[:n])


def _var(name, kind):
    bare = name.strip("|")
    return z3.Bool(bare) if kind == "bool" else z3.Int(bare)
