"""Smallest counterexample: after BFS finds a shortest trace, try smaller configurations.

As Hypothesis shrinks a failing example, ``shrink`` walks the model's configuration down —
fewer GPUs, pages, accesses, writes, munmaps… (every integer parameter that declares a
``min``, and booleans from True to False) — one parameter at a time, keeping a change
whenever the *same property* is still violated, until no single step down still fails.
Each candidate is a full BFS at that size, bounded by ``limits``; a candidate that hits a
limit is not taken (an unknown is not a violation).  The result is the smallest configuration
found and its shortest trace, which is itself a normal, replayable counterexample.

``svmcheck check`` shrinks by default only when it is *cheap* (:func:`cheap_limits`): the
violating run was complete and explored at most ``CHEAP_STATES`` states, so every smaller
candidate is a sub-second BFS; the whole search then also has a wall-clock ``budget`` of
``AUTO_BUDGET`` seconds, after which the best configuration found so far is reported.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, fields

from .check import check
from .errors import ConfigError
from .explore.bfs import Limits

CHEAP_STATES = 20_000     # a run this small shrinks by default (check --no-shrink: never)
AUTO_BUDGET = 10.0        # seconds the default shrink may take in all, best-so-far after


@dataclass
class Shrunk:
    property: str
    config: dict           # the smallest configuration still violating
    changed: dict          # parameter -> (default, shrunk value)
    trace: object          # its shortest Trace
    tried: int             # candidate configurations explored
    stopped: str | None = None   # why the search ended early (the budget), else None


def cheap_limits(res) -> Limits | None:
    """The bounds of a default shrink after check result ``res``, or None if it is not cheap.

    Cheap: the run was complete and explored at most ``CHEAP_STATES`` states.  Each candidate
    is then bounded by ``CHEAP_STATES`` and by four times the run's own size: a reduction
    that grows the space (fewer of one thing, more interleavings of another) is dropped
    quickly instead of eating the budget."""
    if res.stop_reason is not None or res.states > CHEAP_STATES:
        return None
    return Limits(max_states=min(CHEAP_STATES, max(1000, 4 * res.states)))


def _candidates(cfg):
    """Structural reductions the configuration offers (``smaller()``: fewer GPUs or pages
    with their dependent parameters adjusted), then single-parameter steps down."""
    smaller = getattr(cfg, "smaller", None)
    if smaller is not None:
        yield from smaller()
    for name, value in _steps_down(cfg):
        cand = _replace(cfg, name, value)
        if cand is not None:
            yield cand


def _steps_down(cfg):
    """Single-parameter reductions, most aggressive first."""
    for f in fields(cfg):
        v = getattr(cfg, f.name)
        lo = f.metadata.get("min")
        if isinstance(v, bool):
            if v:
                yield f.name, False
        elif isinstance(v, int) and lo is not None and v > lo:
            yield from ((f.name, x) for x in sorted({lo, v - 1}))


def shrink(model_cls, config, prop: str, *, limits: Limits | None = None,
           max_candidates: int = 40, budget: float | None = None,
           trace=None) -> Shrunk | None:
    """The smallest configuration (by greedy single-parameter descent) whose check still
    violates ``prop``; None if even the given configuration does not.

    ``trace``: the violation already found at ``config`` (saves re-checking it).
    ``budget``: wall-clock seconds for the smaller candidates; when spent, the best so far is
    returned with ``stopped`` saying so."""
    limits = limits or Limits(max_states=200_000, time_limit=20)
    deadline = None

    def violated(cfg):
        try:
            cfg.validate()
            model = model_cls(cfg)
        except ConfigError:
            return None
        lim = limits
        if deadline is not None:
            left = max(deadline - time.monotonic(), 0.01)
            lim = Limits(limits.max_states, limits.max_depth,
                         min(limits.time_limit or left, left))
        res = check(model, properties=(prop,), limits=lim, save_dir=None)
        (p,) = res.properties
        return p.trace if p.status == "violated" else None

    best = trace if trace is not None else violated(config)
    if best is None:
        return None
    if budget is not None:       # the budget is for the smaller candidates only
        deadline = time.monotonic() + budget
    cur, tried, stopped = config, 1, None
    improved = True
    while improved and tried < max_candidates and stopped is None:
        improved = False
        for cand in _candidates(cur):
            if deadline is not None and time.monotonic() >= deadline:
                stopped = f"time budget {budget:g}s spent"
                break
            if tried >= max_candidates:
                break
            tried += 1
            t = violated(cand)
            if t is not None:
                cur, best, improved = cand, t, True
                break
    if stopped is None and deadline is not None and time.monotonic() >= deadline:
        stopped = f"time budget {budget:g}s spent"   # the last candidate ran out of time
    base, now = config.as_dict(), cur.as_dict()
    changed = {k: (base[k], now[k]) for k in now if base[k] != now[k]}
    return Shrunk(prop, now, changed, best, tried, stopped)


def _replace(cfg, name, value):
    import dataclasses
    try:
        return dataclasses.replace(cfg, **{name: value})
    except (TypeError, ValueError):
        return None
