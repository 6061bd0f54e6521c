"""``check``: explore a model once and decide every selected property, three-valued.

Per property: ``holds``, ``violated`` (with a shortest counterexample), ``vacuous`` (a
``sometimes`` never reached: the check fails) or ``unknown`` (a limit stopped the run before it
could be decided; the reason says which).  The run's ``result`` is ``violated`` if any property
is violated or vacuous, else ``incomplete`` if a limit was reached, else ``ok``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from . import trace as tr
from .errors import UnknownPropertyError
from .explore.bfs import Limits, concrete_path, explore
from .explore.liveness import find_lasso


@dataclass
class PropertyResult:
    name: str
    kind: str
    status: str                       # holds | violated | vacuous | unknown
    reason: str | None = None
    trace: tr.Trace | None = None
    counterexample: str | None = None  # saved file
    doc: str = ""

    @property
    def length(self) -> int | None:
        return len(self.trace.steps) if self.trace is not None else None


@dataclass
class CheckResult:
    model: str
    config: dict
    result: str
    states: int
    transitions: int
    depth: int
    seconds: float
    properties: list = field(default_factory=list)
    stop_reason: str | None = None
    exploration: object = None
    hash_compact: bool = False
    collision_probability: float | None = None   # bound, hash-compact runs only
    workers: int = 1

    def to_json(self) -> dict:
        out = {"model": self.model, "config": self.config, "result": self.result,
               "states": self.states, "transitions": self.transitions, "depth": self.depth,
               "seconds": round(self.seconds, 3), "stop_reason": self.stop_reason,
               "properties": [{"name": p.name, "kind": p.kind, "status": p.status,
                               "reason": p.reason, "counterexample": p.counterexample,
                               "length": p.length} for p in self.properties]}
        if self.hash_compact:
            # "holds" is then "holds unless two states share a 64-bit fingerprint"
            out.update(hash_compact=True, collision_probability=self.collision_probability,
                       workers=self.workers)
        return out

    @property
    def exit_code(self) -> int:
        return {"ok": 0, "violated": 1, "incomplete": 3}[self.result]


def select(model, names) -> list:
    """The model's properties named in ``names`` (all of them when empty)."""
    props = model.properties
    if not names:
        return list(props)
    by_name = {p.name: p for p in props}
    out = []
    for n in names:
        if n not in by_name:
            raise UnknownPropertyError(
                f"unknown property '{n}' for model {model.name}; available: "
                f"{', '.join(by_name)}")
        out.append(by_name[n])
    return out


def check(model, *, properties=(), limits: Limits | None = None, keep_graph=False,
          progress=None, save_dir: str | None = "counterexamples", model_path=None,
          canon=None, expand=None, compact=False, workers=1, checkpoint=None,
          resume=None) -> CheckResult:
    """Explore once and decide ``properties`` (all when empty).

    ``compact``: a hash-compact visited set (svmcheck/explore/levels.py); implied by
    ``workers > 1``, ``checkpoint`` and ``resume``.  Its verdicts carry the probability bound
    of a fingerprint collision."""
    props = select(model, properties)
    always = [p for p in props if p.kind == "always"]
    some = [p for p in props if p.kind == "sometimes"]
    steps = [p for p in props if p.kind == "sometimes_step"]
    live = [p for p in props if p.is_liveness]
    deadlock = [p for p in props if p.kind == "deadlock"]
    compact = compact or workers > 1 or checkpoint is not None or resume is not None
    common = dict(always=always, sometimes=some, step_witnesses=steps,
                  keep_edges=keep_graph or bool(live), check_deadlock=bool(deadlock),
                  limits=limits, progress=progress, canon=canon, expand=expand)
    obligations = {p.name: p.obligations(model) for p in live}
    if compact:
        from .explore.levels import explore_compact
        flat = [(pp, qq) for p in live for _, pp, qq in obligations[p.name]]
        options = {"canon": _name(canon), "expand": _name(expand)}
        ex = explore_compact(model, **common, obligations=flat, workers=workers,
                             checkpoint=checkpoint, resume=resume, options=options)
    else:
        ex = explore(model, **common)
    unknown = f"unknown: {ex.stop_reason}" if not ex.complete else None
    results = []
    for p in props:
        if p.kind == "always":
            r = _safety(ex, p, unknown, model_path)
        elif p.kind == "deadlock":
            r = _deadlock(ex, p, unknown, model_path)
        elif p.kind in ("sometimes", "sometimes_step"):
            r = _reach(ex, p, unknown)
        else:
            r = _liveness(ex, p, unknown, model_path, obligations)
        r.doc = p.summary
        if r.trace is not None and save_dir is not None:
            r.counterexample = r.trace.save(save_dir)
        results.append(r)
    if any(r.status in ("violated", "vacuous") for r in results):
        result = "violated"
    elif not ex.complete:
        result = "incomplete"
    else:
        result = "ok"
    res = CheckResult(model.name, model.config.as_dict(), result, len(ex.states),
                      ex.transitions, ex.depth, ex.seconds, results, ex.stop_reason, ex)
    if compact:
        from .explore.fingerprint import collision_bound
        res.hash_compact, res.workers = True, workers
        res.collision_probability = float(f"{collision_bound(res.states):.3g}")
    return res


def _name(fn):
    """How a hook is recorded in a checkpoint (a resume must use the same reductions)."""
    if fn is None:
        return None
    return getattr(fn, "__qualname__", None) or type(fn).__name__


def _safety(ex, p, unknown, model_path):
    j = ex.violations.get(p.name)
    if j is None:
        return PropertyResult(p.name, p.kind, "unknown" if unknown else "holds", unknown)
    t = _trace_to(ex, j, p, model_path)
    t.reason = p.explain(ex.model, ex.states[j]) or f"{p.name} is false in the final state"
    return PropertyResult(p.name, p.kind, "violated", t.reason, t)


def _deadlock(ex, p, unknown, model_path):
    if not ex.deadlocks:
        return PropertyResult(p.name, p.kind, "unknown" if unknown else "holds", unknown)
    j = ex.deadlocks[0]
    t = _trace_to(ex, j, p, model_path)
    t.reason = tr.deadlock_text(ex.model.busy(ex.states[j]),
                                tr.wait_cycle(ex.model, ex.states[j][0]))
    return PropertyResult(p.name, p.kind, "violated", t.reason, t)


def _trace_to(ex, j, p, model_path):
    """The shortest trace to state ``j`` as concrete model steps (see bfs.concrete_path)."""
    if ex.canon is None:
        return tr.from_path(ex, j, p, model_path=model_path)
    init, steps = concrete_path(ex, j)
    return tr.Trace(model=ex.model.name, config=ex.model.config.as_dict(), property=p.name,
                    kind=p.kind, steps=[tr.step_dict(ex.model, a, o) for a, o in steps],
                    init=init, model_path=model_path)


class _IndexStates:
    """An exploration whose ``states[i]`` is ``i``: liveness tests recorded bits by index."""

    def __init__(self, ex):
        self._ex = ex
        self.states = range(len(ex.states))

    def __getattr__(self, name):
        return getattr(self._ex, name)

    def edge_index(self):
        return self._ex.edge_index()


def _reach(ex, p, unknown):
    if p.name in ex.witnesses:
        return PropertyResult(p.name, p.kind, "holds")
    if unknown:
        return PropertyResult(p.name, p.kind, "unknown", unknown)
    return PropertyResult(p.name, p.kind, "vacuous",
                          "never reached in any explored state: every safety verdict may be "
                          "vacuous")


def _liveness(ex, p, unknown, model_path, obligations):
    obl = obligations[p.name]
    bits = getattr(ex, "obligation_bits", None)
    if bits is not None:
        # hash-compact: no states to test, but each state's p/q bits were recorded in order
        first = sum(len(obligations[n]) for n in list(obligations)[:list(obligations).index(p.name)])
        bits = bits.tolist()
        obl = [(label, (lambda i, b=1 << 2 * (first + k): bits[i] & b != 0),
                (lambda i, b=2 << 2 * (first + k): bits[i] & b != 0))
               for k, (label, _, _) in enumerate(obl)]
        lasso = find_lasso(_IndexStates(ex), obl)
    else:
        lasso = find_lasso(ex, obl)
    if lasso is None:
        return PropertyResult(p.name, p.kind, "unknown" if unknown else "holds", unknown)
    t = tr.from_lasso(ex, lasso, p, model_path=model_path)
    if lasso.cycle:
        t.reason = (f"{lasso.obligation}: a fair cycle of {len(lasso.cycle)} steps repeats "
                    f"forever without reaching the goal")
    else:
        t.reason = f"{lasso.obligation}: the run ends without reaching the goal"
    return PropertyResult(p.name, p.kind, "violated", t.reason, t)


def check_reduced(model, *, properties=(), symmetry=False, por=False, verify=False, **kw):
    """``check --symmetry`` / ``--por`` (docs/reductions.md): safety properties (always,
    sometimes, sometimes_step, deadlock) on the reduced state graph; liveness properties,
    for which neither reduction is shown sound, on a separate unreduced run.  A declared
    symmetry is self-checked first and every property must be invariant under it
    (explore/symmetry.py); ``verify`` re-runs the safety properties unreduced and raises
    SvmCheckError unless the two runs agree.  Returns the reduced run's CheckResult, its
    ``reduction`` dict saying what was reduced, how, and what was compared."""
    from .errors import SvmCheckError
    from .explore import por as P
    from .explore import symmetry as S
    flag = " and ".join(f for f, on in (("--symmetry", symmetry), ("--por", por)) if on)
    if symmetry and por:
        raise SvmCheckError("--symmetry and --por together are not supported (ample sets "
                            "are not computed on canonical states); use one of them")
    props = select(model, properties)
    safety = [p.name for p in props if not p.is_liveness]
    live = [p.name for p in props if p.is_liveness]
    if not safety:
        S.refuse_liveness(props, flag)
    if por and (kw.get("compact") or kw.get("workers", 1) > 1 or kw.get("checkpoint")):
        raise SvmCheckError("--por's cycle proviso needs the one exact visited set of a "
                            "single-process run; drop --compact, --workers and checkpoints")
    if verify and (kw.get("compact") or kw.get("workers", 1) > 1 or kw.get("resume")):
        raise SvmCheckError("--verify-reduction compares exact runs; drop --compact, "
                            "--workers and --resume")
    sym = expand = None
    info = {"symmetry": None, "por": None, "liveness_unreduced": live}
    if symmetry:
        sym = S.require(model)
        sample = S.sample_states(model)
        S.self_check(model, sym, sample)
        S.check_properties(model, sym, [p for p in props if p.name in safety], sample)
        info["symmetry"] = {"group": sym.name, "order": sym.order}
    if por:
        expand = P.ample_sets(model, [p for p in props if p.name in safety])
        info["por"] = {}
    res = check(model, properties=safety, canon=sym.canon if sym else None, expand=expand,
                **kw)
    if verify:
        plain = dict(kw, save_dir=None, progress=None, keep_graph=False)
        info["verified"] = S.compare(res, check(model, properties=safety, **plain), sym=sym,
                                     por=por)
    if expand is not None:
        info["por"].update(reduced_states=expand.reduced, local_situations=expand.independent)
    if live:
        lres = check(model, properties=live, **kw)
        by_name = {r.name: r for r in res.properties + lres.properties}
        res.properties = [by_name[p.name] for p in props]
        if lres.result == "violated" or res.result == "ok" and lres.result == "incomplete":
            res.result = lres.result
        info["liveness_states"] = lres.states
    res.reduction = info
    return res
