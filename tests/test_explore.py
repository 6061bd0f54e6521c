"""The breadth-first explorer: unique state counts against hand-computed numbers, order,
limits, edges and the networkx graph."""
from __future__ import annotations

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import zoo_model
from svmcheck.errors import StateError
from svmcheck.explore.bfs import Limits, explore
from svmcheck.explore.graph import to_networkx

# (model, overrides, states, transitions, depth); every number is derived by hand in the
# docstring of the zoo model (counter.py: see test_counter_hand_count below).
HAND_COUNTS = [
    ("bits.py", {"bits": 1}, 2, 1, 1),
    ("bits.py", {"bits": 3}, 8, 12, 3),
    ("bits.py", {"bits": 10}, 1024, 5120, 10),
    ("counter.py", {"threads": 1}, 4, 3, 3),
    ("counter.py", {"threads": 2}, 27, 38, 6),
    ("locks.py:locks_same", {}, 5, 6, 2),
    ("locks.py:locks_opposite", {}, 6, 8, 2),
    ("vacuity.py:reached", {"top": 4}, 5, 5, 4),
    ("vacuity.py:vacuous", {"top": 1}, 2, 2, 1),
    ("pingpong.py:livelock", {}, 4, 7, 2),
    ("pingpong.py:fairloop", {}, 4, 8, 2),
    ("terminal.py", {}, 4, 3, 2),
    ("maze.py", {"starts": 1}, 11, 20, 7),
    ("maze.py", {"starts": 2}, 11, 20, 6),
    ("nondet.py", {}, 3, 2, 2),
]


@pytest.mark.parametrize("spec,overrides,states,transitions,depth", HAND_COUNTS,
                         ids=[f"{s}{o or ''}" for s, o, *_ in HAND_COUNTS])
def test_hand_counts(spec, overrides, states, transitions, depth):
    ex = explore(zoo_model(spec, **overrides))
    assert len(ex.states) == states
    assert len(set(ex.states)) == states          # unique: no state stored twice
    assert ex.transitions == transitions
    assert ex.depth == depth
    assert ex.complete and ex.stop_reason is None
    assert ex.expanded == states


def test_counter_hand_count():
    """counter.py, 2 threads.  A thread is N (not started), S(tmp) (loaded, at store),
    F(tmp) (stored, at finish; tmp is kept) or D (done, idle, locals reset).  Enumerating the
    pairs with their reachable (tmps, value):
    NN 1, SN/NS 2, FN/NF 2, DN/ND 2, SS 1, SF/FS 2+2 (the loader saw 0 or 1), SD/DS 2+2,
    FF 3 (tmps 00 value 1, 01 and 10 value 2), FD/DF 3+3 (tmp 1 value 2, tmp 0 value 1 or 2),
    DD 2 (value 1 or 2) = 27.  Every thread not in D has exactly one enabled step, so
    transitions = 2+4+4+2+2+8+4+6+6+0 = 38."""
    ex = explore(zoo_model("counter.py", threads=2))
    assert (len(ex.states), ex.transitions) == (27, 38)
    finals = {s[0].value for s in ex.states if s[0].done == 2 and all(s[0].started)}
    assert finals == {1, 2}                       # the lost update is reachable


@settings(max_examples=12, deadline=None)
@given(n=st.integers(min_value=1, max_value=9))
def test_bits_closed_form(n):
    ex = explore(zoo_model("bits.py", bits=n))
    assert len(ex.states) == 2 ** n
    assert ex.transitions == n * 2 ** (n - 1)
    assert ex.depth == n
    assert ex.terminal == [len(ex.states) - 1]      # only "all set" has no successor
    # BFS levels hold C(n, k) states with k bits set
    sizes = [b - a for a, b in zip(ex.level_starts, ex.level_starts[1:] + [len(ex.states)])]
    from math import comb
    assert sizes == [comb(n, k) for k in range(n + 1)]


@settings(max_examples=10, deadline=None)
@given(top=st.integers(min_value=1, max_value=60))
def test_vacuity_closed_form(top):
    ex = explore(zoo_model("vacuity.py:reached", top=top))
    assert (len(ex.states), ex.transitions, ex.depth) == (top + 1, top + 1, top)
    assert ex.terminal == []


def test_bfs_order_is_deterministic():
    a = explore(zoo_model("counter.py", threads=3), keep_edges=True)
    b = explore(zoo_model("counter.py", threads=3), keep_edges=True)
    assert a.states == b.states
    assert list(a.parent) == list(b.parent) and list(a.action) == list(b.action)
    assert [list(x) for x in a.edges] == [list(x) for x in b.edges]


def test_parents_give_shortest_paths():
    ex = explore(zoo_model("maze.py"), keep_edges=True)
    g = to_networkx(ex)
    dist = nx.shortest_path_length(g, source=ex.inits[0])
    for i in range(len(ex.states)):
        assert len(ex.path_to(i)) - 1 == ex.depth_of(i) == dist[i]


def test_terminal_states_and_no_deadlock():
    ex = explore(zoo_model("terminal.py"))
    assert sorted(ex.states[i][0].pos for i in ex.terminal) == [2, 3]
    assert ex.deadlocks == []                         # nothing busy: clean termination
    ex = explore(zoo_model("locks.py:locks_opposite"))
    assert len(ex.deadlocks) == 1 and ex.deadlocks == ex.terminal
    ex = explore(zoo_model("locks.py:locks_same"))
    assert ex.terminal == [] and ex.deadlocks == []


def test_multiple_initial_states():
    ex = explore(zoo_model("maze.py", starts=2))
    assert ex.inits == [0, 1]
    assert [(s[0].row, s[0].col) for s in ex.states[:2]] == [(0, 0), (3, 0)]


def test_edges_and_networkx_graph():
    ex = explore(zoo_model("counter.py", threads=2), keep_edges=True)
    assert all(len(arr) == ex.transitions for arr in ex.edges)
    g = to_networkx(ex)
    assert g.number_of_nodes() == 27 and g.number_of_edges() == 38
    assert [n for n, d in g.nodes(data=True) if d["init"]] == [0]
    # every edge is an action that really leads there
    model = ex.model
    for u, v, d in g.edges(data=True):
        a = next(a for a in model.actions if a.actor == d["actor"] and a.name == d["step"])
        assert model.fire(a, ex.states[u])[1] == ex.states[v]
    with pytest.raises(ValueError):
        to_networkx(explore(zoo_model("bits.py")))     # no edges kept


LARGE = dict(bits=20)       # 2**20 states: far more than any limit below lets through


def test_max_states_limit():
    ex = explore(zoo_model("bits.py", **LARGE), limits=Limits(max_states=500))
    assert not ex.complete and "max-states 500" in ex.stop_reason
    assert 500 <= len(ex.states) < 600


def test_max_depth_limit():
    ex = explore(zoo_model("bits.py", **LARGE), limits=Limits(max_depth=2))
    assert not ex.complete and "max-depth 2" in ex.stop_reason
    assert ex.depth == 2 and len(ex.states) == 1 + 20 + 190


def test_max_depth_not_reached_is_complete():
    ex = explore(zoo_model("bits.py", bits=3), limits=Limits(max_depth=10, max_states=10 ** 6))
    assert ex.complete and len(ex.states) == 8


def test_time_limit():
    ex = explore(zoo_model("bits.py", **LARGE), limits=Limits(time_limit=0.2))
    assert not ex.complete and "time-limit" in ex.stop_reason
    assert ex.seconds < 1.0            # the deadline is checked per state, not per second
    assert len(ex.states) < 2 ** 20


def test_unhashable_states_are_errors():
    with pytest.raises(StateError, match="not hashable"):
        explore(zoo_model("unhashable.py:unhashable_init"))
    with pytest.raises(StateError, match="unhashable state"):
        explore(zoo_model("unhashable.py:unhashable_step"))


def test_progress_callback_final():
    calls = []
    explore(zoo_model("bits.py", bits=4), progress=lambda st, final: calls.append((st, final)))
    assert calls[-1][1] is True and calls[-1][0]["states"] == 16
