"""The explored state space as a ``networkx.DiGraph``, built only when asked for.

Nodes are state ids (BFS order) with a printable ``state`` and their ``depth``; edges carry
``actor``, ``step``, ``args`` and ``outcome``.  Export by extension: .graphml, .gexf, .dot.
"""
from __future__ import annotations

import json

import networkx as nx

from ..errors import SvmCheckError

FORMATS = (".graphml", ".gexf", ".dot")


def to_networkx(ex) -> nx.MultiDiGraph:
    if ex.edges is None:
        raise ValueError("the exploration kept no edges; run it with keep_edges=True")
    model = ex.model
    g = nx.MultiDiGraph(model=model.name)   # a DiGraph subclass that keeps parallel steps
    for i, st in enumerate(ex.states):
        g.add_node(i, state=_state_text(model, st), init=i in ex.inits)
    src, dst, act, out = ex.edges
    for k in range(len(src)):
        a = model.actions[act[k]]
        g.add_edge(src[k], dst[k], actor=a.actor, step=a.name,
                   args=json.dumps(a.as_dict()["args"], sort_keys=True),
                   outcome=ex.outcomes[out[k]] or "")
    return g


def _state_text(model, st) -> str:
    world, procs = st
    text = model.describe(world)
    busy = [f"{actor}@{label}" for actor, (label, _) in model.proc_view(procs).items()
            if label != "idle"]
    return text + (" | " + " ".join(busy) if busy else "")


def write(g: nx.DiGraph, path: str) -> None:
    low = path.lower()
    if low.endswith(".graphml"):
        nx.write_graphml(g, path)
    elif low.endswith(".gexf"):
        nx.write_gexf(g, path)
    elif low.endswith(".dot"):
        with open(path, "w") as f:
            f.write(to_dot(g))
    else:
        raise SvmCheckError(
            f"cannot write a graph to '{path}': unknown extension; use one of "
            f"{', '.join(FORMATS)}")


def to_dot(g: nx.DiGraph) -> str:
    """Graphviz text (no pydot needed)."""
    def q(s):
        return '"' + str(s).replace("\\", "\\\\").replace('"', '\\"') + '"'
    lines = [f"digraph {q(g.graph.get('model', 'svmcheck'))} {{", "  node [shape=box];"]
    for n, d in g.nodes(data=True):
        style = ", style=bold" if d.get("init") else ""
        lines.append(f"  {n} [label={q(str(n) + ': ' + d.get('state', ''))}{style}];")
    for u, v, d in g.edges(data=True):
        label = f"{d['actor']} {d['step']} {d['args']}" + (f" {d['outcome']}" if d["outcome"] else "")
        lines.append(f"  {u} -> {v} [label={q(label)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"
