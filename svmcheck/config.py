"""Model configuration: a frozen dataclass of sizes and switches, each with a default and help.

A model declares ``Config`` as a subclass of :class:`Config` whose fields are made with
:func:`param`; the CLI sets them with ``--set name=value``.  Like ``TwoPhase.cfg`` beside
``TwoPhase.tla``, configuration stays apart from the model: a model never hard-codes a size.
"""
from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field, fields

from .errors import ConfigError


def param(default, help: str, *, choices=None, min=None, max=None):
    """A configuration field with a default and one line of help.

    ``choices`` restricts the value to a set; ``min``/``max`` bound an integer.
    """
    meta = {"help": help, "choices": choices, "min": min, "max": max}
    if isinstance(default, (list, dict, set)):
        raise TypeError("param defaults must be immutable; use a tuple")
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class Config:
    """Base of every model configuration (no parameters).

    Subclasses are made frozen dataclasses automatically: write fields with :func:`param`.
    """

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        if "__dataclass_fields__" not in cls.__dict__:
            dataclass(frozen=True)(cls)

    def validate(self) -> None:
        """Raise :class:`ConfigError` for an impossible combination (override to add rules)."""

    # -- introspection used by the CLI and reports ---------------------------------------
    @classmethod
    def params(cls) -> list[dataclasses.Field]:
        return list(fields(cls))

    def as_dict(self) -> dict:
        return {f.name: _jsonable(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def build(cls, overrides: dict[str, object] | None = None, *, model: str = "model"):
        """Make a configuration from defaults plus ``overrides`` (strings are parsed).

        Raises :class:`ConfigError` naming the parameter, the value and the choices.
        """
        overrides = dict(overrides or {})
        known = {f.name: f for f in fields(cls)}
        values = {}
        for name, raw in overrides.items():
            if name not in known:
                choices = ", ".join(sorted(known)) or "(none)"
                raise ConfigError(
                    f"unknown parameter '{name}' for model {model}; available: {choices}")
            values[name] = _coerce(cls, known[name], raw, model)
        cfg = cls(**values)
        for f in fields(cfg):
            _check_bounds(f, getattr(cfg, f.name), model)
        cfg.validate()
        return cfg


def _type_of(cls, f):
    hints = typing.get_type_hints(cls)
    return hints.get(f.name, type(f.default))


def _coerce(cls, f, raw, model):
    want = _type_of(cls, f)
    if not isinstance(raw, str):
        value = raw
    else:
        text = raw.strip()
        try:
            if want is bool:
                low = text.lower()
                if low not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                    raise ValueError
                value = low in ("1", "true", "yes", "on")
            elif want is int:
                value = int(text, 0)
            elif want is float:
                value = float(text)
            elif want is str:
                value = text
            elif typing.get_origin(want) is tuple or isinstance(f.default, tuple):
                value = _parse_tuple(text)
            else:
                value = text
        except ValueError:
            tname = getattr(want, "__name__", str(want))
            raise ConfigError(
                f"parameter '{f.name}' of model {model} takes a {tname}, not '{raw}'; "
                f"e.g. --set {f.name}={_jsonable(f.default)}") from None
    _check_bounds(f, value, model)
    return value


def _parse_tuple(text: str):
    """'1,2;3,4' -> ((1,2),(3,4)); '1,2' -> (1,2); '' -> ()."""
    def atom(a):
        a = a.strip()
        try:
            return int(a, 0)
        except ValueError:
            return a
    if text == "":
        return ()
    if ";" in text:
        return tuple(tuple(atom(a) for a in row.split(",") if a.strip()) for row in text.split(";"))
    return tuple(atom(a) for a in text.split(","))


def _check_bounds(f, value, model):
    meta = f.metadata
    choices = meta.get("choices")
    if choices is not None and value not in choices:
        raise ConfigError(
            f"parameter '{f.name}' of model {model} cannot be {value!r}; "
            f"choose one of: {', '.join(map(str, choices))}")
    lo, hi = meta.get("min"), meta.get("max")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if lo is not None and value < lo or hi is not None and value > hi:
            rng = f"{lo if lo is not None else '-inf'}..{hi if hi is not None else 'inf'}"
            raise ConfigError(
                f"parameter '{f.name}' of model {model} is {value}, outside {rng}; "
                f"pick a value in that range")


def _jsonable(v):
    if isinstance(v, tuple):
        return [_jsonable(x) for x in v]
    return v
