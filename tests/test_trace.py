"""Counterexample files: save/load round trips, replay rebuilds the explored states,
validation of corrupt/foreign files, and replays that no longer apply or no longer violate."""
from __future__ import annotations

import json

import pytest

from conftest import zoo_model, zoo_path
from svmcheck.check import check
from svmcheck.errors import CounterexampleError
from svmcheck.trace import SCHEMA, SCHEMA_VERSION, Trace, confirm, load, replay


def trace_of(model, name, **kw):
    res = check(model, save_dir=None, model_path=kw.pop("model_path", None), **kw)
    p = next(p for p in res.properties if p.name == name)
    assert p.status == "violated"
    return res, p.trace


CASES = [
    ("maze.py", {}, "not_at_exit"),
    ("counter.py", {}, "no_lost_update"),
    ("locks.py:locks_opposite", {}, "deadlock_free"),
    ("locks.py:locks_opposite", {}, "work_completes"),
    ("pingpong.py:livelock", {}, "job_completes"),
    ("terminal.py", {}, "reaches_goal"),
]


@pytest.mark.parametrize("spec,overrides,name", CASES, ids=[f"{s}-{n}" for s, _, n in CASES])
def test_save_load_replay_round_trip(tmp_path, spec, overrides, name):
    model = zoo_model(spec, **overrides)
    _, t = trace_of(model, name, model_path=zoo_path(spec.split(":")[0]))
    path = t.save(str(tmp_path))
    assert path.startswith(str(tmp_path)) and path.endswith(".json")
    data = json.loads(open(path).read())
    assert data["schema"] == SCHEMA and data["schema_version"] == SCHEMA_VERSION
    back = load(path)
    assert back == t
    assert back.digest() == t.digest()
    assert t.save(str(tmp_path)) == path            # same trace, same file name
    rp = confirm(model, back, replay(model, back))
    assert rp.reproduced, rp.message
    assert len(rp.states) == len(t.steps) + 1
    assert [a.name for a in rp.actions] == [s["step"] for s in t.steps]


def test_replay_rebuilds_the_explored_path():
    model = zoo_model("counter.py", threads=2)
    res, t = trace_of(model, "no_lost_update")
    ex = res.exploration
    j = ex.violations["no_lost_update"]
    rp = replay(model, t)
    assert rp.states == [ex.states[i] for i in ex.path_to(j)]


def test_trace_records_outcomes():
    # the nondeterministic model's outcomes are what the explorer saw, in order
    model = zoo_model("nondet.py")
    _, t = trace_of(model, "small")
    assert [s["outcome"] for s in t.steps] == ["call#0", "call#1"]
    with pytest.raises(CounterexampleError, match="non-deterministic"):
        replay(model, t)       # the counter has moved on: the same step now says otherwise


# ---------------------------------------------------------------------------------------
# load(): corrupt and foreign files
# ---------------------------------------------------------------------------------------

@pytest.fixture
def good(tmp_path):
    """A valid saved counterexample (maze, 7 steps) as a dict, plus a writer."""
    model = zoo_model("maze.py")
    _, t = trace_of(model, "not_at_exit", model_path=zoo_path("maze.py"))
    data = t.to_json()

    def write(d, name="t.json"):
        p = tmp_path / name
        p.write_text(d if isinstance(d, str) else json.dumps(d))
        return str(p)
    return model, data, write


def _edit(data, **changes):
    d = json.loads(json.dumps(data))
    d.update(changes)
    return d


BAD_FILES = {
    "corrupt json": lambda d: '{"schema": "svmcheck-counterexample", "steps": [',
    "empty file": lambda d: "",
    "a list": lambda d: [d],
    "foreign schema": lambda d: _edit(d, schema="stateright-path"),
    "no schema": lambda d: {k: v for k, v in d.items() if k != "schema"},
    "wrong schema_version": lambda d: _edit(d, schema_version=SCHEMA_VERSION + 1),
    "string schema_version": lambda d: _edit(d, schema_version=str(SCHEMA_VERSION)),
    "missing steps": lambda d: {k: v for k, v in d.items() if k != "steps"},
    "config not a dict": lambda d: _edit(d, config=[1, 2]),
    "unknown kind": lambda d: _edit(d, kind="sometimes"),
    "malformed step": lambda d: _edit(d, steps=[{"actor": 1, "step": "move"}]),
    "step args not a dict": lambda d: _edit(d, steps=[dict(d["steps"][0], args=[1])]),
    "lasso_start out of range": lambda d: _edit(d, lasso_start=99),
    "lasso_start not an index": lambda d: _edit(d, lasso_start="1"),
    "obligation_start a bool": lambda d: _edit(d, obligation_start=True),
    "init not an int": lambda d: _edit(d, init="0"),
}


@pytest.mark.parametrize("defect", list(BAD_FILES))
def test_load_rejects(good, defect):
    _, data, write = good
    with pytest.raises(CounterexampleError):
        load(write(BAD_FILES[defect](data)))


def test_load_names_a_non_index_lasso_start(good):
    _, data, write = good
    with pytest.raises(CounterexampleError, match=r"lasso_start='1', not a step index in 0\.\."):
        load(write(_edit(data, lasso_start="1")))


def test_load_missing_file(tmp_path):
    with pytest.raises(CounterexampleError, match="cannot read"):
        load(str(tmp_path / "nope.json"))


# ---------------------------------------------------------------------------------------
# replay(): steps that no longer apply; confirm(): behaviours that no longer violate
# ---------------------------------------------------------------------------------------

def _trace(data) -> Trace:
    d = json.loads(json.dumps(data))
    return Trace(model=d["model"], config=d["config"], property=d["property"], kind=d["kind"],
                 steps=d["steps"], init=d["init"], lasso_start=d["lasso_start"],
                 obligation_start=d["obligation_start"], obligation=d["obligation"],
                 model_path=d["model_path"])


def test_replay_unknown_step(good):
    model, data, _ = good
    t = _trace(data)
    t.steps[2]["args"] = {"d": "UP"}
    with pytest.raises(CounterexampleError, match="step 3 .* does not exist"):
        replay(model, t)


def test_replay_step_not_enabled(good):
    model, data, _ = good
    t = _trace(data)
    t.steps[0]["args"] = {"d": "N"}          # into the outer wall
    with pytest.raises(CounterexampleError, match="step 1 .* not enabled"):
        replay(model, t)


def test_replay_outcome_differs(good):
    model, data, _ = good
    t = _trace(data)
    t.steps[0]["outcome"] = "-EBUSY"
    with pytest.raises(CounterexampleError, match="outcome"):
        replay(model, t)


def test_replay_bad_initial_state(good):
    model, data, _ = good
    t = _trace(data)
    t.init = 1                                 # maze with starts=1 has one initial state
    with pytest.raises(CounterexampleError, match="initial state"):
        replay(model, t)


def test_confirm_property_no_longer_declared(good):
    model, data, _ = good
    t = _trace(data)
    t.property = "gone"
    with pytest.raises(CounterexampleError, match="no longer"):
        confirm(model, t, replay(model, t))


def test_confirm_truncated_safety_trace(good):
    model, data, _ = good
    t = _trace(data)
    t.steps = t.steps[:-1]                     # one step short of the exit
    rp = confirm(model, t, replay(model, t))
    assert not rp.reproduced and "holds" in rp.message


def test_confirm_truncated_deadlock_trace():
    model = zoo_model("locks.py:locks_opposite")
    _, t = trace_of(model, "deadlock_free")
    t.steps = t.steps[:1]
    rp = confirm(model, t, replay(model, t))
    assert not rp.reproduced and "not a deadlock" in rp.message


def test_confirm_unfair_hand_written_lasso():
    # fairloop: the client could finish at every state of ping·pong, so the lasso is unfair
    model = zoo_model("pingpong.py:fairloop")
    step = lambda actor, name: {"actor": actor, "step": name, "args": {}, "outcome": None}  # noqa: E731
    t = Trace(model="fairloop", config={}, property="job_completes", kind="completes",
              steps=[step("client", "begin"), step("a", "ping"), step("b", "pong")],
              lasso_start=1, obligation_start=1, obligation="client")
    rp = confirm(model, t, replay(model, t))
    assert not rp.reproduced and "unfair to client" in rp.message


def test_confirm_cycle_that_does_not_close():
    model = zoo_model("pingpong.py:livelock")
    _, t = trace_of(model, "job_completes")
    t.steps = t.steps[:-1]                     # begin, ping: back at token 1, not 0
    rp = confirm(model, t, replay(model, t))
    assert not rp.reproduced and "does not close" in rp.message


def test_confirm_liveness_goal_reached():
    model = zoo_model("terminal.py")
    _, t = trace_of(model, "reaches_goal")
    t.steps = [{"actor": "env", "step": "left", "args": {}, "outcome": None},
               {"actor": "env", "step": "arrive", "args": {}, "outcome": None}]
    rp = confirm(model, t, replay(model, t))
    assert not rp.reproduced and "satisfied" in rp.message
