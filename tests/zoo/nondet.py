"""A non-deterministic model: a step's outcome depends on a global call counter.

The explorer sees one outcome; a replay in a fresh process (or after another call) sees a
different one, so ``svmcheck replay`` must reject the trace (exit 2), never "reproduce" it.
"""
import itertools
from typing import NamedTuple

from svmcheck import Model, always, outcome, step

_calls = itertools.count()


class World(NamedTuple):
    n: int


class Nondet(Model):
    """A step reports how many times it has been called (outside state)."""
    name = "nondet"

    def init(self):
        return World(0)

    @step(when=lambda m, s: s.n < 2)
    def tick(self, s):
        """Count up, reporting a global call count (the bug under test)."""
        return outcome(World(s.n + 1), f"call#{next(_calls)}")

    @always
    def small(self, s):
        """n stays below 2 (false after two ticks)."""
        return s.n < 2
