"""Bad models: a state that holds a list, which cannot be hashed or stored as visited.

``unhashable_init``: the initial state already holds a list.
``unhashable_step``: the initial state is fine, a step's result holds a list.
Both must be reported as one-line errors (exit 2), never as a traceback.
"""
from typing import NamedTuple

from svmcheck import Model, step


class World(NamedTuple):
    items: object


class UnhashableInit(Model):
    """The initial state holds a list."""
    name = "unhashable_init"

    def init(self):
        return World([0])

    @step
    def noop(self, s):
        """Nothing."""
        return s


class UnhashableStep(Model):
    """A step returns a state holding a list."""
    name = "unhashable_step"

    def init(self):
        return World((0,))

    @step(when=lambda m, s: isinstance(s.items, tuple))
    def listify(self, s):
        """Turn the tuple into a list (the bug under test)."""
        return World(list(s.items))
