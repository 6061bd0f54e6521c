"""Counterexamples: one format for every engine, saved as JSON data and replayed by re-running.

A trace is the list of actions taken from an initial state (actor, step, arguments, outcome),
never the states themselves — like stateright's Path, states are rebuilt by re-executing the
model, which is also what makes a saved file a regression test.  Files are data: parsed and
validated here, never executed.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field

from . import __version__
from .errors import CounterexampleError

SCHEMA = "svmcheck-counterexample"
SCHEMA_VERSION = 1
KINDS = ("always", "deadlock", "eventually", "leads_to", "completes")


@dataclass
class Trace:
    model: str
    config: dict
    property: str
    kind: str
    steps: list                       # [{"actor", "step", "args", "outcome"}]
    init: int = 0                     # which initial state
    lasso_start: int | None = None    # states[lasso_start] == states[-1]: the cycle
    obligation_start: int | None = None   # liveness: the state where P held
    obligation: str | None = None     # liveness: which process / obligation
    reason: str | None = None
    model_path: str | None = None
    start: object = None              # a non-initial start state (a counterexample to induction)

    def to_json(self) -> dict:
        extra = {} if self.start is None else {"start": self.start}
        return extra | {"schema": SCHEMA, "schema_version": SCHEMA_VERSION,
                "svmcheck_version": __version__, "model": self.model,
                "model_path": self.model_path, "config": self.config,
                "property": self.property, "kind": self.kind, "init": self.init,
                "steps": self.steps, "lasso_start": self.lasso_start,
                "obligation_start": self.obligation_start, "obligation": self.obligation,
                "reason": self.reason}

    def digest(self) -> str:
        key = {"c": self.config, "p": self.property, "i": self.init, "s": self.steps,
               "l": self.lasso_start}
        if self.start is not None:      # only then: other traces keep their names
            key["st"] = self.start
        body = json.dumps(key, sort_keys=True)
        return hashlib.sha1(body.encode()).hexdigest()[:8]

    def save(self, directory: str = "counterexamples") -> str:
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, f"{self.model}-{self.property}-{self.digest()}.json")
        with open(path, "w") as f:
            json.dump(self.to_json(), f, indent=1, sort_keys=False)
            f.write("\n")
        return path


def load(path: str) -> Trace:
    """Parse and validate a counterexample file; any defect is a CounterexampleError."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError as e:
        raise CounterexampleError(f"cannot read counterexample '{path}': {e.strerror}; "
                                  f"check the path") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise CounterexampleError(
            f"counterexample '{path}' is not valid JSON (line {e.lineno}: {e.msg}); "
            f"re-run svmcheck check to write a fresh one") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise CounterexampleError(
            f"'{path}' is not an svmcheck counterexample (no \"schema\": \"{SCHEMA}\"); "
            f"pass a file written by svmcheck check")
    if data.get("schema_version") != SCHEMA_VERSION:
        raise CounterexampleError(
            f"counterexample '{path}' has schema_version {data.get('schema_version')!r}, this "
            f"svmcheck reads {SCHEMA_VERSION}; re-run svmcheck check to regenerate it")
    _need(data, path, "model", str)
    _need(data, path, "property", str)
    _need(data, path, "kind", str)
    _need(data, path, "config", dict)
    _need(data, path, "steps", list)
    _need(data, path, "init", int)
    if data["kind"] not in KINDS:
        raise CounterexampleError(
            f"counterexample '{path}' has kind '{data['kind']}'; expected one of "
            f"{', '.join(KINDS)}")
    for k, st in enumerate(data["steps"]):
        if not (isinstance(st, dict) and isinstance(st.get("actor"), str)
                and isinstance(st.get("step"), str) and isinstance(st.get("args", {}), dict)
                and (st.get("outcome") is None or isinstance(st.get("outcome"), str))):
            raise CounterexampleError(
                f"counterexample '{path}' step {k + 1} is malformed (needs actor, step, args, "
                f"outcome); re-run svmcheck check to regenerate it")
    n = len(data["steps"])
    for key in ("lasso_start", "obligation_start"):
        v = data.get(key)
        if v is None or (isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= n):
            continue
        what = "outside" if isinstance(v, int) and not isinstance(v, bool) else \
            "not a step index in"
        raise CounterexampleError(
            f"counterexample '{path}' has {key}={v!r}, {what} 0..{n}; the file is corrupt")
    return Trace(model=data["model"], config=data["config"], property=data["property"],
                 kind=data["kind"], steps=data["steps"], init=data["init"],
                 lasso_start=data.get("lasso_start"),
                 obligation_start=data.get("obligation_start"),
                 obligation=data.get("obligation"), reason=data.get("reason"),
                 model_path=data.get("model_path"), start=data.get("start"))


def _need(data, path, key, typ):
    if not isinstance(data.get(key), typ):
        raise CounterexampleError(
            f"counterexample '{path}' lacks a valid \"{key}\" ({typ.__name__}); the file is "
            f"corrupt or foreign")


# --------------------------------------------------------------------------------------------
# building traces from an exploration, and replaying them
# --------------------------------------------------------------------------------------------

def step_dict(model, action_id, outcome):
    """One trace step: the action as data, with the outcome it reported."""
    d = model.actions[action_id].as_dict()
    d["outcome"] = outcome
    return d


def from_path(ex, index: int, prop, *, model_path=None) -> Trace:
    """The shortest trace from an initial state to state ``index``."""
    path = ex.path_to(index)
    steps = [step_dict(ex.model, ex.action[i], ex.outcomes[ex.outcome[i]]) for i in path[1:]]
    return Trace(model=ex.model.name, config=ex.model.config.as_dict(), property=prop.name,
                 kind=prop.kind, steps=steps, init=ex.inits.index(path[0]),
                 model_path=model_path)


def from_lasso(ex, lasso, prop, *, model_path=None) -> Trace:
    t = from_path(ex, lasso.p_state, prop, model_path=model_path)
    t.obligation_start = len(t.steps)
    t.obligation = lasso.obligation
    _, _, act, out = ex.edges
    for e in lasso.stem:
        t.steps.append(step_dict(ex.model, act[e], ex.outcomes[out[e]]))
    if lasso.cycle:
        t.lasso_start = len(t.steps)
        for e in lasso.cycle:
            t.steps.append(step_dict(ex.model, act[e], ex.outcomes[out[e]]))
    return t


@dataclass
class Replay:
    states: list                       # system states s0..sn
    actions: list                      # Action objects, one per step
    outcomes: list
    reproduced: bool = False
    message: str = ""
    details: list = field(default_factory=list)


def replay(model, trace: Trace) -> Replay:
    """Re-run ``trace`` on ``model``; raises CounterexampleError if a step does not apply."""
    inits = model.initial_states()
    if trace.start is not None:
        return _replay_from(model, trace, decode_state(model, trace.start))
    if not 0 <= trace.init < len(inits):
        raise CounterexampleError(
            f"the trace starts from initial state {trace.init} but model {model.name} has "
            f"{len(inits)}; the model or its configuration changed")
    return _replay_from(model, trace, inits[trace.init])


def _replay_from(model, trace: Trace, st) -> Replay:
    rp = Replay([st], [], [])
    for k, want in enumerate(trace.steps, start=1):
        a = model.find_action(st, want["actor"], want["step"], want.get("args", {}))
        shown = f"{want['actor']} {want['step']}({_args_text(want.get('args', {}))})"
        if a is None:
            raise CounterexampleError(
                f"step {k} ({shown}) does not exist in model {model.name} any more; the model "
                f"changed since the trace was saved — re-run svmcheck check")
        r = model.fire(a, st)
        if r is None:
            raise CounterexampleError(
                f"step {k} ({shown}) is not enabled in the state reached by steps 1..{k - 1}; "
                f"the model changed since the trace was saved — re-run svmcheck check")
        out, nst = r
        if out != want.get("outcome"):
            raise CounterexampleError(
                f"step {k} ({shown}) now reports outcome {out!r}, the trace says "
                f"{want.get('outcome')!r}; the model is non-deterministic (iteration over a "
                f"set or dict, or outside state) or changed since the trace was saved")
        rp.states.append(nst)
        rp.actions.append(a)
        rp.outcomes.append(out)
        st = nst
    return rp


def _args_text(args: dict) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in args.items())


def confirm(model, trace: Trace, rp: Replay) -> Replay:
    """Decide whether the replayed behaviour still violates the trace's property."""
    prop = next((p for p in model.properties if p.name == trace.property), None)
    if prop is None:
        names = ", ".join(p.name for p in model.properties)
        raise CounterexampleError(
            f"the trace is for property '{trace.property}', which model {model.name} no longer "
            f"declares; available: {names}")
    last = rp.states[-1]
    if prop.kind == "always":
        ok = prop.test(model, last)
        rp.reproduced = not ok
        rp.message = (prop.explain(model, last) or f"{prop.name} is false") if not ok else \
            f"{prop.name} holds in the final state"
    elif prop.kind == "deadlock":
        stuck = not any(True for _ in model.successors(last))
        busy = model.busy(last)
        rp.reproduced = stuck and bool(busy)
        rp.details = busy
        rp.message = (deadlock_text(busy, wait_cycle(model, last[0])) if rp.reproduced
                      else "the final state is not a deadlock")
    else:
        rp.reproduced, rp.message = _confirm_liveness(model, prop, trace, rp)
    return rp


def wait_cycle(model, world) -> list | None:
    """A cycle in the model's wait-for graph as [(waiter, resource, holder), ...], or None."""
    import networkx as nx
    g = nx.MultiDiGraph()
    for waiter, resource, holder in model.waits_for(world):
        g.add_edge(waiter, holder, resource=resource)
    try:
        cyc = nx.find_cycle(g)
    except nx.NetworkXNoCycle:
        return None
    return [(u, g.edges[u, v, k]["resource"], v) for u, v, k in cyc]


def cycle_text(cycle) -> str:
    return "wait cycle: " + " ".join(f"{u} -[{r}]->" for u, r, _ in cycle) + f" {cycle[0][0]}"


def deadlock_text(busy, cycle=None) -> str:
    if cycle:
        return "deadlock, " + cycle_text(cycle)
    parts = []
    for actor, label, waits in busy:
        w = f" waiting for: {'; '.join(waits)}" if waits else " with no enabled step"
        parts.append(f"{actor} at {label}{w}")
    return "deadlock: " + ", ".join(parts)


def _confirm_liveness(model, prop, trace, rp):
    start = trace.obligation_start or 0
    obligations = prop.obligations(model)
    if prop.kind == "completes":
        obligations = [o for o in obligations if o[0] == trace.obligation] or obligations
    for label, p, q in obligations:
        if not p(rp.states[start]):
            continue
        if any(q(s) for s in rp.states[start:]):
            continue
        if trace.lasso_start is None:
            if not any(True for _ in model.successors(rp.states[-1])):
                return True, f"{label}: the run ends without reaching the goal"
            continue
        if rp.states[trace.lasso_start] != rp.states[-1]:
            return False, "the cycle does not close: the last state differs from the loop start"
        unfair = _unfair_actors(model, rp, trace.lasso_start)
        if unfair:
            return False, f"the cycle is unfair to {', '.join(unfair)}"
        n = len(rp.states) - 1 - trace.lasso_start
        return True, f"{label}: a fair cycle of {n} steps never reaches the goal"
    return False, f"{prop.name} is satisfied along the replayed behaviour"


def _unfair_actors(model, rp, lasso_start):
    cycle_states = rp.states[lasso_start:-1] or rp.states[lasso_start:]
    enabled_all = None
    for s in cycle_states:
        en = {a.actor for a, _, _ in model.successors(s)}
        enabled_all = en if enabled_all is None else enabled_all & en
    took = {a.actor for a in rp.actions[lasso_start:]}
    return sorted((enabled_all or set()) - took)


# --------------------------------------------------------------------------------------------
# states as data (a counterexample to induction starts from a state that is not initial)
# --------------------------------------------------------------------------------------------

def encode_state(v):
    """A JSON form of a state: records and enums keep their class names."""
    from enum import IntEnum
    if isinstance(v, bool) or v is None:
        return v
    if isinstance(v, IntEnum):
        return {"enum": type(v).__name__, "value": int(v)}
    if isinstance(v, int):
        return int(v)
    if isinstance(v, tuple) and hasattr(v, "_fields"):
        return {"record": type(v).__name__, "fields": [encode_state(x) for x in v]}
    if isinstance(v, tuple):
        return [encode_state(x) for x in v]
    raise CounterexampleError(f"cannot save a state holding {type(v).__name__}")


def decode_state(model, data):
    """Rebuild a state saved by :func:`encode_state`, with the model's own classes."""
    classes = _state_classes(model)

    def dec(d):
        if isinstance(d, bool) or d is None or isinstance(d, int):
            return d
        if isinstance(d, list):
            return tuple(dec(x) for x in d)
        if isinstance(d, dict) and "record" in d and isinstance(d.get("fields"), list):
            cls = classes.get(d["record"])
            if cls is None or not hasattr(cls, "_fields") or len(cls._fields) != len(d["fields"]):
                raise CounterexampleError(
                    f"the saved start state names record '{d['record']}', which model "
                    f"{model.name} does not use (or with other fields); re-run svmcheck prove")
            return cls(*(dec(x) for x in d["fields"]))
        if isinstance(d, dict) and "enum" in d and isinstance(d.get("value"), int):
            cls = classes.get(d["enum"])
            if cls is None or d["value"] not in cls._value2member_map_:
                raise CounterexampleError(
                    f"the saved start state names enum value {d['enum']}={d['value']}, unknown "
                    f"to model {model.name}; re-run svmcheck prove")
            return cls(d["value"])
        raise CounterexampleError("the saved start state is malformed; the file is corrupt")
    try:
        state = dec(data)
        hash(state)
    except (TypeError, RecursionError):
        raise CounterexampleError("the saved start state is malformed; the file is corrupt") \
            from None
    if not (isinstance(state, tuple) and len(state) == 2):
        raise CounterexampleError("the saved start state is not a (world, processes) pair; "
                                  "the file is corrupt")
    return state


def _state_classes(model) -> dict:
    """NamedTuple and IntEnum classes reachable from the model's modules (one level deep)."""
    import sys
    import types
    from enum import IntEnum
    out, seen = {}, set()
    mods = [sys.modules[k.__module__] for k in type(model).__mro__ if k.__module__ in sys.modules]
    for mod in list(mods):
        mods += [v for v in vars(mod).values() if isinstance(v, types.ModuleType)]
        mods += [sys.modules[v.__module__] for v in vars(mod).values()
                 if isinstance(v, type) and v.__module__ in sys.modules]
    for mod in mods:
        if id(mod) in seen:
            continue
        seen.add(id(mod))
        for v in vars(mod).values():
            if isinstance(v, type) and (issubclass(v, IntEnum) or
                                        (issubclass(v, tuple) and hasattr(v, "_fields"))):
                out.setdefault(v.__name__, v)
    return out
