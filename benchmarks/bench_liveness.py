"""Liveness BMC benchmark: ``svmcheck bmc --liveness`` on the rows docs/z3.md reports.

    python benchmarks/bench_liveness.py          # xe-retry-unbounded and the zoo
    python benchmarks/bench_liveness.py --free   # also the xe retry-bound search (long)
    python benchmarks/bench_liveness.py --json

Each row runs in its own process and reports the verdict, the lasso's length and cycle, the
step paths encoded, the wall time and the child's peak memory, next to the explorer's
(``svmcheck check``) time on the same row.  Not run by the test suite.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ZOO = os.path.join(ROOT, "tests", "zoo")
ROWS = [  # (model, extra arguments, depth)
    (os.path.join(ZOO, "pingpong.py:livelock"), [], 6),
    (os.path.join(ZOO, "evict_retry.py"), ["--free", "retry_bound"], 10),
    ("xe-retry-unbounded", ["--property", "fault_progress"], 13),
]
FREE = [("xe-retry-unbounded", ["--property", "fault_progress", "--free", "evict_retry_bound"],
         14)]


def _timed(argv):
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    p = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return p, time.perf_counter() - t0, max(peak, before) // 1024


def run(model, extra, depth) -> dict:
    with tempfile.TemporaryDirectory() as out:
        p, wall, mb = _timed([sys.executable, "-m", "svmcheck", "bmc", model, "--liveness",
                              "--depth", str(depth), "--json", "--out", out, *extra])
        free = "--free" in extra      # check explores one configuration: compare without
        cwall = None if free else _timed([sys.executable, "-m", "svmcheck", "check", model,
                                          "--json", "--out", out])[1]
    try:
        res = json.loads(p.stdout)
    except ValueError:
        return {"model": model, "error": (p.stderr or p.stdout).strip()[:200]}
    found = [x for x in res["properties"] if x["status"] == "violated"]
    return {"model": os.path.basename(model), "depth": depth, "result": res["result"],
            "length": found[0]["length"] if found else None,
            "cycle": found[0]["cycle"] if found else None,
            "configurations": [c["values"] for c in res.get("configurations", [])],
            "paths": res["encoding"]["paths"], "seconds": round(wall, 1), "peak_mb": mb,
            "check_seconds": None if cwall is None else round(cwall, 1)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--free", action="store_true", help="also the xe retry-bound search")
    ap.add_argument("--json", action="store_true", help="one JSON object per row")
    args = ap.parse_args()
    for row in ROWS + (FREE if args.free else []):
        r = run(*row)
        print(json.dumps(r) if args.json else
              "  ".join(f"{k}={v}" for k, v in r.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
