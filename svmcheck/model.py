"""The model author's API: configuration, initial state, steps, flows with labels, properties.

A model reads like a TLA+ spec or a stateright ``Model``::

    class Counter(Model):
        '''Two CPU threads increment a shared counter without a lock (a lost update).'''
        name = "counter"
        Config = CounterConfig

        def init(self):
            return World(value=0, done=0)

        inc = Flow("cpu{cpu}", over=dict(cpu=lambda c: range(c.threads)), locals=dict(tmp=0))

        @inc.label(start=True)
        def load(self, s, me):
            '''Read the counter into a register.'''
            return me.next(s, tmp=s.value)

        @inc.label
        def store(self, s, me):
            '''Write the register back plus one.'''
            return me.done(s._replace(value=me.tmp + 1, done=s.done + 1))

        @always
        def no_lost_update(self, s):
            return s.done < 2 or s.value == 2

* A **step** (``@step``) is one atomic action of an actor: a guard (``when=``) and an effect.
  Its arguments come from static domains (``args=dict(page=lambda cfg: range(cfg.pages))``)
  or, rarely, from the state (``args=callable(model, s)``).  Nondeterminism lives only in
  arguments: the effect is a deterministic function of (state, arguments), which is what lets
  the explorer, the workload runner and Z3 share it.
* A **flow** is a sequence of labelled atomic steps run by one actor, as in PlusCal: other
  actors interleave only between labels.  The actor's position (label) and its ``locals`` live
  in the state; the author moves with ``me.next(...)``, ``me.goto("label", ...)`` and
  ``me.done(...)`` and never keeps a program counter by hand.
* An effect returns the new world, ``outcome(world, "-EBUSY")`` to show a kernel outcome in
  traces, or ``None`` when the step turns out not to be enabled.  Labels return ``me.*(...)``.
* States are immutable and hashable: ``typing.NamedTuple`` records of ints, bools, IntEnums
  and tuples are the recommended shape (fast to hash, compact, and symbolic-friendly).
"""
from __future__ import annotations

import inspect
import itertools
import operator
from collections.abc import Mapping
from typing import Any, Iterable, NamedTuple

from .config import Config
from .errors import ModelDefinitionError, SvmCheckError
from .props import Property, deadlock_property

_MARK = "__svmcheck_step__"


class Result(NamedTuple):
    """What an effect returns when it has more to say than the next world."""
    world: Any
    proc: Any          # the acting process's next (label, locals...) tuple; None for steps
    outcome: str | None


def outcome(world, text: str) -> Result:
    """Return ``world`` as a step's next state and show ``text`` (``-EBUSY``, ``cpages=3/4``)."""
    return Result(world, None, text)


# --------------------------------------------------------------------------------------------
# declarations
# --------------------------------------------------------------------------------------------

class _Spec:
    """Metadata a decorator attaches to a step or label function."""
    __slots__ = ("flow", "start", "args", "when", "actor", "order")
    _counter = itertools.count()

    def __init__(self, flow, start, args, when, actor):
        self.flow, self.start, self.args, self.when, self.actor = flow, start, args, when, actor
        self.order = next(self._counter)


def _guards(when) -> tuple:
    if when is None:
        return ()
    if callable(when):
        return (when,)
    return tuple(when)


def step(fn=None, *, actor: str = "env", args=None, when=None):
    """Declare an atomic step of ``actor`` (a template such as ``"cpu{cpu}"`` filled from args).

    ``args``: ``dict(name=domain)`` where a domain is an iterable or ``callable(config)``;
    or ``callable(model, state)`` returning dicts (state-dependent, slower).
    ``when``: a guard ``callable(model, state, *args) -> bool`` or a tuple of them; the deadlock
    report names the guards that are false.
    """
    def mark(f):
        setattr(f, _MARK, _Spec(None, False, args, _guards(when), actor))
        return f
    return mark(fn) if fn is not None else mark


class Flow:
    """A sequence of labelled atomic steps run by one actor (PlusCal's process).

    ``actor`` is a name template (``"gpu{gpu}/fault"``) filled from ``over``, which gives the
    processes: ``over=dict(gpu=lambda cfg: range(cfg.gpus))`` makes one per GPU.  ``locals``
    maps each local variable to its initial value (ints, bools, tuples: the state must hash).
    A process is *idle* between runs; its ``start`` labels begin a run, ``me.done`` ends it.
    """

    def __init__(self, actor: str, *, over: dict | None = None, locals: dict | None = None):
        self.actor = actor
        self.over = dict(over or {})
        self.locals = dict(locals or {})
        self.name = None

    def __set_name__(self, owner, name):
        self.name = name

    def label(self, fn=None, *, start: bool = False, args=None, when=None):
        """Declare the next label of this flow; ``start=True`` marks where an idle actor begins.

        ``args`` are nondeterministic choices taken at this label (e.g. ``trylock=(True,
        False)``); ``when`` guards are what the actor *waits for* here (a lock, a fence).
        """
        def mark(f):
            setattr(f, _MARK, _Spec(self, start, args, _guards(when), None))
            return f
        return mark(fn) if fn is not None else mark

    def __repr__(self):
        return f"Flow({self.name or self.actor})"


# --------------------------------------------------------------------------------------------
# the running model
# --------------------------------------------------------------------------------------------

class Action:
    """One concrete transition label: an actor running a step or label with given arguments."""
    __slots__ = ("id", "actor", "actor_id", "name", "args", "argnames", "fn", "guards",
                 "proc", "label", "kind", "spec")

    def as_dict(self) -> dict:
        return {"actor": self.actor, "step": self.name,
                "args": dict(zip(self.argnames, (_plain(a) for a in self.args)))}

    def format(self) -> str:
        inner = ", ".join(f"{n}={_show(v)}" for n, v in zip(self.argnames, self.args))
        return f"{self.name}({inner})"

    def __repr__(self):
        return f"<{self.actor} {self.format()}>"


class Proc:
    """Static description of one process (an instance of a flow)."""
    __slots__ = ("index", "flow", "actor", "params", "local_names", "local_index", "idle",
                 "labels", "label_index", "by_label", "actor_id", "start_labels", "me_cls",
                 "fast")


class Me(tuple):
    """The running process as its label code sees it: params and locals as attributes.

    ``Me(proc, t)`` is the process tuple ``t`` itself, typed with a class made for ``proc``
    whose params are class attributes and whose locals are C-level item getters: the label
    code's ``me.page`` costs a tuple index, not a Python ``__getattr__`` call.
    """
    __slots__ = ()

    def __new__(cls, proc: Proc, t: tuple):
        return tuple.__new__(proc.me_cls, t)

    @staticmethod
    def make_class(proc: Proc) -> type:
        ns = {"__slots__": (), "_p": proc}
        for n, i in proc.local_index.items():
            if n not in Me.__dict__:
                ns[n] = property(operator.itemgetter(i))
        for n, v in proc.params.items():
            if n not in Me.__dict__:
                ns[n] = v
        return type(f"Me[{proc.actor}]", (Me,), ns)

    def __getattr__(self, name):
        p = self._p
        raise AttributeError(
            f"flow {p.flow.name} has no parameter or local '{name}'; "
            f"declare it in Flow(locals=...): {', '.join(p.local_names) or '(none)'}")

    @property
    def _t(self) -> tuple:
        return tuple(self)

    @property
    def label(self) -> str:
        return self._p.labels[self[0]] if self[0] else "idle"

    @property
    def actor(self) -> str:
        return self._p.actor

    def _with(self, label_idx, updates):
        t = list(self)
        t[0] = label_idx
        li = self._p.local_index
        for k, v in updates.items():
            i = li.get(k)
            if i is None:
                raise ModelDefinitionError(
                    f"flow {self._p.flow.name} has no local '{k}'; "
                    f"add it to Flow(locals=...) with its initial value")
            t[i] = v
        return tuple(t)

    def goto(self, label: str, world, outcome: str | None = None, **locals) -> Result:
        """Continue at ``label`` (a loop, a retry, a jump forward), updating ``locals``."""
        idx = self._p.label_index.get(label)
        if idx is None:
            raise ModelDefinitionError(
                f"flow {self._p.flow.name} has no label '{label}'; "
                f"labels: {', '.join(self._p.labels[1:])}")
        return Result(world, self._with(idx, locals), outcome)

    def next(self, world, outcome: str | None = None, **locals) -> Result:
        """Continue at the label declared after this one."""
        idx = self[0] + 1
        if idx >= len(self._p.labels):
            raise ModelDefinitionError(
                f"label '{self.label}' is the last of flow {self._p.flow.name}; "
                f"end the run with me.done(...) or jump with me.goto(...)")
        return Result(world, self._with(idx, locals), outcome)

    def stay(self, world, outcome: str | None = None, **locals) -> Result:
        """Run this label again (a spin or a retry in place)."""
        return Result(world, self._with(self[0], locals), outcome)

    def done(self, world, outcome: str | None = None) -> Result:
        """End the run: the process is idle again with its locals reset."""
        return Result(world, self._p.idle, outcome)


class Model:
    """Base class of every protocol model.

    Subclasses set ``name`` (the CLI name), ``Config`` (a :class:`~svmcheck.config.Config`
    subclass), define ``init()`` returning the initial world (or an iterable of worlds), and
    declare steps, flows and properties.  ``pending(s)`` may list work that is not a flow
    (``[("cpu0", "waits for the page lock")]``) so that a state with no enabled step and
    pending work is reported as a deadlock; an idle system with no pending work is clean
    termination.  A broken variant is a subclass that overrides one step and sets ``name``.
    """

    name: str = ""
    Config: type = Config
    check_deadlock: bool = True
    skip_properties: tuple = ()     # names of inherited properties a variant does not check
    removed_steps: tuple = ()       # names of inherited steps or labels a subclass drops

    # ---- author hooks --------------------------------------------------------------------
    def init(self):
        raise NotImplementedError

    def pending(self, s) -> Iterable[tuple[str, str]]:
        return ()

    def waits_for(self, s) -> Iterable[tuple[str, str, str]]:
        """(waiter, resource, holder) edges: who waits for what held by whom.

        Declared by models with locks or fences; a deadlock report then names the wait cycle
        (``gpu0/fault -[pt fence]-> cs-job -[gpu fault]-> gpu0/fault``).
        """
        return ()

    def describe(self, s) -> str:
        """A one-line rendering of a world for traces (default: the record's repr)."""
        return repr(s)

    # ---- construction --------------------------------------------------------------------
    def __init__(self, config: Config | None = None):
        cls = type(self)
        self.config = config if config is not None else cls.Config()
        try:
            self._build()
        except SvmCheckError:
            raise
        except Exception as e:
            raise ModelDefinitionError(
                f"model {self.name or cls.__name__} cannot be built: {type(e).__name__}: {e}; "
                f"check its argument domains and flow declarations") from e

    @classmethod
    def summary(cls) -> str:
        doc = inspect.getdoc(cls) or ""
        return doc.strip().splitlines()[0] if doc.strip() else cls.__name__

    @classmethod
    def declared_properties(cls) -> list[Property]:
        found: dict[str, Property] = {}
        for klass in reversed(cls.__mro__):
            for attr, value in vars(klass).items():
                if isinstance(value, Property):
                    value.resolve_name()
                    found[value.name] = value
                elif isinstance(value, (list, tuple)) and attr == "properties":
                    for p in value:
                        p.resolve_name()
                        found[p.name] = p
        props = [p for p in found.values() if p.name not in cls.skip_properties]
        if cls.check_deadlock:
            props.append(deadlock_property)
        return props

    def _declared(self):
        """Collect step/label functions over the MRO; an override keeps the parent's spec."""
        specs: dict[str, tuple] = {}
        cls = type(self)
        for klass in reversed(cls.__mro__):
            for attr, value in vars(klass).items():
                spec = getattr(value, _MARK, None)
                if spec is not None:
                    specs[attr] = (spec, None)
                elif attr in specs and callable(value):
                    specs[attr] = (specs[attr][0], None)  # override without re-decorating
        return {attr: (spec, getattr(self, attr).__func__) for attr, (spec, _) in specs.items()
                if attr not in cls.removed_steps}

    def _build(self):
        declared = self._declared()
        if not declared:
            raise ModelDefinitionError(
                f"model {self.name or type(self).__name__} declares no steps; "
                f"mark effects with @step or with a Flow's @flow.label")
        self.actions: list[Action] = []          # every action id -> Action
        self._action_key: dict[tuple, Action] = {}
        self.actors: list[str] = []
        self._actor_id: dict[str, int] = {}
        self.steps_static: list[Action] = []
        self.steps_dynamic: list[tuple] = []     # (name, spec, fn)
        flows: dict[str, list] = {}
        for attr, (spec, fn) in sorted(declared.items(), key=lambda kv: kv[1][0].order):
            if not (inspect.getdoc(fn) or "").strip():
                raise ModelDefinitionError(
                    f"step '{attr}' of model {self.name} has no docstring; open it with the "
                    f"kernel function it models (file and function)")
            if spec.flow is None:
                self._add_step(attr, spec, fn)
            else:
                flows.setdefault(spec.flow.name, []).append((attr, spec, fn))
        self.procs: list[Proc] = []
        for fname, labels in flows.items():
            self._add_flow(labels[0][1].flow, labels)
        self.proc_of = {p.actor: p for p in self.procs}     # ProcView's lookup
        self.properties = self.declared_properties()
        self._static_fast = [(a, a.fn, a.args, a.guards) for a in self.steps_static]

    def actor_id(self, actor: str) -> int:
        i = self._actor_id.get(actor)
        if i is None:
            i = self._actor_id[actor] = len(self.actors)
            self.actors.append(actor)
        return i

    def intern(self, kind, actor, name, argnames, args, fn, guards, proc=None, label=0,
               spec=None) -> Action:
        key = (kind, proc.index if proc else -1, label, name, args)
        a = self._action_key.get(key)
        if a is None:
            a = Action()
            a.id, a.actor, a.name, a.args, a.argnames = len(self.actions), actor, name, args, argnames
            a.actor_id = self.actor_id(actor)
            a.fn, a.guards, a.proc, a.label, a.kind, a.spec = fn, guards, proc, label, kind, spec
            self.actions.append(a)
            self._action_key[key] = a
        return a

    def _domains(self, args, where) -> tuple[tuple, list[tuple]]:
        """Static argument names and the cartesian product of their domains."""
        if args is None:
            return (), [()]
        if callable(args):
            return None, None
        names = tuple(args)
        domains = []
        for n in names:
            d = args[n]
            if callable(d):
                d = d(self.config)
            try:
                domains.append(tuple(d))
            except TypeError:
                raise ModelDefinitionError(
                    f"argument '{n}' of {where} must be an iterable or callable(config) "
                    f"returning one, got {d!r}") from None
        return names, list(itertools.product(*domains))

    def _add_step(self, attr, spec, fn):
        names, combos = self._domains(spec.args, f"step {attr}")
        if names is None:
            self.steps_dynamic.append((attr, spec, fn))
            return
        for combo in combos:
            actor = _fill(spec.actor, dict(zip(names, combo)), attr)
            self.steps_static.append(
                self.intern("step", actor, attr, names, combo, fn, spec.when, spec=spec))

    def _add_flow(self, flow: Flow, labels):
        names, combos = self._domains(flow.over, f"flow {flow.name}")
        if names is None:
            raise ModelDefinitionError(
                f"flow {flow.name}: 'over' must be static (dict of domains), not a callable")
        label_names = ["idle"] + [a for a, _, _ in labels]
        if not any(spec.start for _, spec, _ in labels):
            raise ModelDefinitionError(
                f"flow {flow.name} has no start label; mark its first step "
                f"@{flow.name}.label(start=True)")
        for combo in combos:
            p = Proc()
            p.index, p.flow = len(self.procs), flow
            p.params = dict(zip(names, combo))
            p.actor = _fill(flow.actor, p.params, f"flow {flow.name}")
            p.actor_id = self.actor_id(p.actor)
            p.local_names = tuple(flow.locals)
            p.local_index = {n: i + 1 for i, n in enumerate(p.local_names)}
            p.idle = (0,) + tuple(flow.locals.values())
            p.labels = label_names
            p.label_index = {n: i for i, n in enumerate(label_names)}
            p.by_label = [[] for _ in label_names]   # label idx -> static actions
            p.start_labels = []
            for idx, (attr, spec, fn) in enumerate(labels, start=1):
                lnames, lcombos = self._domains(spec.args, f"label {attr}")
                if lnames is None:
                    raise ModelDefinitionError(
                        f"label {attr}: choices must be a static dict of domains")
                for combo in lcombos:
                    act = self.intern("label", p.actor, attr, lnames, combo, fn, spec.when,
                                      proc=p, label=idx, spec=spec)
                    p.by_label[idx].append(act)
                    if spec.start:   # an idle process begins here; a goto may return here
                        p.by_label[0].append(act)
                        if idx not in p.start_labels:
                            p.start_labels.append(idx)
            p.me_cls = Me.make_class(p)
            # per label: (action, effect, args, guards, the Me of an idle process starting
            # there) -- what successors() needs without an attribute lookup per attempt
            p.fast = [[(a, a.fn, a.args, a.guards,
                        tuple.__new__(p.me_cls, (a.label,) + p.idle[1:]) if i == 0 else None)
                       for a in acts] for i, acts in enumerate(p.by_label)]
            self.procs.append(p)

    # ---- the transition relation ---------------------------------------------------------
    def initial_states(self) -> list:
        """The initial system states: (world, procs) pairs."""
        try:
            worlds = self.init()
        except SvmCheckError:
            raise
        except Exception as e:
            raise ModelDefinitionError(
                f"init() of model {self.name} raised {type(e).__name__}: {e}; fix the "
                f"model's initial state") from e
        if _is_single_world(worlds):
            worlds = [worlds]
        procs = tuple(p.idle for p in self.procs)
        out = []
        for w in worlds:
            st = (w, procs)
            try:
                hash(st)
            except TypeError as e:
                from .errors import StateError
                raise StateError(
                    f"the initial state of model {self.name} is not hashable ({e}); use tuples "
                    f"and NamedTuples instead of lists, dicts and sets") from None
            out.append(st)
        if not out:
            raise ModelDefinitionError(f"model {self.name}: init() returned no state")
        return out

    def successors(self, state) -> list:
        """(action, outcome, next_state) for every enabled transition, in a fixed order.

        The explorer's inner loop: guards and effects are called inline (one Python frame per
        attempt: the model's own) and a crash anywhere is reported against the action that
        was running."""
        world, procs = state
        out = []
        append = out.append
        a = None
        try:
            for a, fn, args, guards in self._static_fast:
                for g in guards:
                    if not g(self, world, *args):
                        break
                else:
                    r = fn(self, world, *args)
                    if r is not None:
                        if type(r) is Result:
                            append((a, r.outcome, (r.world, procs)))
                        else:
                            append((a, None, (r, procs)))
            for attr, spec, fn in self.steps_dynamic:
                for a in self._dynamic_actions(attr, spec, fn, world):
                    r = self._fire_step(a, world)
                    if r is not None:
                        append((a, r[1], (r[0], procs)))
            for p in self.procs:
                i = p.index
                t = procs[i]
                acts = p.fast[t[0]]
                if not acts:
                    continue
                me = tuple.__new__(p.me_cls, t) if t[0] else None
                idle = me is None and t == p.idle
                for a, fn, args, guards, start_me in acts:
                    # an idle process starting a run is *at* the start label it takes
                    m = me or (start_me if idle else Me(p, (a.label,) + t[1:]))
                    for g in guards:
                        if not g(self, world, m, *args):
                            break
                    else:
                        r = fn(self, world, m, *args)
                        if r is not None:
                            if type(r) is not Result or r.proc is None:
                                self._fire_label(a, world, m)   # raises the author's error
                            append((a, r.outcome,
                                    (r.world, procs[:i] + (r.proc,) + procs[i + 1:])))
        except SvmCheckError:
            raise
        except Exception as e:
            raise _step_failed(self, a, e) from e
        return out

    def _dynamic_actions(self, attr, spec, fn, world):
        for d in spec.args(self, world):
            names = tuple(d)
            vals = tuple(d[n] for n in names)
            yield self.intern("step", _fill(spec.actor, d, attr), attr, names, vals, fn,
                              spec.when, spec=spec)

    def _call(self, a: Action, world, *me):
        """Guards, then the effect; a crash in model code is reported as a model error."""
        try:
            for g in a.guards:
                if not g(self, world, *me, *a.args):
                    return None
            return a.fn(self, world, *me, *a.args)
        except SvmCheckError:
            raise
        except Exception as e:
            raise _step_failed(self, a, e) from e

    def _fire_step(self, a: Action, world):
        r = self._call(a, world)
        if r is None:
            return None
        if type(r) is Result:
            return r.world, r.outcome
        return r, None

    def _fire_label(self, a: Action, world, me: Me):
        r = self._call(a, world, me)
        if r is None:
            return None
        if type(r) is not Result or r.proc is None:
            raise ModelDefinitionError(
                f"label '{a.name}' of flow {a.proc.flow.name} returned {type(r).__name__}; a "
                f"label must return me.next(...), me.goto(...), me.stay(...) or me.done(...)")
        return r

    def fire(self, a: Action, state):
        """Run one action on a state: (outcome, next_state) or None if it is not enabled."""
        world, procs = state
        if a.kind == "step":
            r = self._fire_step(a, world)
            return None if r is None else (r[1], (r[0], procs))
        p = a.proc
        t = procs[p.index]
        if a not in p.by_label[t[0]]:
            return None
        r = self._fire_label(a, world, Me(p, t if t[0] else (a.label,) + t[1:]))
        if r is None:
            return None
        return r.outcome, (r.world, procs[:p.index] + (r.proc,) + procs[p.index + 1:])

    def find_action(self, state, actor: str, name: str, args: dict) -> Action | None:
        """The action with this actor, step name and arguments (as saved in a trace).

        A trace saved before the model gave a step a new argument lacks it; such a step still
        matches when exactly one enabled action agrees on every saved argument — the new
        choice has one value here (e.g. ``dma_error`` with ``dma_map_errors=0``), so nothing
        is guessed.  Two candidates are ambiguous: no match."""
        want = {k: _plain(v) for k, v in args.items()}
        same = [a for a, _, _ in self.successors(state) if a.actor == actor and a.name == name]
        for a in same:
            if a.as_dict()["args"] == want:
                return a
        for a in self.actions:
            if a.actor == actor and a.name == name and a.as_dict()["args"] == want:
                return a
        wider = [a for a in same
                 if want.items() <= a.as_dict()["args"].items() and len(a.args) > len(want)]
        return wider[0] if len(wider) == 1 else None

    # ---- introspection for reports -------------------------------------------------------
    def busy(self, state) -> list[tuple[str, str, list[str]]]:
        """Processes in the middle of a run: (actor, label, names of guards that are false)."""
        world, procs = state
        out = []
        for p in self.procs:
            t = procs[p.index]
            if t[0] == 0:
                continue
            me = Me(p, t)
            waits = []
            for a in p.by_label[t[0]]:
                for g in a.guards:
                    if not g(self, world, me, *a.args):
                        waits.append(_guard_text(g))
            out.append((p.actor, p.labels[t[0]], sorted(set(waits))))
        for actor, what in self.pending(world):
            out.append((actor, "pending", [what]))
        return out

    def proc_view(self, procs) -> "ProcView":
        """actor -> (label, locals), for printing and for properties."""
        return ProcView(self, procs)


class ProcView(Mapping):
    """actor -> (label, locals), each process decoded when asked.

    Lazy because a property reads one or two processes, and on a symbolic state
    (svmcheck/symbolic) decoding a process's label fixes its value: decoding every process
    would multiply the property's paths by every actor's positions."""
    __slots__ = ("_model", "_procs")

    def __init__(self, model, procs):
        self._model, self._procs = model, procs

    def __getitem__(self, actor):
        p = self._model.proc_of[actor]
        t = self._procs[p.index]
        return p.labels[t[0]], dict(zip(p.local_names, t[1:]))

    def __iter__(self):
        return (p.actor for p in self._model.procs)

    def __len__(self):
        return len(self._model.procs)


def _step_failed(model, a, e) -> ModelDefinitionError:
    import traceback
    tb = traceback.extract_tb(e.__traceback__)[-1]
    return ModelDefinitionError(
        f"step {a.actor} {a.format()} of model {model.name} raised {type(e).__name__}: {e} "
        f"(at {tb.filename}:{tb.lineno}); fix the step's guard or effect")


def _guard_text(g) -> str:
    doc = inspect.getdoc(g)
    return doc.splitlines()[0] if doc else g.__name__


def _is_single_world(w) -> bool:
    if isinstance(w, (list, set, frozenset)):
        return False
    if isinstance(w, tuple) and not hasattr(w, "_fields"):
        return False  # a plain tuple of worlds
    return not inspect.isgenerator(w)


def _fill(template: str, values: dict, where: str) -> str:
    try:
        return template.format(**values)
    except (KeyError, IndexError) as e:
        raise ModelDefinitionError(
            f"actor template '{template}' of {where} names {e}, which is not one of its "
            f"arguments: {', '.join(values) or '(none)'}") from None


def _plain(v):
    """A JSON-compatible form of an argument value."""
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, int):
        return int(v)
    if isinstance(v, (tuple, list)):
        return [_plain(x) for x in v]
    return str(v)


def _show(v) -> str:
    name = getattr(v, "name", None)
    if name is not None and isinstance(v, int) and not isinstance(v, bool):
        return name
    return repr(v)
