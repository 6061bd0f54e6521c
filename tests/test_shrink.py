"""Smallest counterexample search (svmcheck/shrink.py, check --shrink)."""
import json

from svmcheck.cli import main
from svmcheck.registry import resolve
from svmcheck.shrink import shrink
from svmcheck.trace import confirm, load, replay


def test_shrink_reduces_xe_no_recheck_to_one_gpu_and_one_page():
    cls, _ = resolve("xe-no-recheck")
    r = shrink(cls, cls.Config(), "coherence")
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
