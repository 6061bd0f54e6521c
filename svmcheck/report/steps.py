"""One structured view of a replayed trace, shared by every renderer (text, swimlane, HTML).

Per step: who ran what, with which outcome, *why* it was enabled (the flow label the actor had
reached and since which step, and the ``when`` guards that held, by their docstring's first
line), the kernel function it models (its docstring's first line) and only the state fields
that changed.  The renderers only lay this out.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field

from .diff import changes, proc_changes


@dataclass
class StepView:
    index: int                      # 1-based step number
    actor: str
    name: str                       # the step or label (the kernel function it models)
    call: str                       # name(args)
    kind: str                       # "step" | "label"
    outcome: str | None
    why: list = field(default_factory=list)      # why the step was enabled
    doc: str = ""                   # first line of the step's docstring
    changed: list = field(default_factory=list)  # "path: old -> new"
    marks: list = field(default_factory=list)    # "cycle starts here", ...


@dataclass
class TraceView:
    model: str
    property: str
    kind: str
    init: str                       # the initial state, described
    steps: list
    actors: list                    # actors in order of first appearance
    reproduced: bool
    verdict: str                    # the failing clause (or why it no longer fails)
    lasso_start: int | None = None
    obligation: str | None = None
    config: dict = field(default_factory=dict)


def first_line(obj) -> str:
    doc = inspect.getdoc(obj) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def guard_text(g) -> str:
    """A guard as a reader knows it: its docstring's first line, a lambda's body, or its name."""
    doc = first_line(g)
    if doc:
        return doc
    name = getattr(g, "__name__", repr(g))
    if name == "<lambda>":
        return _lambda_body(g) or "an unnamed guard"
    return name


def _lambda_body(g) -> str | None:
    """The expression of a one-line ``lambda args: expr`` guard, from the model's source."""
    try:
        line = inspect.getsourcelines(g)[0][0]
    except (OSError, TypeError, IndexError):
        return None
    i = line.find("lambda")
    j = line.find(":", i) if i >= 0 else -1
    if j < 0:
        return None
    depth, out = 0, []
    for ch in line[j + 1:]:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            if depth == 0:
                break
            depth -= 1
        elif ch == "," and depth == 0:
            break
        out.append(ch)
    body = "".join(out).strip()
    return body or None


def why(model, action, before, steps_so_far) -> list[str]:
    """Why ``action`` was enabled in state ``before``: its flow position and its guards."""
    out = []
    if action.kind == "label" and action.proc is not None:
        t = before[1][action.proc.index]
        if t[0] == 0:
            out.append(f"{action.actor} was idle; {action.name} starts a run of flow "
                       f"{action.proc.flow.name}")
        else:
            since = next((s.index for s in reversed(steps_so_far) if s.actor == action.actor),
                         None)
            where = f" since step {since}" if since is not None else ""
            out.append(f"{action.actor} is at label {action.name}{where}")
    for g in action.guards:
        out.append(f"when: {guard_text(g)}")
    return out


def build(model, trace, rp) -> TraceView:
    steps: list[StepView] = []
    actors: list[str] = []
    for k, (a, out) in enumerate(zip(rp.actions, rp.outcomes), start=1):
        before, after = rp.states[k - 1], rp.states[k]
        sv = StepView(index=k, actor=a.actor, name=a.name, call=a.format(), kind=a.kind,
                      outcome=out, why=why(model, a, before, steps), doc=first_line(a.fn),
                      changed=changes(before[0], after[0]) +
                      proc_changes(model, before[1], after[1]))
        if trace.obligation_start and k == trace.obligation_start:
            sv.marks.append(f"obligation {trace.obligation or trace.property} pending from here")
        if trace.lasso_start is not None and k - 1 == trace.lasso_start:
            sv.marks.append("cycle starts here")
        steps.append(sv)
        if a.actor not in actors:
            actors.append(a.actor)
    return TraceView(model=trace.model, property=trace.property, kind=trace.kind,
                     init=model.describe(rp.states[0][0]), steps=steps, actors=actors,
                     reproduced=rp.reproduced, verdict=rp.message,
                     lasso_start=trace.lasso_start, obligation=trace.obligation,
                     config=dict(trace.config))


def load_view(path: str) -> TraceView:
    """Load a counterexample file, replay and confirm it, and build its view."""
    from ..registry import build as build_model
    from ..trace import confirm, load, replay
    t = load(path)
    model, _ = build_model(f"{t.model_path}:{t.model}" if t.model_path else t.model, t.config)
    return build(model, t, confirm(model, t, replay(model, t)))
