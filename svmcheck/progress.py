"""Progress on stderr while a run lasts over a second (none with --quiet or --json).

Each line also says how fast the BFS levels grow and, by a geometric extrapolation of the level
sizes, how many states the run will reach and when.  The explorer reports, once a second, the
states found, the depth being expanded and the frontier (the whole level being expanded plus
what it has found of the next); so ``states - frontier`` is exactly the number of states in
levels ``0..depth-1``.  Those cumulative counts, sampled at whatever depths the seconds fall
on, are all the estimator needs: see :func:`estimate`.
"""
from __future__ import annotations

import math
import resource
import sys


def peak_rss_mib() -> float:
    """Peak resident memory of this process in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def estimate(cumulative: dict, states: int, rate: float, *, max_depth: int | None = None,
             max_states: int | None = None) -> dict:
    """Project the run's total states and the seconds left.

    ``cumulative``: ``{depth: states in levels 0..depth}`` for the complete levels seen (any
    subset of depths); ``states``: found so far; ``rate``: states per second.

    The last two blocks between sampled depths give an average level size each; their ratio,
    per level, is the growth ``r`` (exact for consecutive depths: ``|L(k)| / |L(k-1)|``).
    Levels beyond the last complete one are assumed to keep growing by ``r``:
    ``total = cum + L·r + L·r² + …`` — finite when ``r < 1`` (the state space is tapering),
    or up to ``max_depth``; otherwise there is no projection (``None``) unless ``max_states``
    caps it.  Returns ``growth``, ``projected_states`` and ``eta_s`` (each possibly None).
    """
    out = {"growth": None, "projected_states": None, "eta_s": None}
    pts = sorted((d, n) for d, n in cumulative.items() if d >= 0)
    pts = [(-1, 0)] + pts
    if len(pts) < 3:
        return _cap(out, states, rate, max_states)
    (a, ca), (b, cb), (c, cc) = pts[-3:]
    avg1, avg2 = (cb - ca) / (b - a), (cc - cb) / (c - b)
    if avg1 <= 0 or avg2 <= 0:
        return _cap(out, states, rate, max_states)
    mid1, mid2 = (a + b + 1) / 2, (b + c + 1) / 2
    r = (avg2 / avg1) ** (1.0 / (mid2 - mid1))
    out["growth"] = r
    last = avg2 * r ** (c - mid2)              # estimated size of level c
    if max_depth is not None and max_depth > c:
        n = max_depth - c
        tail = last * n if math.isclose(r, 1.0) else last * r * (r ** n - 1) / (r - 1)
    elif max_depth is not None:
        tail = 0.0
    elif r < 1:
        tail = last * r / (1 - r)
    else:
        return _cap(out, states, rate, max_states)
    total = max(int(round(cc + tail)), states)
    out["projected_states"] = total
    return _cap(out, states, rate, max_states)


def _cap(out, states, rate, max_states):
    if max_states is not None and (out["projected_states"] is None
                                   or out["projected_states"] > max_states):
        out["projected_states"] = max(max_states, states)
    if out["projected_states"] is not None and rate > 0:
        out["eta_s"] = round(max(0, out["projected_states"] - states) / rate, 1)
    return out


class Progress:
    """Prints ``states=… states/s=… depth=… frontier=… mem=… growth=… projected~… eta~…``
    about once a second."""

    def __init__(self, stream=None, json_lines: bool = False, *, max_depth=None,
                 max_states=None):
        self.stream = stream or sys.stderr
        self.json_lines = json_lines
        self.shown = False
        self.max_depth, self.max_states = max_depth, max_states
        self.cumulative: dict[int, int] = {}

    def observe(self, st: dict) -> dict:
        """Record the complete levels this report reveals; return the estimate."""
        d, done = st.get("depth"), st.get("states", 0) - st.get("frontier", 0)
        if d is not None and d >= 1 and done > 0:
            self.cumulative[d - 1] = done
        return estimate(self.cumulative, st.get("states", 0), st.get("states_per_s", 0.0),
                        max_depth=self.max_depth, max_states=self.max_states)

    def __call__(self, st: dict, final: bool = False):
        if final and not self.shown:
            return          # a run shorter than a second prints nothing
        self.shown = True
        st = dict(st, mem_mib=round(peak_rss_mib(), 1))
        est = {"growth": None, "projected_states": None, "eta_s": None} if final \
            else self.observe(st)
        if est["growth"] is not None:
            est["growth"] = round(est["growth"], 3)
        if self.json_lines:
            import json
            self.stream.write(json.dumps(dict(st, final=final, **est)) + "\n")
        else:
            extra = ""
            if not final:
                g, p, e = est["growth"], est["projected_states"], est["eta_s"]
                extra += f" growth=x{g:.2f}/level" if g is not None else ""
                extra += f" projected~{p}" if p is not None else ""
                extra += f" eta~{_dur(e)}" if e is not None else \
                    (" eta=?" if g is not None else "")
            self.stream.write(
                f"{'done' if final else 'checking'} states={st['states']} "
                f"transitions={st['transitions']} depth={st['depth']} "
                f"frontier={st['frontier']} states/s={st['states_per_s']:.0f} "
                f"mem={st['mem_mib']}MiB{extra}\n")
        self.stream.flush()


def _dur(s: float) -> str:
    if s < 90:
        return f"{s:.0f}s"
    if s < 5400:
        return f"{s / 60:.0f}min"
    return f"{s / 3600:.1f}h"
