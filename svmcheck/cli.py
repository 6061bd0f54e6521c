"""The ``svmcheck`` command: list · check · replay · show.

Exit codes (a contract other tools depend on): 0 every property holds and exploration is
complete (replay: the violation reproduces); 1 a property is violated or vacuous (replay: the
trace replays but no longer violates); 2 bad input, one line on stderr, no traceback;
3 a limit was reached with no violation found.
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import sys

from . import __version__
from .errors import SvmCheckError


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise SvmCheckError(f"{message}; see {self.prog} --help")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="svmcheck", description="Model checker for GPU SVM migration protocols.")
    p.add_argument("--version", action="version", version=f"svmcheck {__version__}")
    sub = p.add_subparsers(dest="cmd", parser_class=_Parser)

    ls = sub.add_parser("list", help="shipped models, their parameters and properties")
    ls.add_argument("model", nargs="?", help="show one model in detail")
    ls.add_argument("--json", action="store_true")

    c = sub.add_parser("check", help="explore a model and check its properties")
    c.add_argument("model", help="a shipped model's name or a path to a .py file")
    _add_model_args(c)
    c.add_argument("--property", action="append", default=[], metavar="NAME",
                   help="check only this property (repeatable)")
    c.add_argument("--max-states", type=_positive_int, metavar="N",
                   help="stop after N states (the run is then incomplete: exit 3)")
    c.add_argument("--max-depth", type=_positive_int, metavar="N",
                   help="explore at most N steps from an initial state")
    c.add_argument("--time-limit", type=_positive_float, metavar="S",
                   help="stop after S seconds")
    c.add_argument("--workers", type=_positive_int, default=1, metavar="N",
                   help="explore with N processes (hash-compact; same counts, verdicts and "
                        "counterexamples as one; default: 1)")
    c.add_argument("--compact", action="store_true",
                   help="hash-compact visited set: 64-bit fingerprints instead of states "
                        "(far less memory; verdicts carry a collision-probability bound)")
    c.add_argument("--exact", action="store_true",
                   help="keep every state (the default with one worker): a verdict is a "
                        "proof; refuses --compact, --workers > 1 and checkpoints")
    c.add_argument("--checkpoint", metavar="DIR",
                   help="write the visited set and frontier to DIR at level boundaries "
                        "(hash-compact); an interrupted run continues with --resume DIR")
    c.add_argument("--resume", metavar="DIR",
                   help="continue the run checkpointed in DIR (same model, configuration "
                        "and properties)")
    c.add_argument("--graph", metavar="FILE", help="write the state graph (.graphml/.gexf/.dot)")
    c.add_argument("--out", default="counterexamples", metavar="DIR",
                   help="where counterexamples are written (default: counterexamples)")
    c.add_argument("--json", action="store_true", help="print one JSON object")
    c.add_argument("--quiet", action="store_true", help="no progress, no traces")
    c.add_argument("--shrink", action=argparse.BooleanOptionalAction, default=None,
                   help="after a violation, re-check smaller configurations (fewer GPUs, "
                        "pages, accesses...) and report the smallest that still violates "
                        "(default: only when cheap, a complete run of at most 20000 states, "
                        "within 10 s)")
    c.add_argument("--progress", choices=("text", "json"), default="text",
                   help="progress lines on stderr, once a second: text or JSON (default: text)")
    c.add_argument("--junit", metavar="FILE",
                   help="write JUnit XML: one testcase per property (for CI)")
    c.add_argument("--symmetry", action="store_true",
                   help="explore one state per orbit of the GPUs the topology makes "
                        "interchangeable (self-checked; liveness checked unreduced)")
    c.add_argument("--por", action="store_true",
                   help="partial-order reduction of process-local steps (safety only; "
                        "liveness checked unreduced)")
    c.add_argument("--verify-reduction", action="store_true",
                   help="also run unreduced and fail (exit 2) unless verdicts, counts and "
                        "counterexample lengths agree (docs/reductions.md)")
    c.add_argument("--report", metavar="OUT.html",
                   help="write a self-contained HTML report, violations' traces inline")

    r = sub.add_parser("replay", help="re-run a saved counterexample and confirm it")
    r.add_argument("file", help="a counterexample file written by svmcheck check")
    r.add_argument("--json", action="store_true", help="print one JSON object")

    s = sub.add_parser("show", help="print a saved counterexample as a readable trace")
    s.add_argument("file", help="a counterexample file written by svmcheck check")
    s.add_argument("--swimlane", action="store_true",
                   help="one column per actor, one row per step")
    s.add_argument("--html", metavar="OUT",
                   help="write a self-contained HTML page (sequence diagram, changed fields)")

    g = sub.add_parser("graph", help="draw a counterexample's neighbourhood or livelock cycle")
    g.add_argument("file", help="a counterexample file written by svmcheck check")
    g.add_argument("--out", required=True, metavar="FILE", help="a .svg, .png or .dot file")
    g.add_argument("--radius", type=_positive_int, default=1,
                   help="steps of other successors drawn around the trace (default 1)")
    for mod in _command_modules():
        mod.add_parsers(sub)
    return p


# Commands that live in their own modules (one module per concern): each exposes
# ``add_parsers(sub)`` and ``COMMANDS = {name: handler}``.  Listed here, imported lazily.
_EXTRA = ("svmcheck.commands.symbolic", "svmcheck.commands.workload",
          "svmcheck.commands.export")


def _command_modules():
    import importlib
    import importlib.util
    mods = []
    for name in _EXTRA:
        if importlib.util.find_spec(name) is not None:
            mods.append(importlib.import_module(name))
    return mods


def _add_model_args(p):
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="set a configuration parameter (repeatable)")


def _positive(kind, what):
    """An argparse type: a positive ``kind`` (int or float)."""
    def parse(text):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not {what}") from None
        if v <= 0:
            raise argparse.ArgumentTypeError(f"'{text}' must be positive")
        return v
    return parse


_positive_int = _positive(int, "a whole number")
_positive_float = _positive(float, "a number of seconds")


def _overrides(pairs) -> dict:
    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise SvmCheckError(f"--set '{pair}' is not NAME=VALUE; e.g. --set gpus=2")
        k, v = pair.split("=", 1)
        out[k.strip()] = v
    return out


def main(argv=None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if args.cmd is None:
            raise SvmCheckError("no command given; use one of: list, check, replay, show "
                                "(see svmcheck --help)")
        handlers = {"list": cmd_list, "check": cmd_check, "replay": cmd_replay,
                    "show": cmd_show, "graph": cmd_graph}
        for mod in _command_modules():
            handlers.update(mod.COMMANDS)
        return handlers[args.cmd](args)
    except SvmCheckError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:          # `svmcheck show FILE | head`: the reader left
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 2
    except RecursionError:
        print("error: the model recursed too deeply while running a step; check its effects "
              "for unbounded recursion", file=sys.stderr)
        return 2


def cmd_list(args) -> int:
    from .registry import resolve, shipped
    models = {args.model: resolve(args.model)[0]} if args.model else shipped()
    rows = []
    for name, cls in models.items():
        m = cls()
        rows.append({"name": name, "description": cls.summary(),
                     "parameters": [{"name": f.name, "default": m.config.as_dict()[f.name],
                                     "help": f.metadata.get("help", "")}
                                    for f in cls.Config.params()],
                     "properties": [{"name": p.name, "kind": p.kind, "doc": p.summary}
                                    for p in m.properties]})
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    for r in rows:
        print(f"{r['name']:<22} {r['description']}")
        if args.model or len(rows) == 1:
            for p in r["parameters"]:
                print(f"    --set {p['name']}={json.dumps(p['default'])}  {p['help']}")
            for p in r["properties"]:
                print(f"    {p['kind']:<15}{p['name']}  {p['doc']}")
        else:
            params = " ".join(f"{p['name']}={json.dumps(p['default'])}" for p in r["parameters"])
            props = ", ".join(p["name"] for p in r["properties"])
            print(f"{'':<22} params: {params or '(none)'}")
            print(f"{'':<22} properties: {props}")
    return 0


def cmd_check(args) -> int:
    from .check import check
    from .explore.bfs import Limits
    from .progress import Progress
    from .registry import build
    from .report.text import format_result
    if args.graph:
        from .explore.graph import FORMATS
        if not args.graph.lower().endswith(FORMATS):
            raise SvmCheckError(f"--graph '{args.graph}' has an unknown extension; use one of "
                                f"{', '.join(FORMATS)}")
    model, path = build(args.model, _overrides(args.set))
    progress = None
    if not (args.quiet or args.json):
        progress = Progress(json_lines=args.progress == "json", max_depth=args.max_depth,
                            max_states=args.max_states)
    if args.exact and (args.compact or args.workers > 1 or args.checkpoint or args.resume):
        raise SvmCheckError("--exact keeps every state in one process; drop --compact, "
                            "--workers, --checkpoint and --resume, or drop --exact")
    run = check
    if args.symmetry or args.por:
        from .check import check_reduced
        run = functools.partial(check_reduced, symmetry=args.symmetry, por=args.por,
                                verify=args.verify_reduction)
    elif args.verify_reduction:
        raise SvmCheckError("--verify-reduction compares a reduced run with an unreduced "
                            "one; add --symmetry or --por")
    res = run(model, properties=args.property,
              limits=Limits(args.max_states, args.max_depth, args.time_limit),
              keep_graph=bool(args.graph), progress=progress, save_dir=args.out,
              model_path=path, compact=args.compact, workers=args.workers,
              checkpoint=args.checkpoint or args.resume, resume=args.resume)
    if args.graph:
        from .explore.graph import to_networkx, write
        write(to_networkx(res.exploration), args.graph)
    if args.junit or args.report:
        _write_reports(args, res, model)
    shrunk = _shrink(args, model, res, path)
    if args.json:
        out = res.to_json()
        if getattr(res, "reduction", None) is not None:
            out["reduction"] = res.reduction
        for p in out["properties"]:
            if p["name"] in shrunk:
                p["shrunk"] = shrunk[p["name"]]
        print(json.dumps(out, indent=1))
    else:
        for line in format_result(res, model=model, show_traces=not args.quiet):
            print(line)
        if res.hash_compact:
            print(f"hash-compact: 64-bit fingerprints, {res.workers} worker(s); a verdict "
                  f"holds unless two states collide, P <= {res.collision_probability:.3g} "
                  f"(--exact for a proof)")
        if getattr(res, "reduction", None) is not None:
            print(_reduction_line(res.reduction))
        for name, sh in shrunk.items():
            change = ", ".join(f"{k} {a!r}->{b!r}" for k, (a, b) in sh["changed"].items())
            print(f"SHRUNK  {name}: {change or 'no smaller configuration violates'}; "
                  f"steps={sh['length']} file={sh['counterexample']}"
                  + (f" ({sh['stopped']}; --shrink searches on)" if sh["stopped"] else ""))
    return res.exit_code


def _reduction_line(info) -> str:
    """One line saying how the run was reduced and what the unreduced comparison found."""
    parts = []
    if info["symmetry"]:
        parts.append(f"symmetry over {info['symmetry']['group']} "
                     f"(group of {info['symmetry']['order']})")
    if info["por"] is not None:
        parts.append(f"partial-order reduction ({info['por']['reduced_states']} states "
                     f"expanded partially)")
    line = "reduced: " + ", ".join(parts)
    v = info.get("verified")
    if v:
        line += (f"; verified against the unreduced run: {v['reduced_states']} vs "
                 f"{v['unreduced_states']} states, same verdicts")
    if info["liveness_unreduced"]:
        line += (f"; liveness ({', '.join(info['liveness_unreduced'])}) checked unreduced "
                 f"({info['liveness_states']} states)")
    return line


def _shrink(args, model, res, path) -> dict:
    """Smallest configuration per violated property (svmcheck/shrink.py), saved as a trace.

    ``--shrink``: always, each candidate bounded as shrink() does; ``--no-shrink``: never;
    neither: only when cheap (shrink.cheap_limits), within one shared AUTO_BUDGET, and only a
    configuration that did get smaller is reported."""
    import time

    from .shrink import AUTO_BUDGET, cheap_limits, shrink
    auto = args.shrink is None
    limits = cheap_limits(res) if auto else None
    if args.shrink is False or auto and limits is None:
        return {}
    deadline = time.monotonic() + AUTO_BUDGET
    out = {}
    for p in res.properties:
        if p.status != "violated":
            continue
        if auto:
            sh = shrink(type(model), model.config, p.name, trace=p.trace, limits=limits,
                        budget=max(deadline - time.monotonic(), 0))
        else:
            sh = shrink(type(model), model.config, p.name, trace=p.trace)
        if sh is None or auto and not sh.changed:
            continue
        sh.trace.model_path = path
        saved = sh.trace.save(args.out) if args.out else None
        out[p.name] = {"config": sh.config, "changed": sh.changed, "tried": sh.tried,
                       "stopped": sh.stopped and f"time budget {AUTO_BUDGET:g}s spent",
                       "length": len(sh.trace.steps),
                       "counterexample": saved}
    return out


def _write_reports(args, res, model):
    from .report.steps import build as build_view
    from .report.text import format_trace
    from .trace import confirm, replay
    views, texts = {}, {}
    for p in res.properties:
        if p.status == "violated" and p.trace is not None:
            rp = confirm(model, p.trace, replay(model, p.trace))
            views[p.name] = build_view(model, p.trace, rp)
            texts[p.name] = format_trace(model, p.trace, rp) + [f"       violated: {p.reason}"]
    if args.junit:
        from .report.junit import junit_xml
        _write(args.junit, junit_xml(res, texts))
    if args.report:
        from .report.html import report_page
        _write(args.report, report_page(res, views))


def _write(path, text):
    try:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as e:
        raise SvmCheckError(f"cannot write '{path}': {e.strerror}; check the path") from None


def _load_trace_model(path):
    from .registry import build
    from .trace import load
    t = load(path)
    # a file may define several models: name the one the trace is for (path.py:NAME)
    model, _ = build(f"{t.model_path}:{t.model}" if t.model_path else t.model, t.config)
    return t, model


def cmd_replay(args) -> int:
    from .trace import confirm, replay
    t, model = _load_trace_model(args.file)
    rp = confirm(model, t, replay(model, t))
    if args.json:
        print(json.dumps({"file": args.file, "model": t.model, "property": t.property,
                          "steps": len(t.steps), "reproduced": rp.reproduced,
                          "reason": rp.message}, indent=1))
    else:
        word = "reproduced" if rp.reproduced else "NOT reproduced"
        print(f"{word}: {t.model} {t.property} ({t.kind}) in {len(t.steps)} steps — {rp.message}")
    return 0 if rp.reproduced else 1


def cmd_show(args) -> int:
    from .report.text import format_trace
    from .trace import confirm, replay
    t, model = _load_trace_model(args.file)
    rp = confirm(model, t, replay(model, t))
    if args.html:
        from .report.html import trace_page
        from .report.steps import build as build_view
        _write(args.html, trace_page(build_view(model, t, rp)))
    print(f"counterexample: model={t.model} property={t.property} ({t.kind}) "
          f"steps={len(t.steps)}")
    if args.swimlane:
        from .report.steps import build as build_view
        from .report.text import format_swimlane
        for line in format_swimlane(build_view(model, t, rp)):
            print(line)
        return 0 if rp.reproduced else 1
    for line in format_trace(model, t, rp):
        print(line)
    print(f"       {'violated' if rp.reproduced else 'no longer violated'}: {rp.message}")
    return 0 if rp.reproduced else 1


def cmd_graph(args) -> int:
    from .report.picture import neighbourhood_dot, render
    from .trace import confirm, replay
    t, model = _load_trace_model(args.file)
    rp = confirm(model, t, replay(model, t))
    render(neighbourhood_dot(model, t, rp, radius=args.radius), args.out)
    print(f"wrote {args.out}: {len(t.steps)} trace steps"
          f"{' with a cycle' if t.lasso_start is not None else ''}, radius {args.radius}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
