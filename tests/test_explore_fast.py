"""The explorer's fast path and its hooks: canonicalisation (symmetry) and successor
selection (partial-order reduction), hash-compact vs exact visited sets."""
from __future__ import annotations

from conftest import zoo_model
from svmcheck import trace as tr
from svmcheck.check import check
from svmcheck.explore.bfs import explore


def _sorted_bits(st):
    """Canonical form of a bits state: the set bits first (all bits are interchangeable)."""
    world, procs = st
    return (type(world)(tuple(sorted(world.bits, reverse=True))), procs)


def test_canon_stores_one_state_per_orbit():
    m = zoo_model("bits.py", bits=5)
    ex = explore(m, canon=_sorted_bits)
    assert len(ex.states) == 6                      # popcount 0..5
    assert all(_sorted_bits(s) == s for s in ex.states)
    assert ex.depth == 5


def test_canon_trace_is_concrete_and_replays(tmp_path):
    m = zoo_model("bits.py", bits=5, limit=3)
    r = check(m, canon=_sorted_bits, save_dir=str(tmp_path))
    p = next(p for p in r.properties if p.name == "below_limit")
    assert p.status == "violated" and p.length == 3
    # three *different* bits are set: without re-firing the canonical parent's action the
    # trace would set bit 0 three times, which is not a run of the model
    assert len({tuple(s["args"].items()) for s in p.trace.steps}) == 3
    t = tr.load(p.counterexample)
    assert tr.confirm(m, t, tr.replay(m, t)).reproduced


def test_expand_subset_counts_full_successors_for_terminal_states():
    m = zoo_model("bits.py", bits=4)
    ex = explore(m, expand=lambda st, succs: succs[:1])   # always take the lowest free bit
    assert len(ex.states) == 5 and ex.transitions == 4
    assert ex.terminal == [4]
