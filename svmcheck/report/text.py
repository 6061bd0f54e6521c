"""Plain-text rendering of check results and traces (key=value lines, one line per step)."""
from __future__ import annotations

from .diff import changes, proc_changes, show

STATUS_WORD = {"holds": "PASS", "violated": "FAIL", "vacuous": "VACUOUS", "unknown": "UNKNOWN"}


def format_trace(model, trace, rp, *, width: int = 100) -> list[str]:
    """One line per step: index, actor, step(args), outcome, then the fields that changed."""
    lines = []
    s0 = rp.states[0]
    lines.append(f"  0  init  {model.describe(s0[0])}")
    for k, (a, out) in enumerate(zip(rp.actions, rp.outcomes), start=1):
        before, after = rp.states[k - 1], rp.states[k]
        diff = changes(before[0], after[0]) + proc_changes(model, before[1], after[1])
        mark = ""
        if trace.lasso_start is not None and k - 1 == trace.lasso_start:
            mark = "  <- cycle starts here"
        head = f"{k:>3}  {a.actor:<14} {a.format()}"
        if out:
            head += f"  => {out}"
        lines.append(head + mark)
        for d in diff:
            lines.append(f"       {d}")
    if trace.lasso_start is not None:
        lines.append(f"       (back to the state after step {trace.lasso_start}: the cycle "
                     f"repeats forever)")
    return lines


def format_result(res, *, model=None, show_traces=True) -> list[str]:
    out = [f"model={res.model} " + " ".join(f"{k}={show(_tup(v))}" for k, v in res.config.items()),
           f"done states={res.states} transitions={res.transitions} depth={res.depth} "
           f"sec={res.seconds:.2f}" + (f" stopped: {res.stop_reason}" if res.stop_reason else "")]
    for p in res.properties:
        line = f"{STATUS_WORD[p.status]:<8}{p.name} ({p.kind})"
        if p.status == "violated":
            line += f" counterexample steps={p.length}"
            if p.counterexample:
                line += f" file={p.counterexample}"
        elif p.status in ("vacuous", "unknown") and p.reason:
            line += f" — {p.reason}"
        out.append(line)
        if p.status == "violated" and show_traces and model is not None and p.trace is not None:
            from ..trace import confirm, replay
            rp = confirm(model, p.trace, replay(model, p.trace))
            out += format_trace(model, p.trace, rp)
            out.append(f"       violated: {p.reason}")
            if p.counterexample:
                out.append(f"       replay: svmcheck replay {p.counterexample}")
    verdict = {"ok": "OK: every property holds over the complete state space",
               "violated": "VIOLATED: see the failing properties above",
               "incomplete": f"INCOMPLETE: {res.stop_reason}; nothing was violated in the states "
                             f"explored, but this is not a proof"}[res.result]
    out.append(verdict)
    return out


def _tup(v):
    return tuple(_tup(x) for x in v) if isinstance(v, list) else v
