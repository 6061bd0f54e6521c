"""Partial-order reduction: ample sets of *process-local* steps, for safety properties.

A process is **local** at a state when every action it has at its current label (enabled or
not, guards included) runs without reading or writing the world: it only moves the process's
own label and locals.  That is decided dynamically, by running the label's guards and
effects on a world that raises on any access, and cached per (process, label, locals): the
answer depends on nothing else, because no other process can read or change a process's
label and locals (steps and labels receive the world and their own ``me`` only).

Ample set at s: the enabled actions of the first local process (in declaration order), if
all its successors are states not visited before; otherwise every enabled action.

* C0 (ample empty iff nothing is enabled): the process has an enabled action.
* C1 (no action dependent on the ample set runs first outside it): an action of another
  process touches the world, the local process touches only its own (label, locals); they
  commute, neither enables or disables the other, and the local process cannot move except
  by one of its current label's actions, whose guards read nothing another process writes.
  A commutation check at s alone would *not* be enough: C1 is about every action of every
  other process on every path from s, including actions not yet enabled at s that could
  later conflict; locality makes that future irrelevant, a test at s cannot.
* C2 (ample actions are invisible): a local action leaves the world unchanged, and state
  properties read the world only; a model with a property that reads process views
  (``always`` of arity 3) gets no reduction.  A ``sometimes_step`` naming a step makes that
  step visible.  Outcomes are preserved by the reordering (an action's outcome is a function
  of what it reads, and commuting actions read nothing the other writes).
* C3 (cycle proviso for BFS): reduce only when every ample successor is new (not yet in the
  visited set, any level).  A reduced state's ample edges then go to states discovered after
  it, so every cycle of the reduced graph passes a fully expanded state.

Together C0-C3 preserve reachability of every state predicate and transition label and the
set of reachable terminal states (deadlocks), so ``always``, ``sometimes``,
``sometimes_step`` and ``deadlock_free`` verdicts are those of the full graph.  The reduced
BFS may reach a violation through a reordered, longer path: counterexamples are valid runs
but need not be shortest.  Liveness (fair cycles) is refused.
"""
from __future__ import annotations

from ..model import Me, Result


class _Touched(BaseException):
    """Raised by the poisoned world; BaseException so that Model._call does not wrap it."""


class _Poison:
    """A world that refuses to be read."""
    __slots__ = ()

    def _touch(self, *a, **k):
        raise _Touched()

    __getattr__ = __getitem__ = __iter__ = __len__ = __eq__ = __hash__ = __bool__ = _touch
    __lt__ = __le__ = __gt__ = __ge__ = __ne__ = __contains__ = __index__ = __int__ = _touch


_POISON = _Poison()


class AmpleSets:
    """The ``expand`` hook of bfs.explore for partial-order reduction (see module doc)."""

    def __init__(self, model, props):
        self.model = model
        self.enabled = not any(p.kind in ("always", "sometimes") and p.arity != 2
                               for p in props)
        self.visible = {p.step for p in props if p.kind == "sometimes_step" and p.step}
        self.local: dict = {}          # (proc index, proc tuple) -> bool
        self.seen = set(model.initial_states())
        self.reduced = 0               # states expanded with a proper ample set

    @property
    def independent(self) -> int:
        """Process-local (label, locals) situations found so far."""
        return sum(self.local.values())

    def _is_local(self, p, t) -> bool:
        key = (p.index, t)
        v = self.local.get(key)
        if v is None:
            v = self.local[key] = self._probe(p, t)
        return v

    def _probe(self, p, t) -> bool:
        acts = p.by_label[t[0]]
        if not acts or any(a.name in self.visible for a in acts):
            return False
        model = self.model
        for a in acts:
            me = Me(p, t if t[0] else (a.label,) + t[1:])
            try:
                r = model._call(a, _POISON, me)
            except _Touched:
                return False
            if r is not None and (type(r) is not Result or r.world is not _POISON):
                return False
        return True

    def __call__(self, st, succs):
        seen = self.seen
        if self.enabled and len(succs) > 1:
            procs = st[1]
            for p in self.model.procs:
                t = procs[p.index]
                if not self._is_local(p, t):
                    continue
                ample = [s for s in succs if s[0].proc is p]
                if not ample or len(ample) == len(succs):
                    continue
                if any(s[2] in seen for s in ample):
                    break                 # C3: fully expand
                self.reduced += 1
                seen.update(s[2] for s in ample)
                return ample
        seen.update(s[2] for s in succs)
        return succs


def ample_sets(model, props) -> AmpleSets:
    """The partial-order reduction hook for ``model`` checking ``props`` (safety only)."""
    return AmpleSets(model, props)
