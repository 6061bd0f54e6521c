"""Benchmarks for issue 7: per model and size, svmcheck in each mode, with SPIN beside it.

    python benchmarks/run.py [--json] [--quick] [--workers N]

For every (model, size) it runs, each in a fresh process (so peak RSS is that run's):

* ``exact``: one worker, every state kept (the default ``svmcheck check``);
* ``compact``: one worker, hash-compact (64-bit fingerprints);
* ``workers``: ``--workers N`` (default: every core), hash-compact;
* ``reduced``: ``--symmetry`` / ``--por`` when this svmcheck has them (safety properties only,
  since a reduction is refused for liveness), else skipped with the reason;

and reports unique ``states``, ``transitions``, ``seconds`` (wall), ``states_per_s``,
``peak_rss`` (bytes) and ``bytes_per_state`` (peak RSS growth over the run divided by the
states; with workers, the coordinator's growth plus each worker's) and ``cpu_seconds`` (this
process and its workers: on a loaded machine, wall time alone misleads).  Beside each entry, ``spin``
holds SPIN's numbers on the exported model (``svmcheck export MODEL --promela``, then
``spin -a``, ``cc``, ``./pan``), or ``null`` with ``spin_reason``.  ``ratios`` compares the
modes.  ``--quick`` runs small sizes (under a minute); the full run takes several minutes.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ZOO = os.path.join(ROOT, "tests", "zoo")

QUICK = [("pt-fence", {}), ("kfd", {"gpus": "1", "gpu_kinds": "a"}),
         ("xe", {"gpus": "1", "pages": "2", "gpu_kinds": "r"}),
         (os.path.join(ZOO, "bits.py"), {"bits": "14"})]
FULL = [("pt-fence", {}), ("mirror", {}), ("kfd", {}), ("xe", {}),
        (os.path.join(ZOO, "bits.py"), {"bits": "18"})]


def _rss_now() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def child(argv) -> int:
    """Run one ``svmcheck check`` in this process and print its JSON plus memory figures."""
    sys.path.insert(0, ROOT)
    import io
    from contextlib import redirect_stdout

    from svmcheck import cli
    from svmcheck.explore import graph, levels  # noqa: F401  (numpy, networkx: not per state)
    rss0 = _rss_now()
    buf = io.StringIO()
    t0 = time.perf_counter()
    with redirect_stdout(buf):
        rc = cli.main(argv)
    wall = time.perf_counter() - t0
    text = buf.getvalue()
    out = json.loads(text) if text.strip().startswith("{") else {"error": text.strip()}
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    out.update(rc=rc, wall=wall, rss0=rss0,
               cpu=me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime,
               peak=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
               child_peak=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)
    print(json.dumps(out))
    return 0


def run_mode(model, sets, flags, workers=1):
    argv = ["check", model, "--json", "--quiet", "--out", tempfile.mkdtemp(prefix="svmck-"),
            "--no-shrink"] + [a for k, v in sets.items() for a in ("--set", f"{k}={v}")] + flags
    p = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", "--", *argv],
                       capture_output=True, text=True)
    try:
        r = json.loads(p.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"error": (p.stderr.strip().splitlines() or ["no output"])[-1]}
    if "states" not in r:
        err = (p.stderr.strip().splitlines() or [r.get("error", "failed")])[-1]
        return {"error": err}
    grow = max(0, r["peak"] - r["rss0"])
    if workers > 1:
        grow += workers * max(0, r["child_peak"] - r["rss0"])
    secs = r["wall"]
    return {"states": r["states"], "transitions": r["transitions"], "seconds": round(secs, 3),
            "cpu_seconds": round(r["cpu"], 3),
            "states_per_s": round(r["states"] / secs) if secs > 0 else None,
            "peak_rss": r["peak"], "bytes_per_state": round(grow / max(1, r["states"]), 1),
            "result": r["result"]}


def check_help() -> str:
    p = subprocess.run([sys.executable, "-m", "svmcheck", "check", "--help"], cwd=ROOT,
                       capture_output=True, text=True)
    return p.stdout


def safety_properties(model, sets) -> list[str]:
    sys.path.insert(0, ROOT)
    from svmcheck.registry import build
    m, _ = build(model, dict(sets))
    return [p.name for p in m.properties if not p.is_liveness]


def spin(model, sets) -> tuple[dict | None, str | None]:
    """SPIN on the exported Promela model, or (None, why not)."""
    if shutil.which("spin") is None:
        return None, "spin is not on PATH (Debian package 'spin')"
    try:
        import importlib
        importlib.import_module("svmcheck.export.promela")
    except ImportError:
        return None, "svmcheck.export.promela is not available in this svmcheck"
    if shutil.which("cc") is None:
        return None, "no C compiler (cc) to build SPIN's verifier"
    work = tempfile.mkdtemp(prefix="svmspin-")
    pml = os.path.join(work, "model.pml")
    sargs = [a for k, v in sets.items() for a in ("--set", f"{k}={v}")]
    p = subprocess.run([sys.executable, "-m", "svmcheck", "export", model, *sargs,
                        "--promela", pml], cwd=ROOT, capture_output=True, text=True)
    if p.returncode != 0:
        return None, "export failed: " + (p.stderr.strip().splitlines() or ["?"])[-1]
    t0 = time.perf_counter()
    steps = [["spin", "-a", "model.pml"],
             ["cc", "-O2", "-DNOREDUCE", "-DSAFETY", "-o", "pan", "pan.c"],
             ["./pan", "-m10000000"]]
    out = ""
    for cmd in steps:
        p = subprocess.run(cmd, cwd=work, capture_output=True, text=True)
        out = p.stdout
        if p.returncode not in (0, 1) or (cmd[0] != "./pan" and p.returncode):
            return None, f"{cmd[0]} failed: " + ((p.stderr or p.stdout).strip().splitlines()
                                                   or ["?"])[-1]
    secs = time.perf_counter() - t0
    st = re.search(r"(\d+) states, stored", out)
    tr = re.search(r"(\d+) transitions", out)
    el = re.search(r"elapsed time ([\d.e+-]+) seconds", out)
    mem = re.search(r"([\d.]+)\s+total actual memory usage", out)
    if not st:
        return None, "could not read pan's state count"
    pan_secs = float(el.group(1)) if el else secs
    n = int(st.group(1))
    return {"states": n, "transitions": int(tr.group(1)) if tr else None,
            "seconds": round(pan_secs, 3), "seconds_with_compile": round(secs, 3),
            "states_per_s": round(n / pan_secs) if pan_secs > 0 else None,
            "bytes_per_state": round(float(mem.group(1)) * 2 ** 20 / n, 1) if mem else None}, None


def bench(model, sets, workers, help_text) -> dict:
    name = os.path.basename(model)
    entry = {"model": name, "config": sets, "modes": {}}
    modes = [("exact", ["--exact"], 1), ("compact", ["--compact"], 1),
             ("workers", ["--workers", str(workers)], workers)]
    red = [f for f in ("--symmetry", "--por") if f in help_text]
    for mode, flags, w in modes:
        entry["modes"][mode] = run_mode(model, sets, flags, w)
    if red:
        props = [a for p in safety_properties(model, sets) for a in ("--property", p)]
        entry["modes"]["reduced"] = run_mode(model, sets, red + props)
        entry["modes"]["reduced"]["flags"] = red
        entry["modes"]["unreduced_safety"] = run_mode(model, sets, props)
    else:
        entry["modes"]["reduced"] = {"skipped": "this svmcheck has no --symmetry or --por"}
    sp, why = spin(model, sets)
    for m in entry["modes"].values():
        m["spin"] = sp
        if sp is None:
            m["spin_reason"] = why
    ex, wk = entry["modes"]["exact"], entry["modes"]["workers"]
    ratios = {}
    if "states_per_s" in ex and "states_per_s" in wk and ex["seconds"]:
        ratios["workers_speedup"] = round(ex["seconds"] / wk["seconds"], 2)
    cp = entry["modes"]["compact"]
    if "states_per_s" in cp and "states_per_s" in ex:
        ratios["compact_speed_vs_exact"] = round(cp["states_per_s"] / ex["states_per_s"], 2)
    if sp and "states_per_s" in ex:
        ratios["exact_vs_spin_states_per_s"] = round(ex["states_per_s"] / sp["states_per_s"], 3)
    entry["ratios"] = ratios
    return entry


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        return child(argv[2:] if argv[1:2] == ["--"] else argv[1:])
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--quick", action="store_true", help="small sizes, under a minute")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args(argv)
    help_text = check_help()
    results = []
    for model, sets in (QUICK if args.quick else FULL):
        r = bench(model, sets, args.workers, help_text)
        results.append(r)
        if not args.json:
            print(f"{r['model']} {r['config']}", flush=True)
            for mode, m in r["modes"].items():
                if "states" in m:
                    print(f"  {mode:<17} states={m['states']} transitions={m['transitions']} "
                          f"sec={m['seconds']} states/s={m['states_per_s']} "
                          f"peak_rss={m['peak_rss'] >> 20}MiB B/state={m['bytes_per_state']}")
                else:
                    print(f"  {mode:<17} {m.get('skipped') or m.get('error')}")
            sp = r["modes"]["exact"]
            print(f"  spin              {sp['spin'] or sp.get('spin_reason')}")
            print(f"  ratios            {r['ratios']}", flush=True)
    if args.json:
        print(json.dumps({"benchmarks": results, "cpus": os.cpu_count()}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
