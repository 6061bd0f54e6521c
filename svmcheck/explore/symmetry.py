"""Symmetry reduction: explore one state per orbit of a permutation group the model declares.

A model opts in with ``symmetry()`` returning a :class:`Symmetry` (or None when its
configuration has no non-trivial symmetry): a group of permutations (of GPUs, threads, ...)
and ``apply(perm, state)``.  The explorer stores ``canon(state)``, one chosen member of its
orbit (by default the least), so every orbit of reachable states is explored once (bfs.py
``canon=``).

The reduction is sound for the properties checked here when the group is a group of
*automorphisms* of the state graph (permuting a state permutes its successors and the
initial states) and every property is *invariant* under it.  Neither is taken on trust:
:func:`self_check` refutes a wrong declaration on a sample of reachable states before any
reduced run, and :func:`check_properties` refutes a property that tells permuted states
apart (one naming a particular GPU).  A sample is not a proof; ``--verify-reduction`` and
the tests compare a reduced run with an unreduced one in full.

Liveness is refused: a fair lasso of the quotient graph need not be the image of a fair
lasso of the real one (weak fairness is per actor, and actors are what the group permutes).
"""
from __future__ import annotations

import random

from ..errors import SvmCheckError

# properties whose verdict is a function of the reachable states and transitions only
SAFETY_KINDS = ("always", "sometimes", "sometimes_step", "deadlock")


class Symmetry:
    """A permutation group acting on states.

    ``perms``: the group's elements (the identity may be included; it is dropped);
    ``apply(perm, state) -> state``; ``canon``: an optional faster exact canonical form
    (it must return ``min`` over the orbit — :func:`self_check` compares it on samples);
    ``name``: what is permuted, for messages (``"GPUs 0,1,2"``).  A ``canon`` must map every
    state to a member of its orbit and all members of an orbit to the same state.
    """

    def __init__(self, name: str, perms, apply, canon=None):
        self.name = name
        self.perms = [p for p in perms if tuple(p) != tuple(range(len(p)))]
        self.apply = apply
        self._fast = canon

    @property
    def order(self) -> int:
        return len(self.perms) + 1

    def orbit(self, st) -> set:
        out = {st}
        for p in self.perms:
            out.add(self.apply(p, st))
        return out

    def canon(self, st):
        """One member of ``st``'s orbit, the same for all its members (by default the least)."""
        if self._fast is not None:
            return self._fast(st)
        return least([st] + [self.apply(p, st) for p in self.perms])


def least(states):
    """The least of ``states`` in tuple order (None sorts first where it meets a tuple)."""
    try:
        return min(states)
    except TypeError:            # e.g. None beside a tuple somewhere in a local
        return min(states, key=_sortable)


def declared(model) -> Symmetry | None:
    """The model's declared symmetry, or None (no ``symmetry()``, or only the identity)."""
    fn = getattr(model, "symmetry", None)
    if fn is None:
        return None
    sym = fn()
    if sym is None or not sym.perms:
        return None
    return sym


def require(model) -> Symmetry:
    """The model's symmetry for ``--symmetry``; a one-line error if it has none."""
    sym = declared(model)
    if sym is None:
        why = getattr(model, "asymmetry", lambda: None)()
        raise SvmCheckError(
            f"model {model.name} has no symmetry to reduce by"
            f"{': ' + why if why else ''}; drop --symmetry")
    return sym


def sample_states(model, *, bfs: int = 120, walks: int = 6, length: int = 40,
                  seed: int = 0) -> list:
    """Reachable states to test a declaration on: a BFS prefix (shallow states, every
    initial state) and a few seeded random walks (deep states the prefix never reaches)."""
    inits = model.initial_states()
    seen = dict.fromkeys(inits)
    frontier = list(inits)
    while frontier and len(seen) < bfs:
        nxt = []
        for st in frontier:
            for _, _, t in model.successors(st):
                if t not in seen and len(seen) < bfs:
                    seen[t] = None
                    nxt.append(t)
        frontier = nxt
    rnd = random.Random(seed)
    for _ in range(walks):
        st = rnd.choice(inits)
        for _ in range(length):
            succ = list(model.successors(st))
            if not succ:
                break
            st = rnd.choice(succ)[2]
            seen[st] = None
    return list(seen)


def self_check(model, sym: Symmetry, states=None) -> None:
    """Refute a wrong declaration; raises SvmCheckError (one line) naming what failed.

    Checked: every permutation maps the initial states onto themselves; on each sampled
    state s and permutation p, the successors of p(s) are exactly the p-images of the
    successors of s, with the same step names and outcomes (so ``sometimes_step`` and
    deadlock verdicts are invariant too); ``canon`` picks one member of each orbit.
    """
    inits = set(model.initial_states())
    for p in sym.perms:
        for st in inits:
            if sym.apply(p, st) not in inits:
                _refuted(model, sym, p, "an initial state to a state that is not initial")
    for st in states if states is not None else sample_states(model):
        succ = _succ(model, st)
        for p in sym.perms:
            pst = sym.apply(p, st)
            want = {repr((n, o, sym.apply(p, t))): n for n, o, t in succ}
            got = {repr(x): x[0] for x in _succ(model, pst)}
            if sorted(want) != sorted(got):
                odd = sorted({want[k] for k in want.keys() - got.keys()}
                             | {got[k] for k in got.keys() - want.keys()})
                _refuted(model, sym, p, f"the successors of a reachable state by step "
                                        f"{'/'.join(odd) or '?'} to states that are not the "
                                        f"successors of its image")
        if sym._fast is not None:
            orbit = sym.orbit(st)
            c = sym.canon(st)
            if c not in orbit or any(sym.canon(t) != c for t in orbit):
                raise SvmCheckError(
                    f"model {model.name}: the declared canonical form over {sym.name} is not "
                    f"one member of each orbit; fix the model's symmetry() or drop --symmetry")


def check_properties(model, sym: Symmetry, props, states) -> None:
    """Refuse a property that tells permuted states apart (it names a particular GPU,
    thread...): reducing by the group would then hide its violations."""
    for prop in props:
        if prop.kind not in ("always", "sometimes"):
            continue
        for st in states:
            v = prop.test(model, st)
            for p in sym.perms:
                if prop.test(model, sym.apply(p, st)) != v:
                    raise SvmCheckError(
                        f"property {prop.name} of model {model.name} is not symmetric under "
                        f"{sym.name} (permutation {_fmt(p)} changes its value on a reachable "
                        f"state); check it without --symmetry")


def refuse_liveness(props, flag: str) -> None:
    """One-line refusal when every selected property is liveness (nothing left to reduce)."""
    live = [p.name for p in props if p.is_liveness]
    raise SvmCheckError(
        f"{flag} is not sound for liveness properties ({', '.join(live)}): a reduced graph "
        f"may miss or invent fair cycles; check them without {flag}")


def compare(reduced, full, *, sym: Symmetry | None = None, por: bool = False) -> dict:
    """``--verify-reduction``: a reduced CheckResult against the unreduced one of the same
    properties.  Raises SvmCheckError (one line, the first disagreement) unless: every
    verdict is equal; states and transitions are no more than unreduced; with symmetry, the
    orbits of the reduced states are exactly the unreduced states and every counterexample
    has the unreduced (shortest) length; with POR, no counterexample is shorter than the
    shortest one.  Returns the numbers compared."""
    name = full.model
    if not (reduced.exploration.complete and full.exploration.complete):
        raise SvmCheckError(
            f"--verify-reduction needs complete runs of model {name}, but a limit stopped one; "
            f"raise or drop --max-states/--max-depth/--time-limit")
    problems = []
    for r, u in zip(reduced.properties, full.properties):
        if r.status != u.status:
            problems.append(f"property {r.name} is {r.status} reduced but {u.status} unreduced")
        elif r.length is not None and u.length is not None and r.kind in ("always", "deadlock"):
            if (sym is not None and r.length != u.length) or r.length < u.length:
                problems.append(f"property {r.name}'s counterexample has {r.length} steps "
                                f"reduced but {u.length} unreduced")
    if reduced.states > full.states or reduced.transitions > full.transitions:
        problems.append(f"the reduced run is larger ({reduced.states} states, "
                        f"{reduced.transitions} transitions) than the unreduced one "
                        f"({full.states}, {full.transitions})")
    out = {"reduced_states": reduced.states, "unreduced_states": full.states,
           "reduced_transitions": reduced.transitions,
           "unreduced_transitions": full.transitions}
    if sym is not None:
        ex = reduced.exploration
        covered = sum(len(sym.orbit(ex.state(i))) for i in range(reduced.states))
        out["orbit_states"] = covered
        if covered != full.states:
            problems.append(f"the orbits of the {reduced.states} reduced states cover "
                            f"{covered} states, the unreduced run has {full.states}: the model "
                            f"is not symmetric under {sym.name}")
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise SvmCheckError(f"reduction check failed for model {name}: {problems[0]}{more}; "
                            f"do not trust reduced runs of this configuration")
    return out


def _succ(model, st) -> list:
    return [(a.name, out, t) for a, out, t in model.successors(st)]


def _refuted(model, sym, p, what):
    raise SvmCheckError(
        f"model {model.name} declares a symmetry over {sym.name} that its steps do not "
        f"respect: permutation {_fmt(p)} maps {what}; fix the model's symmetry() or drop "
        f"--symmetry")


def _fmt(p) -> str:
    return "(" + " ".join(f"{i}->{j}" for i, j in enumerate(p) if i != j) + ")"


def _sortable(v):
    """A total order over nested tuples holding None, bools, ints and enums."""
    if isinstance(v, tuple):
        return (2, tuple(_sortable(x) for x in v))
    if v is None:
        return (0, 0)
    return (1, v)
