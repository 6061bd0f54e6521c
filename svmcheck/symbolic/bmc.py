"""Bounded model checking with Z3 over the steps' own symbolic encoding.

Frames ``s0 .. sK`` are Z3 variables; ``s0`` is an initial state, ``s(k+1)`` follows from
``sk`` by the transition relation that :mod:`svmcheck.symbolic.encode` derived by running the
steps.  Depth by depth, Z3 is asked whether some ``always`` property is false in ``sk``: the
first ``k`` that is satisfiable is the length of a shortest violation, as BFS would report.
A violation found is replayed on the concrete model before it is reported (the two engines
must agree step by step), then saved as an ordinary counterexample file.

The layout — each leaf's value range and each variable-length tuple's longest length — is
learned from the states the explorer reaches within the same depth (or given).  Z3 also asks,
at each depth, whether a step could leave that layout or crash; if it could, the answer beyond
that depth is ``unknown`` rather than a false "none found".
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import z3

from .. import trace as tr
from ..errors import SvmCheckError
from ..explore.bfs import Limits, explore
from . import layout
from .encode import Encoding


@dataclass
class BmcResult:
    model: str
    config: dict
    depth: int
    result: str                         # ok | violated | incomplete
    properties: list = field(default_factory=list)   # [{name, status, length, counterexample}]
    reason: str | None = None
    seconds: float = 0.0
    encoding: dict = field(default_factory=dict)
    trace: tr.Trace | None = None
    free: dict | None = None            # parameter values Z3 chose (--free)
    configurations: list = field(default_factory=list)   # --liveness --free: each one found
    invariant: list | None = None       # --liveness: the always properties frames assume

    @property
    def exit_code(self) -> int:
        return {"ok": 0, "violated": 1, "incomplete": 3}[self.result]

    def to_json(self) -> dict:
        return {"model": self.model, "config": self.config, "engine": "bmc",
                "depth": self.depth, "result": self.result, "reason": self.reason,
                "seconds": round(self.seconds, 3), "encoding": self.encoding,
                "free": _plain(self.free), "properties": self.properties,
                **({"configurations": _plain(self.configurations)} if self.configurations
                   else {}),
                **({"invariant": self.invariant} if self.invariant is not None else {})}


def always_properties(model, names=()):
    from ..check import select
    props = [p for p in select(model, names) if p.kind == "always"]
    if names and len(props) < len(names):
        bad = [n for n in names if n not in {p.name for p in props}]
        raise SvmCheckError(f"{', '.join(bad)}: not an 'always' property; prove and bmc check "
                            f"safety invariants (bmc --liveness takes liveness properties; "
                            f"svmcheck list {model.name} shows each kind)")
    return props


def learn_layout(model, depth: int, max_states: int = 2_000_000):
    """The layout of the states the explorer reaches within ``depth`` steps."""
    ex = explore(model, limits=Limits(max_depth=depth + 1, max_states=max_states))
    return layout.learned(ex.states)


def bmc(model, depth: int, *, properties=(), typ=None, save_dir="counterexamples",
        timeout_ms: int | None = None, model_path=None, encoding=None, free=None,
        progress=None) -> BmcResult:
    """Shortest violation of an ``always`` property within ``depth`` steps, or none.

    ``free``: name -> symbolic parameter value (see search.py); a violation is replayed on the
    model rebuilt with the parameter values Z3 chose.
    """
    t0 = time.perf_counter()
    props = always_properties(model, properties)
    if not props:
        raise SvmCheckError(f"model {model.name} declares no 'always' property to check")
    from .search import config_shown, free_leaves_list
    if encoding is None:
        typ = typ if typ is not None else learn_layout(model, depth)
        encoding = Encoding(model, typ, free=free_leaves_list(free))
    enc = encoding
    cfg = config_shown(model, free)
    res = BmcResult(model.name, cfg, depth, "ok", encoding=enc.stats())
    # QF_LIA: the frames are ints and bools; measured 3x faster than the generic solver by
    # depth 7 on the two-GPU link search (docs/z3.md)
    solver = z3.SolverFor("QF_LIA")
    if timeout_ms:
        solver.set("timeout", timeout_ms)
    solver.add(*enc.free_domain)
    trans, leave = enc.transition(), enc.leaving()
    holds = {p.name: enc.holds(p) for p in props}
    frames = [enc.frame("s0")]
    solver.add(enc.initially(frames[0][1]))
    acts = []
    found = None
    for k in range(depth + 1):
        vars_k = frames[k][1]
        viol = [z3.Not(enc.at(holds[p.name], vars_k)) for p in props]
        r = solver.check(z3.Or(viol))
        if progress is not None:
            progress(k, time.perf_counter() - t0)
        if r == z3.sat:
            found = (k, solver.model())
            break
        if r != z3.unsat:
            res.result, res.reason = "incomplete", f"Z3 answered {r} at depth {k}"
            break
        if k == depth:
            break
        act_k = z3.Int(f"act{k}")
        acts.append(act_k)
        r = solver.check(enc.at(leave, vars_k, act=act_k))
        if r != z3.unsat:
            res.result = "incomplete"
            res.reason = (f"at depth {k} a step may leave the learned layout or crash "
                          f"(Z3: {r}); deeper answers would not be trustworthy")
            break
        frames.append(enc.frame(f"s{k + 1}"))
        solver.add(enc.at(trans, vars_k, frames[k + 1][1], act=act_k))
    if found is not None:
        k, m = found
        res.result = "violated"
        concrete = model
        if free:
            from .search import decode_free, with_values
            res.free = decode_free(free, m)
            concrete = type(model)(with_values(model.config, res.free))
            res.config = concrete.config.as_dict()
            props = always_properties(concrete, [p.name for p in props])
        res.trace, name = _replay(concrete, enc, props, frames, acts[:k], m, save_dir,
                                  model_path)
        path = res.trace.save(save_dir) if save_dir else None
        for p in props:
            st = "violated" if p.name == name else "holds within depth"
            res.properties.append({"name": p.name, "status": st,
                                   "length": k if p.name == name else None,
                                   "counterexample": path if p.name == name else None})
    else:
        st = "holds within depth" if res.result == "ok" else "unknown"
        res.properties = [{"name": p.name, "status": st, "length": None,
                           "counterexample": None} for p in props]
    res.seconds = time.perf_counter() - t0
    return res


def _replay(model, enc, props, frames, acts, m, save_dir, model_path):
    """The Z3 path as a concrete trace, confirmed by running the model's own steps."""
    s0 = enc.decode(frames[0][0], m)
    inits = model.initial_states()
    if s0 not in inits:
        raise SvmCheckError("internal: BMC's initial frame is not an initial state; please "
                            "report this with the model and --set options")
    st, steps = s0, []
    for k, a_k in enumerate(acts):
        a = model.actions[m.eval(a_k, model_completion=True).as_long()]
        r = model.fire(a, st)
        want = enc.decode(frames[k + 1][0], m)
        if r is None or r[1] != want:
            raise SvmCheckError(
                f"internal: BMC step {k + 1} ({a.actor} {a.format()}) disagrees with the "
                f"concrete model; the symbolic encoding is wrong — please report it")
        steps.append(tr.step_dict(model, a.id, r[0]))
        st = r[1]
    bad = [p for p in props if not p.test(model, st)]
    if not bad:
        raise SvmCheckError("internal: BMC's violating state satisfies every property when "
                            "run concretely; please report it")
    p = bad[0]
    t = tr.Trace(model=model.name, config=model.config.as_dict(), property=p.name,
                 kind="always", steps=steps, init=inits.index(s0), model_path=model_path,
                 reason="found by bmc")
    return t, p.name


def _plain(v):
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, tuple):
        return [_plain(x) for x in v]
    return v
