"""Seed 001 models: mirror (sound) and mirror-no-vma-check (models/mirror.py)."""
import glob
import os

import pytest

from models.mirror import UNMAPPED, Mirror, MirrorConfig, MirrorNoVmaCheck
from models.xe import Xe
from svmcheck import always, clause
from svmcheck import trace as tr
from svmcheck.check import check
from svmcheck.explore.bfs import explore
from svmcheck.registry import shipped
from svmcheck.svm.state import NO, Cpte

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SOUND_PROPERTIES = {
    "coherence", "no_lost_data", "atomic_safety", "memory_safety", "vma_respect",
    "cow_isolation", "fault_progress", "data_reaches_vram", "gpu_access_completes",
    "evict_and_retry", "ebusy_happens", "hole_fault_enoent", "munmap_races_fault",
    "munmap_caught_at_bind", "chunk_bound", "partial_unmap_pending", "rechunked_after_munmap",
    "deadlock_free",
    # xe's auxiliary invariants (docs/z3.md), inherited
    "frames_accounted", "gpu_ptes_in_valid_ranges", "fault_handler_holds_its_range",
    "migrations_hold_their_locks"}


@pytest.fixture(scope="module")
def sound():
    """One exploration of the default sound model, shared by the tests below."""
    return check(Mirror(), save_dir=None, keep_graph=True)


def statuses(res):
    return {p.name: p.status for p in res.properties}


def _hole_touched(m, s):
    """A page without a VMA that is populated, has a live range, or is GPU-mapped."""
    c = m.config
    for p in range(c.pages):
        if s.vma[p] != NO:
            continue
        if s.pte[p][0] != Cpte.NONE:
            return f"page {p} populated"
        for g in range(c.gpus):
            if s.gpte[g * c.pages + p][0] != NO:
                return f"GPU{g} maps page {p}"
    return None


# ---- the sound model ------------------------------------------------------------------------

def test_both_models_are_shipped_and_subclass_xe():
    names = shipped()
    assert names["mirror"] is Mirror and names["mirror-no-vma-check"] is MirrorNoVmaCheck
    assert issubclass(Mirror, Xe) and issubclass(MirrorNoVmaCheck, Mirror)


def test_default_config_is_the_seed_scenario():
    c = MirrorConfig()
    assert c.vma_of_page == (0, 0, -1, 1)          # "aa-a": page 2 is a hole
    assert c.touched == (0, 1, 2, 3)                # GPUs fault on every page, the hole too
    assert (c.chunk_pages, c.munmaps) == (2, 1)


def test_sound_model_every_property_holds_at_default_config(sound):
    assert sound.result == "ok" and sound.exit_code == 0, statuses(sound)
    assert statuses(sound) == dict.fromkeys(SOUND_PROPERTIES, "holds")


def test_sound_model_state_count_is_pinned(sound):
    """gpus=1 pages=4 vma_layout=aa-a chunk_pages=2 gpu_kinds=arw gpu_pages='' munmaps=1."""
    assert (sound.states, sound.transitions, sound.depth) == (31870, 76532, 27)


def test_hole_faults_fail_with_enoent_and_leave_nothing_there(sound):
    """Every -ENOENT is a fault on a page with no VMA, and after it that page has no range,
    no CPU page and no GPU mapping (the fault failed cleanly)."""
    ex = sound.exploration
    m = ex.model
    src, dst, act, out = ex.edges
    seen = 0
    for i, j, a, o in zip(src, dst, act, out):
        if ex.outcomes[o] != "-ENOENT":
            continue
        seen += 1
        before, procs = ex.states[i]
        after = ex.states[j][0]
        page = m.proc_view(procs)["gpu0"][1]["page"]
        assert m.actions[a].name == "drm_gpusvm_range_find_or_insert"
        assert before.vma[page] == NO
        assert not any(r.start <= page < r.end for rs in after.ranges for r in rs)
        assert after.pte[page][0] == Cpte.NONE and after.gpte[page][0] == NO
        assert m.proc_view(ex.states[j][1])["gpu0"][0] == "idle"   # the fault ended
    assert seen > 0
    assert not any(_hole_touched(m, st[0]) for st in ex.states)


def test_munmap_race_is_caught_at_every_stage_of_the_fault(sound):
    """A munmap of a page of the fault's chunk is seen by hmm_range_fault (-EFAULT), by the
    notifier-locked half of get_pages (unmapped -EFAULT), and by the bind (-EAGAIN)."""
    ex = sound.exploration
    m = ex.model
    _, _, act, out = ex.edges
    where = {m.actions[a].name for a, o in zip(act, out)
             if ex.outcomes[o] and UNMAPPED in ex.outcomes[o]}
    assert where == {"drm_gpusvm_get_pages", "drm_gpusvm_get_pages_map", "xe_pt_stage_bind",
                     "xe_pt_svm_pre_commit"}


@pytest.mark.parametrize("overrides, vacuous", [
    (dict(vma_layout="a-a|f"), {"chunk_bound", "partial_unmap_pending"}),   # no chunk fits
    (dict(munmaps=2), set()),
    (dict(gpus=2, gpu_kinds="a,r", cpu_reads=False), set()),
])
def test_sound_model_holds_at_other_sizes(overrides, vacuous):
    res = check(Mirror(MirrorConfig(**overrides)), save_dir=None)
    st = statuses(res)
    assert {n for n, s in st.items() if s != "holds"} == vacuous, st


# ---- the broken variant ---------------------------------------------------------------------

def test_variant_is_a_one_switch_diff():
    own = {k for k in vars(MirrorNoVmaCheck) if not k.startswith("__")}
    assert own == {"name", "vma_lookup", "skip_properties"}
    assert Mirror.vma_lookup is True and MirrorNoVmaCheck.vma_lookup is False
    assert set(MirrorNoVmaCheck.skip_properties) == {"hole_fault_enoent",
                                                     "rechunked_after_munmap"}


def test_variant_violates_vma_respect_with_a_shortest_trace():
    res = check(MirrorNoVmaCheck(), properties=["vma_respect"], save_dir=None)
    (r,) = res.properties
    assert res.exit_code == 1
    assert (r.status, r.kind, r.length) == ("violated", "always", 2)
    assert r.reason == "GPU0 range [2,4) covers VMAs [-1, 1] (-1: none)"
    assert [(s["step"], s["args"]) for s in r.trace.steps] == [
        ("gpu_access", {"page": 2, "kind": 1}), ("drm_gpusvm_range_find_or_insert", {})]
    m = MirrorNoVmaCheck()
    rp = tr.confirm(m, r.trace, tr.replay(m, r.trace))
    assert rp.reproduced is True
    # the sound model holds the same property on its own exploration
    assert statuses(check(Mirror(), properties=["vma_respect"], save_dir=None)) == {
        "vma_respect": "holds"}


def test_variant_populates_and_gpu_maps_the_hole():
    """Past the range, the hole is populated (3 steps) and GPU-mapped (6 steps); a munmapped
    page is GPU-mapped again after the unclipped re-chunk (7 steps)."""
    @always
    def hole_not_populated(m, s):
        c = m.config
        return all(clause(s.pte[p][0] == Cpte.NONE, "page {p} populated", p=p)
                   for p in range(c.pages) if s.vma[p] == NO)

    @always
    def hole_not_gpu_mapped(m, s):
        c = m.config
        return all(s.gpte[g * c.pages + p][0] == NO
                   for g in range(c.gpus) for p in range(c.pages) if s.vma[p] == NO)

    @always
    def munmapped_not_gpu_mapped(m, s):
        c = m.config
        return all(s.gpte[g * c.pages + p][0] == NO for g in range(c.gpus)
                   for p in range(c.pages) if s.vma[p] == NO and c.vma_of_page[p] != NO)

    props = [hole_not_populated, hole_not_gpu_mapped, munmapped_not_gpu_mapped]
    m = MirrorNoVmaCheck()
    ex = explore(m, always=props)
    lengths = {p.name: len(tr.from_path(ex, ex.violations[p.name], p).steps) for p in props}
    assert lengths == {"hole_not_populated": 3, "hole_not_gpu_mapped": 6,
                       "munmapped_not_gpu_mapped": 7}
    t = tr.from_path(ex, ex.violations["munmapped_not_gpu_mapped"], munmapped_not_gpu_mapped)
    assert t.steps[0]["step"] == "munmap" and t.steps[-1]["outcome"] == "bound, replayed"
    # and none of them in the sound model
    assert not explore(Mirror(), always=props).violations


def test_variant_write_fault_on_a_hole_never_ends():
    """A secondary symptom: a write fault on a populated hole (read-only: no VM_WRITE) retries
    forever; -ENOENT is also what makes such a fault end."""
    res = check(MirrorNoVmaCheck(), properties=["fault_progress"], save_dir=None)
    (r,) = res.properties
    assert r.status == "violated" and r.trace.lasso_start is not None


def test_saved_counterexample_replays():
    files = glob.glob(os.path.join(ROOT, "counterexamples",
                                   "mirror-no-vma-check-vma_respect-*.json"))
    assert len(files) == 1, files
    t = tr.load(files[0])
    assert t.model == "mirror-no-vma-check" and t.property == "vma_respect"
    m = MirrorNoVmaCheck(MirrorConfig.build(t.config, model=t.model))
    rp = tr.confirm(m, t, tr.replay(m, t))
    assert rp.reproduced is True
