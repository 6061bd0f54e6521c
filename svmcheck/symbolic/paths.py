"""Every path of a function run on symbolic leaves, found by re-execution.

The first run takes the first choice at every split; each choice it did not take is a pending
alternative (the choices so far plus the other one).  An alternative is run again from the
start with its choices replayed: Python code is deterministic, so replaying the same choices
reaches the same point — which is all the "forking" needs.  Leaves are independent and every
choice leaves a non-empty value set, so every path is feasible and no solver is consulted.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import values
from .values import PathLimit


@dataclass
class PathResult:
    pc: list          # Z3 booleans whose conjunction selects this path
    value: Any        # what the function returned


def run_paths(fn, *, max_paths: int = 200000, where: str = "a step",
              terms: bool = False) -> list[PathResult]:
    """Run ``fn(path)`` on every path; ``fn`` sees the path so it can read its leaf sets.
    ``terms``: arithmetic and comparisons build Terms (properties), not splits (steps)."""
    out: list[PathResult] = []
    work = [[]]
    while work:
        path = values.Path(work.pop(), terms)
        prev, values._current = values._current, path
        try:
            v = fn(path)
        finally:
            values._current = prev
        out.append(PathResult(path.condition(), v))
        work.extend(path.pending)
        if len(out) > max_paths:
            raise PathLimit(f"more than {max_paths} paths through {where}; shrink the "
                            f"configuration (--set) so the symbolic encoding stays finite")
    return out
