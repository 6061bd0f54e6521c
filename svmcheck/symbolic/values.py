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

from ..errors import SvmCheckError

_current: "Path | None" = None


def current() -> "Path":
    if _current is None:
        raise RuntimeError("symbolic value used outside a symbolic run")
    return _current


class PathLimit(SvmCheckError):
    """Too many paths (the encoding would be incomplete)."""


class Path:
    """One run on symbolic leaves: the choices made and each inspected leaf's value set."""

    __slots__ = ("prefix", "i", "choices", "pending", "dom", "leaves", "mat", "terms", "conds",
                 "decided")

    def __init__(self, prefix, terms: bool = False):
        self.prefix = prefix
        self.terms = terms          # property mode: arithmetic and comparisons build Terms
        self.conds: list = []       # Terms (bool) that this path's truth tests took
        self.decided: dict = {}     # id(Term) -> the side taken
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
        k = self.pick(len(parts)) if len(parts) > 1 else 0
        self.dom[id(leaf)] = parts[k]
        return k

    def pick(self, n: int) -> int:
        """Which of ``n`` alternatives this run follows (the others become pending runs)."""
        if self.i < len(self.prefix):
            k = self.prefix[self.i]
        else:
            k = 0
            self.pending.extend(self.choices + [j] for j in range(n - 1, 0, -1))
        self.i += 1
        self.choices.append(k)
        return k

    def branch(self, t: "Term") -> bool:
        """A truth test of a Term: a split of its one leaf's values, else a fork whose sides
        add ``t`` or ``not t`` to the path condition (the side may be infeasible: the
        condition is then unsatisfiable, which the disjunction of paths absorbs)."""
        ls = t.leaves()
        if len(ls) == 1:
            (leaf,) = ls
            return self.test(leaf, lambda v: t.eval({id(leaf): v}))
        if id(t) in self.decided:          # tested again (``clause(a and b)`` then bool())
            return self.decided[id(t)]
        outs = t.outcomes(self, 64)
        if outs is not None and len(outs) == 1:
            return bool(outs.pop())
        k = self.pick(2)
        self.conds.append(t if k == 0 else Term("not", (t,), "bool"))
        self.decided[id(t)] = k == 0       # t is kept alive by conds: its id stays unique
        return k == 0

    def settle(self, t: "Term"):
        """Fix a Term to one value (an index, a hash): each possible value is a path."""
        ls = t.leaves()
        if len(ls) == 1:
            (leaf,) = ls
            return t.eval({id(leaf): self.fix(leaf)})
        outs = t.outcomes(self, 4096)
        if outs is None:
            raise PathLimit(f"a symbolic expression over {len(ls)} leaves is used as a "
                            f"number (an index, a hash); compare it instead")
        vals = sorted(outs)
        k = self.pick(len(vals)) if len(vals) > 1 else 0
        if len(vals) > 1:
            self.conds.append(build("==", t, vals[k]))
        return vals[k]

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
        return out + self.conds


class Symbolic:
    """What a leaf and a term do where Python needs a concrete value: fix it (a path each)."""
    __slots__ = ()

    def concrete(self):
        raise NotImplementedError

    def __hash__(self):
        return hash(self.concrete())

    def __index__(self):
        return int(self.concrete())

    __int__ = __index__

    def __format__(self, spec):
        return format(self.concrete(), spec)

    def __str__(self):
        return str(self.concrete())


class Leaf(Symbolic):
    """Base of SInt/SBool: a named Z3 variable with a finite domain."""
    __slots__ = ("e", "domain", "enum")

    def concrete(self):
        v = current().fix(self)
        return self.enum(v) if self.enum is not None else v

    def _test(self, pred):
        return current().test(self, pred)

    def __repr__(self):
        return f"{type(self).__name__}({self.e})"

    @property
    def name(self):
        return self.concrete().name

    @property
    def value(self):
        return int(self.concrete())


def _plain(o):
    """A concrete value for ``o`` (fixing it if it is a leaf or a term), or NotImplemented."""
    if isinstance(o, Symbolic):
        return o.concrete()
    if isinstance(o, int):
        return o
    return NotImplemented


def _terms_on() -> bool:
    return _current is not None and _current.terms


def _cmp(pyop, sym):
    def f(self, other):
        if _terms_on():
            return build(sym, self, other)
        o = _plain(other) if isinstance(other, Symbolic) else other
        if not isinstance(o, int):
            return NotImplemented
        return self._test(lambda v: pyop(v, o))
    return f


def _arith(pyop, sym, reflected=False):
    def f(self, other):
        if sym is not None and _terms_on():
            r = build(sym, other, self) if reflected else build(sym, self, other)
            if r is not NotImplemented:
                return r
        o = _plain(other)
        if o is NotImplemented:
            return NotImplemented
        v = self.concrete()
        return pyop(o, v) if reflected else pyop(v, o)
    return f


def _ops(cls):
    import operator as op
    for name, fn, sym in (("lt", op.lt, "<"), ("le", op.le, "<="), ("gt", op.gt, ">"),
                          ("ge", op.ge, ">="), ("eq", op.eq, "=="), ("ne", op.ne, "!=")):
        setattr(cls, f"__{name}__", _cmp(fn, sym))
    for name, fn, sym in (("add", op.add, "+"), ("sub", op.sub, "-"), ("mul", op.mul, "*"),
                          ("floordiv", op.floordiv, None), ("mod", op.mod, None),
                          ("and", op.and_, "&"), ("or", op.or_, "|"), ("xor", op.xor, "^"),
                          ("lshift", op.lshift, None), ("rshift", op.rshift, None)):
        setattr(cls, f"__{name}__", _arith(fn, sym))
        setattr(cls, f"__r{name}__", _arith(fn, sym, True))

    def neg(self):
        return build("neg", self) if _terms_on() else -self.concrete()
    cls.__neg__ = neg
    for name in ("pos", "abs", "invert"):
        setattr(cls, f"__{name}__", lambda self, _n=name: getattr(op, _n)(self.concrete()))
    cls.__hash__ = Symbolic.__hash__
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


# --------------------------------------------------------------------------------------------
# terms: how properties see the state
# --------------------------------------------------------------------------------------------

_CMP = ("==", "!=", "<", "<=", ">", ">=")
_PY = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
       "neg": lambda a: -a, "==": lambda a, b: a == b, "!=": lambda a, b: a != b,
       "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
       ">=": lambda a, b: a >= b, "and": lambda *xs: all(xs), "or": lambda *xs: any(xs),
       "not": lambda a: not a, "ite01": lambda a: int(bool(a)),
       "ite": lambda c, a, b: a if c else b}


class Term(Symbolic):
    """An int or bool expression over leaves, built when a *property* computes on them.

    Steps run on value sets (a comparison splits a leaf's set); a property runs with
    ``Path.terms`` on, where ``+ - * == < ...`` over leaves build Terms, so a sum over many
    leaves is one expression instead of a fork per combination of their values.  Only a
    Python truth test (``if``, ``and``, ``not``, ``all``) forks: :meth:`Path.branch` adds the
    Term or its negation to the path's condition.  ``args`` are Terms, leaves, and int or
    bool constants; the dialects (dialect.py) render them for Z3, SPIN and TLC.
    """
    __slots__ = ("op", "args", "kind", "_leaves")

    def __init__(self, op: str, args: tuple, kind: str):
        self.op, self.args, self.kind, self._leaves = op, args, kind, None

    def leaves(self) -> tuple:
        if self._leaves is None:
            seen: dict = {}
            for a in self.args:
                if isinstance(a, Term):
                    seen.update((id(x), x) for x in a.leaves())
                elif isinstance(a, Leaf):
                    seen[id(a)] = a
            self._leaves = tuple(seen.values())
        return self._leaves

    def eval(self, env: dict):
        """The value under ``env`` (id(leaf) -> value)."""
        return _PY[self.op](*(a.eval(env) if isinstance(a, Term) else
                              env[id(a)] if isinstance(a, Leaf) else a for a in self.args))

    def outcomes(self, path, cap: int):
        """The values the Term takes over its leaves' current sets (None: over ``cap``)."""
        import itertools
        ls = self.leaves()
        n = 1
        for x in ls:
            n *= len(path.values(x))
            if n > cap:
                return None
        keys = [id(x) for x in ls]
        return {self.eval(dict(zip(keys, vs)))
                for vs in itertools.product(*(path.values(x) for x in ls))}

    def concrete(self):
        return current().settle(self)

    def __bool__(self):
        return current().branch(self)

    def __repr__(self):
        return f"Term({self.op}, {self.args!r})"


_ops(Term)


def _kind(x) -> str:
    if isinstance(x, (bool, SBool)):
        return "bool"
    return x.kind if isinstance(x, Term) else "int"


def _as_int(x):
    if _kind(x) != "bool":
        return x
    return int(x) if isinstance(x, bool) else Term("ite01", (x,), "int")


def _operand(x):
    """A Term argument: a Term, a leaf (its value if the path fixed it), a constant; or None."""
    if isinstance(x, Term):
        return x
    if isinstance(x, Leaf):
        vals = _current.values(x) if _current is not None else x.domain
        if len(vals) == 1:
            return bool(vals[0]) if isinstance(x, SBool) else int(vals[0])
        return x
    if isinstance(x, bool):
        return x
    if isinstance(x, int):
        return int(x)
    return None


def build(op: str, *xs):
    """``op`` over leaves, Terms and constants: a Term, a constant when every argument is
    one, or NotImplemented (an operand that is not a number; ``&``/``|``/``^`` on ints)."""
    args = [_operand(x) for x in xs]
    if any(a is None for a in args):
        return NotImplemented
    if op in ("&", "|", "^"):
        if any(_kind(a) != "bool" for a in args):
            return NotImplemented
        op = {"&": "and", "|": "or", "^": "!="}[op]
    elif op not in ("==", "!=") or _kind(args[0]) != _kind(args[1]):
        args = [_as_int(a) for a in args]
    if not any(isinstance(a, (Term, Leaf)) for a in args):
        return _PY[op](*args)
    if op == "+":                               # sum() starts at 0
        zero = [type(a) is int and a == 0 for a in args]
        if any(zero):
            return args[1] if zero[0] else args[0]
    return Term(op, tuple(args), "bool" if op in _CMP or op in ("and", "or") else "int")


def disjunction(items):
    """``any(items)`` as one Term (constants folded)."""
    terms = []
    for x in items:
        x = _operand(x)
        if x is True:
            return True
        if x is not False:
            terms.append(x if _kind(x) == "bool" else build("!=", x, 0))
    return False if not terms else terms[0] if len(terms) == 1 else Term("or", tuple(terms),
                                                                         "bool")


class STuple(tuple):
    """A fixed-length tuple of the symbolic state.

    For steps it is a plain tuple.  For properties (``Path.terms``) ``count`` builds a sum,
    ``x in t`` forks once on a disjunction instead of once per element, and indexing by a
    leaf builds a selection Term over the leaf's possible values."""
    __slots__ = ()

    def count(self, x):
        if not _terms_on():
            return tuple.count(self, x)
        total = 0
        for e in self:
            total = total + (e == x)
        return total

    def __contains__(self, x):
        if not _terms_on():
            return tuple.__contains__(self, x)
        return bool(disjunction(e == x for e in self))

    def __getitem__(self, i):
        if isinstance(i, slice):
            if _terms_on() and i.step is None and isinstance(i.start, SInt) \
                    and isinstance(i.stop, SInt):
                return Window(self, i.start, i.stop)
            return STuple(tuple.__getitem__(self, i))
        if isinstance(i, SInt) and _terms_on():
            sel = self._select(i)
            if sel is not None:
                return sel
        return tuple.__getitem__(self, i)

    def _select(self, i):
        vals = _current.values(i)
        n = len(self)
        if len(vals) == 1 or any(not -n <= v < n for v in vals):
            return None
        picked = [_operand(tuple.__getitem__(self, v)) for v in vals]
        if any(p is None for p in picked):
            return None
        if len({_kind(p) for p in picked}) > 1:
            picked = [_as_int(p) for p in picked]
        out = picked[-1]
        for v, p in zip(reversed(vals[:-1]), reversed(picked[:-1])):
            out = Term("ite", (Term("==", (i, int(v)), "bool"), p, out), _kind(p))
        return out


class Deferred:
    """A tuple that exists only once a path fixes what it depends on (``get``); every use
    but the ones a subclass answers symbolically works on that tuple."""
    __slots__ = ()

    def get(self) -> "STuple":
        raise NotImplementedError

    def __len__(self):
        return len(self.get())

    def __iter__(self):
        return iter(self.get())

    def __getitem__(self, i):
        return self.get()[i]

    def __contains__(self, x):
        return x in self.get()

    def count(self, x):
        return self.get().count(x)

    def __add__(self, o):
        return self.get() + _got(o)

    def __radd__(self, o):
        return o + self.get()

    def __bool__(self):
        return bool(self.get())

    def __eq__(self, o):
        return self.get() == _got(o)

    def __ne__(self, o):
        return not self.__eq__(o)

    def __lt__(self, o):
        return self.get() < _got(o)

    def __hash__(self):
        return hash(self.get())


def _got(o):
    return o.get() if isinstance(o, Deferred) else o


class Window(Deferred):
    """``t[a:b]`` of an STuple with leaf bounds, in a property: ``x in w`` is one disjunction
    over the positions (``a <= i < b and t[i] == x``) instead of a path per pair of bounds;
    anything else fixes the bounds and works on the real slice."""
    __slots__ = ("t", "a", "b")

    def __init__(self, t, a, b):
        self.t, self.a, self.b = t, a, b

    def get(self) -> "STuple":
        return STuple(tuple.__getitem__(self.t, slice(int(self.a), int(self.b))))

    def __contains__(self, x):
        n = len(self.t)
        if not all(0 <= v <= n for leaf in (self.a, self.b) for v in _current.values(leaf)):
            return x in self.get()          # negative bounds count from the end: fix them
        return bool(disjunction((self.a <= i) & (self.b > i) & (tuple.__getitem__(self.t, i) == x)
                                for i in range(n)))


def declare(names_kinds) -> dict:
    """Z3 constants for SMT-LIB names (``|pre.0.1|``), for parse_smt2_string's decls."""
    out = {}
    for name, kind in names_kinds:
        bare = name.strip("|")
        out[bare] = z3.Bool(bare) if kind == "bool" else z3.Int(bare)
    return out


class LazySeq(Deferred):
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
            t = p.mat[id(self)] = STuple(self.slots[:n])
        return t

    def __bool__(self):
        p = current()
        if id(self) in p.mat:
            return bool(p.mat[id(self)])
        return p.test(self.length, lambda n: n > 0)

    def __repr__(self):
        return f"LazySeq(len={self.length.e})"
