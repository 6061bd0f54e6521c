"""Plain-text rendering of check results and traces (key=value lines, one line per step)."""
from __future__ import annotations

from .diff import show

STATUS_WORD = {"holds": "PASS", "violated": "FAIL", "vacuous": "VACUOUS", "unknown": "UNKNOWN"}


def format_trace(model, trace, rp, *, width: int = 100, why: bool = True) -> list[str]:
    """One line per step: index, actor, step(args), outcome; then why it was enabled (``why:``
    the flow label and since when, ``when:`` the guards that held) and the fields that
    changed.  The failing clause is the caller's last line (``violated: ...``)."""
    from .steps import build
    view = build(model, trace, rp)
    lines = [f"  0  init  {view.init}"]
    for sv in view.steps:
        head = f"{sv.index:>3}  {sv.actor:<14} {sv.call}"
        if sv.outcome:
            head += f"  => {sv.outcome}"
        lines.append(head + "".join(f"  <- {m}" for m in sv.marks))
        if why:
            for w in sv.why:
                lines.append(f"       {w if w.startswith('when: ') else 'why: ' + w}")
        for d in sv.changed:
            lines.append(f"       {d}")
    if trace.lasso_start is not None:
        lines.append(f"       (back to the state after step {trace.lasso_start}: the cycle "
                     f"repeats forever)")
    return lines


def format_swimlane(view, *, col: int = 40) -> list[str]:
    """One column per actor, one row per step: the kernel function each actor runs, in order.

    Each cell holds the step (or label) name, whole, and its outcome, cut so that the cell
    stays within ``col`` characters (or the name's length)."""
    actors = view.actors
    widths = []
    cells = []
    for sv in view.steps:
        text = sv.name
        if sv.outcome:
            room = max(col - len(text) - 4, 8)
            o = sv.outcome if len(sv.outcome) <= room else sv.outcome[:room - 1] + "…"
            text += f" => {o}"
        cells.append(text)
    for a in actors:
        w = max([len(a)] + [len(c) for sv, c in zip(view.steps, cells) if sv.actor == a])
        widths.append(w)
    sep = " | "
    out = [("step | " + sep.join(a.ljust(w) for a, w in zip(actors, widths))).rstrip(),
           "-----+-" + "-+-".join("-" * w for w in widths)]
    for sv, c in zip(view.steps, cells):
        row = [(c if a == sv.actor else "").ljust(w) for a, w in zip(actors, widths)]
        mark = "".join(f"  <- {m}" for m in sv.marks)
        out.append(f"{sv.index:>4} | " + sep.join(row).rstrip() + mark)
    if view.lasso_start is not None:
        out.append(f"     (back to the state after step {view.lasso_start}: the cycle "
                   f"repeats forever)")
    out.append(f"{'violated' if view.reproduced else 'no longer violated'}: {view.verdict}")
    return out


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
