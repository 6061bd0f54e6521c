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

    @property
    def exit_code(self) -> int:
        return {"ok": 0, "violated": 1, "incomplete": 3}[self.result]

    def to_json(self) -> dict:
        return {"model": self.model, "config": self.config, "engine": "prove",
                "result": self.result, "layout_inductive": self.layout_inductive,
                "reachable_states": self.states, "seconds": round(self.seconds, 3),
                "encoding": self.encoding, "properties": self.properties}


def prove(model, *, properties=(), save_dir="counterexamples", timeout_ms: int = 60000,
          model_path=None, max_states: int = 5_000_000) -> ProveResult:
    t0 = time.perf_counter()
    props = always_properties(model, properties)
    if not props:
        raise SvmCheckError(f"model {model.name} declares no 'always' property to prove")
    ex = explore(model, always=props)
    if not ex.complete:
        raise SvmCheckError("the exploration that learns the layout did not finish; shrink "
                            "the configuration")
    index = {s: i for i, s in enumerate(ex.states)}
    typ = layout.learned(ex.states)
    enc = Encoding(model, typ)
    res = ProveResult(model.name, model.config.as_dict(), "ok", encoding=enc.stats(),
                      states=len(ex.states))
    post_vars = enc.vpost
    holds_pre = {p.name: enc.holds(p) for p in props}
    holds_post = {n: z3.substitute(f, *zip(enc.vpre, post_vars)) for n, f in holds_pre.items()}
    type_post = z3.substitute(enc.type_pre, *zip(enc.vpre, post_vars))
    steps = [e for e in enc.actions if not z3.is_false(e.trans)]

    def check(e, inv, goal):
        """One action's query on a fresh QF_LIA solver: measured 10x faster at xe's 1 GPU,
        2 pages than one incremental solver over the disjunction of every action."""
        solver = z3.SolverFor("QF_LIA")
        solver.set("timeout", timeout_ms)
        solver.add(enc.type_pre, enc.act == e.action.id, e.trans, *inv, goal)
        return solver.check(), solver

    active = list(props)
    ctis: dict = {}
    dropped: list = []        # Houdini's order: the first is the root cause
    changed = True
    while changed and active:
        changed = False
        for e in steps:
            inv = [holds_pre[q.name] for q in active]
            # property formulas are exact inside the layout; a post-state outside it is not
            # reachable (the complete exploration put every reachable state inside).  First
            # every active property at once: when the invariant is inductive, one query per
            # action answers for all of them
            r, _ = check(e, inv, z3.And(type_post, z3.Not(z3.And(
                [holds_post[q.name] for q in active]))))
            if r == z3.unsat:
                continue
            for p in list(active):
                r, solver = check(e, inv, z3.And(type_post, z3.Not(holds_post[p.name])))
                if r == z3.unsat:
                    continue
                if r != z3.sat:
                    ctis[p.name] = ("unknown", f"Z3 answered {r}")
                else:
                    ctis[p.name] = _cti(model, enc, solver.model(), p, index, ex, save_dir,
                                        model_path)
                dropped.append(p.name)
                active.remove(p)
                changed = True
                break
            if changed:
                break
    # is the layout itself preserved?  (relative to what survived)
    inv = [holds_pre[q.name] for q in active]
    res.layout_inductive = all(check(e, inv, z3.Not(type_post))[0] == z3.unsat for e in steps)
    for p in props:
        if p in active:
            res.properties.append({"name": p.name, "status": "proved",
                                   "within_layout": not res.layout_inductive})
            continue
        c = ctis[p.name]
        if p.name in ex.violations and not (c[0] == "cti" and c[1]["status"] == "violated"):
            # the CTI came from an unreachable state, but the property is violated anyway:
            # report the explorer's shortest trace, which replays from an initial state
            t = tr.from_path(ex, ex.violations[p.name], p, model_path=model_path)
            t.reason = "violated (the explorer's shortest trace; prove's CTI was unreachable)"
            c = ("cti", dict(c[1], status="violated", reachable=True, length=len(t.steps),
                             pre_state=None,
                             counterexample=t.save(save_dir) if save_dir else None))
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
