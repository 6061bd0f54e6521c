"""Promela (SPIN) and TLA+ from the same step executions Z3 reads.

The model is exported through its symbolic encoding (svmcheck/symbolic/encode.py): every
path of every action becomes one guarded, atomic transition — ``d_step { condition ->
simultaneous assignments }`` in Promela, a disjunct of ``Next`` in TLA+ — and every ``always``
property becomes an assertion / invariant over the same variables.  No step is re-written by
hand, so SPIN and TLC check the protocol svmcheck checks.

State correspondence: one variable per leaf of the layout (a variable-length tuple has its
slots and a length; slots past the length are kept at 0 so that equal svmcheck states are equal
SPIN states).  The ``always`` properties are one safety never claim (checked in the initial state and after
every step); SPIN then stores **exactly svmcheck's state count** (measured on the shipped
small models, tests/test_spin.py).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import SvmCheckError
from ..explore.bfs import explore
from ..symbolic import layout
from ..symbolic.bmc import always_properties
from ..symbolic.dialect import Promela, Tla
from ..symbolic.encode import Encoding


OPTIONS_PER_PROCESS = 100


@dataclass
class Exported:
    model: object
    enc: Encoding
    idents: dict            # SMT variable name (pre or post) -> identifier
    kinds: list             # (identifier, kind, lo, hi) per state variable
    init: dict              # identifier -> initial value
    props: list
    states: int             # svmcheck's reachable states (the layout was learned from them)


def prepare(model, properties=(), max_states: int = 2_000_000) -> Exported:
    inits = model.initial_states()
    if len(inits) != 1:
        raise SvmCheckError(f"model {model.name} has {len(inits)} initial states; the Promela "
                            f"and TLA+ exports support one")
    ex = explore(model, limits=None)
    if len(ex.states) > max_states:
        raise SvmCheckError("the model is too large to export; shrink it with --set")
    typ = layout.free_flags(layout.learned(ex.states))
    enc = Encoding(model, typ)
    props = always_properties(model, properties)
    for p in props:
        enc.holds(p)
    idents, kinds = {}, []
    leaves = _leaf_types(typ)
    for i, ((pre, kind), (post, _)) in enumerate(zip(enc.npre, enc.npost)):
        ident = f"v{i}"
        idents[pre] = idents[post] = ident
        lo, hi = leaves[i]
        kinds.append((ident, kind, lo, hi))
    init = {}
    for target, kind, ref, _ in layout.bind(typ, enc.pre, inits[0]):
        init[idents[target]] = 0 if ref is None else int(ref[1])
    return Exported(model, enc, idents, kinds, init, props, len(ex.states))


def _leaf_types(t) -> list:
    """(lo, hi) of every variable in layout order (a Seq's length first)."""
    if isinstance(t, layout.Leaf):
        return [(t.lo, t.hi) if t.kind == "int" else (0, 1)]
    if isinstance(t, layout.Rec):
        return [x for c in t.children for x in _leaf_types(c)]
    return [(0, t.maxlen)] + [x for _ in range(t.maxlen) for x in _leaf_types(t.elem)]


def _ctype(kind, lo, hi) -> str:
    if kind == "bool":
        return "bit"
    lo, hi = min(lo, 0), max(hi, 0)
    if lo >= 0 and hi <= 255:
        return "byte"
    if -32768 <= lo and hi <= 32767:
        return "short"
    return "int"


def _assignments(x: Exported, body) -> list:
    """(identifier, kind, ref, guard) for every variable the path changes (simultaneously);
    ``ref`` None resets a slot past a sequence's length to 0."""
    out = []
    for target, kind, ref, guard in body:
        ident = x.idents[target]
        if ref is not None and ref[0] == "v" and x.idents[ref[1]] == ident and ref[2] == kind:
            continue                                               # unchanged
        out.append((ident, kind, ref, guard))
    return out


def render(d, a) -> tuple[str, str]:
    """(identifier, new-value text) of one assignment; a guarded one (a slot of a sequence
    copied whole) writes the canonical 0 when the slot is past the length."""
    ident, kind, ref, guard = a
    zero = d.bool(False) if kind == "bool" else d.int(0)
    val = zero if ref is None else d.value(ref, kind)
    if guard is not None and val != zero:
        val = d.cond(d.guard(guard), val, zero)
    return ident, val


def _grouped(x: Exported):
    """(action, [conditions], assignments): paths of one action with the same effect merged,
    so the exported model has one transition per distinct effect rather than per path."""
    groups: dict = {}
    for a, pc, body in x.enc.paths:
        assigns = tuple(_assignments(x, body))
        groups.setdefault((a.id, assigns), (a, []))[1].append(pc)
    return [(a, pcs, list(assigns)) for (_, assigns), (a, pcs) in groups.items()]


def _identifier(name: str) -> str:
    return re.sub(r"\W", "_", name)


def promela(x: Exported) -> str:
    d = Promela(x.idents)
    m = x.model
    lines = [f"/* svmcheck export of model {m.name} ({x.states} states), "
             f"config {m.config.as_dict()} */",
             f"/* {len(_grouped(x))} transitions from {len(x.enc.actions)} actions; "
             f"always properties as a never claim */", ""]
    for ident, kind, lo, hi in x.kinds:
        lines.append(f"{_ctype(kind, lo, hi)} {ident} = {x.init.get(ident, 0)};")
    for ident, kind, lo, hi in x.kinds:
        t = _ctype(kind, lo, hi)           # SPIN cannot hide a bit
        lines.append(f"hidden {'byte' if t == 'bit' else t} n_{ident};")
    lines.append("")
    for p in x.props:
        cond = d.or_([d.condition(pc) for pc in x.enc.holds_paths[p.name]])
        lines.append(f"#define P_{_identifier(p.name)} {cond}")
    options = []
    for a, pcs, assigns in _grouped(x):
        assigns = [render(d, a_) for a_ in assigns]
        stage = " ".join(f"n_{i} = {v};" for i, v in assigns)
        commit = " ".join(f"{i} = n_{i};" for i, _ in assigns)
        guard = d.or_([d.condition(pc) for pc in pcs])
        options.append((f"  /* {a.actor} {a.format()} */",
                        f"  :: d_step {{ {guard} -> {stage} {commit} }}"))
    # The transitions are spread over processes of at most OPTIONS_PER_PROCESS options each:
    # spin -a's time grows with the square of one process's options (xe at 1 GPU, 3,202
    # options: 34 s in one process, 2.3 s in processes of 100).  Every option is a d_step
    # on globals that returns to its loop's head, so each process's pc never changes and
    # SPIN's interleaving of the processes is exactly the union of the transitions: the
    # same states (tests/test_spin.py).  pan runs at most 255 processes, the never claim
    # among them.
    per = max(OPTIONS_PER_PROCESS, -(-len(options) // 250))
    for k in range(0, max(1, len(options)), per):
        lines += ["", f"active proctype svm{k // per}() {{", "  do"]
        for comment, option in options[k:k + per]:
            lines += [comment, option]
        if not options:
            lines.append("  :: false")
        lines += ["  od", "}"]
    lines.append("")
    if x.props:
        # the invariant once, as a safety never claim (in every step it would be compiled
        # once per transition: minutes of cc for the SVM models)
        inv = " && ".join(f"P_{_identifier(p.name)}" for p in x.props)
        lines += ["never {    /* [] (" + ", ".join(p.name for p in x.props) + ") */",
                  "  do", f"  :: !({inv}) -> break", "  :: else", "  od", "}", ""]
    return "\n".join(lines)


def tla(x: Exported) -> str:
    d = Tla(x.idents)
    m = x.model
    name = _identifier(m.name).replace("_", "")
    idents = [i for i, *_ in x.kinds]
    lines = [f"---- MODULE {name} ----", f"\\* svmcheck export of model {m.name} "
             f"({x.states} states), config {m.config.as_dict()}",
             "EXTENDS Integers", f"VARIABLES {', '.join(idents)}",
             f"vars == <<{', '.join(idents)}>>", "",
             "Init == " + d.and_([f"{i} = {d.bool(bool(x.init.get(i, 0))) if k == 'bool' else x.init.get(i, 0)}"
                                 for i, k, *_ in x.kinds]), ""]
    acts = []
    for n, (a, pcs, assigns) in enumerate(_grouped(x)):
        assigns = dict(render(d, a_) for a_ in assigns)
        parts = [d.or_([d.condition(pc) for pc in pcs])] + [
            f"{i}' = {v}" for i, v in assigns.items()]
        same = [i for i in idents if i not in assigns]
        if same:
            parts.append(f"UNCHANGED <<{', '.join(same)}>>")
        lines.append(f"\\* {a.actor} {a.format()}")
        lines.append(f"A{n} == " + " /\\ ".join(parts))
        acts.append(f"A{n}")
    lines += ["", "Next == " + (" \\/ ".join(acts) or "FALSE"), "",
              "Spec == Init /\\ [][Next]_vars", ""]
    for p in x.props:
        cond = d.or_([d.condition(pc) for pc in x.enc.holds_paths[p.name]])
        lines.append(f"{_identifier(p.name)} == {cond}")
    lines += ["====", ""]
    return "\n".join(lines)


def transitions(x: Exported) -> int:
    """How many transitions the exports have (paths with the same effect merged)."""
    return len(_grouped(x))
