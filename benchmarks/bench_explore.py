"""Exploration benchmark: unique states, transitions, states/s, peak RSS and bytes/state.

    python benchmarks/bench_explore.py                      # xe at a 10-60 s size
    python benchmarks/bench_explore.py --model tests/zoo/bits.py --set bits=20
    python benchmarks/bench_explore.py --raw --tracemalloc  # BFS only, exact Python bytes

By default it checks every property of the shipped model ``xe`` with
gpus=1 pages=2 gpu_accesses=3 evictions=1 (about 234k states, 15 s on one 2020s core);
if ``xe`` is not available it falls back to the zoo's 2**20-state ``bits`` model.
Not run by the test suite.

Memory: ``peak_rss`` is the process's high-water mark (``resource.getrusage``);
``bytes/state`` is the growth of the resident set across the run divided by the states
(visited dict, states, parent arrays, and the edges that liveness keeps), or, with
``--tracemalloc``, the peak of Python allocations traced during the run (exact, but several times slower).
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
import tracemalloc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from svmcheck.check import check  # noqa: E402
from svmcheck.errors import SvmCheckError  # noqa: E402
from svmcheck.explore.bfs import explore  # noqa: E402
from svmcheck.registry import build  # noqa: E402

DEFAULT = ("xe", ["gpus=1", "pages=2", "gpu_accesses=3", "evictions=1"])
FALLBACK = (os.path.join(ROOT, "tests", "zoo", "bits.py"), ["bits=20"])


def rss_bytes() -> int:
    """The current resident set size (Linux /proc), else the peak from getrusage."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return peak_rss_bytes()


def peak_rss_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024   # Linux reports KiB


def load(name, sets):
    overrides = dict(kv.split("=", 1) for kv in sets)
    model, _ = build(name, overrides)
    return model


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="shipped model name or path to a .py (default: xe)")
    ap.add_argument("--set", action="append", default=None, metavar="NAME=VALUE")
    ap.add_argument("--raw", action="store_true",
                    help="plain BFS without properties or edges (the explorer's own speed)")
    ap.add_argument("--tracemalloc", action="store_true",
                    help="measure bytes/state with tracemalloc (slower, exact)")
    args = ap.parse_args(argv)

    name = args.model or DEFAULT[0]
    sets = args.set if args.set is not None else (DEFAULT[1] if args.model is None else [])
    try:
        model = load(name, sets)
    except SvmCheckError as e:
        if args.model is not None:
            print(f"error: {e}", file=sys.stderr)
            return 2
        print(f"note: default model unavailable ({e}); using the zoo's bits model",
              file=sys.stderr)
        name, sets = FALLBACK
        model = load(name, sets)

    print(f"model={model.name} " + " ".join(sets) + (" (raw BFS)" if args.raw else ""))
    if args.tracemalloc:
        tracemalloc.start()
    rss0 = rss_bytes()
    t0 = time.perf_counter()
    if args.raw:
        ex = explore(model)
        states, transitions, depth, result = len(ex.states), ex.transitions, ex.depth, "-"
    else:
        with tempfile.TemporaryDirectory() as out:
            res = check(model, save_dir=out)
        states, transitions, depth, result = res.states, res.transitions, res.depth, res.result
    seconds = time.perf_counter() - t0
    grown = rss_bytes() - rss0
    traced = None
    if args.tracemalloc:
        traced = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()

    print(f"result={result} states={states} transitions={transitions} depth={depth}")
    print(f"seconds={seconds:.2f} states/s={states / seconds:,.0f} "
          f"transitions/s={transitions / seconds:,.0f}")
    print(f"peak_rss={peak_rss_bytes() / 2**20:.1f}MiB "
          f"rss_growth={grown / 2**20:.1f}MiB bytes/state={grown / max(states, 1):.0f}")
    if traced is not None:
        print(f"tracemalloc_peak={traced / 2**20:.1f}MiB "
              f"bytes/state(traced)={traced / max(states, 1):.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
