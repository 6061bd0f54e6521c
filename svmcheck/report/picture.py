"""``svmcheck graph``: the neighbourhood of a counterexample, or the cycle of a livelock, drawn.

The trace's states are replayed; around each one the explorer's other successors are added
(``radius`` steps out), so a reviewer sees which other moves were possible at each point and
where the behaviour went instead.  The trace is bold, the lasso's cycle red, the violating
state filled.  Rendering goes through Graphviz's ``dot`` (SVG or PNG); ``.dot`` is written
directly and needs nothing installed.
"""
from __future__ import annotations

import shutil
import subprocess

from ..errors import SvmCheckError
from .diff import changes


def neighbourhood_dot(model, trace, rp, radius: int = 1, limit: int = 400) -> str:
    def q(s):
        return '"' + str(s).replace("\\", "\\\\").replace('"', '\\"') + '"'
    ids: dict = {}

    def node(st):
        if st not in ids:
            ids[st] = len(ids)
        return ids[st]

    on_path = [node(st) for st in rp.states]
    cycle_from = trace.lasso_start
    edges, seen_edges = [], set()
    for k in range(len(rp.actions)):
        a, out = rp.actions[k], rp.outcomes[k]
        kind = "cycle" if cycle_from is not None and k >= cycle_from else "trace"
        edges.append((on_path[k], on_path[k + 1], f"{a.actor} {a.format()}" +
                      (f" => {out}" if out else ""), kind))
        seen_edges.add((on_path[k], on_path[k + 1], a.id))
    frontier = list(dict.fromkeys(rp.states))
    for _ in range(radius):
        nxt = []
        for st in frontier:
            for a, out, nst in model.successors(st):
                if len(ids) >= limit and nst not in ids:
                    continue
                key = (node(st), node(nst), a.id)
                if key in seen_edges:
                    continue
                seen_edges.add(key)
                edges.append((key[0], key[1], f"{a.actor} {a.format()}", "other"))
                nxt.append(nst)
        frontier = nxt
    last = on_path[-1]
    lines = [f"digraph {q(trace.model + ' ' + trace.property)} {{", "  rankdir=TB;",
             "  node [shape=box, fontsize=10]; edge [fontsize=9];"]
    for st, i in ids.items():
        if i in on_path:
            k = on_path.index(i)
            label = f"s{k}" if k == 0 else f"s{k}: " + "; ".join(
                changes(rp.states[k - 1][0], st[0], limit=4))
            style = ', style="filled,bold", fillcolor="#f4cccc"' if i == last else ', style=bold'
        else:
            label, style = f"({i})", ', color=gray, fontcolor=gray'
        lines.append(f"  {i} [label={q(label)}{style}];")
    colour = {"trace": "black", "cycle": "red", "other": "gray"}
    for u, v, label, kind in edges:
        extra = ", penwidth=2" if kind != "other" else ", style=dashed"
        lines.append(f"  {u} -> {v} [label={q(label)}, color={colour[kind]}, "
                     f"fontcolor={colour[kind]}{extra}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render(dot_text: str, out: str) -> None:
    low = out.lower()
    if low.endswith(".dot"):
        with open(out, "w") as f:
            f.write(dot_text)
        return
    fmt = "svg" if low.endswith(".svg") else "png" if low.endswith(".png") else None
    if fmt is None:
        raise SvmCheckError(f"cannot draw to '{out}': use a .svg, .png or .dot file")
    exe = shutil.which("dot")
    if exe is None:
        raise SvmCheckError(f"drawing '{out}' needs Graphviz's dot, which is not installed; "
                            f"apt-get install graphviz, or write a .dot file instead")
    proc = subprocess.run([exe, f"-T{fmt}", "-o", out], input=dot_text.encode(),
                          capture_output=True, timeout=120)
    if proc.returncode != 0:
        raise SvmCheckError(f"dot failed to draw '{out}': "
                            f"{proc.stderr.decode(errors='replace').strip().splitlines()[-1:]}")
