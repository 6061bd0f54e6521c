"""N independent bits that can each be set once: exactly 2**N reachable states.

Hand count: every subset of set bits is reachable, so states = 2**N; a state with k bits
set has N-k enabled steps, so transitions = sum_k C(N,k)(N-k) = N * 2**(N-1); the BFS depth
is N.  ``below_limit`` (popcount < limit) is violated iff limit <= N, first at depth ``limit``.
Scale it up with ``--set bits=20`` for a large state space (benchmarks, limit tests).
"""
from typing import NamedTuple

from svmcheck import Config, Model, always, param, sometimes, step


class BitsConfig(Config):
    bits: int = param(3, "number of independent bits", min=1, max=26)
    limit: int = param(99, "always below_limit: fewer than this many bits are set", min=1)


class World(NamedTuple):
    bits: tuple         # bits[i]: bit i has been set


class Bits(Model):
    """N independent one-shot bits (2**N states)."""
    name = "bits"
    Config = BitsConfig

    def init(self):
        return World((False,) * self.config.bits)

    @step(actor="bit{i}", args=dict(i=lambda c: range(c.bits)),
          when=lambda m, s, i: not s.bits[i])
    def set_bit(self, s, i):
        """Set bit i (zoo model: no kernel function)."""
        return World(s.bits[:i] + (True,) + s.bits[i + 1:])

    @always
    def below_limit(self, s):
        """Fewer than config.limit bits are set."""
        return sum(s.bits) < self.config.limit

    @sometimes
    def all_set(self, s):
        """Non-vacuity: every bit gets set."""
        return all(s.bits)
