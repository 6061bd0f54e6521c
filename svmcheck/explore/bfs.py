"""Breadth-first exploration of a model's reachable states.

Visited set: a dict from the state itself to its index (exact: no hash-compaction false
positives, so "holds" never hides a collision); the states list shares those objects, so no
state is held twice.  Per state the explorer keeps three machine ints — parent index, incoming
action id, incoming outcome id — from which a shortest trace is rebuilt by re-running the
actions (stateright's Path::from_actions).  Edges are kept, as compact arrays, only when a
liveness property or a graph needs them.

The order is deterministic: initial states in ``init()`` order, successors in the model's
declaration order, BFS level by level.  A run stopped by a limit is *incomplete*, never ok.
"""
from __future__ import annotations

import contextlib
import gc
import time
from array import array

from ..errors import SvmCheckError
from dataclasses import dataclass, field


@dataclass
class Limits:
    max_states: int | None = None
    max_depth: int | None = None
    time_limit: float | None = None


@dataclass
class Exploration:
    """Everything one BFS run learnt; engines and reports read it, nothing prints here."""
    model: object
    states: list
    parent: array
    action: array
    outcome: array
    outcomes: list                      # outcome id -> text (id 0 = no outcome)
    inits: list                         # indices of initial states
    level_starts: list                  # index of the first state of each BFS level
    expanded: int = 0                   # states [0, expanded) had their successors generated
    transitions: int = 0
    terminal: list = field(default_factory=list)
    edges: tuple | None = None          # (src, dst, action, outcome) arrays when kept
    complete: bool = True
    stop_reason: str | None = None      # which limit ended the run
    seconds: float = 0.0
    violations: dict = field(default_factory=dict)   # property name -> state index
    witnesses: dict = field(default_factory=dict)    # sometimes name -> state index / edge
    deadlocks: list = field(default_factory=list)    # terminal indices with work pending

    canon: object = None                # the canonicaliser explore() ran with, if any

    def state(self, i: int):
        return self.states[i]

    @property
    def depth(self) -> int:
        return max(0, len(self.level_starts) - 1)

    def depth_of(self, i: int) -> int:
        d = 0
        while self.parent[i] >= 0:
            i = self.parent[i]
            d += 1
        return d

    def path_to(self, i: int) -> list[int]:
        """State indices from an initial state to ``i`` (a shortest path)."""
        out = []
        while i >= 0:
            out.append(i)
            i = self.parent[i]
        return out[::-1]

    def successors_of(self, i: int):
        """(action id, outcome id, dst) from the kept edges (requires ``edges``)."""
        src, dst, act, out = self.edges
        return [(act[k], out[k], dst[k]) for k in self.edge_index()[i]]

    def edge_index(self):
        idx = getattr(self, "_edge_index", None)
        if idx is None:
            src = self.edges[0]
            idx = [[] for _ in range(len(self.states))]
            for k, s in enumerate(src):
                idx[s].append(k)
            self._edge_index = idx
        return idx


def explore(model, *, always=(), sometimes=(), step_witnesses=(), keep_edges=False,
            check_deadlock=True, limits: Limits | None = None, progress=None,
            canon=None, expand=None) -> Exploration:
    """Explore ``model`` breadth-first, checking state properties as states are found.

    ``canon(state) -> state``: a canonical representative (symmetry reduction).  Every state
    is canonicalised before the visited-set lookup and the canonical state is what is stored,
    expanded and tested; the stored action of a state is then relative to its canonical
    parent, so traces are rebuilt concretely by :func:`concrete_path` (re-firing every action
    of the real predecessor and keeping the one whose successor has the same canonical form).
    ``expand(state, succs) -> succs'``: given a state and its full list of (action, outcome,
    next) successors, the subset to explore (partial-order reduction).  A state is terminal
    (and a deadlock candidate) only if its *full* successor list is empty; ``transitions``
    counts the explored ones.

    ``always``/``sometimes``: Property objects evaluated on each new state (a violated
    ``always`` stops being evaluated; its first — hence shallowest — violation is kept).
    ``step_witnesses``: sometimes_step properties matched against each transition.
    ``progress(stats, final=False)`` is called about once a second and once at the end.
    """
    with no_gc():
        return _explore(model, always, sometimes, step_witnesses, keep_edges, check_deadlock,
                        limits or Limits(), progress, canon, expand)


@contextlib.contextmanager
def no_gc():
    """The cyclic garbage collector off for the run: states are acyclic tuples, and its
    full collections, which walk every live state again and again as the visited set grows,
    cost about a fifth of the run (measured on kfd); it is restored afterwards."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _explore(model, always, sometimes, step_witnesses, keep_edges, check_deadlock, limits,
             progress, canon, expand) -> Exploration:
    t0 = time.perf_counter()
    index: dict = {}
    states: list = []
    parent, action, outc = array("i"), array("i"), array("i")
    outcomes: list = [None]
    outcome_id: dict = {None: 0}
    ex = Exploration(model, states, parent, action, outc, outcomes, [], [0])
    ex.canon = canon
    if keep_edges:
        ex.edges = (array("i"), array("i"), array("i"), array("i"))
        e_src, e_dst, e_act, e_out = ex.edges
    check_new = _property_checker(ex, always, sometimes)
    live_steps = list(step_witnesses)

    for st in model.initial_states():
        if canon is not None:
            st = canon(st)
        if st in index:
            continue
        j = len(states)
        index[st] = j
        states.append(st)
        parent.append(-1)
        action.append(-1)
        outc.append(0)
        ex.inits.append(j)
        if check_new is not None:
            check_new(j, st)

    # the hot loop: locals only, one dict lookup per transition, arrays appended in place
    lo, hi = 0, len(states)          # the frontier is always a contiguous run of indices
    depth = 0
    next_report = t0 + 1.0
    successors = model.successors
    busy = model.busy
    index_get = index.get
    states_append, parent_append = states.append, parent.append
    action_append, outc_append = action.append, outc.append
    transitions = 0
    max_states = limits.max_states if limits.max_states is not None else -1
    time_limit = limits.time_limit
    while lo < hi:
        if limits.max_depth is not None and depth >= limits.max_depth:
            if any(_has_successor(model, states[i]) for i in range(lo, hi)):
                ex.complete, ex.stop_reason = False, f"max-depth {limits.max_depth} reached"
            break
        for i in range(lo, hi):
            st = states[i]
            succs = successors(st)
            full = len(succs)
            if expand is not None and full:
                succs = expand(st, succs)
            transitions += len(succs)
            for a, out, nst in succs:
                if canon is not None:
                    nst = canon(nst)
                o = outcome_id.get(out)            # None -> 0
                if o is None:
                    o = outcome_id[out] = len(outcomes)
                    outcomes.append(out)
                try:
                    j = index_get(nst)     # hashing happens here, before any insert
                except TypeError as e:
                    raise _unhashable(model, a, e) from None
                if j is None:
                    j = index[nst] = len(states)
                    states_append(nst)
                    parent_append(i)
                    action_append(a.id)
                    outc_append(o)
                    if check_new is not None:
                        check_new(j, nst, st[0])
                if keep_edges:
                    e_src.append(i)
                    e_dst.append(j)
                    e_act.append(a.id)
                    e_out.append(o)
                if live_steps:
                    for p in [p for p in live_steps if _step_matches(p, a, out)]:
                        ex.witnesses[p.name] = (i, a.id, o)
                        live_steps.remove(p)
            if not full:
                ex.terminal.append(i)
                if check_deadlock and busy(st):
                    ex.deadlocks.append(i)
            if len(states) >= max_states >= 0:
                ex.complete, ex.stop_reason = False, f"max-states {limits.max_states} reached"
            now = time.perf_counter()
            if time_limit is not None and now - t0 >= time_limit:
                ex.complete, ex.stop_reason = False, f"time-limit {time_limit}s reached"
            if not ex.complete:
                ex.expanded, ex.transitions = i + 1, transitions
                break
            if now >= next_report:
                if progress is not None:
                    ex.expanded, ex.transitions = i + 1, transitions
                    progress(_stats(ex, depth, len(states) - i - 1, now - t0), final=False)
                next_report = now + 1.0
        else:
            ex.expanded, ex.transitions = hi, transitions
        if not ex.complete:
            break
        lo, hi = hi, len(states)
        if lo < hi:
            depth += 1
            ex.level_starts.append(lo)
    ex.seconds = time.perf_counter() - t0
    if progress is not None:
        progress(_stats(ex, depth, 0, ex.seconds), final=True)
    return ex


def concrete_path(ex, i: int) -> tuple[int, list[tuple[int, str | None]]]:
    """(position of the concrete initial state in ``model.initial_states()``, [(action id,
    outcome)]) of a shortest path to state ``i``; with ``canon`` the actions are re-chosen so
    that every step is a real transition of the model from the real predecessor."""
    path = ex.path_to(i)
    canon = getattr(ex, "canon", None)
    if canon is None:
        return (ex.inits.index(path[0]),
                [(ex.action[j], ex.outcomes[ex.outcome[j]]) for j in path[1:]])
    model = ex.model
    inits = model.initial_states()
    want = ex.state(path[0])
    k = next(k for k, s in enumerate(inits) if canon(s) == want)
    cur, steps = inits[k], []
    for j in path[1:]:
        want = ex.state(j)
        hint = ex.action[j]
        best = None
        for a, out, nst in model.successors(cur):
            if canon(nst) == want:
                best = (a.id, out, nst)
                if a.id == hint:
                    break
        if best is None:
            raise AssertionError(f"canon: no concrete successor matches state {j}; the "
                                 f"canonical form is not invariant under the model's steps")
        steps.append(best[:2])
        cur = best[2]
    return k, steps


def _property_checker(ex, always, sometimes):
    """check_new(j, state): test the still-undecided state properties on a new state (a
    violated ``always`` or a reached ``sometimes`` is decided and stops being tested); None
    when there is nothing to test."""
    model = ex.model
    live_always, live_some = list(always), list(sometimes)
    if not live_always and not live_some:
        return None

    def check_new(j, st, parent_world=None):
        # world-only predicates are called directly; Property.test (which wraps a crash in
        # a model error naming the property) runs for the others, and again after a crash.
        # A step that changed only process locals leaves its parent's World object in place
        # (39% of xe's new states): the parent, tested when it was new, passed every
        # still-undecided world-only predicate and reached no undecided world-only
        # `sometimes`, so the same World gives the same answers and is not tested again.
        nonlocal live_always, live_some
        w = st[0]
        same = w is parent_world
        p = None
        try:
            decided = False
            for p in live_always:
                if p.arity == 2 and same:
                    continue
                if not (p.fn(model, w) if p.arity == 2 else p.test(model, st)):
                    ex.violations[p.name] = j
                    decided = True
            if decided:
                live_always = [q for q in live_always if q.name not in ex.violations]
            decided = False
            for p in live_some:
                if p.arity == 2 and same:
                    continue
                if p.fn(model, w) if p.arity == 2 else p.test(model, st):
                    ex.witnesses[p.name] = j
                    decided = True
            if decided:
                live_some = [q for q in live_some if q.name not in ex.witnesses]
        except SvmCheckError:
            raise
        except Exception:
            p.test(model, st)
            raise
    return check_new


def _unhashable(model, a, e):
    from ..errors import StateError
    return StateError(
        f"step {a.actor} {a.format()} of model {model.name} produced an unhashable state "
        f"({e}); use tuples and NamedTuples, not lists, dicts or sets")


def _has_successor(model, st) -> bool:
    for _ in model.successors(st):
        return True
    return False


def _step_matches(p, a, out) -> bool:
    if p.step is not None and a.name != p.step:
        return False
    if p.outcome is not None and (out is None or p.outcome not in out):
        return False
    return True


def _stats(ex, depth, frontier, seconds) -> dict:
    return {"states": len(ex.states), "transitions": ex.transitions, "depth": depth,
            "frontier": frontier, "seconds": seconds,
            "states_per_s": len(ex.states) / seconds if seconds > 0 else 0.0}

