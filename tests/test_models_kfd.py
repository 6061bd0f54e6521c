"""The kfd model (seed 003): the redesign holds at its default size; each broken variant is
found on its intended property, with a shortest trace that replays (models/kfd.py)."""
import glob
import os

import pytest

from models.kfd import (Kfd, KfdActualLoc, KfdBoFreeEarly, KfdConfig, KfdUnmap, KfdWorld,
                        UnmapConfig, krange_at, read_begin)
from svmcheck import trace as tr
from svmcheck.check import check
from svmcheck.errors import ConfigError
from svmcheck.registry import shipped

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SAFETY = {"coherence", "no_lost_data", "atomic_safety", "memory_safety", "vma_respect",
          "cow_isolation"}
LIVENESS = {"fault_progress", "cpu_fault_progress", "deadlock_free"}
AUXILIARY = {"frames_accounted", "restore_pages_holds_its_range"}    # docs/z3.md
WITNESSES = {"data_reaches_vram", "mixed_placement_mapped", "peer_vram_mapped",
             "gpu_access_completes", "partial_migration", "bo_eviction_migrates",
             "cow_fault_back", "seq_recheck_retries", "cpu_fault_migrates"}


def statuses(res):
    return {p.name: p.status for p in res.properties}


def violation(cls, prop, **overrides):
    m = cls(cls.Config(**overrides))
    res = check(m, properties=[prop], save_dir=None)
    (r,) = res.properties
    return m, res, r


@pytest.fixture(scope="module")
def sound():
    return check(Kfd(), save_dir=None)


@pytest.fixture(scope="module")
def actual_loc():
    m = KfdActualLoc()
    return m, check(m, save_dir=None)


# ---- the sound model -------------------------------------------------------------------------

def test_models_are_shipped():
    names = shipped()
    for n in ("kfd", "kfd-unmap", "kfd-actual-loc", "kfd-bo-free-early"):
        assert n in names


def test_sound_model_every_property_holds_at_default_config(sound):
    """2 GPUs over XGMI (GPU0 atomics, GPU1 reads) on a 2-page range; CPU reads; one fork;
    one BO eviction."""
    assert sound.result == "ok" and sound.exit_code == 0, statuses(sound)
    assert set(statuses(sound)) == SAFETY | AUXILIARY | LIVENESS | WITNESSES
    assert all(s == "holds" for s in statuses(sound).values())


def test_sound_model_state_count_is_pinned(sound):
    assert (sound.states, sound.transitions, sound.depth) == (50049, 116426, 37)


def test_sound_unmap_configuration_holds_with_pinned_count():
    """kfd-unmap: the configuration of kfd-bo-free-early (one munmap, one CPU write, no fork)."""
    res = check(KfdUnmap(), save_dir=None)
    assert res.result == "ok", statuses(res)
    assert "range_split" in statuses(res) and "cow_fault_back" not in statuses(res)
    assert (res.states, res.transitions, res.depth) == (16618, 38336, 27)


@pytest.mark.parametrize("overrides, states", [
    (dict(default_link=0), 30207),                  # no XGMI: peers do not share an owner
    (dict(granularity=1, forks=0), 724),            # 4K blocks: faults move one page
    (dict(sys_atomics=True, forks=0), 1033),
    (dict(forks=0, cpu_writes=1, gpu_kinds="w,w"), 4996),
    (dict(gpus=3, gpu_kinds="a,r,w", forks=0), 8952),
    # two ranges, [0,2) and [2,3): per-range seqs, so faults on them never retry each other
    (dict(pages=3, vma_layout="aaa", forks=0, gpu_pages="02"), 20202),
])
def test_sound_model_safety_and_liveness_hold_at_other_sizes(overrides, states):
    res = check(Kfd(KfdConfig(**overrides)), save_dir=None)
    bad = {p.name: p.status for p in res.properties
           if p.status != "holds" and p.kind not in ("sometimes", "sometimes_step")}
    assert bad == {}
    assert res.states == states


def test_contention_starves_an_atomic_fault_without_a_retry_bound():
    """A page pinned on every attempt keeps an atomic fault in system memory forever: KFD has
    no retry bound (xe's devmem_only tries), so progress needs pins to be transient."""
    res = check(Kfd(KfdConfig(contention=True, forks=0)), save_dir=None)
    st = statuses(res)
    assert all(st[p] == "holds" for p in SAFETY)
    assert st["fault_progress"] == "violated"


def test_pcie_links_are_rejected():
    with pytest.raises(ConfigError, match="XGMI"):
        KfdConfig.build({"links": "0,1;1,0"}, model="kfd")
    with pytest.raises(ConfigError, match="default_link"):
        KfdConfig.build({"default_link": "1"}, model="kfd")


def test_the_world_is_the_shared_world_plus_kfd_ranges():
    m = Kfd()
    (init,) = m.initial_states()
    assert isinstance(init[0], KfdWorld) and init[0].kranges == ()
    names = {a.name for a in m.actions}
    assert "svm_migrate_to_ram" in names and "svm_range_evict_svm_bo_worker" in names
    assert not names & {"drm_pagemap_migrate_to_ram", "drm_pagemap_evict_to_ram"}


def test_the_seq_recheck_is_what_keeps_a_racing_eviction_safe():
    """Without the re-check under prange->lock, a BO eviction between hmm_range_fault and the
    PTE write leaves GPU PTEs on the freed VRAM (the eviction does not take migrate_mutex)."""
    class NoRecheck(Kfd):
        """kfd mapping without the seq re-check."""
        name = "kfd-test-no-recheck"

        def svm_range_map_to_gpus(self, s, me):
            """svm_range_map_to_gpus without amdgpu_hmm_range_get_pages_done."""
            return Kfd.svm_range_map_to_gpus(self, read_begin(s, me.g, krange_at(s, me.page)),
                                             me)

    _, _, r = violation(NoRecheck, "coherence", forks=0)
    assert r.status == "violated" and r.length == 6
    assert [s["step"] for s in r.trace.steps][-2:] == ["svm_range_evict_svm_bo_worker",
                                                       "svm_range_map_to_gpus"]


def test_cow_isolation_needs_the_hmm_pfn_write_check():
    """KFD today takes PTE write permission from the CPU VMA only (protocol.md §2.13); without
    the redesign's per-pfn check a GPU atomic lands in a VRAM page COW-shared with the child."""
    class NoPfnWrite(Kfd):
        """kfd without the HMM_PFN_WRITE check."""
        name = "kfd-test-no-pfn-write"
        pfn_write_check = False

    _, _, r = violation(NoPfnWrite, "cow_isolation", evictions=0)
    assert r.status == "violated" and r.length == 10
    steps = [s["step"] for s in r.trace.steps]
    assert "fork" in steps and steps[-1] == "svm_range_map_to_gpus"


# ---- the broken variants ---------------------------------------------------------------------

def test_variants_are_one_switch_diffs():
    own = lambda cls: {k for k in vars(cls) if not k.startswith("__")}  # noqa: E731
    assert own(KfdActualLoc) == {"name", "per_page_placement"}
    assert own(KfdBoFreeEarly) == {"name", "bo_page_refs"}
    assert KfdActualLoc.Config is KfdConfig and KfdBoFreeEarly.Config is UnmapConfig


def test_actual_loc_maps_the_whole_range_as_vram_after_a_partial_migration(actual_loc):
    m, res = actual_loc
    assert res.exit_code == 1
    r = {p.name: p for p in res.properties}["coherence"]
    assert (r.status, r.kind, r.length) == ("violated", "always", 6)
    steps = [(s["actor"], s["step"], s["outcome"]) for s in r.trace.steps]
    # a CPU read fills a hole between migrate_vma_setup and the copy: a partial migration
    assert steps[2][:2] == ("cpu0", "cpu_read")
    assert steps[3][1] == "svm_migrate_copy_to_vram" and "partial" in steps[3][2]
    assert steps[-1][1] == "svm_range_map_to_gpus"
    assert "GPU0 maps page 0 to frame" in r.reason and "the CPU page table has RW" in r.reason


def test_actual_loc_cannot_map_mixed_placement(actual_loc):
    _, res = actual_loc
    st = statuses(res)
    assert st["coherence"] == st["memory_safety"] == st["no_lost_data"] == "violated"
    assert st["mixed_placement_mapped"] == "vacuous"


def test_bo_free_early_frees_vram_still_mapped_after_a_split():
    m, res, r = violation(KfdBoFreeEarly, "memory_safety")
    assert res.exit_code == 1 and (r.status, r.kind, r.length) == ("violated", "always", 7)
    steps = [(s["step"], s["outcome"]) for s in r.trace.steps]
    assert steps[-2][0] == "munmap"
    assert steps[-1][0] == "svm_range_deferred_list_work" and steps[-1][1].startswith("split")
    assert "which is free" in r.reason


def test_actual_loc_counterexample_replays_and_the_sound_model_holds(actual_loc, sound):
    m, res = actual_loc
    r = {p.name: p for p in res.properties}["coherence"]
    rp = tr.confirm(m, r.trace, tr.replay(m, r.trace))
    assert rp.reproduced is True, rp.message
    assert statuses(sound)["coherence"] == "holds"


def test_bo_free_early_counterexample_replays_and_the_sound_model_holds():
    m, _, r = violation(KfdBoFreeEarly, "memory_safety")
    rp = tr.confirm(m, r.trace, tr.replay(m, r.trace))
    assert rp.reproduced is True, rp.message
    res = check(KfdUnmap(), properties=["memory_safety"], save_dir=None)
    assert statuses(res) == {"memory_safety": "holds"}


@pytest.mark.parametrize("pattern, cls", [
    ("kfd-actual-loc-coherence-*.json", KfdActualLoc),
    ("kfd-bo-free-early-memory_safety-*.json", KfdBoFreeEarly),
])
def test_saved_counterexamples_replay(pattern, cls):
    files = glob.glob(os.path.join(ROOT, "counterexamples", pattern))
    assert len(files) == 1, files
    t = tr.load(files[0])
    assert t.model == cls.name
    m = cls(cls.Config.build(t.config, model=cls.name))
    rp = tr.confirm(m, t, tr.replay(m, t))
    assert rp.reproduced is True, rp.message
