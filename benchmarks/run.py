"""Benchmarks for issue 7: per model and size, svmcheck in each mode, with SPIN beside it.

    python benchmarks/run.py [--json] [--quick] [--workers N]

For every (model, size) it runs, each in a fresh process (so peak RSS is that run's):

* ``exact``: one worker, every state kept (the default ``svmcheck check``);
* ``compact``: one worker, hash-compact (64-bit fingerprints);
* ``workers``: ``--workers N`` (default: every core), hash-compact;
* ``unreduced_safety``, ``symmetry``, ``por``: the safety properties only, without reduction
  and with ``--symmetry`` / ``--por`` (liveness is checked unreduced), a reduction skipped
  with the reason when this svmcheck lacks it;

and reports unique ``states``, ``transitions``, ``seconds`` (wall), ``states_per_s``,
``peak_rss`` (bytes) and ``bytes_per_state`` (peak RSS growth over the run divided by the
states; with workers, the coordinator's growth plus each worker's) and ``cpu_seconds`` (this
process and its workers: on a loaded machine, wall time alone misleads).  Beside each entry, ``spin``
holds SPIN's numbers on the exported model (``svmcheck export MODEL --promela``, then
``spin -a``, ``cc``, ``./pan``), or ``null`` with ``spin_reason``.  ``ratios`` compares the
modes.  ``--quick`` runs small sizes without SPIN (under a minute); the full run takes long
(compiling each exported model's pan.c alone takes minutes).
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

XE_SYM = {"pages": "1", "vma_layout": "a", "gpu_kinds": "r"}   # GPUs interchangeable
# docs/reductions.md's 3-GPU instance: symmetric links, every GPU alike (475,240 states)
XE3 = {"gpus": "3", "default_link": "2", "gpu_kinds": "a", "pages": "1", "vma_layout": "a",
       "chunk_pages": "1", "cpu_writes": "0", "cpu_reads": "false"}
QUICK = [("pt-fence", {}), ("kfd", {"gpus": "1", "gpu_kinds": "a"}),
         ("xe", {"gpus": "2", **XE_SYM}),
         (os.path.join(ZOO, "bits.py"), {"bits": "14"})]
PT_BIG = {"jobs": "3", "sched_jobs": "2", "vram_free": "2", "pressure": "2",
          "emergency_pool": "3"}
FULL = [("pt-fence", {}), ("pt-fence", PT_BIG), ("mirror", {}), ("kfd", {}), ("xe", {}),
        ("xe", {"evictions": "1"}),         # about a minute on one core: for --workers
        ("xe", XE3), (os.path.join(ZOO, "bits.py"), {"bits": "18"})]


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


def spin(model, sets, timeout: float) -> tuple[dict | None, str | None]:
    """SPIN on the exported Promela model, or (None, why not).  pan is built with -O1 (pan.c
    of a shipped model is ~15k lines: -O2 takes over ten minutes here) and run with -c0 (go on
    after a violation, as svmcheck does) for every state count to be comparable."""
    if shutil.which("spin") is None:
        return None, "spin is not on PATH (Debian package 'spin')"
    try:
        import importlib
        sys.path.insert(0, ROOT)
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
    # -o1 -o3: spin's dataflow optimisation and statement merging are superlinear in the
    # number of transitions (xe at 1 GPU: minutes -> 28 s) and change nothing in one loop of
    # d_steps over globals (tests/test_spin.py: the same state counts)
    steps = [["spin", "-a", "-o1", "-o3", "model.pml"],
             # the export runs up to 255 processes (svmcheck/export/promela.py): each adds
             # to the state vector, past SPIN's default 1024 bytes on the big SVM exports
             ["cc", "-O1", "-DNOREDUCE", "-DSAFETY", "-DVECTORSZ=8192", "-o", "pan", "pan.c"],
             ["./pan", "-m1000000", "-c0", "-n"]]
    out, t_pan = "", 0.0
    for cmd in steps:
        t0 = time.perf_counter()
        try:
            p = subprocess.run(cmd, cwd=work, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return None, f"{' '.join(cmd[:2])} took more than {timeout:.0f} s"
        out, t_pan = p.stdout, time.perf_counter() - t0
        if cmd[0] != "./pan" and p.returncode:
            return None, f"{cmd[0]} failed: " + ((p.stderr or p.stdout).strip().splitlines()
                                                   or ["?"])[-1]
    st = re.search(r"(\d+) states, stored", out)
    tr = re.search(r"(\d+) transitions", out)
    el = re.search(r"elapsed time ([\d.e+-]+) seconds", out)
    mem = re.search(r"([\d.]+)\s+actual memory usage for states", out)
    if not st:
        return None, "could not read pan's state count"
    n = int(st.group(1))
    secs = float(el.group(1)) if el and float(el.group(1)) > 0 else t_pan
    return {"states": n, "transitions": int(tr.group(1)) if tr else None,
            "seconds": round(secs, 3), "states_per_s": round(n / secs) if secs > 0 else None,
            "bytes_per_state": round(float(mem.group(1)) * 2 ** 20 / n, 1) if mem else None}, None


def bench(model, sets, workers, help_text, spin_timeout=None) -> dict:
    name = os.path.basename(model)
    entry = {"model": name, "config": sets, "modes": {}}
    modes = [("exact", ["--exact"], 1), ("compact", ["--compact"], 1),
             ("workers", ["--workers", str(workers)], workers)]
    for mode, flags, w in modes:
        entry["modes"][mode] = run_mode(model, sets, flags, w)
    # reductions are compared on the safety properties: liveness is checked unreduced
    props = [a for p in safety_properties(model, sets) for a in ("--property", p)]
    entry["modes"]["unreduced_safety"] = run_mode(model, sets, props)
    for flag in ("--symmetry", "--por"):
        mode = flag.lstrip("-")
        if flag in help_text:
            entry["modes"][mode] = run_mode(model, sets, [flag] + props)
        else:
            entry["modes"][mode] = {"skipped": f"this svmcheck has no {flag}"}
    if spin_timeout is None:
        sp, why = None, "skipped with --quick: building SPIN's pan takes minutes per model"
    else:
        sp, why = spin(model, sets, spin_timeout)
    for m in entry["modes"].values():
        m["spin"] = sp
        if sp is None:
            m["spin_reason"] = why
    ex, wk = entry["modes"]["exact"], entry["modes"]["workers"]
    ratios = {}
    if "states_per_s" in ex and "states_per_s" in wk and ex["seconds"]:
        ratios["workers_speedup"] = round(ex["seconds"] / wk["seconds"], 2)
    cp = entry["modes"]["compact"]
    if "seconds" in cp and "seconds" in wk and wk["seconds"]:
        # the same mode (hash-compact) on one process and on N
        ratios["workers_speedup_vs_compact"] = round(cp["seconds"] / wk["seconds"], 2)
    if "states_per_s" in cp and "states_per_s" in ex:
        ratios["compact_speed_vs_exact"] = round(cp["states_per_s"] / ex["states_per_s"], 2)
    if sp and "states_per_s" in ex:
        ratios["exact_vs_spin_states_per_s"] = round(ex["states_per_s"] / sp["states_per_s"], 3)
    us = entry["modes"]["unreduced_safety"]
    if sp and "states_per_s" in us:
        # like for like: SPIN's claim is the always-properties only
        ratios["safety_vs_spin_states_per_s"] = round(us["states_per_s"] / sp["states_per_s"], 3)
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
    ap.add_argument("--spin-timeout", type=float, default=1800.0, metavar="S",
                    help="per SPIN step (compile, run); SPIN is skipped with --quick")
    ap.add_argument("--model", action="append", metavar="NAME",
                    help="only the entries of this model (repeatable)")
    args = ap.parse_args(argv)
    help_text = check_help()
    results = []
    todo = [(m, s) for m, s in (QUICK if args.quick else FULL)
            if not args.model or os.path.basename(m) in args.model]
    for model, sets in todo:
        r = bench(model, sets, args.workers, help_text,
                  None if args.quick else args.spin_timeout)
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
