"""``svmcheck export MODEL --promela FILE | --tla FILE``: the model for SPIN or TLC."""
from __future__ import annotations


def add_parsers(sub):
    from ..cli import _add_model_args
    e = sub.add_parser("export", help="write the model as Promela (SPIN) or TLA+ (TLC), from "
                                      "the same step executions Z3 reads")
    e.add_argument("model", help="a shipped model's name or a path to a .py file")
    _add_model_args(e)
    e.add_argument("--promela", metavar="FILE", help="write Promela for spin -a")
    e.add_argument("--tla", metavar="FILE", help="write a TLA+ module (Init, Next, invariants)")
    e.add_argument("--property", action="append", default=[], metavar="NAME",
                   help="export only this always-property (repeatable; default: all)")


def cmd_export(args) -> int:
    from ..errors import SvmCheckError
    from ..export.promela import prepare, promela, tla, transitions
    from .symbolic import _model
    if not (args.promela or args.tla):
        raise SvmCheckError("export needs --promela FILE or --tla FILE")
    cls, cfg, _ = _model(args)
    x = prepare(cls(cfg), args.property)
    for path, text in ((args.promela, promela), (args.tla, tla)):
        if path:
            try:
                with open(path, "w") as f:
                    f.write(text(x))
            except OSError as e:
                raise SvmCheckError(f"cannot write '{path}': {e.strerror}; check the "
                                    f"directory") from None
            print(f"wrote {path}: {transitions(x)} transitions, {len(x.kinds)} variables, "
                  f"{len(x.props)} invariants ({x.states} svmcheck states)")
    return 0


COMMANDS = {"export": cmd_export}
