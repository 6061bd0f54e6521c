"""Inductive invariants: does every step preserve the ``always`` properties?

For the conjunction ``Inv`` of the selected ``always`` properties (a model strengthens it with
auxiliary ``always`` properties of its own, which the explorer checks too), Z3 is asked, per
property ``P``: is there a state ``s`` in the layout with ``Inv(s)`` and a step ``s -> s'``
with ``¬P(s')``?  Houdini-style, a property with such a *counterexample to induction* (CTI) is
dropped from ``Inv`` and the rest re-checked, until what remains is inductive: those are
``proved``.  Each CTI is replayed on the concrete model, then classified by the explorer: if
its pre-state is reachable the property is really violated (the trace from an initial state is
saved); otherwise the invariant needs strengthening (the CTI is saved as a one-step trace
from that state).

The layout (leaf ranges, tuple lengths) is the type of *every reachable state*, learned by a
complete exploration at the same configuration; whether the layout is itself preserved by
every step is checked and reported (``layout_inductive``).  When it is not, the proof is
relative to the explorer's result that every reachable state lies in the layout.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import z3

from .. import trace as tr
from ..errors import SvmCheckError
from ..explore.bfs import explore
from . import layout
from .bmc import always_properties
from .encode import Encoding
from .guided import SolverGaveUp
from .search import (concrete_configs, config_shown, decode_free, free_leaves_list,
                     shown, with_values)


@dataclass
class ProveResult:
    model: str
    config: dict
    result: str                       # ok | violated | incomplete
    properties: list = field(default_factory=list)
    layout_inductive: bool | None = None
    seconds: float = 0.0
    encoding: dict = field(default_factory=dict)
    states: int = 0
    timing: dict = field(default_factory=dict)   # seconds per phase
    # --free: every configuration's values and what became of it
    configurations: list = field(default_factory=list)
    # for bmc --liveness: the encoding, the proved invariant, the excluded configurations
    internals: dict = field(default_factory=dict, repr=False)

    @property
    def exit_code(self) -> int:
        return {"ok": 0, "violated": 1, "incomplete": 3}[self.result]

    def to_json(self) -> dict:
        return {"model": self.model, "config": self.config, "engine": "prove",
                "result": self.result, "layout_inductive": self.layout_inductive,
                "reachable_states": self.states, "seconds": round(self.seconds, 3),
                "timing": {k: round(v, 2) for k, v in self.timing.items()},
                "encoding": self.encoding, "properties": self.properties,
                **({"configurations": self.configurations} if self.configurations else {})}


@dataclass
class _Run:
    """One concrete configuration's complete exploration (the layout, and reachability)."""
    values: dict          # the free parameters' values ({} without --free)
    model: object
    ex: object
    index: dict           # state -> its index in ex


def prove(model, *, properties=(), save_dir="counterexamples", timeout_ms: int = 60000,
          model_path=None, max_states: int = 5_000_000, guided: bool = True,
          progress=None, free=None) -> ProveResult:
    """``guided``: encode only the step paths from states satisfying the invariant
    (guided.py; exact for every query here, and what makes the default sizes feasible);
    False enumerates every path of the layout, as bmc does.  ``progress(text)`` hears each
    phase of a long run.

    ``free``: name -> symbolic parameter value (search.py), ``model`` being built on them:
    configuration search without a depth bound.  The layout is learned from every
    configuration the free parameters allow, and one Houdini run proves the properties for
    all of them at once (a free leaf is a constant of the encoding, like a state leaf no step
    writes).  A counterexample to induction from a state reachable under its configuration
    is a violation *under those values*: they are reported with the trace and excluded, and
    the proof goes on for the rest."""
    say = progress or (lambda text: None)
    t0 = time.perf_counter()
    props = always_properties(model, properties)
    if not props:
        raise SvmCheckError(f"model {model.name} declares no 'always' property to prove")
    runs = explorations(model, props, free, say)
    timing = {"explore": time.perf_counter() - t0}
    types = [(run.values, layout.learned(run.ex.states)) for run in runs]
    typ = layout.merge_all(t for _, t in types)
    states = sum(len(run.ex.states) for run in runs)
    say(f"{states} states; encoding the steps" if not guided else
        f"{states} states; encoding the properties")
    enc = Encoding(model, typ, actions=None if not guided else [], timeout_ms=timeout_ms,
                   free=free_leaves_list(free))
    if free:
        enc.type_per_configuration(free, types)
    enc.progress = progress
    post_vars = enc.vpost
    holds_pre = {}
    for p in props:
        say(f"encoding property {p.name}")
        holds_pre[p.name] = enc.holds(p)
    holds_post = {n: z3.substitute(f, *zip(enc.vpre, post_vars)) for n, f in holds_pre.items()}
    type_post = z3.substitute(enc.type_pre, *zip(enc.vpre, post_vars))
    timing["properties"] = time.perf_counter() - t0 - timing["explore"] - enc.seconds
    cfg = config_shown(model, free)
    res = ProveResult(model.name, cfg, "ok", states=states, timing=timing)
    excluded: list = []       # Z3: not the values of a configuration shown violated
    if guided:
        try:
            enc.guided(z3.And([holds_pre[p.name] for p in props]), model.actions)
        except SolverGaveUp as e:
            return _gave_up(res, enc, props, e, t0)
    steps = [e for e in enc.actions if not z3.is_false(e.trans)]

    def check(e, inv, goal):
        """One action's query on a fresh QF_LIA solver: measured 10x faster at xe's 1 GPU,
        2 pages than one incremental solver over the disjunction of every action; a wide
        action piece by piece (encode.CHUNK paths each)."""
        r = z3.unsat
        for part in e.parts:
            solver = z3.SolverFor("QF_LIA")
            solver.set("timeout", timeout_ms)
            solver.add(enc.type_pre, *enc.free_domain, *excluded, enc.act == e.action.id,
                       part, *inv, goal)
            r = solver.check()
            if r != z3.unsat:
                return r, solver
        return r, None

    active = list(props)
    unchecked: list = []      # --free: no configuration was left to prove them for
    ctis: dict = {}
    dropped: list = []        # Houdini's order: the first is the root cause
    changed = True
    def ask(e) -> str | None:
        """One action's induction query: None (inductive there), "dropped" (a property
        left the invariant) or "excluded" (a configuration was shown violated, --free)."""
        inv = [holds_pre[q.name] for q in active]
        # property formulas are exact inside the layout; a post-state outside it is not
        # reachable (the complete exploration put every reachable state inside).  First
        # every active property at once: when the invariant is inductive, one query per
        # action answers for all of them
        r, _ = check(e, inv, z3.And(type_post, z3.Not(z3.And(
            [holds_post[q.name] for q in active]))))
        if r == z3.unsat:
            return None
        for p in list(active):
            r, solver = check(e, inv, z3.And(type_post, z3.Not(holds_post[p.name])))
            if r == z3.unsat:
                continue
            if r != z3.sat:
                ctis[p.name] = ("unknown", f"Z3 answered {r}")
            else:
                m = solver.model()
                run = _run_of(runs, free, m)
                ctis[p.name] = c = _cti(run.model, enc, m, p, run.index, run.ex, save_dir,
                                        model_path)
                if free and c[1]["status"] != "violated" and p.name in run.ex.violations:
                    ctis[p.name] = _explorer_trace(run, p, c, save_dir, model_path)
                if free and ctis[p.name][1]["status"] == "violated":
                    # a real bug under these values: exclude them, keep the property
                    res.configurations.append(dict(ctis.pop(p.name)[1], values=run.values))
                    excluded.append(z3.Not(enc.free_is(free, run.values)))
                    say(f"violated under {shown(run.values)}: {p.name} at "
                        f"{e.action.actor} {e.action.format()}\n")
                    return "excluded"
            dropped.append(p.name)
            active.remove(p)
            status = ctis[p.name][1]["status"] if ctis[p.name][0] == "cti" else "unknown"
            say(f"dropped {p.name}: {status} at {e.action.actor} {e.action.format()}\n")
            return "dropped"
        return None

    while changed and active:
        changed = False
        for i, e in enumerate(steps):
            say(f"induction round {len(dropped) + 1}: action {i + 1}/{len(steps)}")
            outcome = ask(e)
            # fewer configurations keep the earlier actions' answers (unsat): ask only this
            # one again, until it shows no other configuration violated
            while outcome == "excluded" and len(excluded) < len(runs):
                outcome = ask(e)
            if outcome == "excluded":
                unchecked, active = active, []      # every configuration is broken
                break
            if outcome == "dropped":
                changed = True
                if guided and active:    # a weaker invariant admits more pre-states
                    try:
                        enc.guided(z3.And([holds_pre[q.name] for q in active]))
                    except SolverGaveUp as err:
                        return _gave_up(res, enc, props, err, t0)
                    steps = [a for a in enc.actions if not z3.is_false(a.trans)]
                break
    # is the layout itself preserved?  (relative to what survived)
    inv = [holds_pre[q.name] for q in active]
    if active or not guided:
        res.layout_inductive = all(check(e, inv, z3.Not(type_post))[0] == z3.unsat
                                   for e in steps)
    # else: nothing survived, and the guided paths only cover the last invariant's states
    broken = [c["values"] for c in res.configurations]
    left = [run for run in runs if run.values not in broken]
    for p in props:
        if p in active and any(p.name in run.ex.violations for run in left):
            raise SvmCheckError(f"internal: prove proved {p.name}, which the explorer finds "
                                f"violated; please report it with the command line")
        if p in active:
            res.properties.append({"name": p.name, "status": "proved",
                                   "within_layout": not res.layout_inductive})
            continue
        if p in unchecked:
            res.properties.append({"name": p.name, "status": "not checked",
                                   "reason": "every configuration violates another property"})
            continue
        c = ctis[p.name]
        bad = [run for run in left if p.name in run.ex.violations]
        if bad and not (c[0] == "cti" and c[1]["status"] == "violated"):
            c = _explorer_trace(bad[0], p, c, save_dir, model_path)
        rank = dropped.index(p.name) + 1
        if c[0] == "unknown":
            res.properties.append({"name": p.name, "status": "unknown", "reason": c[1],
                                   "dropped": rank})
            res.result = "incomplete" if res.result == "ok" else res.result
        else:
            res.properties.append(dict(c[1], dropped=rank))
            if c[1]["status"] == "violated":
                res.result = "violated"
            elif res.result == "ok":
                res.result = "incomplete"
    res.internals = {"encoding": enc, "excluded": excluded,
                     "invariant": z3.And([holds_pre[q.name] for q in active])}
    if free:
        if res.configurations:
            res.result = "violated"
        res.configurations = [_configuration(run, res.configurations, props, active, save_dir,
                                             model_path) for run in runs]
    res.encoding = enc.stats()
    res.seconds = time.perf_counter() - t0
    timing["steps"] = enc.seconds      # every (re-)encoding of the steps, Houdini rounds too
    timing["induction"] = res.seconds - sum(timing.values())
    return res


def _configuration(run, shown_bad, props, active, save_dir, model_path) -> dict:
    """What became of one configuration: violated (shown during the proof, or by its own
    exploration when a property it breaks was dropped for another's CTI), proved (every
    property survived), or incomplete."""
    for c in shown_bad:
        if c["values"] == run.values:
            return dict(c, status="violated")
    for p in props:
        if p.name in run.ex.violations:
            c = _explorer_trace(run, p, ("unknown", None), save_dir, model_path)[1]
            return dict(c, values=run.values, status="violated")
    return {"values": run.values,
            "status": "proved" if len(active) == len(props) else "incomplete"}


def _explorer_trace(run, p, c, save_dir, model_path):
    """The CTI came from an unreachable state, but the property is violated anyway: the
    explorer's shortest trace, which replays from an initial state, replaces it."""
    i = run.ex.violations[p.name]
    t = tr.from_path(run.ex, i, p, model_path=model_path)
    t.reason = "violated (the explorer's shortest trace; prove's CTI was unreachable)"
    last = run.model.actions[run.ex.action[i]]
    # the step and the reason are the trace's, not the unreachable CTI's
    return ("cti", dict(c[1] if c[0] == "cti" else {"name": p.name},
                        step=f"{last.actor} {last.format()}",
                        why=p.explain(run.model, run.ex.states[i]) or f"{p.name} is false",
                        status="violated", reachable=True, length=len(t.steps), pre_state=None,
                        counterexample=t.save(save_dir) if save_dir else None))


def explorations(model, props, free, say) -> list:
    """A complete exploration of each configuration: the layout is learned from their states,
    and a counterexample to induction is classified against its own configuration's."""
    if free:
        names = [p.name for p in props]
        configs = [(v, type(model)(with_values(model.config, v))) for v in concrete_configs(free)]
    else:
        configs = [({}, model)]
    runs = []
    for i, (values, m) in enumerate(configs):
        say("exploring to learn the layout" + (f": {shown(values)} ({i + 1}/{len(configs)})"
                                               if free else ""))
        ex = explore(m, always=always_properties(m, names) if free else props)
        if not ex.complete:
            raise SvmCheckError("the exploration that learns the layout did not finish; "
                                "shrink the configuration")
        runs.append(_Run(values, m, ex, {s: i for i, s in enumerate(ex.states)}))
    return runs


def _run_of(runs, free, m):
    """The exploration of the configuration a Z3 model chose."""
    if not free:
        return runs[0]
    values = decode_free(free, m)
    return next(run for run in runs if run.values == values)


def _gave_up(res, enc, props, e, t0) -> ProveResult:
    """A solver call timed out while the steps were encoded: nothing is decided (exit 3)."""
    res.result = "incomplete"
    res.encoding = enc.stats()
    res.properties = [{"name": p.name, "status": "unknown", "reason": str(e)} for p in props]
    res.seconds = time.perf_counter() - t0
    return res


def _cti(model, enc, m, prop, index, ex, save_dir, model_path):
    """Replay a counterexample to induction and decide whether its pre-state is reachable."""
    pre = enc.decode(enc.pre, m)
    a = model.actions[m.eval(enc.act, model_completion=True).as_long()]
    r = model.fire(a, pre)
    if r is None or prop.test(model, r[1]):
        raise SvmCheckError(
            f"internal: the counterexample to induction of {prop.name} ({a.actor} "
            f"{a.format()}) does not replay on the concrete model; please report it")
    outcome, post = r
    step = tr.step_dict(model, a.id, outcome)
    why = prop.explain(model, post) or f"{prop.name} is false"
    i = index.get(pre)
    if i is not None:
        t = tr.from_path(ex, i, prop, model_path=model_path)
        t.steps.append(step)
        t.reason = "counterexample to induction from a reachable state (found by prove)"
        path = t.save(save_dir) if save_dir else None
        return ("cti", {"name": prop.name, "status": "violated", "reachable": True,
                        "step": f"{a.actor} {a.format()}", "why": why, "length": len(t.steps),
                        "counterexample": path})
    t = tr.Trace(model=model.name, config=model.config.as_dict(), property=prop.name,
                 kind="always", steps=[step], init=0, model_path=model_path,
                 reason="counterexample to induction (found by prove); the start state is "
                        "not reachable")
    t.start = tr.encode_state(pre)
    path = t.save(save_dir) if save_dir else None
    return ("cti", {"name": prop.name, "status": "not inductive", "reachable": False,
                    "step": f"{a.actor} {a.format()}", "why": why,
                    "pre_state": model.describe(pre[0]), "counterexample": path})
