"""A counter that climbs 0..top and wraps to 0: a ``sometimes`` that is reached and one that
is never reached (vacuous), plus their ``sometimes_step`` counterparts.

Hand count: values 0..top are reachable, one step each (``inc`` below top, ``wrap`` at top):
**top+1 states, top+1 transitions**, depth top.  ``reaches_top`` is witnessed at depth top;
``beyond_top`` (value > top) is never reached, so a model checking it is *vacuous*.
"""
from typing import NamedTuple

from svmcheck import Config, Model, outcome, param, sometimes, sometimes_step, step


class VacuityConfig(Config):
    top: int = param(4, "highest counter value before it wraps to 0", min=1, max=1000)


class World(NamedTuple):
    value: int


class _Climb(Model):
    """Base: the counter; subclasses choose their non-vacuity goals."""
    Config = VacuityConfig

    def init(self):
        return World(0)

    @step(actor="env", when=lambda m, s: s.value < m.config.top)
    def inc(self, s):
        """Count up by one."""
        return World(s.value + 1)

    @step(actor="env", when=lambda m, s: s.value == m.config.top)
    def wrap(self, s):
        """Wrap around to 0, reporting it."""
        return outcome(World(0), "wrapped")


class Reached(_Climb):
    """Every sometimes goal is reached: the check passes."""
    name = "reached"

    @sometimes
    def reaches_top(self, s):
        """The counter reaches its top value."""
        return s.value == self.config.top

    wraps = sometimes_step("wraps", step="wrap", outcome="wrapped")


class Vacuous(_Climb):
    """The sometimes goals are unreachable: the check reports them vacuous."""
    name = "vacuous"

    @sometimes
    def beyond_top(self, s):
        """The counter passes its top value (impossible)."""
        return s.value > self.config.top

    overflows = sometimes_step("overflows", step="inc", outcome="overflow")
