"""Self-contained HTML: a counterexample as a sequence diagram, and a check run's report.

Everything is inline (CSS, SVG); no scripts, fonts or external assets, so a page can be
attached to a bug report or a CI artifact and opened anywhere.
"""
from __future__ import annotations

from html import escape

from .diff import show

CSS = """
body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px;color:#1d2330;
     background:#fff}
h1{font-size:20px;margin:0 0 4px} h2{font-size:16px;margin:24px 0 8px}
code,pre,.mono{font-family:ui-monospace,'DejaVu Sans Mono',Menlo,monospace;font-size:12px}
.meta{color:#555;margin-bottom:16px}
.verdict{padding:10px 14px;border-radius:6px;margin:16px 0;font-weight:600}
.bad{background:#fde8e8;border:1px solid #e0a0a0;color:#8a1010}
.good{background:#e6f6ea;border:1px solid #9fd0aa;color:#145a26}
.warn{background:#fff6dc;border:1px solid #e3c66b;color:#6b5200}
svg{background:#fafbfc;border:1px solid #dde2ea;border-radius:6px}
details{border-left:3px solid #c9d3e3;margin:6px 0;padding:2px 10px}
details[open]{background:#f7f9fc}
summary{cursor:pointer}
.why{color:#305080} .doc{color:#666;font-style:italic}
.mark{color:#b05000;font-weight:600}
table{border-collapse:collapse} td,th{border:1px solid #dde2ea;padding:4px 8px;text-align:left}
th{background:#f0f3f8}
.PASS{color:#145a26;font-weight:600} .FAIL,.VACUOUS{color:#8a1010;font-weight:600}
.UNKNOWN{color:#6b5200;font-weight:600}
"""

PALETTE = ["#3b6fd8", "#d8793b", "#2e9e5b", "#a24bc9", "#c93b5a", "#3ba8b8", "#8a8a2e",
           "#6b6b6b"]


def _page(title: str, body: str) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
            f"{body}\n</body>\n</html>\n")


def _cut(text: str, n: int) -> str:
    return text if len(text) <= n else text[:n - 1] + "…"


def sequence_svg(view, anchor: str = "") -> str:
    """Actors as lanes (left to right in order of appearance), one box per step, top to
    bottom; an arrow hands control from one step's actor to the next step's."""
    actors = view.actors or ["(none)"]
    char = 7.8
    longest = max([len(a) for a in actors] +
                  [len(_cut(s.name, 34)) for s in view.steps] +
                  [len(_cut(s.outcome or "", 34)) for s in view.steps])
    lane = max(150, int(longest * char) + 30)
    left, top, row = 50, 60, 54
    width = left + lane * len(actors) + 20
    height = top + row * len(view.steps) + 50
    x = {a: left + lane * i + lane // 2 for i, a in enumerate(actors)}
    color = {a: PALETTE[i % len(PALETTE)] for i, a in enumerate(actors)}
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-label="sequence diagram">',
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
           'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
           'fill="#555"/></marker></defs>']
    for a in actors:
        out.append(f'<line x1="{x[a]}" y1="{top - 10}" x2="{x[a]}" y2="{height - 20}" '
                   f'stroke="{color[a]}" stroke-opacity="0.35" stroke-dasharray="4 4"/>')
        out.append(f'<rect x="{x[a] - lane // 2 + 8}" y="12" width="{lane - 16}" height="28" '
                   f'rx="5" fill="{color[a]}"/>')
        out.append(f'<text x="{x[a]}" y="31" text-anchor="middle" fill="#fff" '
                   f'font-family="sans-serif" font-size="13" font-weight="bold">'
                   f'{escape(a)}</text>')
    prev = None
    for i, s in enumerate(view.steps):
        cy = top + row * i + row // 2
        bx, bw, bh = x[s.actor] - lane // 2 + 10, lane - 20, 40
        if prev is not None and prev.actor != s.actor:
            py = cy - row
            out.append(f'<path d="M{x[prev.actor]},{py + bh // 2} L{x[prev.actor]},{cy - 8} '
                       f'L{x[s.actor] + (-bw // 2 if x[s.actor] > x[prev.actor] else bw // 2)},'
                       f'{cy - 8}" fill="none" stroke="#555" stroke-width="1.2" '
                       f'marker-end="url(#arrow)"/>')
        in_cycle = view.lasso_start is not None and s.index > view.lasso_start
        stroke = "#b05000" if in_cycle else color[s.actor]
        dash = ' stroke-dasharray="5 3"' if in_cycle else ""
        tip = f"{s.index}. {s.actor} {s.call}" + (f" => {s.outcome}" if s.outcome else "")
        out.append(f'<a href="#{anchor}step-{s.index}"><g><title>{escape(tip)}</title>'
                   f'<rect x="{bx}" y="{cy - bh // 2}" width="{bw}" height="{bh}" rx="4" '
                   f'fill="#fff" stroke="{stroke}" stroke-width="1.6"{dash}/>')
        out.append(f'<text x="{x[s.actor]}" y="{cy - 4 if s.outcome else cy + 4}" '
                   f'text-anchor="middle" '
                   f'font-family="monospace" font-size="12" fill="#1d2330">'
                   f'{escape(_cut(s.name, 34))}</text>')
        if s.outcome:
            out.append(f'<text x="{x[s.actor]}" y="{cy + 12}" text-anchor="middle" '
                       f'font-family="monospace" font-size="11" fill="#8a1010">'
                       f'=&gt; {escape(_cut(s.outcome, 34))}</text>')
        out.append("</g></a>")
        out.append(f'<text x="8" y="{cy + 4}" font-family="monospace" font-size="12" '
                   f'fill="#777">{s.index}</text>')
        prev = s
    if view.lasso_start is not None and view.steps:
        y0 = top + row * view.lasso_start
        y1 = top + row * len(view.steps)
        out.append(f'<path d="M{width - 12},{y1 - 6} L{width - 12},{y0 + 6}" fill="none" '
                   f'stroke="#b05000" stroke-width="2" marker-end="url(#arrow)"/>')
        out.append(f'<text x="{width - 16}" y="{y0 + 4}" text-anchor="end" font-size="11" '
                   f'fill="#b05000" font-family="sans-serif">cycle</text>')
    out.append("</svg>")
    return "\n".join(out)


def trace_section(view, *, anchor: str = "") -> str:
    """The diagram, then each step with why it ran and what it changed, then the verdict."""
    parts = [sequence_svg(view, anchor), "<h2>Steps</h2>",
             f'<p class="mono">0 init: {escape(view.init)}</p>']
    for s in view.steps:
        head = escape(f"{s.index}. {s.actor} {s.call}") + \
            (f" =&gt; <b>{escape(s.outcome)}</b>" if s.outcome else "")
        marks = "".join(f' <span class="mark">← {escape(m)}</span>' for m in s.marks)
        body = []
        if s.doc:
            body.append(f'<div class="doc">{escape(s.doc)}</div>')
        for w in s.why:
            body.append(f'<div class="why">{escape(w if w.startswith("when: ") else "why: " + w)}'
                        f'</div>')
        if s.changed:
            body.append("<pre>" + escape("\n".join(s.changed)) + "</pre>")
        else:
            body.append("<div><i>no state field changed</i></div>")
        parts.append(f'<details id="{anchor}step-{s.index}"><summary class="mono">{head}'
                     f'</summary>{marks}{"".join(body)}</details>')
    if view.lasso_start is not None:
        parts.append(f"<p>Back to the state after step {view.lasso_start}: the cycle repeats "
                     f"forever.</p>")
    word = "Violated" if view.reproduced else "No longer violated"
    parts.append(f'<div class="verdict {"bad" if view.reproduced else "warn"}">{word}: '
                 f'{escape(view.verdict)}</div>')
    return "\n".join(parts)


def trace_page(view) -> str:
    cfg = " ".join(f"{k}={show(_tup(v))}" for k, v in view.config.items())
    body = (f"<h1>{escape(view.model)}: {escape(view.property)} ({escape(view.kind)})</h1>\n"
            f'<div class="meta mono">{escape(cfg)}<br>{len(view.steps)} steps, actors: '
            f'{escape(", ".join(view.actors))}</div>\n' + trace_section(view))
    return _page(f"svmcheck: {view.model} {view.property}", body)


STATUS_WORD = {"holds": "PASS", "violated": "FAIL", "vacuous": "VACUOUS", "unknown": "UNKNOWN"}


def report_page(res, views: dict) -> str:
    """A check run: model, configuration, verdict, counts, time, per-property status, and the
    trace of each violation inline (``views``: property name -> TraceView)."""
    cfg = " ".join(f"{k}={show(_tup(v))}" for k, v in res.config.items())
    cls = {"ok": "good", "violated": "bad", "incomplete": "warn"}[res.result]
    verdict = {"ok": "OK: every property holds over the complete state space",
               "violated": "VIOLATED",
               "incomplete": f"INCOMPLETE: {res.stop_reason}; not a proof"}[res.result]
    rows = []
    for p in res.properties:
        word = STATUS_WORD[p.status]
        detail = escape(p.reason or "")
        if p.status == "violated" and p.name in views:
            detail = f'<a href="#prop-{escape(p.name)}">{p.length} steps</a> — ' + detail
        if p.counterexample:
            detail += f'<br><code>{escape(p.counterexample)}</code>'
        rows.append(f'<tr><td class="{word}">{word}</td><td><code>{escape(p.name)}</code></td>'
                    f'<td>{escape(p.kind)}</td><td>{escape(p.doc or "")}</td><td>{detail}</td>'
                    f'</tr>')
    body = [f"<h1>svmcheck check {escape(res.model)}</h1>",
            f'<div class="meta mono">{escape(cfg) or "(default configuration)"}</div>',
            f'<div class="verdict {cls}">{escape(verdict)}</div>',
            f"<table><tr><th>states</th><th>transitions</th><th>depth</th><th>seconds</th>"
            f"</tr><tr><td>{res.states}</td><td>{res.transitions}</td><td>{res.depth}</td>"
            f"<td>{res.seconds:.2f}</td></tr></table>",
            "<h2>Properties</h2>",
            "<table><tr><th>status</th><th>property</th><th>kind</th><th>meaning</th>"
            "<th>detail</th></tr>" + "".join(rows) + "</table>"]
    for name, view in views.items():
        body.append(f'<h2 id="prop-{escape(name)}">Counterexample: {escape(name)}</h2>')
        body.append(trace_section(view, anchor=f"{escape(name)}-"))
    return _page(f"svmcheck: {res.model} {res.result}", "\n".join(body))


def _tup(v):
    return tuple(_tup(x) for x in v) if isinstance(v, list) else v
