"""The yardstick for the explorer's fast path: a bare BFS loop calling the same step functions.

No engine: a set of visited states, a list per level, and for each state every action's guards
and effect called directly (labels get the same ``Me`` their code expects).  No parent arrays,
no properties, no traces, no error handling, no progress.  The explorer's overhead is its
throughput relative to this loop (issue 7's target: at least 0.9x).

    python benchmarks/bare_bfs.py xe [--set NAME=VALUE]...   # prints one JSON line
    python benchmarks/bare_bfs.py tests/zoo/bits.py --set bits=20 --engine

``--engine`` also times ``explore(model)`` (no properties) and ``check`` (all properties), each
in the same process, and prints the ratios.  Times are CPU seconds of this process
(``time.process_time``), so other work on the machine disturbs them less than wall time.

The bare loop runs with the cyclic garbage collector off, as the explorer does (it is worth
about a fifth of the time on the shipped models); ``--with-gc`` leaves it on, the naive loop.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from svmcheck.errors import SvmCheckError  # noqa: E402
from svmcheck.model import Me, Result  # noqa: E402
from svmcheck.registry import build  # noqa: E402


def bare_bfs(model) -> tuple[int, int]:
    """(unique states, transitions) by the plainest breadth-first search over the model."""
    statics = [(a.fn, a.args, a.guards) for a in model.steps_static]
    procs_of = [(p.index, p.by_label, p) for p in model.procs]
    frontier = list(dict.fromkeys(model.initial_states()))
    seen = set(frontier)
    transitions = 0
    while frontier:
        nxt = []
        for world, procs in frontier:
            succ = []
            for fn, args, guards in statics:
                for g in guards:
                    if not g(model, world, *args):
                        break
                else:
                    r = fn(model, world, *args)
                    if r is not None:
                        succ.append((r.world if type(r) is Result else r, procs))
            for i, by_label, p in procs_of:
                t = procs[i]
                for a in by_label[t[0]]:
                    me = Me(p, t if t[0] else (a.label,) + t[1:])
                    for g in a.guards:
                        if not g(model, world, me, *a.args):
                            break
                    else:
                        r = a.fn(model, world, me, *a.args)
                        if r is not None:
                            succ.append((r.world, procs[:i] + (r.proc,) + procs[i + 1:]))
            transitions += len(succ)
            for nst in succ:
                if nst not in seen:
                    seen.add(nst)
                    nxt.append(nst)
        frontier = nxt
    return len(seen), transitions


def timed(fn):
    t0 = time.process_time()
    out = fn()
    return out, time.process_time() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", nargs="?", default="xe")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    ap.add_argument("--engine", action="store_true", help="also time explore() and check()")
    ap.add_argument("--with-gc", action="store_true", help="the bare loop with the GC on")
    args = ap.parse_args(argv)
    overrides = dict(kv.split("=", 1) for kv in args.set)
    try:
        model, _ = build(args.model, overrides)
    except SvmCheckError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if model.steps_dynamic:
        print(json.dumps({"model": model.name, "skipped": "state-dependent step arguments"}))
        return 0
    if args.with_gc:
        (states, transitions), secs = timed(lambda: bare_bfs(model))
    else:
        from svmcheck.explore.bfs import no_gc
        with no_gc():
            (states, transitions), secs = timed(lambda: bare_bfs(model))
    out = {"model": model.name, "config": model.config.as_dict(), "states": states,
           "transitions": transitions, "bare_cpu_s": round(secs, 3),
           "bare_states_per_s": round(states / secs)}
    if args.engine:
        from svmcheck.check import check
        from svmcheck.explore.bfs import explore
        ex, esecs = timed(lambda: explore(model))
        assert len(ex.states) == states, (len(ex.states), states)
        _, csecs = timed(lambda: check(model, save_dir=None))
        out.update(explore_cpu_s=round(esecs, 3), explore_ratio=round(secs / esecs, 3),
                   check_cpu_s=round(csecs, 3), check_ratio=round(secs / csecs, 3))
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
