"""Properties: safety traces are shortest (checked against networkx), deadlock, vacuity and
fair-lasso detection each positive and negative, and the three-valued result."""
from __future__ import annotations

import networkx as nx
import pytest

from conftest import zoo_model
from svmcheck.check import check
from svmcheck.errors import ModelDefinitionError, UnknownPropertyError
from svmcheck.explore.bfs import Limits
from svmcheck.explore.graph import to_networkx
from svmcheck.trace import confirm, replay


def run_check(model, **kw):
    return check(model, keep_graph=True, save_dir=None, **kw)


def status(res, name):
    return next(p for p in res.properties if p.name == name)


def nx_distance(ex, bad) -> int:
    """networkx's shortest path length from an initial node to the nearest node with bad(i)."""
    g = to_networkx(ex)
    targets = [i for i in g.nodes if bad(i)]
    assert targets, "the property is violated somewhere"
    return min(d for s in ex.inits
               for n, d in nx.shortest_path_length(g, source=s).items() if n in targets)


# ---------------------------------------------------------------------------------------
# safety: a violation is a shortest counterexample
# ---------------------------------------------------------------------------------------

SAFETY = [
    ("maze.py", {"starts": 1}, "not_at_exit", 7),
    ("maze.py", {"starts": 2}, "not_at_exit", 6),
    ("counter.py", {"threads": 2}, "no_lost_update", 4),
    ("counter.py", {"threads": 3}, "no_lost_update", 4),
    ("bits.py", {"bits": 5, "limit": 1}, "below_limit", 1),
    ("bits.py", {"bits": 5, "limit": 3}, "below_limit", 3),
    ("bits.py", {"bits": 5, "limit": 5}, "below_limit", 5),
]


@pytest.mark.parametrize("spec,overrides,name,length", SAFETY,
                         ids=[f"{s}{o}" for s, o, *_ in SAFETY])
def test_safety_counterexample_is_shortest(spec, overrides, name, length):
    model = zoo_model(spec, **overrides)
    res = run_check(model)
    p = status(res, name)
    assert p.status == "violated" and p.length == length
    ex = res.exploration
    prop = next(q for q in model.properties if q.name == name)
    assert p.length == nx_distance(ex, lambda i: not prop.test(model, ex.states[i]))
    # the trace replays to a violating state
    rp = confirm(model, p.trace, replay(model, p.trace))
    assert rp.reproduced and not prop.test(model, rp.states[-1])


def test_trace_starts_from_the_nearest_initial_state():
    p = status(run_check(zoo_model("maze.py", starts=2)), "not_at_exit")
    assert p.trace.init == 1 and p.length == 6


def test_safety_holds():
    res = run_check(zoo_model("bits.py", bits=5, limit=6))
    assert status(res, "below_limit").status == "holds"
    assert res.result == "ok" and res.exit_code == 0


# ---------------------------------------------------------------------------------------
# deadlock
# ---------------------------------------------------------------------------------------

def test_deadlock_found_with_wait_cycle():
    model = zoo_model("locks.py:locks_opposite")
    res = run_check(model)
    p = status(res, "deadlock_free")
    assert p.status == "violated" and p.length == 2
    assert "wait cycle" in p.reason and "lock A" in p.reason and "lock B" in p.reason
    ex = res.exploration
    g = to_networkx(ex)
    assert p.length == nx_distance(
        ex, lambda i: g.out_degree(i) == 0 and bool(model.busy(ex.states[i])))
    assert res.result == "violated" and res.exit_code == 1


def test_no_deadlock_with_same_lock_order():
    res = run_check(zoo_model("locks.py:locks_same"))
    assert status(res, "deadlock_free").status == "holds"
    assert status(res, "work_completes").status == "holds"
    assert res.result == "ok"


def test_clean_termination_is_not_a_deadlock():
    res = run_check(zoo_model("terminal.py"))
    assert status(res, "deadlock_free").status == "holds"


# ---------------------------------------------------------------------------------------
# vacuity (sometimes, sometimes_step)
# ---------------------------------------------------------------------------------------

def test_sometimes_reached():
    res = run_check(zoo_model("vacuity.py:reached"))
    assert status(res, "reaches_top").status == "holds"
    assert status(res, "wraps").status == "holds"
    assert res.result == "ok" and res.exit_code == 0


def test_sometimes_never_reached_is_vacuous_and_fails():
    res = run_check(zoo_model("vacuity.py:vacuous"))
    for name in ("beyond_top", "overflows"):
        p = status(res, name)
        assert p.status == "vacuous" and p.trace is None and "never reached" in p.reason
    assert res.result == "violated" and res.exit_code == 1


def test_vacuity_is_unknown_when_a_limit_cuts_the_run():
    res = run_check(zoo_model("vacuity.py:reached", top=50), limits=Limits(max_depth=3))
    assert status(res, "reaches_top").status == "unknown"
    assert res.result == "incomplete" and res.exit_code == 3


# ---------------------------------------------------------------------------------------
# liveness under weak fairness
# ---------------------------------------------------------------------------------------

def test_fair_livelock_lasso():
    model = zoo_model("pingpong.py:livelock")
    res = run_check(model)
    p = status(res, "job_completes")
    assert p.status == "violated" and "fair cycle" in p.reason
    t = p.trace
    assert [s["step"] for s in t.steps] == ["begin", "ping", "pong"]
    assert t.obligation_start == 1 and t.lasso_start == 1 and t.obligation == "client"
    rp = confirm(model, t, replay(model, t))
    assert rp.reproduced
    assert rp.states[t.lasso_start] == rp.states[-1]          # the cycle closes
    assert all(model.proc_view(s[1])["client"][0] == "finish" for s in rp.states[1:])
    assert status(res, "token_returns").status == "holds"       # its cycle is unfair


def test_unfair_cycle_is_not_a_violation():
    res = run_check(zoo_model("pingpong.py:fairloop"))
    assert status(res, "job_completes").status == "holds"
    assert status(res, "token_returns").status == "holds"
    assert res.result == "ok"
    # the not-done part of the graph does have a cycle: it is rejected only as unfair
    ex = res.exploration
    g = to_networkx(ex)
    busy = [i for i, s in enumerate(ex.states) if s[1][0][0] != 0]
    assert not nx.is_directed_acyclic_graph(g.subgraph(busy))


def test_eventually_violated_by_a_terminal_state():
    model = zoo_model("terminal.py")
    res = run_check(model)
    p = status(res, "reaches_goal")
    assert p.status == "violated" and "ends without reaching" in p.reason
    assert [s["step"] for s in p.trace.steps] == ["right"]
    assert p.trace.lasso_start is None
    assert confirm(model, p.trace, replay(model, p.trace)).reproduced
    assert status(res, "decides").status == "holds"


def test_completes_violated_by_a_deadlock():
    res = run_check(zoo_model("locks.py:locks_opposite"))
    p = status(res, "work_completes")
    assert p.status == "violated" and p.trace.lasso_start is None and p.length == 2


def test_liveness_is_unknown_when_incomplete():
    # bits has no liveness: use the counter, cut at depth 1 (a busy thread, never finished)
    res = run_check(zoo_model("counter.py", threads=2), properties=["inc_completes"],
                    limits=Limits(max_depth=1))
    assert status(res, "inc_completes").status == "unknown"
    assert res.result == "incomplete"


# ---------------------------------------------------------------------------------------
# selection and bad predicates
# ---------------------------------------------------------------------------------------

def test_select_properties():
    res = run_check(zoo_model("counter.py"), properties=["all_done"])
    assert [p.name for p in res.properties] == ["all_done"]
    assert res.result == "ok"          # the lost update is not checked
    with pytest.raises(UnknownPropertyError, match="available"):
        run_check(zoo_model("counter.py"), properties=["nope"])


def test_every_property_kind_is_declared():
    kinds = {p.kind for spec in ("counter.py", "pingpong.py:livelock", "terminal.py",
                                 "vacuity.py:reached")
             for p in zoo_model(spec).properties}
    assert kinds == {"always", "sometimes", "sometimes_step", "eventually", "leads_to",
                     "completes", "deadlock"}


def test_a_raising_predicate_is_a_model_error(tmp_path):
    src = tmp_path / "boom.py"
    src.write_text(
        "from typing import NamedTuple\n"
        "from svmcheck import Model, always, step\n"
        "class W(NamedTuple):\n    n: int\n"
        "class M(Model):\n    '''x'''\n    name = 'boom'\n"
        "    def init(self):\n        return W(0)\n"
        "    @step(when=lambda m, s: s.n < 2)\n    def tick(self, s):\n"
        "        '''t'''\n        return W(s.n + 1)\n"
        "    @always\n    def inverse(self, s):\n        '''i'''\n"
        "        return 1 // (2 - s.n) >= 0\n")
    from svmcheck.registry import build
    model, _ = build(str(src))
    with pytest.raises(ModelDefinitionError, match="property inverse .* ZeroDivisionError"):
        run_check(model)
