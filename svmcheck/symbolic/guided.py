"""The paths of a step that start in an invariant, found by asking Z3 for the next uncovered state.

:func:`svmcheck.symbolic.paths.run_paths` enumerates *every* path of a step over the layout,
and the layout is a box: each leaf ranges over its own values, independently of the others.
Most of the box is unreachable, and a step that inspects many leaves (a loop over every frame,
the rmap walk over every PTE) has as many paths as the box has combinations of the outcomes it
tests — hundreds of thousands at the seed models' default sizes, almost all of them starting
in states no invariant admits.  ``prove`` only ever asks about steps from states satisfying
the invariant ``Inv``, so it only needs the paths that contain such a state:

1. Z3 finds a state ``s`` with ``type(s) ∧ Inv(s)`` outside every path found so far;
2. the step runs once on the symbolic state, each split taking the side that contains ``s``
   (:class:`GuidedPath`): that gives the path through ``s`` — its condition (each inspected
   leaf in a set) and its effect, exactly as run_paths would have produced it;
3. the path's condition is blocked, and Z3 is asked again, until ``type ∧ Inv ∧ ¬(pc_1 ∨ …)``
   is unsatisfiable.

Why the result is exact on Inv-states: a step's paths partition the box (every split
partitions the set of a leaf's remaining values, so each state follows exactly one path), each
path found is one of run_paths' paths, and the loop ends only when every Inv-state lies in a
path found.  So ``Inv(pre) ∧ ∨ found (pc ∧ post = effect)`` equals ``Inv(pre) ∧ T(pre, post)``,
which is all an induction query uses.  ``tests/test_symbolic.py`` checks the two against each
other with Z3 on eight shipped models (sound and broken) at small sizes.
"""
from __future__ import annotations

import z3

from . import values
from .values import PathLimit


class SolverGaveUp(PathLimit):
    """A solver call of the enumeration timed out: the encoding is incomplete (exit 3)."""


class GuidedPath(values.Path):
    """A run whose every split follows one concrete state (``value(leaf)``) instead of
    forking; it leaves no pending alternatives."""

    __slots__ = ("value",)

    def __init__(self, value, terms: bool = False):
        super().__init__([], terms)
        self.value = value

    def choose(self, leaf, parts: list):
        v = self.value(leaf)
        parts = [p for p in parts if p]
        for k, part in enumerate(parts):
            if v in part:
                self.leaves[id(leaf)] = leaf
                self.dom[id(leaf)] = part
                return k
        raise AssertionError(f"{leaf.e} = {v} lies in no part of its split")

    def _env(self, t):
        return {id(x): self.values(x)[0] if len(self.values(x)) == 1 else self.value(x)
                for x in t.leaves()}

    def branch(self, t) -> bool:
        if id(t) in self.decided:
            return self.decided[id(t)]
        side = bool(t.eval(self._env(t)))
        self.conds.append(t if side else values.Term("not", (t,), "bool"))
        self.decided[id(t)] = side
        return side

    def settle(self, t):
        v = t.eval(self._env(t))
        self.conds.append(values.build("==", t, v))
        return v


def guided_paths(fn, solver: z3.Solver, decls: dict, cube, *, max_paths: int = 200000,
                 where: str = "a step", known=(), tick=None) -> list:
    """The paths of ``fn`` through the states ``solver`` admits (beyond ``known``, paths
    already found, which are blocked first).  ``cube(pc)`` turns a path condition into a Z3
    formula; ``decls`` maps a leaf's SMT name (without bars) to its Z3 constant.  Returns
    PathResults, the same objects run_paths returns; ``tick(n)`` is told the count every
    100 paths (progress)."""
    from .paths import PathResult
    for pc in known:
        solver.add(z3.Not(cube(pc)))
    out: list = []
    while True:
        r = solver.check()
        if r == z3.unsat:
            return out
        if r != z3.sat:
            raise SolverGaveUp(f"Z3 answered {r} while enumerating the paths of {where}; raise "
                            f"--timeout or shrink the configuration")
        model = solver.model()
        cache: dict = {}

        def value(leaf, model=model, cache=cache):
            v = cache.get(id(leaf))
            if v is None:
                x = model.eval(decls[leaf.e.strip("|")], model_completion=True)
                v = cache[id(leaf)] = z3.is_true(x) if z3.is_bool(x) else x.as_long()
            return v

        path = GuidedPath(value)
        prev, values._current = values._current, path
        try:
            v = fn(path)
        finally:
            values._current = prev
        pc = path.condition()
        out.append(PathResult(pc, v))
        solver.add(z3.Not(cube(pc)))
        if tick is not None and len(out) % 100 == 0:
            tick(len(out))
        if len(out) > max_paths:
            raise PathLimit(f"more than {max_paths} paths through {where} from states "
                            f"satisfying the invariant; shrink the configuration (--set)")
