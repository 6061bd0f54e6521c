"""--workers N: the same unique states, verdicts and shortest counterexamples as one worker."""
from __future__ import annotations

import json

import pytest

from conftest import zoo_model
from svmcheck import cli
from svmcheck.check import check
from svmcheck.explore.bfs import explore
from svmcheck.explore.levels import explore_compact
from svmcheck.registry import build
from test_explore_fast import signature

MODELS = [
    ("counter.py", {"threads": 3}),
    ("pingpong.py:livelock", {}),
    ("locks.py:locks_opposite", {}),
    ("maze.py", {"starts": 2}),
]


@pytest.mark.parametrize("spec,overrides", MODELS, ids=[s for s, _ in MODELS])
def test_two_workers_agree_with_one(spec, overrides):
    m = zoo_model(spec, **overrides)
    one = check(m, save_dir=None)
    two = check(m, save_dir=None, workers=2)
    assert signature(two) == signature(one)
    assert two.workers == 2


def test_shipped_model_same_numbering_for_three_workers():
    """Not only the counts: every state gets the same number, parent and incoming step."""
    m, _ = build("kfd", {"gpus": "1", "gpu_kinds": "a"})
    exact = explore(m, keep_edges=True)
    three = explore_compact(m, keep_edges=True, workers=3)
    assert len(three.states) == len(exact.states) == 5762
    assert list(three.parent) == list(exact.parent)
    assert list(three.action) == list(exact.action)
    assert [list(a) for a in three.edges[:3]] == [list(a) for a in exact.edges[:3]]
    # outcome ids are numbered as workers report them; their texts must agree
    assert [three.outcomes[o] for o in three.edges[3]] == \
        [exact.outcomes[o] for o in exact.edges[3]]
    assert [three.outcomes[o] for o in three.outcome] == \
        [exact.outcomes[o] for o in exact.outcome]
    assert three.terminal == exact.terminal and three.deadlocks == exact.deadlocks


def test_cli_workers(tmp_path, capsys):
    from conftest import zoo_path
    rc = cli.main(["check", zoo_path("counter.py"), "--workers", "2", "--json", "--out",
                   str(tmp_path)])
    out = json.loads(capsys.readouterr().out)
    assert rc == 1 and out["workers"] == 2 and out["hash_compact"] is True
    assert out["states"] == 27
    assert [p["length"] for p in out["properties"]] == [4, None, None, None]


def test_exact_refuses_workers(capsys):
    from conftest import zoo_path
    rc = cli.main(["check", zoo_path("counter.py"), "--workers", "2", "--exact"])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("error: --exact") and len(err.strip().splitlines()) == 1


def test_interner_shares_equal_fields_per_position_and_keeps_their_types():
    """The frontier's field sharing: equal values become one object, but a tuple of bools
    never stands in for an equal tuple of ints (they fingerprint differently)."""
    from typing import NamedTuple

    from svmcheck.explore import fingerprint
    from svmcheck.explore.levels import Interner

    class W(NamedTuple):
        flags: tuple
        counts: tuple

    share = Interner()
    a = share((W((False, True), (0, 1)), ((0, 1),)))
    b = share((W(tuple([False, True]), tuple([0, 1])), (tuple([0, 1]),)))
    assert a == b and type(a[0]) is W
    assert b[0].flags is a[0].flags and b[0].counts is a[0].counts and b[1][0] is a[1][0]
    assert b[0].flags[0] is False and b[0].counts[0] == 0 and b[0].counts[0] is not False
    assert fingerprint.serialize(b) == fingerprint.serialize(
        (W((False, True), (0, 1)), ((0, 1),)))
    share.clear()
    c = share((W(tuple([False, True]), (0, 1)), ((0, 1),)))
    assert c[0].flags is not a[0].flags       # a level's table does not outlive the level
