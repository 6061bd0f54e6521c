"""pytest helpers: state a model's verdict in one line, fail with the readable trace.

    from svmcheck.testing import assert_finds, assert_holds

    def test_upstream_is_sound():
        assert_holds("xe", gpus=1, pages=1)

    def test_cow_hazard():
        t = assert_finds("xe-upstream", "cow_isolation", max_length=9, forks=1, gpu_kinds="w")
        assert t.steps[-1]["step"] == "xe_pt_svm_pre_commit"

``model`` is a shipped model's name, a ``.py`` path (``path.py:NAME``), a ``Model`` subclass or
a ``Model`` instance (then no ``**config``); ``**config`` are configuration parameters, typed
and bounded as with ``--set``.  Nothing is written to disk.  On failure the AssertionError
carries the same text as ``svmcheck check``: the verdict per property and, for a violation,
the step-by-step trace with why each step ran and the failing clause.
"""
from __future__ import annotations

from .check import check
from .explore.bfs import Limits

__all__ = ["assert_holds", "assert_finds", "model_of"]


def model_of(model, config: dict):
    """A configured model instance from a name, a path, a class or an instance."""
    from .model import Model
    from .registry import build
    if isinstance(model, Model):
        if config:
            raise TypeError("pass configuration with a model name or class, not an instance")
        return model
    if isinstance(model, type) and issubclass(model, Model):
        return model(model.Config.build(config, model=model.name))
    if isinstance(model, str):
        return build(model, config)[0]
    raise TypeError(f"expected a model name, path, Model subclass or instance, got {model!r}")


def _limits(limits):
    if limits is None or isinstance(limits, Limits):
        return limits
    return Limits(**limits)


def _text(res, model) -> str:
    from .report.text import format_result
    return "\n".join(format_result(res, model=model, show_traces=True))


def assert_holds(model, *, properties=(), limits=None, **config):
    """Every (selected) property holds over the complete state space; returns the result.

    ``limits``: a ``Limits`` or a dict (``max_states``, ``max_depth``, ``time_limit``); a run
    stopped by a limit fails — it is not a proof."""
    m = model_of(model, config)
    res = check(m, properties=properties, limits=_limits(limits), save_dir=None)
    if res.result != "ok":
        raise AssertionError(f"expected every property of {m.name} to hold; got "
                             f"{res.result}:\n{_text(res, m)}")
    return res


def assert_finds(model, property, max_length=None, *, limits=None, **config):
    """``property`` is violated (vacuous, for a ``sometimes``) and, with ``max_length``, its
    shortest counterexample has at most that many steps; returns the Trace (or, for a vacuous
    ``sometimes``, the PropertyResult)."""
    m = model_of(model, config)
    res = check(m, properties=[property], limits=_limits(limits), save_dir=None)
    p = res.properties[0]
    if p.status == "vacuous":
        return p
    if p.status != "violated":
        why = f" ({p.reason})" if p.reason else ""
        raise AssertionError(f"expected {m.name} to violate {property}; it {p.status}{why}:\n"
                             f"{_text(res, m)}")
    if max_length is not None and p.length > max_length:
        raise AssertionError(f"expected a counterexample to {property} of at most "
                             f"{max_length} steps; the shortest has {p.length}:\n"
                             f"{_text(res, m)}")
    return p.trace
