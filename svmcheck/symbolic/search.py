"""Configuration search: parameters as unknowns, Z3 picks values that break a property.

``--free NAME`` turns a configuration parameter into a symbolic leaf whose domain is the
parameter's declared choices (or ``min..max``; ``false/true`` for a switch).  A tuple-valued
parameter needs the config class to say how it unfolds into leaves
(``Config.symbolic_param``; the SVM config unfolds ``links`` into one leaf per GPU pair).
The leaf is one Z3 variable shared by every BMC frame, so a satisfying assignment names a
configuration and a trace under it; ``unsat`` up to the depth proves no value in the domain
breaks the property within that many steps.

A parameter that shapes the model itself (argument domains, number of processes) cannot be
free: building the model would have to look at its value.  Enumerate those with ``--set``.
"""
from __future__ import annotations

import dataclasses
import itertools

from ..errors import ConfigError
from . import layout
from .bmc import learn_layout
from .values import SBool, SInt


def domain(cfg_cls, name: str) -> tuple:
    fields = {f.name: f for f in cfg_cls.params()}
    f = fields.get(name)
    if f is None:
        raise ConfigError(f"--free {name}: no such parameter; available: "
                          f"{', '.join(sorted(fields))}")
    meta = f.metadata
    if meta.get("choices") is not None:
        return tuple(meta["choices"])
    if f.type in (bool, "bool") or isinstance(f.default, bool):
        return (False, True)
    if meta.get("min") is not None and meta.get("max") is not None:
        return tuple(range(meta["min"], meta["max"] + 1))
    raise ConfigError(f"--free {name}: the parameter has no finite domain (choices or "
                      f"min/max); bound it in its param() declaration or use --set")


def free_leaves(cfg, names) -> dict:
    """name -> symbolic value (a leaf, or a tuple of leaves for a tuple parameter)."""
    out = {}
    for n in names:
        hook = getattr(cfg, "symbolic_param", None)
        v = hook(n, _leaf) if hook is not None else None
        if v is None:
            dom = domain(type(cfg), n)
            v = _leaf(f"cfg.{n}", dom)
        out[n] = v
    return out


def _leaf(name, dom):
    dom = tuple(dom)
    if all(isinstance(x, bool) for x in dom):
        return SBool(f"|{name}|", dom)
    return SInt(f"|{name}|", dom)


def free_leaves_list(free) -> list:
    """Every symbolic leaf of the free parameters (``free`` may be None), in order."""
    return [x for v in (free or {}).values() for x in leaves_of(v)]


def leaves_of(v) -> list:
    if isinstance(v, (SInt, SBool)):
        return [v]
    if isinstance(v, tuple):
        return [x for c in v for x in leaves_of(c)]
    return []


def concrete_configs(free: dict, limit: int = 64):
    """Every concrete configuration the free leaves allow (to learn the layout from)."""
    leaves = free_leaves_list(free)
    combos = list(itertools.islice(itertools.product(*(x.domain for x in leaves)), limit + 1))
    if len(combos) > limit:
        raise ConfigError(f"the free parameters allow more than {limit} configurations; free "
                          f"fewer parameters (the layout is learned from each)")
    for combo in combos:
        vals = dict(zip((id(x) for x in leaves), combo))
        yield {n: _fill(v, vals) for n, v in free.items()}


def _fill(v, vals):
    if isinstance(v, (SInt, SBool)):
        return vals[id(v)]
    if isinstance(v, tuple):
        return tuple(_fill(c, vals) for c in v)
    return v


def with_values(cfg, values: dict):
    c = dataclasses.replace(cfg)
    for k, v in values.items():
        object.__setattr__(c, k, v)
    return c


def model_with_free(cls, cfg, names, depth):
    """The model built on a config with symbolic free parameters, and its learned layout."""
    model, free = symbolic_model(cls, cfg, names)
    typ = layout.merge_all(learn_layout(cls(with_values(cfg, values)), depth)
                           for values in concrete_configs(free))
    return model, typ, free


def symbolic_model(cls, cfg, names):
    """The model built on a config whose ``names`` are symbolic leaves, and those leaves."""
    from ..errors import SvmCheckError
    free = free_leaves(cfg, names)
    try:
        model = cls(with_values(cfg, free))
        model.initial_states()
    except (SvmCheckError, RuntimeError) as e:
        raise ConfigError(f"--free {', '.join(names)}: the parameter shapes the model itself "
                          f"(its argument domains, processes or initial state), so it cannot be an "
                          f"unknown; "
                          f"enumerate its values with --set instead") from e
    return model, free


def assignment(free: dict, values: dict) -> list:
    """(leaf, value) for every free leaf under the concrete parameter ``values``."""
    out = []

    def walk(v, x):
        if isinstance(v, (SInt, SBool)):
            out.append((v, x))
        elif isinstance(v, tuple):
            for c, y in zip(v, x):
                walk(c, y)
    for n, v in free.items():
        walk(v, values[n])
    return out


def decode_free(free: dict, m) -> dict:
    """The parameter values of a Z3 model, as a plain config dict."""
    import z3

    def val(v):
        if isinstance(v, (SInt, SBool)):
            bare = v.e.strip("|")
            x = m.eval(z3.Bool(bare) if isinstance(v, SBool) else z3.Int(bare),
                       model_completion=True)
            return z3.is_true(x) if isinstance(v, SBool) else x.as_long()
        if isinstance(v, tuple):
            return tuple(val(c) for c in v)
        return v
    return {n: val(v) for n, v in free.items()}


def shown(values: dict) -> str:
    """Parameter values as --set would take them: ``links=0,1;0,0 sys_atomics=False``."""
    def text(v):
        if isinstance(v, tuple):
            return ";".join(",".join(map(str, row)) for row in v) \
                if v and isinstance(v[0], tuple) else ",".join(map(str, v))
        return str(v)
    return " ".join(f"{k}={text(v)}" for k, v in values.items())


def config_shown(model, free) -> dict:
    """The model's configuration as results report it: a free parameter reads "free"."""
    return {k: ("free" if k in (free or {}) else v) for k, v in model.config.as_dict().items()}
