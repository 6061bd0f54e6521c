"""Liveness BMC (svmcheck/symbolic/lasso.py): fair lassos found by Z3 agree with the
explorer's SCC check, replay, and answer the retry-bound question with --free."""
import json

import pytest

from svmcheck.check import check
from svmcheck.cli import main
from svmcheck.registry import build, resolve
from svmcheck.symbolic.lasso import lasso_bmc
from tests.conftest import zoo_model, zoo_path

# every zoo model with a liveness property: violated by a fair cycle (livelock), by a run
# that stops (terminal, locks_opposite), or holding (fairloop, locks_same, counter)
ZOO = ["pingpong.py:livelock", "pingpong.py:fairloop", "counter.py", "locks.py:locks_same",
       "locks.py:locks_opposite", "terminal.py", "evict_retry.py"]


@pytest.mark.parametrize("spec", ZOO)
def test_liveness_bmc_and_the_explorer_agree(spec, tmp_path, capsys):
    """Same verdict per liveness property as check (within a depth above every explorer
    trace here), a violation no longer than the explorer's, confirmed by replay."""
    bfs = {p.name: p for p in check(zoo_model(spec), save_dir=None).properties}
    _, path = resolve(zoo_path(spec))
    res = lasso_bmc(zoo_model(spec), 12, save_dir=str(tmp_path), model_path=path)
    found = [p for p in res.properties if p["status"] == "violated"]
    assert len(found) <= 1            # the search stops at the first violation
    for p in res.properties:
        want = bfs[p["name"]]
        if p["status"] == "violated":
            assert want.status == "violated", p
            assert p["length"] <= len(want.trace.steps)
            assert main(["replay", p["counterexample"]]) == 0
            assert "reproduced" in capsys.readouterr().out
        elif not found:
            assert want.status == "holds", (p, want.status)
    if not found:
        assert all(p.status == "holds" for p in bfs.values() if p.kind != "always"
                   and p.name in {q["name"] for q in res.properties})


ONE_PAGE = dict(gpus=1, pages=1, vma_layout="a", vram_pages=1, gpu_kinds="a")
SVM = [("xe", ONE_PAGE, 8), ("mirror", dict(ONE_PAGE, chunk_pages=1), 8),
       ("kfd-unmap", dict(ONE_PAGE, granularity=1, evictions=0), 8),
       ("pt-fence-user-wait", {}, 12)]       # a deadlock: a run that stops mid-job


@pytest.mark.parametrize("name,sets,depth", SVM, ids=[n for n, _, _ in SVM])
def test_liveness_bmc_and_the_explorer_agree_on_svm_models(name, sets, depth, tmp_path,
                                                            capsys):
    """The shipped models at small sizes: fault progress holds in both engines (frames
    assuming the proved invariants), and pt-fence-user-wait's deadlock is a stuck run of the
    explorer's length that replays."""
    model, _ = build(name, {k: str(v) for k, v in sets.items()})
    bfs = {p.name: p for p in check(model, save_dir=None).properties}
    res = lasso_bmc(model, depth, save_dir=str(tmp_path))
    found = [p for p in res.properties if p["status"] == "violated"]
    if not found:
        assert res.result == "ok"
        assert all(bfs[p["name"]].status == "holds" for p in res.properties)
    for p in found:
        assert bfs[p["name"]].status == "violated"
        assert p["length"] == len(bfs[p["name"]].trace.steps) and p["cycle"] is None
        assert main(["replay", p["counterexample"]]) == 0
        assert "reproduced" in capsys.readouterr().out
    assert bool(found) == (name == "pt-fence-user-wait")


def test_liveness_bmc_finds_the_xe_evict_retry_ping_pong(tmp_path, capsys):
    """At xe-retry-unbounded's default size (two GPUs atomic-faulting one page) Z3 finds a
    fair cycle in which a fault never completes; the frames assume the ten always-properties
    prove shows inductive, which is what keeps the 13-step search small."""
    model, _ = build("xe-retry-unbounded", {})
    res = lasso_bmc(model, 13, properties=["fault_progress"], save_dir=str(tmp_path))
    p = res.properties[0]
    assert p["status"] == "violated" and p["cycle"] and p["length"] <= 13
    assert {"coherence", "atomic_safety", "fault_handler_holds_its_range"} <= set(res.invariant)
    assert main(["replay", p["counterexample"]]) == 0
    assert "fair cycle" in capsys.readouterr().out


def test_liveness_bmc_free_retry_bound_names_only_the_unbounded_one(tmp_path, capsys):
    assert main(["bmc", zoo_path("evict_retry.py"), "--liveness", "--free", "retry_bound",
                 "--depth", "10", "--json", "--out", str(tmp_path)]) == 1
    out = json.loads(capsys.readouterr().out)
    assert [c["values"]["retry_bound"] for c in out["configurations"]] == [-1]
    # check, by enumeration, agrees value by value
    for b in (-1, 0, 1, 2):
        code = main(["check", zoo_path("evict_retry.py"), "--set", f"retry_bound={b}",
                     "--property", "fault_progress", "--out", str(tmp_path)])
        capsys.readouterr()
        assert code == (1 if b == -1 else 0), b


@pytest.mark.parametrize("argv,needle", [
    (["bmc", "pt-fence", "--depth", "2", "--liveness", "--property", "vram_accounted"],
     "no liveness property"),
    (["bmc", zoo_path("retry.py"), "--depth", "2", "--liveness"], "no liveness property"),
])
def test_bad_liveness_input_is_one_line(argv, needle, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and needle in err
