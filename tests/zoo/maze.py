"""A walker in a small maze: a safety violation whose shortest trace is not the BFS depth.

    col   0 1 2 3 4
    row0  S . . # o      o: open but walled in (unreachable)
    row1  # # . # #
    row2  . . . . .
    row3  T # # # E      T: second start (starts=2)

Hand count: 12 open cells, 11 reachable from S (all but (0,4)): **11 states**; 10 corridors
between reachable cells, walked both ways: **20 transitions**; the farthest cells, (3,0) and
E, are 7 moves from S: **depth 7**.  ``not_at_exit`` is violated by a 7-step trace from S, or
by a 6-step trace from T when both starts are initial states.
"""
from typing import NamedTuple

from svmcheck import Config, Model, always, param, step

LAYOUT = ("S..#.",
          "##.##",
          ".....",
          "T###E")
MOVES = {"N": (-1, 0), "S": (1, 0), "W": (0, -1), "E": (0, 1)}


class MazeConfig(Config):
    starts: int = param(1, "initial states: 1 = S only, 2 = S and T", choices=(1, 2))


class World(NamedTuple):
    row: int
    col: int


def _find(ch):
    return next((r, c) for r, line in enumerate(LAYOUT) for c, x in enumerate(line) if x == ch)


class Maze(Model):
    """A walker looks for the exit of a 4x5 maze."""
    name = "maze"
    Config = MazeConfig

    def init(self):
        starts = [World(*_find("S"))]
        if self.config.starts == 2:
            starts.append(World(*_find("T")))
        return starts

    def _open(self, r, c):
        return 0 <= r < len(LAYOUT) and 0 <= c < len(LAYOUT[0]) and LAYOUT[r][c] != "#"

    @step(actor="walker", args=dict(d=tuple(MOVES)),
          when=lambda m, s, d: m._open(s.row + MOVES[d][0], s.col + MOVES[d][1]))
    def move(self, s, d):
        """Walk one cell north, south, west or east."""
        return World(s.row + MOVES[d][0], s.col + MOVES[d][1])

    @always
    def not_at_exit(self, s):
        """The walker never finds the exit (false: a shortest trace finds it)."""
        return (s.row, s.col) != _find("E")
