"""The xe model: the sound flow holds at its default size; each broken variant is *found*."""
import pytest

from svmcheck.check import check
from svmcheck.registry import build, shipped
from svmcheck.trace import confirm, replay


def run(name, props=(), **overrides):
    model, _ = build(name, {k: str(v) for k, v in overrides.items()})
    return model, check(model, properties=props, save_dir=None)


def statuses(res):
    return {p.name: p.status for p in res.properties}


def test_xe_is_the_default_and_its_variants_are_shipped():
    names = shipped()
    for n in ("xe", "xe-efault-in-place", "xe-no-recheck", "xe-retry-unbounded",
              "xe-window-unclipped", "xe-upstream", "xe-fork"):
        assert n in names


def test_sound_xe_holds_at_default_config_with_pinned_count():
    """Two GPUs (one atomic, one reading) over a two-page range with a CPU writer."""
    _, res = run("xe")
    assert res.result == "ok", statuses(res)
    assert all(s == "holds" for s in statuses(res).values())
    assert res.states == 291883


def test_sound_xe_holds_with_fork_when_hmm_pfn_write_is_checked():
    _, res = run("xe-fork")
    assert res.result == "ok", statuses(res)
    assert res.states == 823


@pytest.mark.parametrize("name,prop,length", [
    ("xe-efault-in-place", "atomic_safety", 11),
    ("xe-no-recheck", "coherence", 10),
    ("xe-retry-unbounded", "fault_progress", 24),
    ("xe-window-unclipped", "vma_respect", 2),
    ("xe-upstream", "cow_isolation", 9),
])
def test_broken_variant_is_found_with_a_shortest_trace(name, prop, length):
    model, res = run(name, props=(prop,))
    (p,) = res.properties
    assert p.status == "violated"
    assert p.length == length
    rp = confirm(model, p.trace, replay(model, p.trace))
    assert rp.reproduced, rp.message


def test_upstream_trace_is_a_gpu_write_into_a_cow_shared_page():
    model, res = run("xe-upstream", props=("cow_isolation",))
    steps = [s["step"] for s in res.properties[0].trace.steps]
    assert "fork" in steps
    assert steps[-1] == "xe_pt_svm_pre_commit"        # the GPU write lands at replay
    assert steps.index("fork") < steps.index("drm_gpusvm_get_pages", steps.index("fork"))


def test_the_hmm_side_fix_also_closes_the_cow_hole():
    """Faulting a read-only own device-private entry on REQ_WRITE (the mm-side fix candidate)."""
    _, res = run("xe-upstream", props=("cow_isolation",), hmm_req_write_faults_devpriv=True)
    assert res.properties[0].status == "holds"


def test_atomic_safety_holds_when_the_link_supports_atomics():
    _, res = run("xe-efault-in-place", props=("atomic_safety",), default_link=2)
    assert res.properties[0].status == "holds"


def test_retry_bound_restores_fault_progress():
    model, res = run("xe", props=("fault_progress",), pages=1, vma_layout="a", chunk_pages=1,
                     gpu_kinds="a", cpu_writes=0, cpu_reads=False)
    assert res.properties[0].status == "holds"


@pytest.mark.parametrize("bound,status", [(-1, "violated"), (0, "holds"), (2, "holds")])
def test_which_retry_bounds_allow_the_ping_pong(bound, status):
    """evict_retry_bound is a parameter: only the unbounded retry (-1) livelocks two GPUs
    atomic-faulting one page; every bound, 0 included, lets each fault end."""
    _, res = run("xe-retry-unbounded", props=("fault_progress",), evict_retry_bound=bound)
    assert res.properties[0].status == status


def test_atomics_with_system_atomics_never_use_a_pcie_peer():
    """With system atomics allowed an atomic fault is not devmem_only, yet it must still not
    be mapped on a peer's VRAM over a link without atomics (it bounces to system memory)."""
    _, res = run("xe", props=("atomic_safety", "fault_progress"), sys_atomics=True,
                 gpu_kinds="a", cpu_writes=0, cpu_reads=False)
    assert statuses(res) == {"atomic_safety": "holds", "fault_progress": "holds"}


# --- a DMA-mapping failure in drm_pagemap_migrate_to_devmem returns -EFAULT ------------------
def _dma_watch(base, branch):
    """``base`` plus two reachability questions: the fault handler takes ``branch`` after the
    copy's DMA-mapping failure, and data reaches VRAM once that failure has happened."""
    from models.xe import DMA_MAP_ERRORS
    from svmcheck import sometimes, sometimes_step
    from svmcheck.svm.state import Cpte

    class Watched(base):
        dma_error_seen = sometimes_step("dma_error_seen", step="migrate_vma_pages",
                                        outcome=f"-EFAULT dma_mapping_error: {branch}")

        @sometimes
        def vram_after_dma_error(self, s):
            return (self.left(s, DMA_MAP_ERRORS) == 0
                    and any(k in (Cpte.DEV_RO, Cpte.DEV_RW) for k, _ in s.pte))
    return Watched


DMA_CFG = dict(gpus=1, gpu_kinds="a", dma_map_errors=1)


def test_a_dma_mapping_error_is_evicted_and_retried_and_the_data_still_migrates():
    """Seed 004's patch reads -EFAULT as "all pages in device memory" and evicts and retries;
    after a DMA-mapping failure the pages are in RAM, so the round is wasted, yet the retry
    migrates and every property still holds."""
    from models.xe import Xe
    from svmcheck.testing import assert_holds
    assert_holds(_dma_watch(Xe, "evict, retry"), **DMA_CFG)


def test_efault_in_place_takes_a_dma_mapping_error_as_in_place_and_get_pages_catches_it():
    """xe-efault-in-place maps instead of migrating after the DMA error; for an atomic
    (devmem_only) fault get_pages refuses the system page (-EFAULT), so it stays safe."""
    from models.xe import XeEfaultInPlace
    from svmcheck.testing import assert_holds
    assert_holds(_dma_watch(XeEfaultInPlace, "taken as in place"), **DMA_CFG)


def test_without_dma_map_errors_the_copy_never_fails():
    from models.xe import Xe
    from svmcheck.testing import assert_finds
    p = assert_finds(_dma_watch(Xe, "evict, retry"), "dma_error_seen",
                     **dict(DMA_CFG, dma_map_errors=0))
    assert p.status == "vacuous"


def test_a_trace_saved_before_a_step_gained_an_argument_replays_only_when_unambiguous():
    """Shipped traces predate ``dma_error``: with one value for it (dma_map_errors=0) the saved
    step matches; with two values replay refuses instead of guessing."""
    import json
    import os
    from svmcheck.trace import CounterexampleError, load
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.path.join(root, "counterexamples", "xe-no-recheck-coherence-48c3faf3.json")
    with open(path) as f:
        data = json.load(f)
    assert not any("dma_error" in st["args"] for st in data["steps"])
    t = load(path)
    model, _ = build(t.model, t.config)
    assert confirm(model, t, replay(model, t)).reproduced
    model, _ = build(t.model, dict(t.config, dma_map_errors=1))
    with pytest.raises(CounterexampleError, match="migrate_vma_pages"):
        replay(model, t)
