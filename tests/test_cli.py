"""The ``svmcheck`` command's contract: exit codes 0/1/2/3, the --json shape, one-line errors,
determinism, limits, graph export, and replay/show round trips.

Most runs are in-process (``svmcheck.cli.main``); a few go through a fresh interpreter."""
from __future__ import annotations

import json
import os

import networkx as nx
import pytest

from conftest import ZOO, prop, zoo_path
from test_errors_doc import documented

LARGE = ("bits.py", "--set", "bits=20")        # 2**20 states: only a limit ends it quickly


# ---------------------------------------------------------------------------------------
# check: exit codes and --json shape
# ---------------------------------------------------------------------------------------

TOP_KEYS = {"model", "config", "result", "states", "transitions", "depth", "seconds",
            "properties"}
PROP_KEYS = {"name", "kind", "status", "counterexample", "length"}
EXTRA_TOP, EXTRA_PROP = {"stop_reason"}, {"reason"}      # documented in README.md


def test_json_shape(check_json, tmp_path):
    rc, res = check_json("counter.py")
    assert rc == 1
    assert set(res) == TOP_KEYS | EXTRA_TOP
    assert res["model"] == "counter" and res["config"] == {"threads": 2}
    assert res["result"] == "violated"
    assert (res["states"], res["transitions"], res["depth"]) == (27, 38, 6)
    assert isinstance(res["seconds"], (int, float)) and res["seconds"] >= 0
    assert isinstance(res["properties"], list) and res["properties"]
    for p in res["properties"]:
        assert set(p) == PROP_KEYS | EXTRA_PROP
        assert p["status"] in ("holds", "violated", "vacuous", "unknown")
        if p["status"] == "violated":
            assert isinstance(p["length"], int) and os.path.isfile(p["counterexample"])
            assert p["counterexample"].startswith(str(tmp_path))
        else:
            assert p["length"] is None and p["counterexample"] is None
    assert [(p["name"], p["kind"], p["status"], p["length"]) for p in res["properties"]] == [
        ("no_lost_update", "always", "violated", 4),
        ("all_done", "sometimes", "holds", None),
        ("inc_completes", "completes", "holds", None),
        ("deadlock_free", "deadlock", "holds", None)]


@pytest.mark.parametrize("spec,rc,result", [
    ("locks.py:locks_same", 0, "ok"),
    ("pingpong.py:fairloop", 0, "ok"),
    ("vacuity.py:reached", 0, "ok"),
    ("locks.py:locks_opposite", 1, "violated"),
    ("pingpong.py:livelock", 1, "violated"),
    ("vacuity.py:vacuous", 1, "violated"),
    ("terminal.py", 1, "violated"),
    ("maze.py", 1, "violated"),
])
def test_check_exit_codes(check_json, spec, rc, result):
    got_rc, res = check_json(spec)
    assert (got_rc, res["result"]) == (rc, result)


def test_counterexamples_go_to_out_dir(run, tmp_path):
    out = tmp_path / "elsewhere"
    r = run("check", zoo_path("locks.py:locks_opposite"), "--out", out, "--quiet")
    assert r.rc == 1
    files = sorted(os.listdir(out))
    assert len(files) == 2 and all(f.startswith("locks_opposite-") for f in files)
    assert f"file={out}" in r.out


def test_text_report(run, tmp_path):
    r = run("check", zoo_path("pingpong.py:livelock"), "--out", tmp_path)
    assert r.rc == 1 and r.err == ""
    assert "done states=4 transitions=7 depth=2" in r.out
    assert "FAIL    job_completes (completes) counterexample steps=3" in r.out
    assert "<- cycle starts here" in r.out and "PASS    token_returns" in r.out
    assert "svmcheck replay " in r.out and r.out.rstrip().endswith(
        "VIOLATED: see the failing properties above")


def test_property_selection(check_json):
    rc, res = check_json("counter.py", "--property", "all_done", "--property", "deadlock_free")
    assert rc == 0 and [p["name"] for p in res["properties"]] == ["all_done", "deadlock_free"]


def test_set_parameters(check_json):
    rc, res = check_json("bits.py", "--set", "bits=6", "--set", "limit=4")
    assert rc == 1 and res["config"] == {"bits": 6, "limit": 4}
    assert res["states"] == 64 and prop(res, "below_limit")["length"] == 4


def test_list_a_model_file(run):
    r = run("list", zoo_path("bits.py"), "--json")
    assert r.rc == 0
    (row,) = r.json
    assert [p["name"] for p in row["parameters"]] == ["bits", "limit"]
    assert [p["name"] for p in row["properties"]] == ["below_limit", "all_set", "deadlock_free"]


# ---------------------------------------------------------------------------------------
# determinism
# ---------------------------------------------------------------------------------------

def _without_seconds(res):
    return {k: v for k, v in res.items() if k != "seconds"}


@pytest.mark.parametrize("spec", ["counter.py", "pingpong.py:livelock",
                                  "locks.py:locks_opposite", "maze.py"])
def test_two_runs_give_identical_json(check_json, spec):
    a, b = check_json(spec), check_json(spec)
    assert a[0] == b[0] and _without_seconds(a[1]) == _without_seconds(b[1])


def test_two_processes_give_identical_json(sub, tmp_path):
    runs = [sub("check", zoo_path("counter.py"), "--set", "threads=3", "--json",
                "--out", tmp_path) for _ in range(2)]
    assert [r.rc for r in runs] == [1, 1]
    a, b = (json.loads(r.out) for r in runs)
    assert _without_seconds(a) == _without_seconds(b)


# ---------------------------------------------------------------------------------------
# limits: incomplete, exit 3, never 0
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("limit", [("--max-states", "2000"), ("--max-depth", "3"),
                                   ("--time-limit", "0.3")])
def test_limits_give_incomplete(check_json, limit):
    rc, res = check_json(*LARGE, *limit)
    assert rc == 3 and res["result"] == "incomplete"
    assert res["states"] < 2 ** 20 and limit[0].lstrip("-") in res["stop_reason"]
    assert {p["status"] for p in res["properties"]} == {"unknown"}


def test_limit_text_mode(run, tmp_path):
    r = run("check", zoo_path(LARGE[0]), *LARGE[1:], "--max-depth", "2", "--out", tmp_path)
    assert r.rc == 3 and "INCOMPLETE: max-depth 2 reached" in r.out


def test_violation_found_before_a_limit_still_fails(check_json):
    rc, res = check_json(*LARGE, "--set", "limit=2", "--max-states", "2000")
    assert rc == 1 and res["result"] == "violated"
    assert prop(res, "below_limit")["status"] == "violated"
    assert prop(res, "all_set")["status"] == "unknown"


def test_a_limit_not_reached_is_ok(check_json):
    rc, res = check_json("bits.py", "--max-states", "1000", "--max-depth", "50",
                         "--time-limit", "60")
    assert rc == 0 and res["result"] == "ok" and res["states"] == 8


# ---------------------------------------------------------------------------------------
# --graph
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("ext,reader", [("graphml", nx.read_graphml), ("gexf", nx.read_gexf)])
def test_graph_export_reads_back(run, tmp_path, ext, reader):
    path = tmp_path / f"g.{ext}"
    r = run("check", zoo_path("counter.py"), "--graph", path, "--json", "--out", tmp_path)
    assert r.rc == 1
    g = reader(str(path))
    assert g.number_of_nodes() == 27 and g.number_of_edges() == 38
    steps = {d["step"] for _, _, d in g.edges(data=True)}
    assert steps == {"load", "store", "finish"}


def test_graph_export_dot(run, tmp_path):
    path = tmp_path / "g.dot"
    r = run("check", zoo_path("pingpong.py:livelock"), "--graph", path, "--quiet",
            "--out", tmp_path)
    assert r.rc == 1
    text = path.read_text()
    assert text.startswith('digraph "livelock" {') and text.rstrip().endswith("}")
    assert sum(" -> " in line for line in text.splitlines()) == 7
    assert sum(line.strip().split(" ")[0].isdigit() and " -> " not in line
               for line in text.splitlines()) == 4
    assert "client@finish" in text


def test_graph_unknown_extension(run, tmp_path):
    path = tmp_path / "g.png"
    r = run("check", zoo_path("counter.py"), "--graph", path, "--out", tmp_path)
    r.assert_one_line_error()
    assert "unknown extension" in r.err and not path.exists()


# ---------------------------------------------------------------------------------------
# replay and show: 0 reproduced, 1 no longer violated, 2 invalid
# ---------------------------------------------------------------------------------------

@pytest.fixture
def saved(check_json):
    """Check a zoo model and return the saved counterexample of one property."""
    def _saved(spec, name, *extra):
        rc, res = check_json(spec, *extra)
        assert rc == 1
        return prop(res, name)["counterexample"]
    return _saved


@pytest.mark.parametrize("spec,name", [
    ("counter.py", "no_lost_update"),
    ("maze.py", "not_at_exit"),
    ("locks.py:locks_opposite", "deadlock_free"),
    ("locks.py:locks_opposite", "work_completes"),
    ("pingpong.py:livelock", "job_completes"),
    ("terminal.py", "reaches_goal"),
])
def test_replay_reproduces(run, saved, spec, name):
    f = saved(spec, name)
    r = run("replay", f)
    assert r.rc == 0 and r.out.startswith("reproduced:") and r.err == ""
    r = run("replay", f, "--json")
    assert r.rc == 0 and r.json["reproduced"] is True and r.json["property"] == name
    r = run("show", f)
    assert r.rc == 0 and r.out.startswith("counterexample: ") and "violated:" in r.out


def _rewrite(path, **changes):
    data = json.loads(open(path).read())
    data.update(changes)
    with open(path, "w") as f:
        json.dump(data, f)
    return path


def test_replay_no_longer_violates_after_config_edit(run, saved):
    f = saved("bits.py", "below_limit", "--set", "limit=2")
    cfg = json.loads(open(f).read())["config"]
    _rewrite(f, config=dict(cfg, limit=99))    # the same steps, now within the limit
    r = run("replay", f)
    assert r.rc == 1 and r.out.startswith("NOT reproduced") and r.err == ""
    assert run("show", f).rc == 1


def test_replay_hand_written_trace_that_does_not_violate(run, tmp_path):
    f = tmp_path / "hand.json"
    f.write_text(json.dumps({
        "schema": "svmcheck-counterexample", "schema_version": 1,
        "model": "locks_opposite", "model_path": zoo_path("locks.py"), "config": {},
        "property": "deadlock_free", "kind": "deadlock", "init": 0,
        "steps": [{"actor": "t0", "step": "first", "args": {}, "outcome": None},
                  {"actor": "t0", "step": "second", "args": {}, "outcome": None}]}))
    r = run("replay", f, "--json")
    assert r.rc == 1 and r.json["reproduced"] is False and r.json["steps"] == 2
    f.write_text(f.read_text().replace('"second"', '"first"').replace(
        '"t0", "step": "first", "args": {}, "outcome": null}]',
        '"t1", "step": "first", "args": {}, "outcome": null}]'))
    assert run("replay", f).rc == 0           # t0 first, t1 first: the ABBA deadlock


def test_replay_unfair_hand_written_lasso(run, tmp_path):
    f = tmp_path / "unfair.json"
    step = lambda actor, name: {"actor": actor, "step": name, "args": {}, "outcome": None}  # noqa: E731
    f.write_text(json.dumps({
        "schema": "svmcheck-counterexample", "schema_version": 1,
        "model": "fairloop", "model_path": zoo_path("pingpong.py"), "config": {},
        "property": "job_completes", "kind": "completes", "init": 0,
        "steps": [step("client", "begin"), step("a", "ping"), step("b", "pong")],
        "lasso_start": 1, "obligation_start": 1, "obligation": "client"}))
    r = run("replay", f)
    assert r.rc == 1 and "unfair to client" in r.out


INVALID = {
    "corrupt json": lambda p: open(p, "w").write("{\"schema\": "),
    "foreign schema": lambda p: _rewrite(p, schema="tlc-trace"),
    "wrong schema_version": lambda p: _rewrite(p, schema_version=99),
    "step no longer applies": lambda p: _rewrite(
        p, steps=[{"actor": "walker", "step": "move", "args": {"d": "N"}, "outcome": None}]),
    "step no longer exists": lambda p: _rewrite(
        p, steps=[{"actor": "walker", "step": "jump", "args": {}, "outcome": None}]),
    "outcome differs": lambda p: _rewrite(
        p, steps=[dict(s, outcome="-EBUSY") for s in json.loads(open(p).read())["steps"]]),
    "property gone": lambda p: _rewrite(p, property="never_declared"),
    "bad config value": lambda p: _rewrite(p, config={"starts": 7}),
    "unknown config name": lambda p: _rewrite(p, config={"rows": 3}),
    "model file gone": lambda p: _rewrite(p, model_path="/nonexistent/maze.py"),
}


@pytest.mark.parametrize("defect", list(INVALID))
@pytest.mark.parametrize("cmd", ["replay", "show"])
def test_replay_invalid_file(run, saved, defect, cmd):
    f = saved("maze.py", "not_at_exit")
    INVALID[defect](f)
    r = run(cmd, f)
    r.assert_one_line_error()
    assert r.out == "" and documented(r.err.strip()[len("error: "):]), r.err


def test_replay_missing_file(run, tmp_path):
    run("replay", tmp_path / "nope.json").assert_one_line_error()


def test_nondeterministic_model(run, tmp_path):
    # --json does not replay, so the check itself completes and saves the trace ...
    r = run("check", zoo_path("nondet.py"), "--json", "--out", tmp_path)
    assert r.rc == 1
    f = prop(r.json, "small")["counterexample"]
    # ... which a replay must refuse: the step's outcome depends on a global counter
    r = run("replay", f)
    r.assert_one_line_error()
    assert "non-deterministic" in r.err
    # the text report replays every trace it prints, so it catches it at check time
    r = run("check", zoo_path("nondet.py"), "--out", tmp_path)
    r.assert_one_line_error()
    assert "non-deterministic" in r.err


# ---------------------------------------------------------------------------------------
# bad input: exit 2, one line on stderr, no traceback
# ---------------------------------------------------------------------------------------

BAD_SOURCES = {
    "importfail.py": "raise RuntimeError('model import blew up')\n",
    "syntaxerr.py": "from svmcheck import Model\nclass M(Model:\n    pass\n",
    "nomodel.py": "X = 1\n",
    "steperr.py": (
        "from typing import NamedTuple\nfrom svmcheck import Model, step\n"
        "class W(NamedTuple):\n    n: int\n"
        "class M(Model):\n    '''x'''\n    name = 'steperr'\n"
        "    def init(self):\n        return W(0)\n"
        "    @step\n    def tick(self, s):\n        '''t'''\n        return W(s.n // 0)\n"),
    "initerr.py": (
        "from svmcheck import Model, step\n"
        "class M(Model):\n    '''x'''\n    name = 'initerr'\n"
        "    def init(self):\n        raise KeyError('gpu')\n"
        "    @step\n    def tick(self, s):\n        '''t'''\n        return s\n"),
    "nodoc.py": (
        "from svmcheck import Model, step\n"
        "class M(Model):\n    '''x'''\n    name = 'nodoc'\n"
        "    def init(self):\n        return 0\n"
        "    @step\n    def tick(self, s):\n        return s\n"),
    "badprop.py": (
        "from svmcheck import Model, always, step\n"
        "class M(Model):\n    '''x'''\n    name = 'badprop'\n"
        "    def init(self):\n        return 0\n"
        "    @step\n    def tick(self, s):\n        '''t'''\n        return None\n"
        "    @always\n    def p(self, s):\n        '''p'''\n        return s.missing\n"),
}

BAD_ARGS = {
    "no command": [],
    "unknown command": ["frobnicate"],
    "check without model": ["check"],
    "unknown model": ["check", "no_such_model"],
    "list unknown model": ["list", "no_such_model"],
    "missing model file": ["check", "{tmp}/absent.py"],
    "unknown property": ["check", "{zoo}/counter.py", "--property", "nope"],
    "unknown parameter": ["check", "{zoo}/counter.py", "--set", "gpus=2"],
    "wrong type": ["check", "{zoo}/counter.py", "--set", "threads=abc"],
    "above max": ["check", "{zoo}/counter.py", "--set", "threads=9"],
    "below min": ["check", "{zoo}/counter.py", "--set", "threads=0"],
    "not a choice": ["check", "{zoo}/maze.py", "--set", "starts=3"],
    "set without =": ["check", "{zoo}/counter.py", "--set", "threads"],
    "bad max-states": ["check", "{zoo}/counter.py", "--max-states", "lots"],
    "zero max-depth": ["check", "{zoo}/counter.py", "--max-depth", "0"],
    "negative time-limit": ["check", "{zoo}/counter.py", "--time-limit", "-1"],
    "unknown option": ["check", "{zoo}/counter.py", "--fast"],
    "several models in file": ["check", "{zoo}/locks.py"],
    "unknown model in file": ["check", "{zoo}/locks.py:nope"],
    "import fails": ["check", "{tmp}/importfail.py"],
    "syntax error": ["check", "{tmp}/syntaxerr.py"],
    "no model in file": ["check", "{tmp}/nomodel.py"],
    "step raises": ["check", "{tmp}/steperr.py"],
    "init raises": ["check", "{tmp}/initerr.py"],
    "step without docstring": ["check", "{tmp}/nodoc.py"],
    "property raises": ["check", "{tmp}/badprop.py"],
    "unhashable initial state": ["check", "{zoo}/unhashable.py:unhashable_init"],
    "unhashable successor": ["check", "{zoo}/unhashable.py:unhashable_step"],
    "graph extension": ["check", "{zoo}/counter.py", "--graph", "{tmp}/g.svg"],
    "corrupt counterexample": ["replay", "{tmp}/corrupt.json"],
    "foreign counterexample": ["replay", "{tmp}/foreign.json"],
    "show corrupt": ["show", "{tmp}/corrupt.json"],
}


@pytest.fixture
def bad_argv(tmp_path):
    for name, text in BAD_SOURCES.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "corrupt.json").write_text("{not json at all")
    (tmp_path / "foreign.json").write_text(json.dumps({"schema": "other", "steps": []}))

    def argv(case):
        args = [a.format(tmp=tmp_path, zoo=ZOO) for a in BAD_ARGS[case]]
        if args[:1] == ["check"]:
            args += ["--out", str(tmp_path / "ce")]   # never write into the repository
        return args
    return argv


@pytest.mark.parametrize("case", list(BAD_ARGS))
def test_bad_input_in_process(run, bad_argv, case):
    r = run(*bad_argv(case))
    r.assert_one_line_error()
    assert r.out == ""
    # the message printed is one docs/errors.md explains (tests/test_errors_doc.py)
    assert documented(r.err.strip()[len("error: "):]), r.err


@pytest.mark.parametrize("case", ["no command", "unknown model", "wrong type", "import fails",
                                  "syntax error", "unhashable successor", "property raises",
                                  "corrupt counterexample"])
def test_bad_input_subprocess(sub, bad_argv, case):
    r = sub(*bad_argv(case))
    r.assert_one_line_error()


def test_specific_error_messages(run, bad_argv):
    def err(case):
        return run(*bad_argv(case)).err
    assert "unknown parameter 'gpus'" in err("unknown parameter") and "threads" in err(
        "unknown parameter")
    assert "'abc'" in err("wrong type") and "int" in err("wrong type")
    assert "outside 1..4" in err("above max")
    assert "RuntimeError: model import blew up" in err("import fails")
    assert "syntax error at line 2" in err("syntax error")
    assert "unknown property 'nope'" in err("unknown property")
    assert "unhashable" in err("unhashable successor")
    assert "not an svmcheck counterexample" in err("foreign counterexample")
    assert "not valid JSON" in err("corrupt counterexample")
    assert err("unknown command").rstrip().endswith("; see svmcheck --help")
    assert err("bad max-states").rstrip().endswith("; see svmcheck check --help")


# ---------------------------------------------------------------------------------------
# end to end in a fresh interpreter
# ---------------------------------------------------------------------------------------

def test_end_to_end_check_replay_show(sub, tmp_path):
    r = sub("check", zoo_path("locks.py:locks_opposite"), "--json", "--out", tmp_path)
    assert r.rc == 1 and r.err == ""
    f = prop(json.loads(r.out), "deadlock_free")["counterexample"]
    r = sub("replay", f)
    assert r.rc == 0 and "wait cycle: t0 -[lock B]-> t1 -[lock A]-> t0" in r.out
    r = sub("show", f)
    assert r.rc == 0 and "t1             first()" in r.out
    r = sub("check", zoo_path(LARGE[0]), *LARGE[1:], "--max-states", "3000", "--quiet",
            "--out", tmp_path)
    assert r.rc == 3 and "INCOMPLETE" in r.out


def test_end_to_end_nondeterministic_replay(sub, tmp_path):
    r = sub("check", zoo_path("nondet.py"), "--json", "--out", tmp_path)
    assert r.rc == 1
    r = sub("replay", prop(json.loads(r.out), "small")["counterexample"])
    r.assert_one_line_error()
    assert "non-deterministic" in r.err
