"""Liveness on the explored graph: fair lassos via strongly connected components.

``leads_to(P, Q)`` fails iff some reachable state satisfies P and not Q and, from it, a path
through not-Q states reaches either

* a terminal state (a finite maximal behaviour that never reaches Q), or
* a *fair* strongly connected component of the not-Q subgraph.

Fairness is **weak fairness per actor**: an SCC C admits a fair cycle iff every actor that is
enabled in every state of C takes some edge inside C.  (If an actor is enabled everywhere in C
but has no edge in C, no cycle inside C — nor inside any sub-component — can be fair, so the
test is exact, not a heuristic.)  The cycle we report is built to be fair on its own: for each
actor that is enabled somewhere on C, it takes one of that actor's edges or passes through a
state where that actor is disabled.

``eventually(Q)`` is ``leads_to(initial, Q)``; ``completes(flow)`` is, per process,
``leads_to(busy, idle)``.  States not yet expanded (a run cut by a limit) are never treated as
terminal, so a lasso found in an incomplete run is still a real counterexample.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass


@dataclass
class Lasso:
    """A liveness counterexample as state indices: ``prefix`` (from an initial state to the
    state where P holds), ``stem`` (from there into the bad part) and ``cycle`` (edges as
    (src, edge id, dst); empty when the behaviour ends in a terminal state)."""
    obligation: str
    p_state: int
    stem: list          # edge ids from p_state to the cycle entry (or the terminal state)
    cycle: list         # edge ids of the fair cycle, starting and ending at the entry


def find_lasso(ex, obligations) -> Lasso | None:
    """The violation of the first obligation (in order) whose P state is shallowest."""
    src, dst, act, _ = ex.edges
    n_expanded = ex.expanded
    out_edges = ex.edge_index()
    actor_of = [a.actor_id for a in ex.model.actions]
    terminal = set(ex.terminal)
    for label, p, q in obligations:
        not_q = [i < n_expanded and not q(ex.states[i]) for i in range(len(ex.states))]
        # terminal states are expanded by definition; unexpanded states are simply unknown
        bad = {i for i in terminal if not_q[i]}
        comp_of = {}
        for comp in _sccs(len(ex.states), not_q, out_edges, dst):
            if _is_fair(comp, out_edges, dst, act, actor_of):
                members = set(comp)
                bad |= members
                comp_of.update((v, members) for v in comp)
        if not bad:
            continue
        can_reach = _backward(bad, not_q, src, dst, len(ex.states))
        cands = [i for i in range(n_expanded) if can_reach[i] and p(ex.states[i])]
        if not cands:
            continue
        start = min(cands)   # BFS numbering: the smallest index is the shallowest
        return _build(label, start, bad, comp_of, terminal, not_q, out_edges, dst, act,
                      actor_of)
    return None


def _sccs(n, keep, out_edges, dst):
    """Tarjan's algorithm, iterative, over nodes with keep[i] and edges between kept nodes.
    Yields components that can hold a cycle (size > 1, or a self-loop)."""
    index = [-1] * n
    low = [0] * n
    on_stack = [False] * n
    stack, counter = [], 0
    for root in range(n):
        if not keep[root] or index[root] != -1:
            continue
        work = [(root, 0)]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack[root] = True
        while work:
            v, k = work[-1]
            edges = out_edges[v]
            if k < len(edges):
                work[-1] = (v, k + 1)
                w = dst[edges[k]]
                if not keep[w]:
                    continue
                if index[w] == -1:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack[w] = True
                    work.append((w, 0))
                elif on_stack[w]:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                u = work[-1][0]
                low[u] = min(low[u], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack[w] = False
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1 or any(dst[e] == v for e in out_edges[v]):
                    yield comp


def _is_fair(comp, out_edges, dst, act, actor_of) -> bool:
    """Whether the component admits a weakly fair cycle."""
    members = set(comp)
    always_enabled = None
    taken = set()
    for v in comp:
        enabled = {actor_of[act[e]] for e in out_edges[v]}
        always_enabled = enabled if always_enabled is None else always_enabled & enabled
        for e in out_edges[v]:
            if dst[e] in members:
                taken.add(actor_of[act[e]])
    return always_enabled <= taken


def _backward(bad, keep, src, dst, n):
    preds = {}
    for e in range(len(src)):
        s, d = src[e], dst[e]
        if keep[s] and keep[d]:
            preds.setdefault(d, []).append(s)
    seen = [False] * n
    dq = deque(bad)
    for b in bad:
        seen[b] = True
    while dq:
        v = dq.popleft()
        for u in preds.get(v, ()):
            if not seen[u]:
                seen[u] = True
                dq.append(u)
    return seen


def _bfs(start, allowed, hit, out_edges, dst):
    """Shortest edge path from ``start``, through ``allowed`` nodes, whose last edge e (to w)
    satisfies hit(e, w); (None, None) if there is none."""
    prev = {start: None}
    dq = deque([start])
    while dq:
        v = dq.popleft()
        for e in out_edges[v]:
            w = dst[e]
            if not allowed(w):
                continue
            if hit(e, w):
                path, x = [e], v
                while prev[x] is not None:
                    u, ed = prev[x]
                    path.append(ed)
                    x = u
                return path[::-1], w
            if w not in prev:
                prev[w] = (v, e)
                dq.append(w)
    return None, None


def _bfs_path(start, goal_fn, allowed, out_edges, dst):
    """Shortest edge path from ``start`` to a node with goal_fn(node), inside ``allowed``."""
    if goal_fn(start):
        return [], start
    return _bfs(start, allowed, lambda e, w: goal_fn(w), out_edges, dst)


def _build(label, start, bad, comp_of, terminal, not_q, out_edges, dst, act, actor_of):
    allowed = lambda v: not_q[v]  # noqa: E731
    stem, entry = _bfs_path(start, lambda v: v in bad, allowed, out_edges, dst)
    if entry in terminal:
        return Lasso(label, start, stem, [])
    comp = comp_of[entry]
    in_comp = lambda v: v in comp  # noqa: E731
    enabled_somewhere = set()
    for v in comp:
        enabled_somewhere |= {actor_of[act[e]] for e in out_edges[v]}
    cycle, cur = [], entry
    for actor in sorted(enabled_somewhere):
        # satisfy the actor: take one of its edges inside the component, or visit a state
        # where it is disabled; whichever is nearer
        def done_here(v, actor=actor):
            return actor not in {actor_of[act[e]] for e in out_edges[v]}
        path, node = _bfs_path(cur, done_here, in_comp, out_edges, dst)
        best = (path, node) if path is not None else None
        via = _path_through_actor(cur, actor, comp, out_edges, dst, act, actor_of)
        if via is not None and (best is None or len(via[0]) < len(best[0])):
            best = via
        cycle += best[0]
        cur = best[1]
    if not cycle or cur != entry:
        if not cycle and cur == entry:
            # every actor is satisfied at the entry itself: still need a real cycle
            e = next(e for e in out_edges[entry] if dst[e] in comp)
            cycle.append(e)
            cur = dst[e]
        back, _ = _bfs_path(cur, lambda v: v == entry, in_comp, out_edges, dst)
        cycle += back
    return Lasso(label, start, stem, cycle)


def _path_through_actor(cur, actor, comp, out_edges, dst, act, actor_of):
    """Shortest path from ``cur`` that ends by taking an edge of ``actor`` inside comp."""
    path, w = _bfs(cur, lambda v: v in comp, lambda e, w: actor_of[act[e]] == actor,
                   out_edges, dst)
    return None if path is None else (path, w)
