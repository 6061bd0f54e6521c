"""Smallest counterexample search (svmcheck/shrink.py, check --shrink)."""
import json

from conftest import ROOT, prop, zoo_path

from svmcheck.cli import main
from svmcheck.registry import resolve
from svmcheck.shrink import cheap_limits, shrink
from svmcheck.trace import confirm, load, replay


def test_shrink_reduces_xe_no_recheck_to_one_gpu_and_one_page():
    cls, _ = resolve("xe-no-recheck")
    # start from the committed shortest trace (tests/test_counterexamples.py replays it)
    # rather than re-exploring the default configuration's 300k states
    known = load(str(ROOT / "counterexamples" / "xe-no-recheck-coherence-48c3faf3.json"))
    assert cls.Config.build(known.config).as_dict() == cls.Config().as_dict()   # defaults
    r = shrink(cls, cls.Config(), "coherence", trace=known)
    assert r.changed["gpus"] == (2, 1)
    assert r.changed["pages"] == (2, 1)
    model = cls(cls.Config.build(r.config))
    assert confirm(model, r.trace, replay(model, r.trace)).reproduced


def test_shrink_returns_none_when_the_property_holds():
    cls, _ = resolve("xe-fork")
    assert shrink(cls, cls.Config(), "cow_isolation") is None


def test_check_shrink_reports_and_saves_a_replayable_smaller_trace(tmp_path, capsys):
    rc = main(["check", "mirror-no-vma-check", "--property", "vma_respect", "--shrink",
               "--json", "--out", str(tmp_path)])
    assert rc == 1
    (prop,) = json.loads(capsys.readouterr().out)["properties"]
    sh = prop["shrunk"]
    assert sh["config"]["pages"] < 4
    t = load(sh["counterexample"])
    assert t.config == sh["config"]
    assert main(["replay", sh["counterexample"]]) == 0


def test_check_shrinks_by_default_when_cheap(run, tmp_path):
    r = run("check", zoo_path("bits.py"), "--set", "bits=6", "--set", "limit=4", "--json",
            "--out", tmp_path)
    assert r.rc == 1
    sh = prop(r.json, "below_limit")["shrunk"]
    assert sh["changed"] == {"bits": [6, 1], "limit": [4, 1]} and sh["stopped"] is None
    assert sh["length"] == 1 and run("replay", sh["counterexample"]).rc == 0


def test_no_shrink_and_runs_that_are_not_cheap_do_not_shrink(run, tmp_path):
    r = run("check", zoo_path("bits.py"), "--set", "bits=6", "--set", "limit=4", "--json",
            "--no-shrink", "--out", tmp_path)
    assert r.rc == 1 and "shrunk" not in prop(r.json, "below_limit")
    # incomplete (a limit stopped it): the full space is unknown, so shrinking is not cheap
    r = run("check", zoo_path("bits.py"), "--set", "bits=20", "--set", "limit=2",
            "--max-states", "2000", "--json", "--out", tmp_path)
    assert r.rc == 1 and "shrunk" not in prop(r.json, "below_limit")


def test_default_shrink_reports_nothing_when_nothing_smaller_violates(run, tmp_path):
    r = run("check", zoo_path("counter.py"), "--out", tmp_path, "--quiet")
    assert r.rc == 1 and "SHRUNK" not in r.out      # one thread cannot lose an update
    r = run("check", zoo_path("counter.py"), "--out", tmp_path, "--quiet", "--shrink")
    assert "SHRUNK  no_lost_update: no smaller configuration violates" in r.out


def test_a_spent_budget_returns_the_best_so_far():
    cls, _ = resolve(zoo_path("bits.py"))
    cfg = cls.Config.build({"bits": 6, "limit": 4})
    r = shrink(cls, cfg, "below_limit", budget=0)
    assert r.stopped == "time budget 0s spent" and r.changed == {} and r.tried == 1
    assert len(r.trace.steps) == 4


def test_cheap_means_a_complete_run_of_at_most_20k_states():
    from types import SimpleNamespace as R
    assert cheap_limits(R(stop_reason=None, states=100)).max_states == 1000
    assert cheap_limits(R(stop_reason=None, states=4_000)).max_states == 16_000
    assert cheap_limits(R(stop_reason=None, states=20_000)).max_states == 20_000
    assert cheap_limits(R(stop_reason=None, states=20_001)) is None
    assert cheap_limits(R(stop_reason="max-states 50 reached", states=50)) is None
