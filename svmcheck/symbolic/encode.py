"""A model's transition relation and properties as Z3 formulas, derived by running them.

For every action (an actor's step or label with its arguments, as the explorer interns them)
the step is executed by :func:`~svmcheck.symbolic.paths.run_paths` on a pre-state of symbolic
leaves typed by the layout; each path contributes ``pc ∧ post = effect(pre)``.  Properties
are executed the same way.  Nothing here knows what any step does.

Formulas are written as SMT-LIB text and parsed by Z3 once per action: building millions of
small terms through Z3's Python API costs ~100x more than the step executions themselves.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import z3

from ..errors import ModelDefinitionError, SvmCheckError
from . import layout
from .paths import run_paths
from .dialect import Smt
from .values import SBool, declare

SMT = Smt()


@dataclass
class ActionEnc:
    action: object
    trans: object                  # Z3 over pre/post: enabled ∧ post = effect(pre)
    leaves: object                 # Z3 over pre: enabled on a path that leaves the layout or crashes
    paths: int = 0
    crash_msgs: list = field(default_factory=list)


conj, disj = SMT.and_, SMT.or_


class Encoding:
    """The symbolic transition relation of ``model`` over the layout ``typ``."""

    def __init__(self, model, typ, *, max_paths: int = 200000, actions=None, free=()):
        if model.steps_dynamic:
            names = ", ".join(n for n, _, _ in model.steps_dynamic)
            raise SvmCheckError(
                f"model {model.name} has steps with state-dependent arguments ({names}); the "
                f"Z3 engines need static argument domains (args=dict(...))")
        self.model, self.t = model, typ
        self.pre = layout.instantiate(typ, "pre")
        self.post = layout.instantiate(typ, "post")
        self.npre = layout.variables(typ, self.pre)
        self.npost = layout.variables(typ, self.post)
        # free configuration leaves (search.py) are constants shared by every frame
        self.free = list(free)
        self.decls = declare(self.npre + self.npost + [
            (x.e, "bool" if isinstance(x, SBool) else "int") for x in self.free])
        self.free_domain = [self.parse(SMT.member(x.e, "bool" if isinstance(x, SBool) else "int",
                                                  x.domain)) for x in self.free]
        self.vpre = [self.decls[n.strip("|")] for n, _ in self.npre]
        self.vpost = [self.decls[n.strip("|")] for n, _ in self.npost]
        self.type_pre = self.parse(conj(layout.constraints(typ, self.pre)))
        self.act = z3.Int("act")
        self.max_paths = max_paths
        self.paths: list = []      # (action, condition, assignments): the exports read these
        t0 = time.perf_counter()
        acts = model.actions if actions is None else actions
        self.actions = [self._encode_action(a) for a in acts]
        self.seconds = time.perf_counter() - t0
        self._holds: dict = {}
        self.holds_paths: dict = {}   # property -> conditions of its True paths

    def parse(self, text: str):
        return z3.parse_smt2_string(f"(assert {text})", decls=self.decls)[0]

    # ---- steps -------------------------------------------------------------------------
    def _encode_action(self, a) -> ActionEnc:
        model, typ, post = self.model, self.t, self.post

        def run(path):
            try:
                r = model.fire(a, self.pre)
            except ModelDefinitionError as e:
                if e.__cause__ is None:
                    raise
                return ("crash", str(e))
            if r is None:
                return None
            try:
                return ("ok", layout.bind(typ, post, r[1]))
            except layout.Misfit as e:
                return ("exit", str(e))

        paths = run_paths(run, max_paths=self.max_paths, where=f"{a.actor} {a.format()}")
        trans, leaving, msgs = [], [], []
        for p in paths:
            if p.value is None:
                continue
            kind, body = p.value
            pc = SMT.condition(p.pc)
            if kind == "ok":
                eqs = [c for c in map(SMT.constraint, body) if c is not None]
                trans.append(conj([pc] + eqs))
                self.paths.append((a, p.pc, body))
            else:
                leaving.append(pc)
                if kind == "crash":
                    msgs.append(body)
        return ActionEnc(a, self.parse(disj(trans)), self.parse(disj(leaving)), len(paths),
                         msgs)

    def transition(self):
        """Some action is taken: ``act`` names it."""
        return z3.Or([z3.And(self.act == e.action.id, e.trans) for e in self.actions])

    def leaving(self):
        """Some action leaves the layout or crashes: ``act`` names it."""
        return z3.Or([z3.BoolVal(False)] + [
            z3.And(self.act == e.action.id, e.leaves) for e in self.actions
            if not z3.is_false(e.leaves)])

    # ---- properties --------------------------------------------------------------------
    def holds(self, prop):
        """Z3 formula over the pre-state: ``prop`` holds."""
        f = self._holds.get(prop.name)
        if f is None:
            model, pre = self.model, self.pre

            def run(path):
                try:
                    return bool(prop.test(model, pre))
                except ModelDefinitionError as e:
                    if e.__cause__ is None:
                        raise
                    return False          # a predicate that crashes does not hold
            paths = run_paths(run, max_paths=self.max_paths, where=f"property {prop.name}",
                              terms=True)
            self.holds_paths[prop.name] = [p.pc for p in paths if p.value]
            f = self._holds[prop.name] = self.parse(
                disj(SMT.condition(pc) for pc in self.holds_paths[prop.name]))
        return f

    # ---- frames ------------------------------------------------------------------------
    def frame(self, name: str):
        """A fresh state of variables: (value tree, Z3 variables in layout order)."""
        v = layout.instantiate(self.t, name)
        names = layout.variables(self.t, v)
        return v, [z3.Bool(n.strip("|")) if k == "bool" else z3.Int(n.strip("|"))
                   for n, k in names]

    def at(self, formula, pre_vars, post_vars=None, act=None):
        pairs = list(zip(self.vpre, pre_vars))
        if post_vars is not None:
            pairs += list(zip(self.vpost, post_vars))
        if act is not None:
            pairs.append((self.act, act))
        return z3.substitute(formula, *pairs)

    def state_is(self, state):
        """Z3 over the pre-state: it is exactly ``state`` (a concrete system state)."""
        return self.parse(conj(c for c in map(SMT.constraint,
                                              layout.bind(self.t, self.pre, state)) if c))

    def decode(self, frame, m):
        return layout.decode(self.t, frame, m)

    def stats(self) -> dict:
        return {"actions": len(self.actions), "paths": sum(e.paths for e in self.actions),
                "variables": len(self.vpre), "seconds": round(self.seconds, 2)}
