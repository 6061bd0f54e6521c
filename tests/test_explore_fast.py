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


# ------------------------------------------------------------------------------------------
# hash-compact vs exact
# ------------------------------------------------------------------------------------------

import pytest  # noqa: E402

from svmcheck.registry import build  # noqa: E402

SMALL = [  # (model, overrides): shipped models at small sizes, and zoo models with liveness
    ("zoo:counter.py", {"threads": 3}),
    ("zoo:locks.py:locks_opposite", {}),
    ("zoo:pingpong.py:livelock", {}),
    ("zoo:maze.py", {"starts": 2}),
    ("pt-fence", {}),
    ("xe", {"gpus": "1", "pages": "2", "gpu_kinds": "r"}),
    ("mirror", {"gpu_kinds": "r", "pages": "2", "vma_layout": "a-"}),
    ("kfd", {"gpus": "1", "gpu_kinds": "a"}),
]


def small_model(spec, overrides):
    if spec.startswith("zoo:"):
        return zoo_model(spec[4:], **overrides)
    return build(spec, overrides)[0]


def signature(res):
    """What must not depend on the visited-set mode or the number of workers."""
    return (res.states, res.transitions, res.depth, res.result,
            [(p.name, p.status, p.length, p.trace.steps if p.trace else None)
             for p in res.properties])


@pytest.mark.parametrize("spec,overrides", SMALL, ids=[s for s, _ in SMALL])
def test_compact_agrees_with_exact(spec, overrides):
    m = small_model(spec, overrides)
    exact = check(m, save_dir=None)
    compact = check(m, save_dir=None, compact=True)
    assert signature(compact) == signature(exact)
    assert compact.hash_compact and not exact.hash_compact
    assert 0 < compact.collision_probability < 1e-6
    assert compact.to_json()["hash_compact"] is True and "hash_compact" not in exact.to_json()


def test_compact_states_are_rebuilt_by_refiring():
    m = zoo_model("counter.py", threads=3)
    exact = explore(m)
    from svmcheck.explore.levels import explore_compact
    ex = explore_compact(m)
    assert list(ex.states) == exact.states                 # level-by-level replay
    assert ex.states[len(exact.states) - 1] == exact.states[-1]   # one path re-fired


def test_compact_trace_replays(tmp_path):
    m = zoo_model("maze.py")
    r = check(m, save_dir=str(tmp_path), compact=True)
    p = next(p for p in r.properties if p.status == "violated")
    t = tr.load(p.counterexample)
    assert tr.confirm(m, t, tr.replay(m, t)).reproduced


def test_fingerprint_ignores_namedtuple_and_intenum_types():
    import enum
    from typing import NamedTuple

    from svmcheck.explore.fingerprint import fingerprint

    class E(enum.IntEnum):
        A = 3

    class W(NamedTuple):
        x: int
        y: tuple

    assert fingerprint((W(3, (1,)), ())) == fingerprint(((3, (1,)), ()))
    assert fingerprint((W(E.A, (1,)), ())) == fingerprint((W(3, (1,)), ()))
    assert fingerprint(((-1,), ())) != fingerprint(((-2,), ()))     # unlike hash()
