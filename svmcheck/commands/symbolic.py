"""``svmcheck prove`` and ``svmcheck bmc``: Z3 on the model's own steps (svmcheck/symbolic/).

Exit codes as for check: 0 proved / none found, 1 a counterexample, 2 bad input, 3 unknown
(a solver timeout, a property that is not inductive and not shown violated, a layout exit).
"""
from __future__ import annotations

import json
import sys


def add_parsers(sub):
    from ..cli import _positive_int
    pr = _common(sub, "prove", "prove always-properties inductive with Z3 (Houdini)", 60)
    pr.add_argument("--all-paths", action="store_true",
                    help="encode every step path of the layout, not only those from states "
                         "satisfying the invariant (slower; for comparison)")
    b = _common(sub, "bmc", "bounded model checking with Z3, replayed concretely", 600)
    b.add_argument("--depth", type=_positive_int, required=True, metavar="K",
                   help="look for violations within K steps")
    b.add_argument("--liveness", action="store_true",
                   help="look for fair lassos violating the liveness properties (all of them, "
                        "or those named by --property) instead of always-properties")


def _common(sub, name, text, timeout):
    """The arguments prove and bmc share: the model, --set, --property, --timeout, --out."""
    from ..cli import _add_model_args, _positive_int
    p = sub.add_parser(name, help=text)
    p.add_argument("model", help="a shipped model's name or a path to a .py file")
    _add_model_args(p)
    p.add_argument("--property", action="append", default=[], metavar="NAME",
                   help="only this always-property (repeatable; default: all of them)")
    p.add_argument("--timeout", type=_positive_int, default=timeout, metavar="S",
                   help=f"Z3 time limit per query in seconds (default {timeout})")
    p.add_argument("--out", default="counterexamples", metavar="DIR",
                   help="where counterexamples are written (default: counterexamples)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--free", action="append", default=[], metavar="PARAM",
                   help="make a configuration parameter an unknown Z3 may choose "
                        "(repeatable; e.g. --free links --free sys_atomics)")
    return p


def _model(args):
    from ..cli import _overrides
    from ..registry import resolve
    cls, path = resolve(args.model)
    cfg = cls.Config.build(_overrides(args.set), model=cls.name)
    return cls, cfg, path


def cmd_prove(args) -> int:
    from ..symbolic.prove import prove
    cls, cfg, path = _model(args)
    res = _run(args, cls, cfg, lambda model, free, show: prove(
        model, properties=args.property, save_dir=args.out, timeout_ms=args.timeout * 1000,
        model_path=path, progress=show, guided=not args.all_paths, free=free))
    if args.json:
        return res.exit_code
    e = res.encoding
    print(f"prove {res.model}: {res.states} reachable states give the layout; "
          f"{e['actions']} actions, {e['paths']} paths"
          f"{' from invariant states' if e.get('guided') else ''}, {e['variables']} variables "
          f"per state ({res.seconds:.1f} s: "
          + ", ".join(f"{k} {v:.1f}" for k, v in res.timing.items()) + ")")
    if res.configurations:
        print(f"over {len(res.configurations)} configurations; the properties, for those not "
              f"shown violated below:")
    for p in res.properties:
        st = p["status"]
        if st == "proved" and p.get("within_layout"):
            st = "proved within the explored layout"
        line = f"  {p['name']:<40} {st}"
        if st in ("violated", "not inductive"):
            line += f" (dropped #{p['dropped']})" if p.get("dropped") else ""
            line += f" — step {p['step']}: {p['why']}"
        elif st == "unknown":
            line += f" — {p['reason']}"
        print(line)
        if p.get("pre_state"):
            print(f"      from the unreachable state {p['pre_state']}")
        if p.get("counterexample"):
            print(f"      saved: {p['counterexample']}  (svmcheck replay / show it)")
    if res.configurations:
        from ..symbolic.search import shown
        print("configurations (every value the free parameters allow):")
        for c in res.configurations:
            line = f"  {shown(c['values']):<40} {c['status']}"
            if c["status"] == "violated":
                line += f": {c['name']} — step {c['step']}: {c['why']}"
            print(line)
            if c.get("counterexample"):
                print(f"      saved: {c['counterexample']}  (svmcheck replay / show it)")
    lay = ("the layout is inductive too" if res.layout_inductive else
           "no property survived to check the layout against" if res.layout_inductive is None
           else "the layout is not inductive: proofs rely on the explorer having shown every "
           "reachable state lies in it")
    print(f"result: {res.result}; {lay}")
    return res.exit_code


def cmd_bmc(args) -> int:
    from ..symbolic.bmc import bmc
    cls, cfg, path = _model(args)
    if args.liveness:
        return _bmc_liveness(args, cls, cfg, path)
    free = typ = None
    if args.free:
        from ..symbolic.search import model_with_free
        model, typ, free = model_with_free(cls, cfg, args.free, args.depth)
    else:
        model = cls(cfg)
    show = None if args.json else _progress
    res = bmc(model, args.depth, properties=args.property, typ=typ, save_dir=args.out,
              timeout_ms=args.timeout * 1000, model_path=path, free=free,
              progress=show)
    if show:
        print(file=sys.stderr)
    if args.json:
        print(json.dumps(res.to_json(), indent=1))
        return res.exit_code
    e = res.encoding
    print(f"bmc {res.model} to depth {res.depth}: {e['actions']} actions, {e['paths']} paths "
          f"({res.seconds:.1f} s)")
    for p in res.properties:
        extra = f" in {p['length']} steps — {p['counterexample']}" if p["length"] is not None \
            else ""
        print(f"  {p['name']:<40} {p['status']}{extra}")
    if res.free:
        from ..symbolic.search import shown
        print(f"  under {shown(res.free)}")
    print(f"result: {res.result}" + (f" ({res.reason})" if res.reason else ""))
    return res.exit_code


def _bmc_liveness(args, cls, cfg, path) -> int:
    from ..symbolic.lasso import lasso_bmc
    from ..symbolic.search import shown
    res = _run(args, cls, cfg, lambda model, free, show: lasso_bmc(
        model, args.depth, properties=args.property, save_dir=args.out,
        timeout_ms=args.timeout * 1000, model_path=path, free=free, progress=show))
    if args.json:
        return res.exit_code
    e = res.encoding
    print(f"bmc --liveness {res.model} to depth {res.depth}: {e['actions']} actions, "
          f"{e['paths']} paths{' from invariant states' if e.get('guided') else ''} "
          f"({res.seconds:.1f} s); frames assume: {', '.join(res.invariant) or 'nothing'}")
    def how(r):
        cycle = f"a fair cycle of {r['cycle']} steps" if r["cycle"] else "the run stops"
        return f"in {r['length']} steps ({cycle}) — {r['counterexample']}"
    for p in res.properties:
        print(f"  {p['name']:<40} {p['status']}" + (f" {how(p)}" if p["length"] else ""))
    for c in res.configurations:
        print(f"  under {shown(c['values'])}: {c['property']} violated {how(c)}")
    if args.free and res.result != "incomplete":
        print(f"  no other value of {', '.join(args.free)} gives a violation within "
              f"{res.depth} steps")
    print(f"result: {res.result}" + (f" ({res.reason})" if res.reason else ""))
    return res.exit_code


def _run(args, cls, cfg, engine):
    """Build the model (on symbolic --free parameters if any), run ``engine(model, free,
    progress)`` with progress on stderr unless --json, and print the JSON if asked."""
    from ..symbolic.search import symbolic_model
    model, free = symbolic_model(cls, cfg, args.free) if args.free else (cls(cfg), None)
    show = None if args.json else _say
    res = engine(model, free, show)
    if show:
        _say("")
    if args.json:
        print(json.dumps(res.to_json(), indent=1))
    return res


def _say(text):
    """One progress line, overwritten by the next; a text ending in a newline stays."""
    end = "\n" if text.endswith("\n") else "" if text else "\r"
    print(f"\r{text.strip()[:100]:<100}", end=end, file=sys.stderr, flush=True)


def _progress(k, seconds):
    print(f"\rbmc: depth {k} done, {seconds:.1f} s", end="", file=sys.stderr, flush=True)


COMMANDS = {"prove": cmd_prove, "bmc": cmd_bmc}
