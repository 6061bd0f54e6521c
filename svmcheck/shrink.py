"""Smallest counterexample: after BFS finds a shortest trace, try smaller configurations.

As Hypothesis shrinks a failing example, ``shrink`` walks the model's configuration down —
fewer GPUs, pages, accesses, writes, munmaps… (every integer parameter that declares a
``min``, and booleans from True to False) — one parameter at a time, keeping a change
whenever the *same property* is still violated, until no single step down still fails.
Each candidate is a full BFS at that size, bounded by ``limits``; a candidate that hits a
limit is not taken (an unknown is not a violation).  The result is the smallest configuration
found and its shortest trace, which is itself a normal, replayable counterexample.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

from .check import check
from .errors import ConfigError
from .explore.bfs import Limits


@dataclass
class Shrunk:
    property: str
    config: dict           # the smallest configuration still violating
    changed: dict          # parameter -> (default, shrunk value)
    trace: object          # its shortest Trace
    tried: int             # candidate configurations explored


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
           max_candidates: int = 40) -> Shrunk | None:
    """The smallest configuration (by greedy single-parameter descent) whose check still
    violates ``prop``; None if even the given configuration does not."""
    limits = limits or Limits(max_states=200_000, time_limit=20)

    def violated(cfg):
        try:
            cfg.validate()
            model = model_cls(cfg)
        except ConfigError:
            return None
        res = check(model, properties=(prop,), limits=limits, save_dir=None)
        (p,) = res.properties
        return p.trace if p.status == "violated" else None

    best = violated(config)
    if best is None:
        return None
    cur, tried = config, 1
    improved = True
    while improved and tried < max_candidates:
        improved = False
        for cand in _candidates(cur):
            if tried >= max_candidates:
                break
            tried += 1
            t = violated(cand)
            if t is not None:
                cur, best, improved = cand, t, True
                break
    base, now = config.as_dict(), cur.as_dict()
    changed = {k: (base[k], now[k]) for k in now if base[k] != now[k]}
    return Shrunk(prop, now, changed, best, tried)


def _replace(cfg, name, value):
    import dataclasses
    try:
        return dataclasses.replace(cfg, **{name: value})
    except (TypeError, ValueError):
        return None
