"""Runner benchmark: simulated page accesses per second on a 1 GiB stream, and peak memory.

    python benchmarks/bench_runner.py                          # 1 GiB, default policy (Xe fit)
    python benchmarks/bench_runner.py --mib 64 --policy granularity=64k

The workload is one anonymous 1 GiB VMA (262,144 4-KiB pages) that the CPU writes once (a
host-built input) and the GPU then reads once, in order, on one stream: 524,288 page
accesses, every one checked for coherence, every GPU fault run label by label through the
xe model's own fault flow.  Peak memory is the process's ru_maxrss (the model, the block
worlds and the recorded actions; tracemalloc would slow the run several times).
Prints one JSON object.  Not run by the test suite.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from svmcheck.workload import format as fmt  # noqa: E402
from svmcheck.workload.runner import run  # noqa: E402

PS = 4096
BASE = 0x40000000


def stream(mib: int) -> fmt.Workload:
    pages = mib * 256
    header = {"svmtrace": 1, "page_size": PS,
              "processors": [{"id": "cpu0", "kind": "cpu"},
                             {"id": "gpu0", "kind": "gpu", "mem_bytes": 2 * mib << 20}]}
    events = [{"e": "mmap", "id": "A", "addr": BASE, "size": pages * PS},
              {"e": "run", "p": "cpu0", "op": "w", "addr": BASE, "count": pages},
              {"e": "sync"},
              {"e": "run", "p": "gpu0", "op": "r", "addr": BASE, "count": pages}]
    return fmt.load(fmt.Workload(header=header, events=events))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mib", type=int, default=1024, help="stream size in MiB (default 1024)")
    ap.add_argument("--policy", default="", help="policy k=v,... (default: the model's)")
    ap.add_argument("--model", default="xe")
    args = ap.parse_args()
    wl = stream(args.mib)
    t0 = time.perf_counter()
    res = run(wl, args.model, args.policy)
    dt = time.perf_counter() - t0
    m = res.metrics
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss     # KiB on Linux
    print(json.dumps({
        "model": args.model, "policy": args.policy or "default", "mib": args.mib,
        "pages": args.mib * 256, "ok": res.ok, "accesses": m["accesses"],
        "seconds": round(dt, 2), "accesses_per_s": round(m["accesses"] / dt),
        "model_steps": m["steps"], "steps_per_s": round(m["steps"] / dt),
        "gpu_faults": m["gpu_faults"], "migrations_h2d": m["migrations_h2d"],
        "peak_rss_mib": round(peak / 1024, 1)}, indent=1))


if __name__ == "__main__":
    main()
