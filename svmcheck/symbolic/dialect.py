"""Rendering the symbolic encoding as text: SMT-LIB for Z3, expressions for Promela and TLA+.

The encoding is data — a path's condition is ``[(leaf, values)]`` plus, for a property,
the Terms its truth tests took (values.Term); its effect is ``[(target, kind, ref, guard)]``
(layout.bind) — and each engine's syntax lives here, so Z3, SPIN and TLC read the same paths
of the same step and property executions.
"""
from __future__ import annotations

from .values import Leaf, SBool


class Dialect:
    true, false = "true", "false"

    def name(self, var: str) -> str:
        return var

    def int(self, v: int) -> str:
        return str(v)

    def bool(self, v: bool) -> str:
        return self.true if v else self.false

    # composite forms, overridden per syntax
    def eq(self, a, b): raise NotImplementedError
    def ge(self, a, b): raise NotImplementedError
    def le(self, a, b): raise NotImplementedError
    def gt(self, a, b): raise NotImplementedError
    def not_(self, a): raise NotImplementedError
    def ite01(self, a): raise NotImplementedError
    def cond(self, c, a, b): raise NotImplementedError
    def binop(self, op, a, b): raise NotImplementedError
    def _join(self, op, xs): raise NotImplementedError

    def and_(self, xs):
        xs = [x for x in xs if x != self.true]
        return self.true if not xs else xs[0] if len(xs) == 1 else self._join("and", xs)

    def or_(self, xs):
        xs = [x for x in xs if x != self.false]
        return self.false if not xs else xs[0] if len(xs) == 1 else self._join("or", xs)

    def implies(self, a, b):
        return self.or_([self.not_(a), b])

    def member(self, var: str, kind: str, vals) -> str:
        v = self.name(var)
        if kind == "bool":       # both values: no constraint (a free switch's domain)
            vals = set(vals)
            return self.bool(True) if len(vals) == 2 else v if vals == {True} else self.not_(v)
        lo, hi = min(vals), max(vals)
        if lo == hi:
            return self.eq(v, self.int(lo))
        if len(vals) == hi - lo + 1:
            return self.and_([self.ge(v, self.int(lo)), self.le(v, self.int(hi))])
        return self.or_([self.eq(v, self.int(x)) for x in vals])

    def condition(self, pc) -> str:
        """A path condition: ``(leaf, values)`` memberships and bool Terms."""
        return self.and_([self.member(c[0].e, "bool" if isinstance(c[0], SBool) else "int",
                                      c[1]) if isinstance(c, tuple) else self.term(c)
                          for c in pc])

    def term(self, x) -> str:
        """A Term (values.Term), a leaf or a constant."""
        if isinstance(x, bool):
            return self.bool(x)
        if isinstance(x, int):
            return self.int(int(x))
        if isinstance(x, Leaf):
            return self.name(x.e)
        a = [self.term(y) for y in x.args]
        op = x.op
        if op in ("and", "or"):
            return self.and_(a) if op == "and" else self.or_(a)
        if op == "not":
            return self.not_(a[0])
        if op == "ite01":
            return self.ite01(a[0])
        if op == "ite":
            return self.cond(*a)
        if op == "neg":
            return self.binop("-", self.int(0), a[0])
        return self.binop(op, *a)

    def value(self, ref, kind: str) -> str:
        """The text of an assigned value (layout.ref), converted to the slot's kind."""
        if ref[0] == "c":
            return self.bool(ref[1]) if kind == "bool" else self.int(int(ref[1]))
        _, var, src = ref
        v = self.name(var)
        if src == kind:
            return v
        return self.ite01(v) if kind == "int" else self.not_(self.eq(v, self.int(0)))

    def guard(self, guard) -> str:
        length, i = guard
        return self.gt(self.value(length, "int"), self.int(i))

    def constraint(self, a) -> str | None:
        """``target = value`` (under its guard), or None for a free slot."""
        target, kind, ref, guard = a
        if ref is None:
            return None
        c = self.eq(self.name(target), self.value(ref, kind))
        return c if guard is None else self.implies(self.guard(guard), c)


class Smt(Dialect):
    def int(self, v):
        return str(v) if v >= 0 else f"(- {-v})"

    def eq(self, a, b): return f"(= {a} {b})"
    def ge(self, a, b): return f"(>= {a} {b})"
    def le(self, a, b): return f"(<= {a} {b})"
    def gt(self, a, b): return f"(> {a} {b})"
    def not_(self, a): return f"(not {a})"
    def ite01(self, a): return f"(ite {a} 1 0)"
    def cond(self, c, a, b): return f"(ite {c} {a} {b})"
    def implies(self, a, b): return f"(=> {a} {b})"

    def binop(self, op, a, b):
        if op == "!=":
            return f"(not (= {a} {b}))"
        return f"({'=' if op == '==' else op} {a} {b})"

    def _join(self, op, xs):
        return f"({op} " + " ".join(xs) + ")"


class Infix(Dialect):
    """C-like infix syntax; subclasses set the operators and the variable naming."""
    AND, OR, NOT, EQ, NE = "&&", "||", "!", "==", "!="

    def __init__(self, names: dict):
        self.names = names           # SMT variable name -> identifier

    def name(self, var):
        return self.names[var]

    def eq(self, a, b): return f"({a} {self.EQ} {b})"
    def ge(self, a, b): return f"({a} >= {b})"
    def le(self, a, b): return f"({a} <= {b})"
    def gt(self, a, b): return f"({a} > {b})"
    def not_(self, a): return f"{self.NOT}({a})"

    def binop(self, op, a, b):
        return f"({a} {self.EQ if op == '==' else self.NE if op == '!=' else op} {b})"

    def _join(self, op, xs):
        return "(" + f" {self.AND if op == 'and' else self.OR} ".join(xs) + ")"


class Promela(Infix):
    def ite01(self, a): return f"({a} -> 1 : 0)"
    def cond(self, c, a, b): return f"({c} -> {a} : {b})"


class Tla(Infix):
    AND, OR, NOT, EQ, NE = "/\\", "\\/", "~", "=", "#"
    true, false = "TRUE", "FALSE"

    def ite01(self, a): return f"(IF {a} THEN 1 ELSE 0)"
    def cond(self, c, a, b): return f"(IF {c} THEN {a} ELSE {b})"
