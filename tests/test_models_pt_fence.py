"""Seed 002 models: pt-fence (sound) and its broken variants pt-fence-user-wait and
ring-direct-unlocked (models/pt_fence.py)."""
import glob
import os

import pytest

from models.pt_fence import (FAULT, PtFence, PtFenceConfig, PtFenceUserWait,
                             RingDirectUnlocked)
from svmcheck import trace as tr
from svmcheck.check import check
from svmcheck.errors import ConfigError
from svmcheck.explore.bfs import explore

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SOUND_PROPERTIES = {
    "cs_completes", "fault_completes", "fault_handler_never_waits_on_user_fence",
    "no_lost_ring_write", "job_resumes_only_after_pt_fence", "vram_accounted",
    "pt_alloc_uses_emergency_pool", "pt_alloc_takes_free_vram", "pt_alloc_evicts_idle_bo",
    "every_job_finishes", "ring_writers_contend", "deadlock_free",
    # auxiliary invariants for `svmcheck prove` (the explorer checks them too)
    "handler_position_fixes_pt_stage", "sdma_ring_consistent", "pt_stage_matches_packet"}


def _violation(cls, prop):
    res = check(cls(), properties=[prop], save_dir=None)
    (r,) = res.properties
    return res, r


# ---- the sound model ------------------------------------------------------------------------

def test_sound_model_every_property_holds_at_default_config():
    res = check(PtFence(), save_dir=None)
    assert res.result == "ok" and res.exit_code == 0
    assert {p.name for p in res.properties} == SOUND_PROPERTIES
    assert {p.name: p.status for p in res.properties} == dict.fromkeys(SOUND_PROPERTIES, "holds")


def test_sound_model_state_count_is_pinned():
    """jobs=2 mm_job=True vram_free=1 pressure=1 emergency_pool=2 sched_jobs=1."""
    res = check(PtFence(), save_dir=None)
    assert (res.states, res.transitions, res.depth) == (1326, 2580, 26)


@pytest.mark.parametrize("overrides, states", [
    (dict(jobs=1, emergency_pool=1, mm_job=False), None),
    (dict(mm_job=False), 960),
    (dict(sched_jobs=2), 4098),
    (dict(pressure=0), 663),
])
def test_sound_model_holds_at_other_sizes(overrides, states):
    res = check(PtFence(PtFenceConfig(**overrides)), save_dir=None)
    bad = {p.name: p.status for p in res.properties
           if p.status != "holds" and p.kind not in ("sometimes", "sometimes_step")}
    assert bad == {} and res.result in ("ok", "violated")
    if states is not None:
        assert res.result == "ok" and res.states == states


def test_sound_model_every_run_ends_with_every_job_done():
    m = PtFence()
    ex = explore(m)
    assert not ex.deadlocks
    for i in ex.terminal:
        world, procs = ex.states[i]
        assert all(st.name == "SIGNALED" for st in world.cs) and world.mm_signaled
        assert all(p[0] == 0 for p in procs)


def test_pool_smaller_than_jobs_is_rejected():
    with pytest.raises(ConfigError, match="emergency_pool"):
        PtFenceConfig.build({"jobs": "2", "emergency_pool": "1"}, model="pt-fence")


# ---- the broken variants --------------------------------------------------------------------

def test_variants_are_minimal_diffs():
    own = lambda cls: {k for k in vars(cls) if not k.startswith("__")}  # noqa: E731
    assert own(RingDirectUnlocked) == {"name", "amdgpu_ring_lock"}
    assert own(PtFenceUserWait) == {"name", "no_wait_gpu", "skip_properties"}
    assert PtFenceUserWait.no_wait_gpu is False


def test_user_wait_deadlocks_with_a_wait_cycle_through_the_fault_handler():
    res, r = _violation(PtFenceUserWait, "deadlock_free")
    assert res.exit_code == 1
    assert (r.status, r.kind) == ("violated", "deadlock")
    assert r.reason.startswith("deadlock, wait cycle: ")
    assert r.reason == ("deadlock, wait cycle: gpu0/fault -[user fence (bo0 resv)]-> cs0 "
                        "-[gpu fault]-> gpu0/fault")
    assert r.length == 10


def test_user_wait_breaks_the_design_rule_first():
    _, r = _violation(PtFenceUserWait, "fault_handler_never_waits_on_user_fence")
    assert (r.status, r.kind, r.length) == ("violated", "always", 5)
    assert "waits on cs0's user fence" in r.reason


def test_user_wait_every_deadlock_is_a_wait_cycle_and_the_mm_cycle_is_among_them():
    m = PtFenceUserWait()
    ex = explore(m)
    assert ex.deadlocks
    texts = set()
    for i in ex.deadlocks:
        cycle = tr.wait_cycle(m, ex.states[i][0])
        assert cycle is not None and cycle[0][0] == FAULT
        assert cycle[0][1].startswith("user fence") and cycle[-1][1] == "gpu fault"
        texts.add(tr.cycle_text(cycle))
    assert ("wait cycle: gpu0/fault -[user fence (bo2 resv)]-> mm -[cs0 fence (dependency)]-> "
            "cs0 -[gpu fault]-> gpu0/fault") in texts


def test_user_wait_skips_the_pool_property_it_cannot_reach():
    names = {p.name for p in PtFenceUserWait().properties}
    assert "pt_alloc_uses_emergency_pool" not in names
    assert names == SOUND_PROPERTIES - {"pt_alloc_uses_emergency_pool"}


def test_ring_direct_unlocked_loses_a_packet():
    res, r = _violation(RingDirectUnlocked, "no_lost_ring_write")
    assert res.exit_code == 1
    assert (r.status, r.kind, r.length) == ("violated", "always", 8)
    assert "overwrote its slot" in r.reason
    steps = [(s["actor"], s["step"]) for s in r.trace.steps]
    # the race: the handler reads wptr and writes, the worker reads the same wptr, the handler
    # commits, the worker overwrites the slot
    assert steps[-4:] == [("gpu0/fault", "direct_ring_write"), ("sdma0/sched", "sched_ring_alloc"),
                          ("gpu0/fault", "direct_ring_commit"),
                          ("sdma0/sched", "sched_ring_write")]


@pytest.mark.parametrize("cls, prop", [
    (PtFenceUserWait, "deadlock_free"),
    (PtFenceUserWait, "fault_handler_never_waits_on_user_fence"),
    (RingDirectUnlocked, "no_lost_ring_write"),
])
def test_counterexample_replays(cls, prop):
    _, r = _violation(cls, prop)
    m = cls()
    rp = tr.confirm(m, r.trace, tr.replay(m, r.trace))
    assert rp.reproduced is True
    if prop == "deadlock_free":
        assert "wait cycle" in rp.message
    # and the sound model does not violate it on its own exploration
    assert {p.name: p.status for p in check(PtFence(), properties=[prop],
                                            save_dir=None).properties} == {prop: "holds"}


@pytest.mark.parametrize("pattern, cls", [
    ("pt-fence-user-wait-deadlock_free-*.json", PtFenceUserWait),
    ("ring-direct-unlocked-no_lost_ring_write-*.json", RingDirectUnlocked),
])
def test_saved_counterexamples_replay(pattern, cls):
    files = glob.glob(os.path.join(ROOT, "counterexamples", pattern))
    assert len(files) == 1, files
    t = tr.load(files[0])
    assert t.model == cls.name
    m = cls(PtFenceConfig.build(t.config, model=cls.name))
    rp = tr.confirm(m, t, tr.replay(m, t))
    assert rp.reproduced is True
