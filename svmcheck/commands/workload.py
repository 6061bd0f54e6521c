"""``svmcheck run`` and ``svmcheck compare``: a workload on a protocol model, under policies.

    svmcheck run MODEL --workload FILE|GENERATOR[:k=v,...] [--policy k=v]... [--json] [--seed N]
    svmcheck compare MODEL --workload W --policy "a=1,b=2" --policy "..." [--metrics m1,m2]
                     [--plot OUT] [--json] [--seed N]

Exit codes: 0 the run(s) completed coherently and every ``expect`` held; 1 a coherence
mismatch (a replayable counterexample is saved), a failed ``expect``, a livelock or deadlock;
2 bad input (one ``error:`` line).
"""
from __future__ import annotations

import json
import os
import sys

from ..errors import SvmCheckError

DEFAULT_METRICS = ("gpu_faults", "fault_batches", "migrations_h2d", "migrations_d2h",
                   "evictions", "modelled_time_ns")
TABLE_METRICS = ("accesses", "gpu_faults", "cpu_faults", "fault_batches", "prefetch_faults",
                 "migrations_h2d", "migrations_d2h", "migrations_d2d", "populated_vram",
                 "bytes_h2d",
                 "bytes_d2h", "evictions", "ebusy", "efault", "retries", "invalidations",
                 "thrashing_pages", "remote_accesses", "resident_peak", "modelled_time_ns")


def add_parsers(sub):
    r = sub.add_parser("run", help="run a workload on a model: metrics, coherence checked")
    _common(r)
    r.add_argument("--policy", action="append", default=[], metavar="K=V",
                   help="a policy setting, e.g. granularity=64k (repeatable; see "
                        "docs/workloads.md)")
    c = sub.add_parser("compare", help="run a workload under several policies: table and plot")
    _common(c)
    c.add_argument("--policy", action="append", default=[], metavar="K=V,...",
                   help="one policy to compare, e.g. \"granularity=4k,prefetch=tree\" "
                        "(repeat for each; \"\" is the default policy)")
    c.add_argument("--metrics", default=",".join(DEFAULT_METRICS), metavar="M1,M2",
                   help=f"metrics to tabulate and plot (default {','.join(DEFAULT_METRICS)})")
    c.add_argument("--plot", metavar="OUT",
                   help="write OUT.png and OUT.svg: one bar chart per metric across policies")


def _common(p):
    p.add_argument("model", help="a shipped model's name (xe, kfd, mirror...) or a .py path")
    p.add_argument("--workload", required=True, metavar="FILE|GENERATOR[:k=v,...]",
                   help="an svmtrace .jsonl(.gz) file or a generator spec, e.g. "
                        "stream:footprint_bytes=64M")
    p.add_argument("--seed", type=int, default=0, help="scheduler seed (default 0)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--out", default="counterexamples", metavar="DIR",
                   help="where a coherence counterexample is written (default "
                        "counterexamples)")


def load_workload(spec: str):
    """A workload from a file path or a ``GENERATOR[:k=v,...]`` spec."""
    from ..workload import format as fmt
    if os.path.exists(spec) or spec.endswith((".jsonl", ".gz", ".json")):
        return fmt.load(spec)
    try:
        from ..workload import generators
    except ImportError:
        raise SvmCheckError(f"'{spec}' is not a file and no generators are installed; pass "
                            f"an svmtrace .jsonl file") from None
    name, params = generators.parse_spec(spec)
    return fmt.load(generators.generate(name, **params))


def _run_one(args, wl, policy, label=""):
    from ..workload.runner import run
    if args.json or args.quiet or not sys.stderr.isatty():
        return run(wl, args.model, policy, args.seed, None, args.out)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
    with Progress("[progress.description]{task.description}", BarColumn(),
                  MofNCompleteColumn(), TimeRemainingColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label or "accesses", total=None)

        def tick(done, total):
            bar.update(task, completed=done, total=total)
        return run(wl, args.model, policy, args.seed, tick, args.out)


def _policy_text(pairs) -> str:
    return ",".join(p for p in pairs if p.strip())


def cmd_run(args) -> int:
    from ..workload import policy as pol
    wl = load_workload(args.workload)
    pol.parse(wl.header.get("policy"), _policy_text(args.policy))     # bad input: exit 2
    res = _run_one(args, wl, _policy_text(args.policy))
    if args.json:
        print(json.dumps(res.to_json(), indent=1))
    else:
        _table([res], TABLE_METRICS, title=f"{res.model} on {os.path.basename(args.workload)}")
        _verdict(res)
    return 0 if res.ok else 1


def _verdict(res):
    if res.ok:
        print(f"ok: every access read the latest data (seed {res.seed})")
    else:
        print(f"FAILED: {res.failure}")
        if res.trace_path:
            print(f"counterexample: {res.trace_path} (svmcheck replay {res.trace_path})")


def cmd_compare(args) -> int:
    from ..workload import policy as pol
    wl = load_workload(args.workload)
    policies = args.policy or [""]
    for p in policies:
        pol.parse(wl.header.get("policy"), p)
    names = [m.strip() for m in args.metrics.split(",") if m.strip()]
    results = []
    for p in policies:
        results.append(_run_one(args, wl, p, label=pol.label(pol.parse(p))))
    known = results[0].metrics
    bad = [m for m in names if m not in known or isinstance(known[m], dict)]
    if bad:
        raise SvmCheckError(f"unknown metric '{bad[0]}'; available: "
                            f"{', '.join(k for k, v in known.items() if not isinstance(v, dict))}")
    title = f"{results[0].model} on {os.path.basename(args.workload)}"
    files = plot(results, names, args.plot, title) if args.plot else []
    if args.json:
        print(json.dumps({"model": args.model, "workload": args.workload,
                          "metrics": names, "plots": files,
                          "results": [r.to_json() for r in results]}, indent=1))
    else:
        _table(results, names, title=title)
        for r in results:
            if not r.ok:
                print(f"FAILED under {pol.label(pol.parse(r.policy))}: {r.failure}")
        for f in files:
            print(f"wrote {f}")
    return 0 if all(r.ok for r in results) else 1


def _table(results, names, title):
    from rich.console import Console
    from rich.table import Table

    from ..workload.policy import label, parse
    t = Table(title=title, min_width=len(title) + 4)
    t.add_column("metric")
    for r in results:
        t.add_column(label(parse(r.policy)), justify="right")
    for n in names:
        t.add_row(n, *[f"{r.metrics[n]:,}" if isinstance(r.metrics[n], int)
                       else str(r.metrics[n]) for r in results])
    links = sorted({k for r in results for k in r.metrics["bytes_by_link"]})
    for k in links:
        t.add_row(f"bytes {k}", *[f"{r.metrics['bytes_by_link'].get(k, 0):,}" for r in results])
    Console(width=max(100, 28 + 22 * len(results))).print(t)


def plot(results, names, out: str, title: str = "") -> list[str]:
    """One bar chart per metric, one bar per policy; written as OUT.png and OUT.svg."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..workload.policy import label, parse
    base = out[:-4] if out.lower().endswith((".png", ".svg")) else out
    labels = [label(parse(r.policy)) for r in results]
    cols = min(3, len(names))
    rows = -(-len(names) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols + 0.5, 3.4 * rows), squeeze=False)
    for ax in axes.flat[len(names):]:
        ax.set_visible(False)
    for ax, n in zip(axes.flat, names):
        ax.bar(range(len(results)), [r.metrics[n] for r in results],
               color=[f"C{i}" for i in range(len(results))])
        ax.set_title(n, fontsize=9)
        ax.set_xticks(range(len(results)), labels, rotation=30, ha="right", fontsize=7)
        ax.tick_params(axis="y", labelsize=7)
    fig.suptitle(title or results[0].model, fontsize=10)
    fig.tight_layout()
    files = []
    for ext in ("png", "svg"):
        path = f"{base}.{ext}"
        try:
            fig.savefig(path, dpi=120)
        except OSError as e:
            plt.close(fig)
            raise SvmCheckError(f"cannot write plot '{path}': {e.strerror}; check the "
                                f"path") from None
        files.append(path)
    plt.close(fig)
    return files


COMMANDS = {"run": cmd_run, "compare": cmd_compare}
