"""An ``eventually`` violated by a terminal state (a run that stops short of the goal).

From 0 the system goes ``left`` to 1 and then ``arrive`` at the goal 3, or ``right`` to 2
where nothing is enabled.  Hand count: **4 states** (0, 1, 2, 3), **3 transitions**, depth 2;
terminal states 2 and 3; no process is ever busy, so neither is a deadlock.
``reaches_goal`` is violated by the one-step trace ``right`` (no cycle); ``decides`` (the
system leaves 0) holds.
"""
from typing import NamedTuple

from svmcheck import Model, eventually, step


class World(NamedTuple):
    pos: int


class Terminal(Model):
    """A fork: one branch reaches the goal, the other stops short of it."""
    name = "terminal"

    def init(self):
        return World(0)

    @step(when=lambda m, s: s.pos == 0)
    def left(self, s):
        """Take the branch that leads on to the goal."""
        return World(1)

    @step(when=lambda m, s: s.pos == 1)
    def arrive(self, s):
        """Reach the goal."""
        return World(3)

    @step(when=lambda m, s: s.pos == 0)
    def right(self, s):
        """Take the dead-end branch (a terminal state, not a deadlock)."""
        return World(2)

    @eventually
    def reaches_goal(self, s):
        """Every run reaches the goal (false: the right branch stops at 2)."""
        return s.pos == 3

    @eventually
    def decides(self, s):
        """Every run leaves the start (true)."""
        return s.pos != 0
