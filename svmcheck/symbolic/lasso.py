"""Liveness by bounded model checking: a fair lasso within K steps, found by Z3.

A liveness property (``completes``, ``leads_to``, ``eventually``) is violated by a run in which
its obligation ``p`` holds and its goal ``q`` never does afterwards, and that run either stops
(no step is enabled) or ends in a cycle that is *weakly fair per actor* — every actor enabled
in every state of the cycle takes a step in it — the same semantics as the explorer's SCC
check (svmcheck/explore/liveness.py) and ``replay``'s confirmation (trace.py).  Frames
``s0 .. sk`` follow the transition relation; at depth ``k`` Z3 is asked for

    ∨_l  s_l = s_k  ∧  fair(l, k)  ∧  ∨_o pending_o(l) ∧ ∧_{i ∈ [l, k]} ¬q_o(s_i)
    ∨    stuck(s_k) ∧  ∨_o pending_o(k)

where ``pending_o(i)`` — ``p_o`` held at some frame ``j <= i`` and ``q_o`` at none of
``j .. i`` — is one Boolean per frame defined by recurrence, and ``fair(l, k)`` says of each
actor that it steps in ``[l, k)`` or is disabled at some frame there (``enabled`` is the
disjunction of the conditions of the action's paths).

Deep runs need a small transition relation, so the steps are encoded as ``prove`` encodes
them: only their paths from states satisfying the ``always`` properties that prove proved
inductive (guided.py), and every frame is constrained to satisfy them — sound because every
reachable state does.  A lasso found is replayed on the concrete model and confirmed by
``replay``'s own liveness check before it is reported.
"""
from __future__ import annotations

import time

import z3

from .. import trace as tr
from ..errors import SvmCheckError
from .bmc import BmcResult
from . import layout
from .encode import Encoding
from .prove import explorations, prove
from .search import config_shown, decode_free, free_leaves_list, with_values


def liveness_properties(model, names):
    from ..check import select
    props = [p for p in select(model, names) if p.is_liveness]
    bad = [n for n in names if n not in {p.name for p in props}]
    if bad or not props:
        raise SvmCheckError(f"{', '.join(bad) or model.name}: no liveness property (completes, "
                            f"leads_to, eventually) to check; bmc --liveness takes those only")
    return props


def lasso_bmc(model, depth: int, *, properties=(), save_dir="counterexamples",
              timeout_ms: int | None = None, model_path=None, free=None,
              progress=None) -> BmcResult:
    """A shortest fair lasso (or stuck run) violating a liveness property within ``depth``
    steps.  With ``free``, every value of the free parameters under which one is found is
    reported with its trace and excluded, until none is left within the depth."""
    t0 = time.perf_counter()
    props = liveness_properties(model, properties)
    say = progress or (lambda text: None)
    cfg = config_shown(model, free)
    if any(p.kind == "always" for p in model.properties):
        pr = prove(model, save_dir=None, timeout_ms=timeout_ms or 60000, model_path=model_path,
                   free=free, progress=progress)
        enc, inv, excluded = pr.internals["encoding"], pr.internals["invariant"], \
            list(pr.internals["excluded"])
        proved = [p["name"] for p in pr.properties if p["status"] == "proved"]
        if not proved:      # prove's paths cover the last invariant it tried, not every state
            enc.guided(inv)
    else:       # nothing to assume: every path of the layout
        typ = layout.merge_all(layout.learned(run.ex.states)
                               for run in explorations(model, [], free, say))
        enc = Encoding(model, typ, free=free_leaves_list(free))
        inv, excluded, proved = z3.BoolVal(True), [], []
    res = BmcResult(model.name, cfg, depth, "ok", encoding=enc.stats())
    res.invariant = proved
    solver = z3.SolverFor("QF_LIA")
    if timeout_ms:
        solver.set("timeout", timeout_ms)
    solver.add(*enc.free_domain, *excluded)
    actors = sorted({a.actor for a in model.actions})
    enabled = {actor: enc.enabled([a for a in model.actions if a.actor == actor])
               for actor in actors}
    oblig = _obligations(enc, model, props)
    trans = enc.transition()
    frames, acts, en, pend = [], [], [], []

    def add_frame(k):
        v = enc.frame(f"l{k}")
        frames.append(v)
        solver.add(enc.at(inv, v[1]), enc.at(enc.type_pre, v[1]))
        en.append({a: z3.Bool(f"en_{a}_{k}") for a in actors})
        for a in actors:
            solver.add(en[k][a] == enc.at(enabled[a], v[1]))
        pend.append([])
        for i, (_, prop, p, q) in enumerate(oblig):
            b = z3.Bool(f"pend_{i}_{k}")
            started = enc.at(p, v[1]) if p is not None else z3.BoolVal(k == 0)
            before = pend[k - 1][i] if k else z3.BoolVal(False)
            solver.add(b == z3.And(z3.Or(before, started), z3.Not(enc.at(q, v[1]))))
            pend[k].append(b)

    add_frame(0)
    solver.add(enc.initially(frames[0][1]))
    found = []
    k = 0
    while True:
        goal = _lasso(enc, frames, acts, en, pend, oblig, actors, model, k)
        r = solver.check(goal)
        say(f"bmc --liveness: depth {k}, {time.perf_counter() - t0:.1f} s")
        if r == z3.sat:
            m = solver.model()
            found.append(_report(model, enc, free, m, frames, acts, en, pend, oblig, actors,
                                 k, save_dir, model_path))
            if not free:
                break
            # this configuration is shown: exclude it and look again at the same depth
            solver.add(z3.Not(enc.free_is(free, found[-1]["values"])))
            continue
        if r != z3.unsat:
            res.result, res.reason = "incomplete", f"Z3 answered {r} at depth {k}"
            break
        if k == depth:
            break
        # no "may a step leave the layout" query, unlike bmc: the layout is the hull of
        # complete explorations, so no reachable frame's step leaves it
        act_k = z3.Int(f"lact{k}")
        acts.append(act_k)
        add_frame(k + 1)
        solver.add(enc.at(trans, frames[k][1], frames[k + 1][1], act=act_k))
        k += 1
    res.seconds = time.perf_counter() - t0
    if found:
        res.result = "violated"
        res.trace = found[0]["trace"]
        if free:
            res.free = found[0]["values"]
            res.configurations = [{"values": f["values"], "property": f["property"],
                                   "length": f["length"], "cycle": f["cycle"],
                                   "counterexample": f["counterexample"]} for f in found]
    for p in props:
        mine = [f for f in found if f["property"] == p.name]
        # the search stops at the first violation: the others hold to the depth before it
        st = "violated" if mine else "unknown" if res.result == "incomplete" else \
            "holds within depth" if not found or free else f"holds within {k - 1} steps"
        res.properties.append({"name": p.name, "status": st,
                               "length": mine[0]["length"] if mine else None,
                               "cycle": mine[0]["cycle"] if mine else None,
                               "counterexample": mine[0]["counterexample"] if mine else None})
    return res


def _obligations(enc, model, props):
    """(label, property, p, q) with p, q Z3 over the pre-state; p None: the initial state."""
    out = []
    for prop in props:
        for label, p, q in prop.obligations(model):
            where = f"{prop.name} ({label})"
            pf = None if prop.kind == "eventually" else enc.formula(p, where)[0]
            out.append((label, prop, pf, enc.formula(q, f"{where} goal")[0]))
    return out


def _same(a, b):
    return z3.And([x == y for x, y in zip(a, b)])


def _fair(acts, en, actors, model, lo, k):
    """Every actor steps in [lo, k) or is disabled at some frame there (weak fairness)."""
    ids = {a: [x.id for x in model.actions if x.actor == a] for a in actors}
    out = []
    for a in actors:
        out.append(z3.Or([z3.Or(z3.Or([acts[i] == j for j in ids[a]]), z3.Not(en[i][a]))
                          for i in range(lo, k)]))
    return z3.And(out)


def _lasso(enc, frames, acts, en, pend, oblig, actors, model, k):
    """The depth-k question: a lasso closing at s_k, or a stuck s_k, with an obligation open."""
    opts = [z3.And(z3.And([z3.Not(en[k][a]) for a in actors]), z3.Or([b for b in pend[k]]))]
    for lo in range(k):
        open_ = z3.Or([z3.And(pend[lo][i], *[pend[j][i] for j in range(lo, k + 1)])
                       for i in range(len(oblig))])
        opts.append(z3.And(_same(frames[lo][1], frames[k][1]), open_,
                           _fair(acts, en, actors, model, lo, k)))
    return z3.Or(opts)


def _report(model, enc, free, m, frames, acts, en, pend, oblig, actors, k, save_dir,
            model_path):
    """The lasso as a trace, replayed and confirmed on the concrete model."""
    values = decode_free(free, m) if free else {}
    concrete = type(model)(with_values(model.config, values)) if free else model
    ev = lambda f: z3.is_true(m.eval(f, model_completion=True))      # noqa: E731
    loop = next((lo for lo in range(k) if ev(_same(frames[lo][1], frames[k][1]))
                 and any(ev(pend[lo][i]) and all(ev(pend[j][i]) for j in range(lo, k + 1))
                         for i in range(len(oblig)))
                 and ev(_fair(acts, en, actors, model, lo, k))), None)
    at = loop if loop is not None else k
    i = next(i for i in range(len(oblig)) if ev(pend[at][i])
             and (loop is None or all(ev(pend[j][i]) for j in range(at, k + 1))))
    label, prop, _, _ = oblig[i]
    start = at
    while start > 0 and ev(pend[start - 1][i]):
        start -= 1            # the frame where the obligation opened
    states = [enc.decode(f[0], m) for f in frames[:k + 1]]
    inits = concrete.initial_states()
    steps, st = [], states[0]
    for n, a_n in enumerate(acts[:k]):
        a = concrete.actions[m.eval(a_n, model_completion=True).as_long()]
        r = concrete.fire(a, st)
        if r is None or r[1] != states[n + 1]:
            raise SvmCheckError(f"internal: liveness BMC step {n + 1} ({a.actor} {a.format()}) "
                                f"disagrees with the concrete model; please report it")
        steps.append(tr.step_dict(concrete, a.id, r[0]))
        st = r[1]
    t = tr.Trace(model=concrete.name, config=concrete.config.as_dict(), property=prop.name,
                 kind=prop.kind, steps=steps, init=inits.index(states[0]),
                 lasso_start=loop, obligation_start=start, obligation=label,
                 model_path=model_path, reason="found by bmc --liveness")
    rp = tr.confirm(concrete, t, tr.replay(concrete, t))
    if not rp.reproduced:
        raise SvmCheckError(f"internal: the lasso found by bmc --liveness does not confirm on "
                            f"the concrete model ({rp.message}); please report it")
    return {"values": values, "property": prop.name, "length": k, "trace": t,
            "cycle": None if loop is None else k - loop, "message": rp.message,
            "counterexample": t.save(save_dir) if save_dir else None}


__all__ = ["lasso_bmc", "liveness_properties"]
