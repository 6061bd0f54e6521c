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
from .guided import guided_paths
from .paths import run_paths
from .dialect import Smt
from .values import PathLimit, SBool, declare

SMT = Smt()


@dataclass
class ActionEnc:
    action: object
    trans: object                  # Z3 over pre/post: enabled ∧ post = effect(pre)
    leaves: object                 # Z3 over pre: enabled on a path that leaves the layout or crashes
    paths: int = 0
    crash_msgs: list = field(default_factory=list)
    parts: list = field(default_factory=list)   # trans, CHUNK paths per disjunction


# An action with tens of thousands of paths is asked about in pieces: one query over a
# disjunction that wide did not answer within minutes at mirror's default size
CHUNK = 1000


conj, disj = SMT.and_, SMT.or_


class Encoding:
    """The symbolic transition relation of ``model`` over the layout ``typ``."""

    def __init__(self, model, typ, *, max_paths: int = 200000, actions=None, free=(),
                 guide=None, timeout_ms: int = 0, full_cap: int = 300):
        """``guide``: a Z3 formula over the pre-state (prove's invariant); when given, each
        action keeps only the paths that start in a state satisfying it (guided.py), which
        is exact for every query that assumes it of the pre-state.  An action with at most
        ``full_cap`` paths in all keeps them all: a path costs ~0.1 ms to run and ~10 ms to
        find with the solver, so small actions are cheaper whole."""
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
        self.timeout_ms = timeout_ms
        self.guide = guide
        self._found: dict = {}     # action id -> its PathResults (guided: so far)
        self._whole: set = set()   # action ids whose every path is in _found
        self.full_cap = full_cap
        self.progress = None       # progress(text) while guided encoding runs
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

        where = f"{a.actor} {a.format()}"
        if self.guide is not None and a.id not in self._found and self.full_cap:
            try:
                self._found[a.id] = run_paths(run, max_paths=self.full_cap, where=where)
                self._whole.add(a.id)
            except PathLimit:
                pass
        if self.guide is None:
            paths = self._found[a.id] = run_paths(run, max_paths=self.max_paths, where=where)
        elif a.id in self._whole:
            paths = self._found[a.id]
        else:
            solver = z3.SolverFor("QF_LIA")
            if self.timeout_ms:
                solver.set("timeout", self.timeout_ms)
            solver.add(self.type_pre, self.guide, *self.free_domain)
            known = self._found.setdefault(a.id, [])
            show = self.progress
            tick = None if show is None else (
                lambda n: show(f"paths from invariant states: {where}: {n}"))
            known += guided_paths(run, solver, self.decls, self.cube, where=where,
                                  max_paths=self.max_paths - len(known),
                                  known=[p.pc for p in known], tick=tick)
            paths = known
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
        parts = [self.parse(disj(trans[i:i + CHUNK])) for i in range(0, len(trans), CHUNK)]
        return ActionEnc(a, z3.Or(parts) if len(parts) > 1 else
                         parts[0] if parts else z3.BoolVal(False),
                         self.parse(disj(leaving)), len(paths), msgs, parts)

    def guided(self, guide, actions=None):
        """(Re-)encode ``actions`` (default: those encoded so far) keeping only the paths from
        states satisfying ``guide``.  For a weaker guide (Houdini dropped a property) the
        paths found so far stay and only the states the old guide excluded are searched."""
        t0 = time.perf_counter()
        self.guide = guide
        self.paths = []
        acts = [e.action for e in self.actions] if actions is None else actions
        self.actions = []
        for i, a in enumerate(acts):
            if self.progress is not None:
                self.progress(f"paths from invariant states: action {i + 1}/{len(acts)}")
            self.actions.append(self._encode_action(a))
        self.seconds += time.perf_counter() - t0

    def cube(self, pc):
        """A path condition as a Z3 formula over the pre-state."""
        out = []
        for c in pc:
            if not isinstance(c, tuple):
                out.append(self.parse(SMT.term(c)))
                continue
            leaf, vals = c
            v = self.decls[leaf.e.strip("|")]
            if isinstance(leaf, SBool):
                out.append(v if tuple(vals) == (True,) else z3.Not(v))
            elif len(vals) == max(vals) - min(vals) + 1:
                out.append(v == vals[0] if len(vals) == 1 else
                           z3.And(v >= min(vals), v <= max(vals)))
            else:
                out.append(z3.Or([v == x for x in vals]))
        return z3.And(out)

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
            f, self.holds_paths[prop.name] = self.formula(
                lambda state: prop.test(self.model, state), f"property {prop.name}")
            self._holds[prop.name] = f
        return f

    def formula(self, predicate, where: str):
        """``predicate(state)`` run on the symbolic pre-state in terms mode: the Z3 formula
        over the pre-state, and the conditions of its true paths."""
        def run(path):
            try:
                return bool(predicate(self.pre))
            except ModelDefinitionError as e:
                if e.__cause__ is None:
                    raise
                return False          # a predicate that crashes does not hold
        paths = run_paths(run, max_paths=self.max_paths, where=where, terms=True)
        pcs = [p.pc for p in paths if p.value]
        return self.parse(disj(SMT.condition(pc) for pc in pcs)), pcs

    def enabled(self, actions):
        """Z3 over the pre-state: one of ``actions`` is enabled — from the paths encoded (in
        guided mode, those from invariant states: exact there)."""
        return self.parse(disj(SMT.condition(p.pc) for a in actions
                               for p in self._found.get(a.id, ()) if p.value is not None))

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

    def initially(self, frame_vars):
        """Z3 over ``frame_vars``: the frame is one of the model's initial states."""
        return z3.Or([self.at(self.state_is(s), frame_vars) for s in self.model.initial_states()])

    def type_per_configuration(self, free: dict, types: list):
        """Type the pre-state by each configuration's own layout (``types``: (values, layout)
        pairs): under the free values ``v``, only what ``v``'s layout allows.  The merged
        layout alone would let one configuration's state take values only another's reach
        (a link's eviction count where there is no link), which no invariant need exclude."""
        self.type_pre = z3.And(self.type_pre, z3.Or([
            z3.And(self.free_is(free, v), self.parse(conj(layout.constraints_in(t, self.pre))))
            for v, t in types]))

    def free_is(self, free: dict, values: dict):
        """Z3: the free parameters (search.py) have the concrete ``values``."""
        from .search import assignment
        return z3.And([self.decls[x.e.strip("|")] == v for x, v in assignment(free, values)])

    def decode(self, frame, m):
        return layout.decode(self.t, frame, m)

    def stats(self) -> dict:
        return {"actions": len(self.actions), "paths": sum(e.paths for e in self.actions),
                "variables": len(self.vpre), "seconds": round(self.seconds, 2),
                "guided": self.guide is not None}
