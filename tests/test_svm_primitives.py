"""Table-driven tests of the page-level SVM primitives (svmcheck/svm/).

Every row drives one primitive into one outcome that /work/shared/reference/protocol.md (§2
steps and outcomes, §5 checklist) lists for it, from a small hand-made world
(tests/svm_builders.py).  A row is a function registered with :func:`row`: it builds a world,
applies the primitive, asserts the state change, and returns the outcome it saw (an errno
string, ``"VALID"``, ``"partial"``, ...); the parametrized test compares that with the
outcome declared in the table.  Row ids read ``primitive:outcome:what``.
"""
from __future__ import annotations

import pytest

from svm_builders import WorldBuilder
from svmcheck.svm import gpusvm
from svmcheck.svm import mm as cpu
from svmcheck.svm.base import EVICTIONS
from svmcheck.svm.hmm import hmm_range_fault, must_wait
from svmcheck.svm.migrate import (abort_to_devmem, allocation_frames, finalize_to_devmem,
                                  migrate_to_ram, setup_to_devmem)
from svmcheck.svm.notifier import ZAPPED, invalidate
from svmcheck.svm.pagemap import alloc_devmem, evict_to_ram
from svmcheck.svm.state import FREE, NO, Cpte, Event, Perm, tset

ROWS = []


def row(primitive: str, outcome: str):
    """Register a table row: ``fn()`` must return ``outcome``."""
    def deco(fn):
        ROWS.append(pytest.param(fn, outcome,
                                 id=f"{primitive}:{outcome}:{fn.__name__}".replace(" ", "_")))
        return fn
    return deco


@pytest.mark.parametrize("case,expected", ROWS)
def test_primitive_outcome(case, expected):
    assert case() == expected


def hmm(b, pages, g=0, **kw):
    kw.setdefault("fault", True)
    kw.setdefault("write", False)
    return hmm_range_fault(b.cfg, b.w, g, tuple(pages), **kw)


def hmm_outcome(res):
    if res.err:
        return res.err
    return "VALID" if all(p is not None for p in res.pfns) else "no VALID"


def gpu_pte(b, w, g, page):
    return w.gpte[g * b.cfg.pages + page]


# =============================================================================================
# hmm_range_fault (protocol.md §2.17 contract, §5 items 8-13)
# =============================================================================================

@row("hmm_range_fault", "VALID")
def fault_populates_hole():
    b = WorldBuilder(gpus=1, pages=1, vma_layout="a")
    res = hmm(b, [0])
    f = res.world.pte[0][1]
    assert res.world.pte[0] == (Cpte.RW, f) and res.world.fver[f] == 0
    assert res.pfns == ((f, True),)
    assert res.world.stale == (False,), "do_anonymous_page fires no notifier"
    b.check(res.world)
    return hmm_outcome(res)


@row("hmm_range_fault", "VALID")
def read_fault_in_read_only_vma_maps_read_only():
    b = WorldBuilder(gpus=1, pages=1, vma_layout="r")
    res = hmm(b, [0], write=False)
    f = res.world.pte[0][1]
    assert res.world.pte[0] == (Cpte.RO, f) and res.pfns == ((f, False),)
    return hmm_outcome(res)


@row("hmm_range_fault", "no VALID")
def non_faulting_reports_hole_without_valid():
    b = WorldBuilder(gpus=1, pages=2, vma_layout="aa")
    b.populate(1)
    res = hmm(b, [0, 1], fault=False)
    assert res.pfns == (None, (b.frame(1), True))
    assert res.world == b.w, "a non-faulting walk only reports"
    return hmm_outcome(res)


@row("hmm_range_fault", "VALID")
def non_faulting_reports_present_page():
    b = WorldBuilder(gpus=1, pages=1, vma_layout="a")
    b.populate(0)
    res = hmm(b, [0], fault=False)
    assert res.pfns == ((b.frame(0), True),) and res.world == b.w
    return hmm_outcome(res)


@row("hmm_range_fault", "-EFAULT")
def fault_without_vma():
    b = WorldBuilder(gpus=1, pages=2, vma_layout="a-")
    res = hmm(b, [0, 1])
    assert res.pfns == ()
    return hmm_outcome(res)


@row("hmm_range_fault", "no VALID")
def non_faulting_without_vma_is_an_error_pfn():
    # mm/hmm.c hmm_vma_walk_hole: no VMA and no fault requested -> HMM_PFN_ERROR, not -EFAULT
    b = WorldBuilder(gpus=1, pages=1, vma_layout="-")
    res = hmm(b, [0], fault=False)
    assert res.pfns == (None,) and res.world == b.w
    return hmm_outcome(res)


@row("hmm_range_fault", "-EPERM")
def write_fault_on_read_only_vma():
    b = WorldBuilder(gpus=1, pages=1, vma_layout="r")
    res = hmm(b, [0], write=True)
    assert res.world.pte[0] == (Cpte.NONE, NO), "hmm_do_fault refuses before faulting"
    return hmm_outcome(res)


@row("hmm_range_fault", "-EBUSY")
def write_fault_cow_break_moves_its_own_seq():
    b = WorldBuilder(gpus=1, pages=1, vma_layout="a", forks=1)
    b.populate(0).fork().stale(0, False)          # read_begin after the fork
    old = b.frame(0)
    res = hmm(b, [0], write=True)
    w = res.world
    new = w.pte[0][1]
    assert w.pte[0] == (Cpte.RW, new) and new != old, "do_wp_page copied the page"
    assert w.fver[new] == w.fver[old] == w.latest[0]
    assert w.pte[1] == (Cpte.RO, old) and w.fmap[old] == 1, "the child keeps the old frame"
    assert w.stale == (True,), "the COW break's CLEAR invalidation hit our own notifier"
    b.check(w)
    # the caller loops to read_begin; the second walk succeeds
    again = hmm_range_fault(b.cfg, w._replace(stale=(False,)), 0, (0,), fault=True, write=True)
    assert again.err is None and again.pfns == ((new, True),)
    return hmm_outcome(res)


@row("hmm_range_fault", "VALID")
def write_fault_on_exclusive_read_only_page_reuses_it():
    b = WorldBuilder(gpus=1, pages=1, vma_layout="a")
    b.populate(0, kind=Cpte.RO)
    f = b.frame(0)
    res = hmm(b, [0], write=True)
    assert res.world.pte[0] == (Cpte.RW, f), "wp_page_reuse: same frame, now writable"
    assert res.world.stale == (False,)
    return hmm_outcome(res)


@row("hmm_range_fault", "-EBUSY")
def foreign_owner_device_page_is_faulted_back_to_ram():
    b = WorldBuilder(gpus=2, pages=1, vma_layout="a", default_link=0)   # no link: foreign
    b.populate(0).vram([0], gpu=1).range(1, 0, 1, valid=True, bound=True)
    d, v = b.frame(0), b.w.fver[b.frame(0)]
    alloc = b.w.falloc[d]
    res = hmm(b, [0], g=0)
    w = res.world
    kind, f = w.pte[0]
    assert kind == Cpte.RW and cpu.owner(b.cfg, f) == -1 and w.fver[f] == v
    assert w.fver[d] == FREE and w.arefs[alloc] == 0, "the VRAM page and its zdd ref are gone"
    assert gpu_pte(b, w, 1, 0) == ZAPPED, "the MIGRATE notifier zapped the owner's mapping"
    assert w.stale == (True, True)
    b.check(w)
    return hmm_outcome(res)


@row("hmm_range_fault", "no VALID")
def non_faulting_skips_foreign_device_page():
    b = WorldBuilder(gpus=2, pages=1, vma_layout="a", default_link=0)
    b.populate(0).vram([0], gpu=1)
    res = hmm(b, [0], g=0, fault=False)
    assert res.world == b.w
    return hmm_outcome(res)


@row("hmm_range_fault", "VALID")
def peer_device_page_with_shared_owner_reported_in_place():
    b = WorldBuilder(gpus=2, pages=1, vma_layout="a", default_link=1)
    b.populate(0).vram([0], gpu=1)
    res = hmm(b, [0], g=0, write=True)
    assert res.pfns == ((b.frame(0), True),) and res.world == b.w
    return hmm_outcome(res)


@row("hmm_range_fault", "VALID")
def own_read_only_device_page_ignores_req_write():
    b = WorldBuilder(gpus=1, pages=1, vma_layout="a", forks=1)
    b.populate(0).vram([0]).fork()                   # DEV_RW -> DEV_RO shared with the child
    assert b.kind(0) == Cpte.DEV_RO
    res = hmm(b, [0], write=True)
    assert res.pfns == ((b.frame(0), False),), "VALID without WRITE despite REQ_WRITE"
    assert res.world == b.w, "no fault: the page stays shared in VRAM"
    return hmm_outcome(res)


@row("hmm_range_fault", "-EBUSY")
def own_read_only_device_page_faulted_when_req_write_honoured():
    b = WorldBuilder(gpus=1, pages=1, vma_layout="a", forks=1,
                     hmm_req_write_faults_devpriv=True)
    b.populate(0).vram([0]).fork().stale(0, False)
    d = b.frame(0)
    res = hmm(b, [0], write=True)
    w = res.world
    assert w.fver[d] == FREE, "migrate_to_ram moved the page for both processes"
    (k0, f0), (k1, f1) = w.pte[0], w.pte[1]
    assert k0 == Cpte.RW and k1 == Cpte.RO and f0 != f1, "then the write fault broke COW"
    assert w.fver[f0] == w.fver[f1] == w.latest[0] == w.latest[1]
    b.check(w)
    return hmm_outcome(res)


@row("hmm_range_fault", "VALID")
def own_read_only_device_page_in_read_only_vma_no_eperm():
    # hmm_vma_handle_pte: the own-owner branch jumps to `out` before hmm_pte_need_fault,
    # so -EPERM (hmm_do_fault) is never reached for it
    b = WorldBuilder(gpus=1, pages=1, vma_layout="r")
    b.populate(0).vram([0])
    assert b.kind(0) == Cpte.DEV_RO
    res = hmm(b, [0], write=True)
    assert res.pfns == ((b.frame(0), False),)
    return hmm_outcome(res)


@row("hmm_range_fault", "-EBUSY")
def owner_null_faults_own_device_pages_to_ram():
    b = WorldBuilder(gpus=1, pages=1, vma_layout="a")
    b.populate(0).vram([0])
    res = hmm(b, [0], owner_none=True)
    assert res.world.pte[0][0] == Cpte.RW and cpu.owner(b.cfg, res.world.pte[0][1]) == -1
    return hmm_outcome(res)


@row("hmm_range_fault", "-EBUSY")
def foreign_device_page_locked_waits():
    b = WorldBuilder(gpus=2, pages=1, vma_layout="a", default_link=0)
    b.populate(0).vram([0], gpu=1)
    b.lock(b.frame(0))
    res = hmm(b, [0], g=0)
    assert res.world.pte[0] == b.w.pte[0], "the page stays in VRAM while its lock is held"
    return hmm_outcome(res)


@row("hmm_range_fault", "no VALID")
def migration_entry_not_valid_and_waited_on():
    b = WorldBuilder(gpus=1, pages=1, vma_layout="a")
    b.populate(0)
    w, got, _ = setup_to_devmem(b.cfg, b.w, (0,))
    assert got == (0,) and w.pte[0][0] == Cpte.MIG
    assert must_wait(w, (0,)), "a faulting walk waits in migration_entry_wait"
    res = hmm_range_fault(b.cfg, w, 0, (0,), fault=False, write=False)
    assert res.pfns == (None,)
    return hmm_outcome(res)


# =============================================================================================
# notifier invalidation (protocol.md §2.0, §2.9, §5 items 1, 2, 4, 31, 32)
# =============================================================================================

def two_gpu_ranges():
    b = WorldBuilder(gpus=2, pages=2, vma_layout="aa")
    b.populate(0).populate(1)
    b.range(0, 0, 2, valid=True, bound=True)
    b.range(1, 0, 1, valid=True, bound=True).range(1, 1, 2, valid=True, bound=True)
    return b


@row("invalidate", "unmapped+partial")
def unmap_part_of_a_range():
    b = two_gpu_ranges()
    w = invalidate(b.cfg, b.w, 0, (0,), Event.UNMAP)
    (r0,) = w.ranges[0]
    assert (r0.unmapped, r0.partial, r0.valid, r0.devmem, r0.pfns) == (True, True, False,
                                                                       False, ())
    assert gpu_pte(b, w, 0, 0) == gpu_pte(b, w, 0, 1) == ZAPPED, "the whole range is zapped"
    ra, rb = w.ranges[1]
    assert ra.unmapped and not ra.partial, "GPU1's one-page range is wholly unmapped"
    assert rb == b.w.ranges[1][1] and gpu_pte(b, w, 1, 1) == gpu_pte(b, b.w, 1, 1)
    assert w.stale == (True, True), "one notifier per GPU over the window: every seq moves"
    return "unmapped+partial"


@row("invalidate", "unmapped")
def unmap_whole_range():
    b = two_gpu_ranges()
    w = invalidate(b.cfg, b.w, 0, (0, 1), Event.UNMAP)
    assert all(r.unmapped and not r.partial for g in range(2) for r in w.ranges[g])
    assert all(p == ZAPPED for p in w.gpte)
    return "unmapped"


@row("invalidate", "zapped")
def migrate_event_zaps_whole_range_which_survives():
    b = two_gpu_ranges()
    w = invalidate(b.cfg, b.w, 0, (1,), Event.MIGRATE)
    (r0,) = w.ranges[0]
    assert not r0.unmapped and not r0.valid and r0.pfns == ()
    assert gpu_pte(b, w, 0, 0) == ZAPPED, "page 0 is zapped although only page 1 moves"
    assert w.ranges[1][0] == b.w.ranges[1][0], "GPU1's range over page 0 is not hit"
    return "zapped"


@row("invalidate", "zapped")
def clear_event_zaps_whole_range():
    b = two_gpu_ranges()
    w = invalidate(b.cfg, b.w, 0, (0,), Event.CLEAR)
    assert not w.ranges[0][0].unmapped and not w.ranges[0][0].valid
    assert gpu_pte(b, w, 0, 1) == ZAPPED
    return "zapped"


@row("invalidate", "stale seq")
def any_invalidation_moves_every_seq():
    b = WorldBuilder(gpus=2, pages=2, vma_layout="aa")
    b.populate(0).populate(1).range(0, 1, 2, valid=True, bound=True)
    w = invalidate(b.cfg, b.w, 0, (0,), Event.CLEAR)       # overlaps no range
    assert w.stale == (True, True) and w.ranges == b.w.ranges and w.gpte == b.w.gpte
    return "stale seq"


@row("invalidate", "no-op")
def child_mm_is_not_mirrored():
    b = WorldBuilder(gpus=1, pages=1, vma_layout="a", forks=1)
    b.populate(0).fork().range(0, 0, 1, valid=True, bound=True).stale(0, False)
    w = invalidate(b.cfg, b.w, 1, (0,), Event.CLEAR)
    assert w == b.w
    return "no-op"


# =============================================================================================
# migrate_vma_setup / migrate_vma_pages + finalize / abort (§2.4-2.6, §5 items 14-19)
# =============================================================================================

@row("setup_to_devmem", "cpages=npages")
def setup_collects_holes_and_exclusive_pages():
    b = WorldBuilder(gpus=1, pages=2, vma_layout="aa")
    b.populate(1).range(0, 0, 2, valid=True, bound=True)
    f = b.frame(1)
    w, got, on_dev = setup_to_devmem(b.cfg, b.w, (0, 1))
    assert got == (0, 1) and on_dev == 0
    assert w.pte[0] == (Cpte.NONE, NO), "a hole stays pte_none until migrate_vma_pages"
    assert w.pte[1] == (Cpte.MIG, f) and w.flock[f] and w.fmap[f] == 1
    assert all(p == ZAPPED for p in w.gpte) and not w.ranges[0][0].valid
    assert w.stale == (True,), "MIGRATE fired over the whole window first"
    return "cpages=npages"


@row("setup_to_devmem", "cpages<npages")
def setup_skips_cow_shared_page():
    b = WorldBuilder(gpus=1, pages=2, vma_layout="aa", forks=1)
    b.populate(0).fork()                                 # page 0 COW-shared, page 1 a hole
    w, got, _ = setup_to_devmem(b.cfg, b.w, (0, 1))
    assert got == (1,)
    assert w.pte[0] == b.w.pte[0] and not w.flock[b.frame(0)]
    return "cpages<npages"


@row("setup_to_devmem", "cpages<npages")
def setup_skips_locked_page():
    b = WorldBuilder(gpus=1, pages=2, vma_layout="aa")
    b.populate(0).populate(1)
    b.lock(b.frame(0))
    w, got, _ = setup_to_devmem(b.cfg, b.w, (0, 1))
    assert got == (1,) and w.pte[0] == (Cpte.RW, b.frame(0))
    return "cpages<npages"


@row("setup_to_devmem", "cpages<npages")
def setup_skips_pinned_page():
    b = WorldBuilder(gpus=1, pages=2, vma_layout="aa")
    b.populate(0).populate(1)
    w, got, _ = setup_to_devmem(b.cfg, b.w, (0, 1), skip=frozenset({1}))
    assert got == (0,) and w.pte[1] == (Cpte.RW, b.frame(1)) and not w.flock[b.frame(1)]
    return "cpages<npages"


@row("setup_to_devmem", "cpages<npages")
def setup_collects_holes_only_in_anonymous_vmas():
    b = WorldBuilder(gpus=1, pages=2, vma_layout="af")
    w, got, _ = setup_to_devmem(b.cfg, b.w, (0, 1))
    assert got == (0,), "migrate_vma_collect_hole: only anonymous memory is populated"
    return "cpages<npages"


@row("setup_to_devmem", "cpages=0")
def setup_never_collects_device_pages():
    b = WorldBuilder(gpus=2, pages=2, vma_layout="aa", default_link=2)
    b.populate(0).populate(1).vram([0], gpu=0).vram([1], gpu=1)
    w, got, on_dev = setup_to_devmem(b.cfg, b.w, (0, 1))
    assert got == () and on_dev == 2, "no SELECT_DEVICE_PRIVATE: ours and others' stay"
    assert w.pte == b.w.pte
    return "cpages=0"


def migrate(b, pages, g=0):
    """setup + alloc (the two halves xe runs)."""
    w, got, _ = setup_to_devmem(b.cfg, b.w, tuple(pages))
    w, alloc, frames = alloc_devmem(b.cfg, w, g, len(got))
    return w, got, alloc, frames


@row("finalize_to_devmem", "migrated")
def finalize_moves_every_collected_page():
    b = WorldBuilder(gpus=1, pages=2, vma_layout="aa")
    b.populate(1)
    src, v = b.frame(1), b.w.fver[b.frame(1)]
    w, got, alloc, frames = migrate(b, (0, 1))
    w, moved = finalize_to_devmem(b.cfg, w, got, frames, alloc)
    assert moved == (0, 1)
    assert w.pte[0] == (Cpte.DEV_RW, frames[0]) and w.fver[frames[0]] == 0
    assert w.pte[1] == (Cpte.DEV_RW, frames[1]) and w.fver[frames[1]] == v
    assert w.fver[src] == FREE and not any(w.flock)
    assert w.arefs[alloc] == 2 and all(w.falloc[d] == alloc for d in frames)
    b.check(w)
    return "migrated"


@row("finalize_to_devmem", "migrated")
def finalize_read_only_vma_gives_readable_entry():
    b = WorldBuilder(gpus=1, pages=1, vma_layout="r")
    w, got, alloc, frames = migrate(b, (0,))
    w, moved = finalize_to_devmem(b.cfg, w, got, frames, alloc)
    assert moved == (0,) and w.pte[0] == (Cpte.DEV_RO, frames[0])
    return "migrated"


@row("finalize_to_devmem", "partial")
def finalize_drops_hole_filled_concurrently():
    b = WorldBuilder(gpus=1, pages=2, vma_layout="aa")
    b.populate(1)
    w, got, alloc, frames = migrate(b, (0, 1))
    assert got == (0, 1)
    w, err = cpu.do_anonymous_page(b.cfg, w, 0, 0)        # a CPU fault fills the hole
    assert err is None
    f0 = w.pte[0][1]
    w, moved = finalize_to_devmem(b.cfg, w, got, frames, alloc)
    assert moved == (1,), "migrate_vma_insert_page lost the race for page 0"
    assert w.pte[0] == (Cpte.RW, f0) and w.fver[frames[0]] == FREE
    assert w.pte[1][0] == Cpte.DEV_RW and w.arefs[alloc] == 1, "a mixed range remains"
    b.check(w)
    return "partial"


@row("finalize_to_devmem", "restored")
def finalize_refuses_file_backed_page():
    b = WorldBuilder(gpus=1, pages=1, vma_layout="f")
    b.populate(0)
    f = b.frame(0)
    w, got, alloc, frames = migrate(b, (0,))
    assert got == (0,) and w.pte[0] == (Cpte.MIG, f), "collect takes present file pages too"
    w, moved = finalize_to_devmem(b.cfg, w, got, frames, alloc)
    assert moved == () and w.pte[0] == (Cpte.RW, f) and not w.flock[f]
    assert w.arefs[alloc] == 0 and w.fver[frames[0]] == FREE
    b.check(w)
    return "restored"


@row("abort_to_devmem", "restored")
def abort_restores_sources():
    b = WorldBuilder(gpus=1, pages=2, vma_layout="aa")
    b.populate(1)
    f = b.frame(1)
    w, got, _ = setup_to_devmem(b.cfg, b.w, (0, 1))
    w = abort_to_devmem(b.cfg, w, got)
    assert w.pte[0] == (Cpte.NONE, NO) and w.pte[1] == (Cpte.RW, f) and not w.flock[f]
    assert w.fver[f] == b.w.fver[f] and w.fmap[f] == 1
    b.check(w)
    return "restored"


# =============================================================================================
# migrate_to_ram / evict_to_ram / range_evict (§2.10, §2.12, §5 items 22, 25, 26)
# =============================================================================================

def two_pages_in_vram(**kw):
    b = WorldBuilder(gpus=1, pages=2, vma_layout="aa", **kw)
    b.populate(0).populate(1).write(1).vram([0, 1])
    b.range(0, 0, 2, valid=True, bound=True)
    return b


@row("migrate_to_ram", "moved=2")
def migrate_to_ram_moves_the_whole_allocation():
    b = two_pages_in_vram()
    alloc = b.w.falloc[b.frame(0)]
    versions = [b.w.fver[b.frame(p)] for p in (0, 1)]
    w, moved, skipped = migrate_to_ram(b.cfg, b.w, allocation_frames(b.cfg, b.w, alloc))
    assert skipped == 0 and w.arefs[alloc] == 0
    for p, v in zip((0, 1), versions):
        kind, f = w.pte[p]
        assert kind == Cpte.RW and cpu.owner(b.cfg, f) == -1 and w.fver[f] == v
    assert all(p == ZAPPED for p in w.gpte) and not w.ranges[0][0].valid
    b.check(w)
    return f"moved={moved}"


@row("migrate_to_ram", "moved=1")
def migrate_to_ram_skips_locked_frame():
    b = two_pages_in_vram()
    d1 = b.frame(1)
    b.lock(d1)
    alloc = b.w.falloc[d1]
    w, moved, skipped = migrate_to_ram(b.cfg, b.w, allocation_frames(b.cfg, b.w, alloc))
    assert skipped == 1 and w.pte[1] == (Cpte.DEV_RW, d1) and w.arefs[alloc] == 1
    assert w.pte[0][0] == Cpte.RW
    return f"moved={moved}"


@row("migrate_to_ram", "moved=2")
def migrate_to_ram_takes_the_held_fault_page():
    b = two_pages_in_vram()
    d0 = b.frame(0)
    b.lock(d0)                                  # do_swap_page holds the fault page's lock
    alloc = b.w.falloc[d0]
    w, moved, skipped = migrate_to_ram(b.cfg, b.w, allocation_frames(b.cfg, b.w, alloc),
                                       held=d0)
    assert skipped == 0 and w.fver[d0] == FREE and not w.flock[d0]
    b.check(w)
    return f"moved={moved}"


@row("migrate_to_ram", "moved=1")
def migrate_to_ram_of_fork_shared_page_moves_both_mappings():
    b = WorldBuilder(gpus=1, pages=1, vma_layout="a", forks=1)
    b.populate(0).vram([0]).fork()
    d = b.frame(0)
    w, moved, _ = migrate_to_ram(b.cfg, b.w, [d])
    (k0, f0), (k1, f1) = w.pte[0], w.pte[1]
    assert k0 == k1 == Cpte.RO and f0 == f1 and w.fmap[f0] == 2, "try_to_migrate: both"
    b.check(w)
    return f"moved={moved}"


@row("cpu fault flow", "cpages=2")
def cpu_fault_flow_migrates_whole_allocation_under_mmap_lock():
    b = two_pages_in_vram(munmaps=1, forks=1, cpu_writes=0)
    m = b.model
    st = (b.w, m.initial_states()[0][1])
    a = m.find_action(st, "cpu0/fault", "do_swap_page", {"page": 0, "write": False})
    _, st = m.fire(a, st)
    w = st[0]
    assert w.flock[b.frame(0)] and w.mmap_readers == 1
    names = {x.name for x, _, _ in m.successors(st)}
    assert "munmap" not in names and "fork" not in names, \
        "munmap/fork need mmap_lock for write while do_swap_page holds it for read"
    a = m.find_action(st, "cpu0/fault", "drm_pagemap_migrate_to_ram", {})
    out, st = m.fire(a, st)
    w = st[0]
    assert w.mmap_readers == 0 and not any(w.flock)
    assert all(cpu.owner(b.cfg, w.pte[p][1]) == -1 for p in (0, 1)), "page 1 moved too"
    b.check(w)
    return out


@row("evict_to_ram", "0")
def evict_to_ram_releases_allocation():
    b = two_pages_in_vram()
    alloc = b.w.falloc[b.frame(0)]
    w, err = evict_to_ram(b.cfg, b.w, alloc)
    assert w.arefs[alloc] == 0 and all(w.pte[p][0] == Cpte.RW for p in (0, 1))
    b.check(w)
    return err or "0"


@row("evict_to_ram", "-EBUSY")
def evict_to_ram_fails_on_contention():
    b = two_pages_in_vram()
    d0 = b.frame(0)
    b.lock(d0)
    alloc = b.w.falloc[d0]
    w, err = evict_to_ram(b.cfg, b.w, alloc)
    assert w.pte[0] == (Cpte.DEV_RW, d0) and w.arefs[alloc] == 1, "detached never completes"
    assert w.pte[1][0] == Cpte.RW, "the uncontended page did move"
    return err


@row("drm_pagemap_evict_to_ram step", "-EBUSY")
def ttm_eviction_step_fails_while_cpu_fault_holds_page():
    b = two_pages_in_vram(evictions=1)
    m = b.model
    st = (b.w, m.initial_states()[0][1])
    _, st = m.fire(m.find_action(st, "cpu0/fault", "do_swap_page",
                                 {"page": 1, "write": False}), st)
    alloc = b.w.falloc[b.frame(0)]
    out, st = m.fire(m.find_action(st, "ttm", "drm_pagemap_evict_to_ram", {"alloc": alloc}), st)
    assert st[0].pte[1] == b.w.pte[1] and m.left(st[0], EVICTIONS) == 0
    return out


@row("range_evict", "0")
def range_evict_moves_every_device_page_of_range():
    b = two_pages_in_vram()
    r = b.w.ranges[0][0]
    w, err = gpusvm.range_evict(b.cfg, b.w, 0, r)
    assert all(cpu.owner(b.cfg, w.pte[p][1]) == -1 for p in (0, 1))
    return err or "0"


@row("range_evict", "-EBUSY")
def range_evict_times_out_on_contended_page():
    b = two_pages_in_vram()
    b.lock(b.frame(1))
    w, err = gpusvm.range_evict(b.cfg, b.w, 0, b.w.ranges[0][0])
    assert w.pte[1][0] == Cpte.DEV_RW
    return err


# =============================================================================================
# VRAM allocation under pressure (§2.4 Pre, §2.10)
# =============================================================================================

@row("alloc_devmem", "allocated")
def alloc_devmem_from_free_vram():
    b = WorldBuilder(gpus=1, pages=2, vma_layout="aa", vram_pages=2)
    w, alloc, frames = alloc_devmem(b.cfg, b.w, 0, 2)
    assert alloc == 0 and frames == (b.dev_frame(0, 0), b.dev_frame(0, 1)) and w == b.w
    return "allocated"


@row("alloc_devmem", "evicted+allocated")
def alloc_devmem_evicts_another_allocation():
    b = WorldBuilder(gpus=1, pages=2, vma_layout="aa", vram_pages=1)
    b.populate(0).vram([0])
    old = b.w.falloc[b.frame(0)]
    w, alloc, frames = alloc_devmem(b.cfg, b.w, 0, 1)
    assert alloc == old and frames == (b.dev_frame(0),), "the slot and frame were reused"
    assert w.pte[0][0] == Cpte.RW and w.arefs[old] == 0, "the victim went back to RAM"
    b.check(w)
    return "evicted+allocated"


@row("alloc_devmem", "-ENOMEM")
def alloc_devmem_fails_when_eviction_cannot_make_room():
    b = WorldBuilder(gpus=1, pages=2, vma_layout="aa", vram_pages=1)
    b.populate(0).vram([0])
    b.lock(b.frame(0))
    w, alloc, frames = alloc_devmem(b.cfg, b.w, 0, 1)
    assert alloc == NO and frames == () and w.pte[0][0] == Cpte.DEV_RW
    w2, alloc2, _ = alloc_devmem(b.cfg, WorldBuilder(gpus=1, pages=2, vma_layout="aa",
                                                     vram_pages=1).w, 0, 2)
    assert alloc2 == NO, "bigger than the GPU's VRAM"
    return "-ENOMEM"


# =============================================================================================
# drm_gpusvm_range_find_or_insert (§2.2, §5 item 3)
# =============================================================================================

def foi(b, page, g=0, write=False):
    return gpusvm.find_or_insert(b.cfg, b.w, g, page, write=write)


@row("find_or_insert", "-ENOENT")
def find_or_insert_without_vma():
    b = WorldBuilder(gpus=1, pages=2, vma_layout="-a")
    w, r, err = foi(b, 0)
    assert r is None and w == b.w
    return err


@row("find_or_insert", "-EPERM")
def find_or_insert_write_to_read_only_vma():
    b = WorldBuilder(gpus=1, pages=1, vma_layout="r")
    w, r, err = foi(b, 0, write=True)
    assert r is None and w == b.w
    return err


@row("find_or_insert", "existing")
def find_or_insert_returns_existing_range_unchanged():
    b = WorldBuilder(gpus=1, pages=2, vma_layout="aa")
    b.populate(0).range(0, 0, 2, valid=True, bound=True)
    w, r, err = foi(b, 1)
    assert err is None and r == b.w.ranges[0][0] and w == b.w
    return "existing"


@row("find_or_insert", "new chunk")
def find_or_insert_creates_aligned_chunk():
    b = WorldBuilder(gpus=1, pages=2, vma_layout="aa", chunk_pages=2)
    w, r, err = foi(b, 1)
    assert err is None and (r.start, r.end) == (0, 2) and r.migrate_devmem
    assert not (r.valid or r.devmem or r.unmapped or r.partial) and r.pfns == ()
    assert w.ranges[0] == (r,)
    return "new chunk"


@row("find_or_insert", "clipped")
def find_or_insert_clips_chunk_to_vma():
    b = WorldBuilder(gpus=1, pages=2, vma_layout="a|a", chunk_pages=2)
    w, r, err = foi(b, 1)
    assert (r.start, r.end) == (1, 2), "a range never crosses a CPU VMA boundary"
    return "clipped"


@row("find_or_insert", "smaller chunk")
def find_or_insert_shrinks_chunk_next_to_existing_range():
    b = WorldBuilder(gpus=1, pages=2, vma_layout="aa", chunk_pages=2)
    b.range(0, 1, 2)
    w, r, err = foi(b, 0)
    assert (r.start, r.end) == (0, 1), "the 2-page window overlaps [1,2): fall back to 4K"
    assert len(w.ranges[0]) == 2
    return "smaller chunk"


@row("find_or_insert", "no devmem")
def find_or_insert_file_vma_not_migratable():
    b = WorldBuilder(gpus=1, pages=1, vma_layout="f")
    w, r, err = foi(b, 0)
    assert err is None and not r.migrate_devmem
    return "no devmem"


# =============================================================================================
# drm_gpusvm_get_pages, notifier-locked half (§2.3, §5 item 29) and bind (§2.8)
# =============================================================================================

def collect(b, pfns, g=0, devmem_only=False, r=None):
    r = r or b.w.ranges[g][0]
    return gpusvm.collect_pages(b.cfg, b.w, g, r, tuple(pfns), devmem_only=devmem_only)


def sys_and_dev(**kw):
    b = WorldBuilder(gpus=2, pages=2, vma_layout="aa", **kw)
    b.populate(0).populate(1).vram([1], gpu=0).range(0, 0, 2)
    return b


@row("collect_pages", "-EFAULT")
def collect_on_unmapped_range():
    b = WorldBuilder(gpus=1, pages=1, vma_layout="a")
    b.populate(0).range(0, 0, 1, unmapped=True)
    w, r, err = collect(b, [(b.frame(0), True)])
    assert not r.valid and w == b.w
    return err


@row("collect_pages", "-EAGAIN")
def collect_after_seq_moved():
    b = WorldBuilder(gpus=1, pages=1, vma_layout="a")
    b.populate(0).range(0, 0, 1).stale(0)
    w, r, err = collect(b, [(b.frame(0), True)])
    assert not r.valid and w == b.w
    return err


@row("collect_pages", "-EOPNOTSUPP")
def collect_mixed_system_then_device():
    b = sys_and_dev()
    w, r, err = collect(b, [(b.frame(0), True), (b.frame(1), True)])
    assert not r.valid and w == b.w
    return err


@row("collect_pages", "-EOPNOTSUPP")
def collect_mixed_device_then_system():
    b = sys_and_dev()
    w, r, err = collect(b, [(b.frame(1), True), (b.frame(0), True)])
    return err


@row("collect_pages", "-EOPNOTSUPP")
def collect_two_pagemaps():
    b = WorldBuilder(gpus=2, pages=2, vma_layout="aa", default_link=2)
    b.populate(0).populate(1).vram([0], gpu=0).vram([1], gpu=1).range(0, 0, 2)
    w, r, err = collect(b, [(b.frame(0), True), (b.frame(1), True)])
    return err


@row("collect_pages", "-EOPNOTSUPP")
def collect_two_allocations_of_one_gpu():
    b = WorldBuilder(gpus=1, pages=2, vma_layout="aa")
    b.populate(0).populate(1).vram([0]).vram([1]).range(0, 0, 2)
    assert b.w.falloc[b.frame(0)] != b.w.falloc[b.frame(1)]
    w, r, err = collect(b, [(b.frame(0), True), (b.frame(1), True)])
    return err


@row("collect_pages", "-EFAULT")
def collect_devmem_only_finds_system_page():
    b = WorldBuilder(gpus=1, pages=1, vma_layout="a")
    b.populate(0).range(0, 0, 1)
    w, r, err = collect(b, [(b.frame(0), True)], devmem_only=True)
    assert not r.valid
    return err


@row("collect_pages", "-EFAULT")
def collect_unreachable_device_page():
    b = WorldBuilder(gpus=2, pages=1, vma_layout="a", default_link=0)
    b.populate(0).vram([0], gpu=1).range(0, 0, 1)
    w, r, err = collect(b, [(b.frame(0), True)])
    return err


@row("collect_pages", "0")
def collect_system_pages_publishes_dma_mapping():
    b = WorldBuilder(gpus=1, pages=2, vma_layout="aa")
    b.populate(0).populate(1).range(0, 0, 2)
    pfns = ((b.frame(0), True), (b.frame(1), True))
    w, r, err = collect(b, pfns)
    assert r.valid and not r.devmem and r.pfns == pfns and w.ranges[0] == (r,)
    assert gpusvm.pages_valid(w, 0, r)
    return err or "0"


@row("collect_pages", "0")
def collect_accepts_device_page_without_hmm_pfn_write():
    b = WorldBuilder(gpus=1, pages=1, vma_layout="a")
    b.populate(0).vram([0], kind=Cpte.DEV_RO).range(0, 0, 1)
    w, r, err = collect(b, [(b.frame(0), False)])
    assert r.valid and r.devmem and r.pfns == ((b.frame(0), False),)
    return err or "0"


@row("pages_valid", "invalid")
def pages_valid_cleared_by_invalidation():
    b = WorldBuilder(gpus=1, pages=1, vma_layout="a")
    b.populate(0).range(0, 0, 1, valid=True)
    r = b.w.ranges[0][0]
    assert gpusvm.pages_valid(b.w, 0, r)
    w = invalidate(b.cfg, b.w, 0, (0,), Event.MIGRATE)
    return "valid" if gpusvm.pages_valid(w, 0, r) else "invalid"


@row("bind", "bound")
def bind_writes_gpu_ptes_from_staged_pfns():
    b = WorldBuilder(gpus=1, pages=2, vma_layout="aa")
    b.populate(0).populate(1)
    pfns = ((b.frame(0), True), (b.frame(1), False))
    w = gpusvm.bind(b.cfg, b.w, 0, 0, pfns, Perm.WRITE, pfn_write=False)
    assert w.gpte[0] == (b.frame(0), Perm.WRITE) and w.gpte[1] == (b.frame(1), Perm.WRITE), \
        "upstream: the write bit comes from the GPU VMA"
    w = gpusvm.bind(b.cfg, b.w, 0, 0, pfns, Perm.WRITE, pfn_write=True)
    assert w.gpte[1] == (b.frame(1), Perm.READ), "with the HMM_PFN_WRITE check: read-only"
    return "bound"


# =============================================================================================
# garbage collector, munmap, fork, COW (§2.11, §2.13, §5 items 32, 33, 36)
# =============================================================================================

@row("munmap", "unmapped+partial")
def munmap_part_of_vram_resident_range():
    b = two_pages_in_vram(munmaps=1)
    d0, d1 = b.frame(0), b.frame(1)
    alloc = b.w.falloc[d0]
    w = cpu.munmap(b.cfg, b.w, (1,))
    assert w.vma[1] == NO and w.pte[1] == (Cpte.NONE, NO) and w.latest[1] == 0
    assert w.fver[d1] == FREE, "zapping the device entry dropped the last page reference"
    assert w.arefs[alloc] == 1 and w.pte[0] == (Cpte.DEV_RW, d0), \
        "the allocation lives on through page 0 (zdd refcount), not the GPU range"
    (r,) = w.ranges[0]
    assert r.unmapped and r.partial and not r.valid
    assert all(p == ZAPPED for p in w.gpte)
    b.check(w)
    return "unmapped+partial"


@row("garbage_collector", "evicted+removed")
def gc_partial_unmap_evicts_remaining_device_pages():
    b = two_pages_in_vram(munmaps=1)
    alloc = b.w.falloc[b.frame(0)]
    v0 = b.w.fver[b.frame(0)]
    w = cpu.munmap(b.cfg, b.w, (1,))
    w = gpusvm.garbage_collector(b.cfg, w, 0)
    assert w.ranges[0] == () and all(p == ZAPPED for p in w.gpte)
    kind, f = w.pte[0]
    assert kind == Cpte.RW and cpu.owner(b.cfg, f) == -1 and w.fver[f] == v0
    assert w.arefs[alloc] == 0, "the BO is released once its last page left"
    b.check(w)
    return "evicted+removed"


@row("garbage_collector", "removed")
def gc_whole_unmap_removes_range_only():
    b = WorldBuilder(gpus=1, pages=3, vma_layout="aa|a", chunk_pages=2)
    b.populate(0).populate(1).populate(2)
    b.range(0, 0, 2, valid=True, bound=True).range(0, 2, 3, valid=True, bound=True)
    w = cpu.munmap(b.cfg, b.w, (0, 1))
    assert w.ranges[0][0].unmapped and not w.ranges[0][0].partial
    w = gpusvm.garbage_collector(b.cfg, w, 0)
    assert [(r.start, r.end) for r in w.ranges[0]] == [(2, 3)]
    assert w.gpte[2] == b.w.gpte[2], "a range no UNMAP hit stays bound"
    return "removed"


@row("do_wp_page", "copy")
def cow_write_copies_shared_page():
    b = WorldBuilder(gpus=1, pages=1, vma_layout="a", forks=1)
    b.populate(0).fork().range(0, 0, 1, valid=True, bound=True, perm=Perm.READ)
    b.stale(0, False)
    old = b.frame(0)
    w, err = cpu.do_wp_page(b.cfg, b.w, 0, 0)
    assert err is None
    new = w.pte[0][1]
    assert w.pte[0] == (Cpte.RW, new) and new != old and w.fver[new] == w.fver[old]
    assert w.fmap[old] == 1 and w.pte[1] == (Cpte.RO, old)
    assert w.gpte[0] == ZAPPED and w.stale == (True,), "MMU_NOTIFY_CLEAR: the PTE changes frame"
    b.check(w)
    return "copy"


@row("do_wp_page", "reuse")
def wp_fault_on_exclusive_page_reuses_it():
    b = WorldBuilder(gpus=1, pages=1, vma_layout="a")
    b.populate(0, kind=Cpte.RO).range(0, 0, 1, valid=True, bound=True, perm=Perm.READ)
    f = b.frame(0)
    w, err = cpu.do_wp_page(b.cfg, b.w, 0, 0)
    assert err is None and w.pte[0] == (Cpte.RW, f)
    assert w.gpte == b.w.gpte and w.stale == b.w.stale, "no notifier on reuse"
    return "reuse"


@row("do_wp_page", "-ENOMEM")
def cow_copy_without_a_free_frame():
    b = WorldBuilder(gpus=1, pages=1, vma_layout="a", forks=1)
    b.populate(0).fork()
    spare = next(f for f in range(b.cfg.sys_frames) if b.w.fver[f] == FREE)
    b.w = b.w._replace(fver=tset(b.w.fver, spare, 0))        # taken by someone else
    w, err = cpu.do_wp_page(b.cfg, b.w, 0, 0)
    assert w.pte == b.w.pte
    return err


@row("do_anonymous_page", "RW/RO")
def anonymous_fault_respects_vma_write():
    b = WorldBuilder(gpus=1, pages=2, vma_layout="ar")
    w, _ = cpu.do_anonymous_page(b.cfg, b.w, 0, 0)
    w, _ = cpu.do_anonymous_page(b.cfg, w, 1, 1)
    return f"{Cpte(w.pte[0][0]).name}/{Cpte(w.pte[1][0]).name}"


@row("fork", "DEV_RO shared")
def fork_shares_device_private_entries_read_only():
    b = WorldBuilder(gpus=1, pages=2, vma_layout="aa", forks=1)
    b.populate(0).populate(1).vram([0]).range(0, 0, 2, valid=True, bound=True)
    d, s = b.frame(0), b.frame(1)
    alloc = b.w.falloc[d]
    w = cpu.fork(b.cfg, b.w)
    P = b.cfg.pages
    assert w.pte[0] == w.pte[P + 0] == (Cpte.DEV_RO, d) and w.fmap[d] == 2
    assert w.pte[1] == w.pte[P + 1] == (Cpte.RO, s) and w.fmap[s] == 2
    assert w.arefs[alloc] == 1, "one zdd reference per device page, not per mapping"
    assert w.latest[P:] == w.latest[:P] and w.forked and w.fork_clock == w.clock
    (r,) = w.ranges[0]
    assert not r.unmapped and not r.valid and all(p == ZAPPED for p in w.gpte), \
        "PROTECTION_PAGE over the VMA zaps the parent's GPU mappings; the range survives"
    b.check(w)
    return "DEV_RO shared"


def test_table_covers_every_primitive():
    """The table drives each primitive the brief names into at least one outcome."""
    have = {p.id.split(":")[0] for p in ROWS}
    want = {"hmm_range_fault", "invalidate", "setup_to_devmem", "finalize_to_devmem",
            "abort_to_devmem", "migrate_to_ram", "evict_to_ram", "alloc_devmem",
            "find_or_insert", "collect_pages", "garbage_collector", "do_wp_page", "munmap",
            "fork", "range_evict", "bind", "pages_valid"}
    assert want <= have, want - have
