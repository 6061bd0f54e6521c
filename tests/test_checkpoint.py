"""--checkpoint / --resume: the result does not depend on where a run stopped, nor on how many
workers ran each part; a damaged checkpoint is one line of error, never a traceback."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

from conftest import zoo_model, zoo_path
from svmcheck import cli
from svmcheck.check import check
from svmcheck.explore.bfs import Limits
from svmcheck.registry import build
from test_explore_fast import signature


def _stages(m, ck, stops, workers):
    """Run with each max-states limit in turn, resuming from the previous checkpoint."""
    res = None
    for k, (stop, w) in enumerate(zip(stops, workers)):
        res = check(m, save_dir=None, workers=w, checkpoint=str(ck),
                    resume=str(ck) if k else None,
                    limits=Limits(max_states=stop) if stop else None)
        if stop:
            assert res.result in ("incomplete", "violated") and res.stop_reason
    return res


@pytest.mark.parametrize("spec,overrides,stops,workers", [
    ("zoo:counter.py", {"threads": 3}, [40, 150, None], [1, 2, 1]),
    ("kfd", {"gpus": "1", "gpu_kinds": "a"}, [700, 3000, None], [2, 1, 2]),
])
def test_resumed_run_equals_uninterrupted(tmp_path, spec, overrides, stops, workers):
    m = zoo_model(spec[4:], **overrides) if spec.startswith("zoo:") else build(spec, overrides)[0]
    whole = check(m, save_dir=None)
    resumed = _stages(m, tmp_path / "ck", stops, workers)
    assert signature(resumed) == signature(whole)


def test_time_limit_then_resume(tmp_path):
    m = zoo_model("bits.py", bits=12)
    ck = str(tmp_path / "ck")
    first = check(m, save_dir=None, checkpoint=ck, limits=Limits(time_limit=0.05))
    rest = check(m, save_dir=None, resume=ck, checkpoint=ck)
    assert first.states <= rest.states == 4096 and rest.result == "ok"
    assert rest.transitions == 12 * 2 ** 11


def test_checkpoint_files_are_data(tmp_path):
    m = zoo_model("counter.py", threads=2)
    ck = tmp_path / "ck"
    check(m, save_dir=None, checkpoint=str(ck), limits=Limits(max_states=10))
    meta = json.loads((ck / "meta.json").read_text())
    assert meta["schema"] == "svmcheck-checkpoint" and meta["model"] == "counter"
    for name, n in meta["arrays"].items():
        a = np.load(ck / f"{name}.npy", allow_pickle=False)   # no object arrays
        assert len(a) == n
    assert meta["states"] == len(np.load(ck / "parent.npy"))


def _one_line_error(argv, capsys):
    rc = cli.main(argv)
    err = capsys.readouterr().err
    assert rc == 2, err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1
    return err


@pytest.mark.parametrize("damage", ["missing", "garbage", "truncated", "schema", "config",
                                    "indices"])
def test_corrupt_checkpoint_is_one_line(tmp_path, capsys, damage):
    ck = tmp_path / "ck"
    model = zoo_path("counter.py")
    assert cli.main(["check", model, "--checkpoint", str(ck), "--max-states", "10",
                     "--quiet", "--out", str(tmp_path)]) == 3
    capsys.readouterr()
    argv = ["check", model, "--resume", str(ck), "--quiet", "--out", str(tmp_path)]
    meta = json.loads((ck / "meta.json").read_text())
    if damage == "missing":
        argv[3] = str(tmp_path / "nowhere")
    elif damage == "garbage":
        (ck / "meta.json").write_text("{not json")
    elif damage == "truncated":
        with open(ck / "parent.npy", "r+b") as f:
            f.truncate(os.path.getsize(ck / "parent.npy") - 8)
    elif damage == "schema":
        meta["schema_version"] = 99
        (ck / "meta.json").write_text(json.dumps(meta))
    elif damage == "config":
        argv += ["--set", "threads=3"]
    elif damage == "indices":
        p = np.load(ck / "parent.npy")
        p[-1] = 10 ** 6
        np.save(ck / "parent.npy", p)
    err = _one_line_error(argv, capsys)
    assert "checkpoint" in err


def test_checkpoint_refuses_a_foreign_directory(tmp_path, capsys):
    (tmp_path / "mine.txt").write_text("keep me")
    err = _one_line_error(["check", zoo_path("counter.py"), "--checkpoint", str(tmp_path),
                           "--quiet", "--out", str(tmp_path / "cx")], capsys)
    assert "not an svmcheck checkpoint" in err
    assert (tmp_path / "mine.txt").read_text() == "keep me"
