"""Symbolic leaves: ints and bools with a finite set of possible values, which model code runs on.

A step is plain Python over tuples of ints and bools.  Running it on :class:`SInt` / :class:`SBool`
leaves works like lazy initialisation in symbolic execution over finite domains: a leaf that is
only copied stays symbolic (the post-state says "same as that pre-state leaf"); the first time
code *looks* at a leaf — a comparison, an ``if``, arithmetic, an index, a hash — the current
:class:`Path` splits the leaf's set of possible values (``x == FREE`` → {FREE} | the rest) or
fixes it to one value, and pushes the other choices as alternatives for
:func:`svmcheck.symbolic.paths.run_paths` to run.  Every path is feasible by construction
(each leaf's set is non-empty and leaves are independent), so no solver runs while steps
execute; a path's condition is "each inspected leaf lies in its set".  The step is executed,
not re-described, so the encoding cannot drift from it.

Variable-length tuples (a GPU's ranges, a range's pfns) are :class:`LazySeq` objects whose
length is such a leaf; they become real tuples only when code looks inside them.
"""
from __future__ import annotations

import z3

_current: "Path | None" = None


def current() -> "Path":
    if _current is None:
        raise RuntimeError("symbolic value used outside a symbolic run")
    return _current


class Path:
    """One run on symbolic leaves: the choices made and each inspected leaf's value set."""

    __slots__ = ("prefix", "i", "choices", "pending", "dom", "leaves", "mat")

    def __init__(self, prefix):
        self.prefix = prefix
        self.i = 0
        self.choices: list = []
        self.pending: list = []     # prefixes of the choices not taken
        self.dom: dict = {}         # id(leaf) -> tuple of values still possible on this path
        self.leaves: dict = {}      # id(leaf) -> leaf (leaves hash by value: key by identity)
        self.mat: dict = {}         # id(LazySeq) -> its tuple on this path

    def values(self, leaf) -> tuple:
        return self.dom.get(id(leaf), leaf.domain)

    def choose(self, leaf, parts: list):
        """Restrict ``leaf`` to one of ``parts`` (non-empty value tuples); return its index."""
        parts = [p for p in parts if p]
        self.leaves[id(leaf)] = leaf
        if len(parts) == 1:
            self.dom[id(leaf)] = parts[0]
            return 0
        if self.i < len(self.prefix):
            k = self.prefix[self.i]
        else:
            k = 0
            self.pending.extend(self.choices + [j] for j in range(len(parts) - 1, 0, -1))
        self.i += 1
        self.choices.append(k)
        self.dom[id(leaf)] = parts[k]
        return k

    def test(self, leaf, pred) -> bool:
        """Split ``leaf``'s values by ``pred`` and follow one side."""
        vals = self.values(leaf)
        yes = tuple(v for v in vals if pred(v))
        no = tuple(v for v in vals if not pred(v))
        if not no:
            return True
        if not yes:
            return False
        return self.choose(leaf, [yes, no]) == 0

    def fix(self, leaf):
        """Fix ``leaf`` to one of its values (each value is a path)."""
        vals = self.values(leaf)
        if len(vals) == 1:
            return vals[0]
        k = self.choose(leaf, [(v,) for v in vals])
        return vals[k]

    def condition(self) -> list:
        """(leaf, values) for every inspected leaf whose set was narrowed on this path."""
        out = []
        for k, vals in self.dom.items():
            leaf = self.leaves[k]
            if len(vals) != len(leaf.domain):
                out.append((leaf, vals))
        return out


class Leaf:
    """Base of SInt/SBool: a named Z3 variable with a finite domain."""
    __slots__ = ("e", "domain", "enum")

    def concrete(self):
        v = current().fix(self)
        return self.enum(v) if self.enum is not None else v

    def _test(self, pred):
        return current().test(self, pred)

    def __hash__(self):
        return hash(self.concrete())

    def __index__(self):
        return int(self.concrete())

    __int__ = __index__

    def __format__(self, spec):
        return format(self.concrete(), spec)

    def __str__(self):
        return str(self.concrete())

    def __repr__(self):
        return f"{type(self).__name__}({self.e})"

    @property
    def name(self):
        return self.concrete().name

    @property
    def value(self):
        return int(self.concrete())


def _plain(o):
    """A concrete value for ``o`` (fixing it if it is a leaf), or NotImplemented."""
    if isinstance(o, Leaf):
        return o.concrete()
    if isinstance(o, int):
        return o
    return NotImplemented


def _cmp(pyop):
    def f(self, other):
        o = _plain(other) if isinstance(other, Leaf) else other
        if not isinstance(o, int):
            return NotImplemented
        return self._test(lambda v: pyop(v, o))
    return f


def _arith(pyop, reflected=False):
    def f(self, other):
        o = _plain(other)
        if o is NotImplemented:
            return NotImplemented
        v = self.concrete()
        return pyop(o, v) if reflected else pyop(v, o)
    return f


def _ops(cls):
    import operator as op
    for name, fn in (("lt", op.lt), ("le", op.le), ("gt", op.gt), ("ge", op.ge),
                     ("eq", op.eq), ("ne", op.ne)):
        setattr(cls, f"__{name}__", _cmp(fn))
    for name, fn in (("add", op.add), ("sub", op.sub), ("mul", op.mul),
                     ("floordiv", op.floordiv), ("mod", op.mod), ("and", op.and_),
                     ("or", op.or_), ("xor", op.xor), ("lshift", op.lshift),
                     ("rshift", op.rshift)):
        setattr(cls, f"__{name}__", _arith(fn))
        setattr(cls, f"__r{name}__", _arith(fn, True))
    for name in ("neg", "pos", "abs", "invert"):
        setattr(cls, f"__{name}__", lambda self, _n=name: getattr(op, _n)(self.concrete()))
    cls.__hash__ = Leaf.__hash__
    return cls


@_ops
class SInt(Leaf):
    """A symbolic int in ``domain`` (``enum``: the IntEnum it stands for)."""
    __slots__ = ()

    def __init__(self, e, domain, enum=None):
        self.e, self.domain, self.enum = e, tuple(domain), enum

    def __bool__(self):
        return self._test(lambda v: v != 0)


@_ops
class SBool(Leaf):
    """A symbolic bool; arithmetic treats it as 0/1 like Python's bool."""
    __slots__ = ()

    def __init__(self, e, domain=(False, True)):
        self.e, self.domain, self.enum = e, tuple(domain), None

    def __bool__(self):
        return self._test(bool)


def declare(names_kinds) -> dict:
    """Z3 constants for SMT-LIB names (``|pre.0.1|``), for parse_smt2_string's decls."""
    out = {}
    for name, kind in names_kinds:
        bare = name.strip("|")
        out[bare] = z3.Bool(bare) if kind == "bool" else z3.Int(bare)
    return out


class LazySeq:
    """A variable-length tuple whose length is a leaf, materialised on first look.

    ``slots`` are the value trees of positions ``0 .. maxlen-1``; on a path the tuple is
    ``slots[:n]`` for the length ``n`` the path fixed.
    """
    __slots__ = ("slots", "length")

    def __init__(self, slots, length):
        self.slots, self.length = slots, length

    def get(self) -> tuple:
        p = current()
        t = p.mat.get(id(self))
        if t is None:
            n = p.fix(self.length)
            t = p.mat[id(self)] = tuple(self.slots[:n])
        return t

    def __len__(self):
        return len(self.get())

    def __iter__(self):
        return iter(self.get())

    def __getitem__(self, i):
        return self.get()[i]

    def __contains__(self, x):
        return x in self.get()

    def __add__(self, o):
        return self.get() + (o.get() if isinstance(o, LazySeq) else o)

    def __radd__(self, o):
        return o + self.get()

    def __bool__(self):
        p = current()
        if id(self) in p.mat:
            return bool(p.mat[id(self)])
        return p.test(self.length, lambda n: n > 0)

    def __eq__(self, o):
        return self.get() == (o.get() if isinstance(o, LazySeq) else o)

    def __ne__(self, o):
        return not self.__eq__(o)

    def __lt__(self, o):
        return self.get() < (o.get() if isinstance(o, LazySeq) else o)

    def __hash__(self):
        return hash(self.get())

    def __repr__(self):
        return f"LazySeq(len={self.length.e})"
