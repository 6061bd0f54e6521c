"""Inductive-invariant proof benchmark: ``svmcheck prove`` on the sizes docs/z3.md reports.

    python benchmarks/bench_prove.py            # every row but the default sizes
    python benchmarks/bench_prove.py --defaults # also the seed models' default sizes (hours)
    python benchmarks/bench_prove.py --quick    # the rows under 10 s
    python benchmarks/bench_prove.py --json

Each row runs ``svmcheck prove MODEL --json`` in its own process and reports the reachable
states that give the layout, the symbolic step paths, how many properties are proved, the
result and the wall time (memory: run a row under ``/usr/bin/time -v``).  Not run by the
test suite.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

ONE_PAGE = ["gpus=1", "pages=1", "vma_layout=a"]
KFD_SMALL = ONE_PAGE + ["granularity=1", "vram_pages=1", "evictions=0", "gpu_kinds=a"]
ROWS = [  # (model, --set values, quick)
    ("pt-fence", [], True),
    ("pt-fence", ["jobs=3", "sched_jobs=2", "vram_free=2", "pressure=2", "emergency_pool=3"],
     False),
    ("xe", ONE_PAGE + ["gpu_kinds=a"], True),
    ("xe", ["gpus=1", "pages=2", "vma_layout=aa", "chunk_pages=1", "gpu_kinds=a"], False),
    ("xe-fork", [], False),                       # its default size
    ("mirror", ["pages=2", "vma_layout=a-", "chunk_pages=1"], False),
    ("kfd", KFD_SMALL + ["forks=0"], True),
    ("kfd", KFD_SMALL + ["forks=1"], False),
    ("kfd-unmap", KFD_SMALL, True),
    ("xe", ["gpus=1", "pages=2", "vma_layout=aa", "gpu_kinds=a"], False),   # 2-page chunks
    ("xe", ["gpus=2", "pages=1", "vma_layout=a", "gpu_kinds=a"], False),
    # configuration search without a depth bound: every link matrix and switch at once
    ("xe-efault-in-place", ["gpus=2", "pages=1", "vma_layout=a", "chunk_pages=1",
                            "vram_pages=1", "cpu_writes=0", "cpu_reads=false", "gpu_kinds=r,a",
                            "--free", "links", "--free", "sys_atomics"], False),
]
DEFAULTS = [("xe", [], None), ("xe-efault-in-place", [], None), ("mirror", [], None),
            ("kfd-unmap", [], None), ("kfd", [], None)]


def run(model: str, sets: list[str]) -> dict:
    argv = [sys.executable, "-m", "svmcheck", "prove", model, "--json"]
    for kv in sets:
        argv += [kv] if kv.startswith("--") or argv[-1] == "--free" else ["--set", kv]
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        p = subprocess.Popen(argv + ["--out", out], cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        stdout, stderr = p.communicate()
        wall = time.perf_counter() - t0
    try:
        res = json.loads(stdout)
    except ValueError:
        return {"model": model, "set": sets, "error": (stderr or stdout).strip()[:200]}
    return {"model": model, "set": sets, "result": res["result"],
            "states": res["reachable_states"], "paths": res["encoding"]["paths"],
            "timing": res["timing"],
            "proved": sum(p["status"] == "proved" for p in res["properties"]),
            "properties": len(res["properties"]), "seconds": round(wall, 1)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="only the rows under 10 s")
    ap.add_argument("--json", action="store_true", help="one JSON object per row")
    ap.add_argument("--defaults", action="store_true",
                    help="also the seed models' default sizes (hours: kfd's alone is over one)")
    args = ap.parse_args()
    for model, sets, quick in ROWS + (DEFAULTS if args.defaults and not args.quick else []):
        if args.quick and not quick:
            continue
        r = run(model, sets)
        if args.json:
            print(json.dumps(r))
        elif "error" in r:
            print(f"{model:<18} {' '.join(sets) or 'default':<76} error: {r['error']}")
        else:
            print(f"{model:<18} {' '.join(sets) or 'default':<76} {r['states']:>7,} states "
                  f"{r['paths']:>7,} paths  {r['proved']}/{r['properties']} proved  "
                  f"{r['result']:<10} {r['seconds']:>6.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
