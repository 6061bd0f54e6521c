"""Properties: named predicates with one of stateright's expectations, plus liveness.

* ``@always``      holds in every reachable state (safety; a violation is a shortest trace).
* ``@sometimes``   holds in some reachable state (non-vacuity; never reached = ``vacuous``,
                   which fails the check, because a model that never reaches VRAM passes
                   every safety property for free).
* ``sometimes_step(name, step=..., outcome=...)``: some explored transition is that step
                   with that outcome (``-EBUSY`` happened, the evict-and-retry path ran).
* ``@eventually``  on every fair behaviour the predicate becomes true.
* ``leads_to(name, p, q)``: on every fair behaviour, every ``p`` state is followed by a ``q``
                   state (at or after it).
* ``completes(flow)``: every run of a flow that starts ends (leads_to(busy, idle) per process).
* deadlock freedom is built in (``deadlock_free``): no reachable state where nothing is
  enabled while some process is in the middle of a run or the model reports pending work.

Predicates take ``(model, world)``; a third parameter, if declared, receives the processes as
``{actor: (label, locals)}``.  Inside a predicate, ``clause(ok, "page {p}: ...", p=p)`` names
the failing clause so that traces end with the concrete reason, not just the name.

Liveness is decided on the explored state graph under **weak fairness per actor**: a lasso is
reported only if its cycle is fair, i.e. every actor that is enabled in *every* state of the
cycle takes at least one step in it.  Actors that are sometimes disabled on the cycle (waiting
for a lock, or idle with nothing to do) need not step.  No strong fairness is assumed.
"""
from __future__ import annotations

import inspect

_why: list | None = None


def clause(ok, message: str, **values):
    """Return ``ok``; when a trace asks *why* a property failed, the first false clause's
    ``message.format(**values)`` is the answer."""
    if _why is not None and not ok and not _why:
        _why.append(message.format(**values) if values else message)
    return ok


def one_of(x, options):
    """``x in options`` as one expression, an ``|`` of ``==``: concretely a bool; on the
    symbolic state of ``prove``/``bmc`` one term, not a path per option (``in`` on a plain
    tuple forks at every element)."""
    out = False
    for o in options:
        out = out | (x == o)
    return out


class Property:
    """A named expectation about a model.  Built by the decorators below."""

    __slots__ = ("name", "kind", "fn", "fn2", "doc", "arity", "arity2", "step", "outcome",
                 "flow")

    def __init__(self, kind, fn=None, *, name=None, fn2=None, doc=None, step=None,
                 outcome=None, flow=None):
        self.kind = kind
        self.fn, self.fn2 = fn, fn2
        self.name = name or (fn.__name__ if fn is not None else None)
        self.doc = (doc or (inspect.getdoc(fn) if fn is not None else "") or "").strip()
        self.arity = _arity(fn)
        self.arity2 = _arity(fn2)
        self.step, self.outcome, self.flow = step, outcome, flow

    def __repr__(self):
        return f"<{self.kind} {self.name}>"

    def resolve_name(self):
        """Name a ``completes`` property after its flow once the class has named the flow."""
        if self.kind == "completes" and self.name is None:
            self.name = f"{self.flow.name}_completes"
            self.doc = self.doc or f"Every run of flow {self.flow.name} that starts ends."

    @property
    def summary(self) -> str:
        return self.doc.splitlines()[0] if self.doc else ""

    # -- evaluation on system states (world, procs) --------------------------------------
    def test(self, model, state, second=False) -> bool:
        fn, arity = (self.fn2, self.arity2) if second else (self.fn, self.arity)
        try:
            if arity == 2:
                return bool(fn(model, state[0]))
            return bool(fn(model, state[0], model.proc_view(state[1])))
        except Exception as e:
            from .errors import ModelDefinitionError, SvmCheckError
            if isinstance(e, SvmCheckError):
                raise
            from .symbolic import values
            # a symbolic state is not printed: describing it would fork on every leaf
            where = "a symbolic state" if values._current is not None else \
                model.describe(state[0])
            raise ModelDefinitionError(
                f"property {self.name} of model {model.name} raised {type(e).__name__}: {e} "
                f"in state {where}; fix the predicate") from e

    def obligations(self, model):
        """For liveness: a list of (label, p(state)->bool, q(state)->bool)."""
        if self.kind == "eventually":
            inits = set(model.initial_states())
            return [(self.name, lambda st: st in inits, lambda st: self.test(model, st))]
        if self.kind == "leads_to":
            return [(self.name, lambda st: self.test(model, st),
                     lambda st: self.test(model, st, second=True))]
        if self.kind == "completes":
            out = []
            for p in model.procs:
                if p.flow is not self.flow:
                    continue
                i = p.index
                out.append((p.actor, lambda st, i=i: st[1][i][0] != 0,
                            lambda st, i=i: st[1][i][0] == 0))
            return out
        raise ValueError(self.kind)

    def explain(self, model, state) -> str | None:
        """Re-evaluate with clause recording on and return the first failing clause."""
        global _why
        if self.fn is None:
            return None
        _why = []
        try:
            self.test(model, state)
            return _why[0] if _why else None
        finally:
            _why = None

    @property
    def is_liveness(self) -> bool:
        return self.kind in ("eventually", "leads_to", "completes")


def _arity(fn) -> int:
    if fn is None:
        return 0
    try:
        return len(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return 2


def always(fn=None, *, name=None):
    """Safety: the predicate holds in every reachable state."""
    def make(f):
        return Property("always", f, name=name)
    return make(fn) if fn is not None else make


def sometimes(fn=None, *, name=None):
    """Reachability: the predicate holds in some reachable state (else the check is vacuous)."""
    def make(f):
        return Property("sometimes", f, name=name)
    return make(fn) if fn is not None else make


def eventually(fn=None, *, name=None):
    """Liveness: every fair behaviour reaches a state where the predicate holds."""
    def make(f):
        return Property("eventually", f, name=name)
    return make(fn) if fn is not None else make


def leads_to(name: str, p, q, doc: str = "") -> Property:
    """Liveness: under weak fairness every ``p`` state is eventually followed by a ``q`` state."""
    return Property("leads_to", p, fn2=q, name=name, doc=doc or inspect.getdoc(p))


def completes(flow, name: str | None = None, doc: str = "") -> Property:
    """Liveness: every run of ``flow`` that starts eventually ends (per process, fair)."""
    # the flow is named by Python only after the class body ends: see resolve_name
    return Property("completes", name=name, flow=flow, doc=doc)


def sometimes_step(name: str, *, step: str | None = None, outcome: str | None = None,
                   doc: str = "") -> Property:
    """Reachability of a transition: some explored step named ``step`` reports an outcome
    containing ``outcome`` (either may be omitted)."""
    return Property("sometimes_step", name=name, step=step, outcome=outcome,
                    doc=doc or f"Some run takes {step or 'a step'}"
                               f"{' with outcome ' + outcome if outcome else ''}.")


deadlock_property = Property(
    "deadlock", name="deadlock_free",
    doc="No reachable state has no enabled step while a process is mid-run or work is pending.")
