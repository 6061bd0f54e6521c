"""kfd: the amdkfd svm_range protocol with mixed per-page placement (seed 003).

Seed 003 (Felix Kuehling, amd-gfx) proposes removing every assumption "that an entire
svm_range is in one place": hmm_range_fault gives a list of pages, some in system memory, some
in local VRAM, some in a peer's VRAM over XGMI, and each is mapped by its own placement;
``actual_loc`` goes away ("If we're not sure where the data is, we need to call migrate. If
it's already in the right place, then cpages will be 0"); partial migrations (cpages !=
npages) are accepted; VRAM BOs become "free-floating", refcounted by the pages that use them
and freed when the last page leaves; eviction migrates every page still using the BO.

The GPU retry-fault handler ``svm_range_restore_pages`` (amdkfd/kfd_svm.c) is one flow whose
labels are its interleaving points (protocol.md §2.16)::

    gpu_access -> svm_range_restore_pages (find/create range, migrate_mutex, best_loc,
    svm_migrate_ram_to_vram: migrate_vma_setup) -> svm_migrate_copy_to_vram (BO, copy,
    migrate_vma_pages/finalize) -> amdgpu_hmm_range_get_pages -> svm_range_map_to_gpus
    (under prange->lock, seq re-check, per-page PTEs, replay)

The CPU fault is ``svm_migrate_to_ram`` (kfd_migrate.c) on the granularity block, the BO
eviction is ``svm_range_evict_svm_bo_worker`` and a partial munmap is finished by
``svm_range_deferred_list_work``.  The sound model is the seed's redesign; each broken variant
is a one-switch diff that restores one piece of the old design:

* ``kfd-actual-loc``     one ``actual_loc`` per range: a fault whose best_loc equals actual_loc
  skips migration, and a range with actual_loc set is mapped as if every page were in that
  VRAM BO at its offset (one PTE domain for the whole range) — after a partial migration a
  page still in RAM is mapped to the BO slot that never received it (coherence).
* ``kfd-bo-free-early``  the VRAM BO belongs to the range: when the range drops it (a partial
  munmap splits the range, or a new BO replaces it) its frames are freed although pages
  still use them (memory_safety).

Abstractions (each said again where it is made):

* **KFD ranges in the shared world.**  The world is :class:`KfdWorld`, the shared
  :class:`~svmcheck.svm.state.World` plus ``kranges`` (the process's svm_ranges with their
  migrate_mutex holder and the old design's actual_loc / svm_bo).  Every GPU's
  ``World.ranges`` holds a :class:`~svmcheck.svm.state.Range` with the same bounds so that the
  shared notifier (svm/notifier.py) zaps GPU PTEs and marks UNMAP; it zaps the *whole*
  overlapping range on every GPU where KFD's svm_range_unmap_from_gpus zaps only the
  invalidated part — more refaults, never a PTE kept that KFD would zap.
* **Per-range notifier seq.**  Each range has its own mmu_interval_notifier in KFD, so its
  seq moves only for invalidations that overlap it.  The seq a fault read at read_begin is
  ``Range.valid`` on that GPU's view of the range: set by the fault's read_begin, cleared by
  the shared notifier for every invalidation overlapping the range — exact per range and per
  reader.  (``World.stale``, one flag per GPU for drm_gpusvm's shared notifier, is not used:
  it would make an invalidation of one range retry a fault on another, and two GPUs faulting
  on two ranges would livelock each other.)
* **Attributes.**  XNACK on, default attributes (ACCESS for every GPU, no preferred or
  prefetch location), so best_loc is always the faulting GPU; no set-attributes ioctl, no
  prefetch, no XNACK-off restore worker.  One process tree: the fork child only uses the CPU.
* **Links.**  KFD's pgmap owner is the XGMI hive: peers over XGMI (``Link.ATOMIC``) see each
  other's pages in place, peers without a link do not.  PCIe peer-to-peer (``Link.PCIE``) is
  rejected by the configuration because the shared hmm_range_fault treats PCIe peers as one
  owner (drm_pagemap peer semantics), which KFD does not.
"""
from __future__ import annotations

import itertools
from collections import namedtuple
from typing import NamedTuple

from properties.atomics import atomic_safety
from properties.data import coherence, cow_isolation, no_lost_data
from properties.invariants import (fault_kind_issued, frames_accounted, migration_locks_held,
                                   pfns_current, present_pte, writable_pte)
from properties.memory import memory_safety, vma_respect
from svmcheck import (Flow, always, clause, completes, outcome, param, sometimes,
                      sometimes_step, step)
from svmcheck.errors import ConfigError
from svmcheck.svm import mm as cpu
from svmcheck.svm.base import EVICTIONS, SvmModel
from svmcheck.svm.config import SvmConfig
from svmcheck.svm.hmm import hmm_range_fault, must_wait
from svmcheck.svm.migrate import (abort_to_devmem, allocation_frames, finalize_to_devmem,
                                  migrate_to_ram, setup_to_devmem)
from svmcheck.svm.mm import free_frame, owner
from svmcheck.svm.pagemap import alloc_devmem
from svmcheck.svm.state import FREE, NO, Access, Cpte, Perm, Range, World, tadd, tset
from svmcheck.svm.topology import Link, atomic_ok, link

_DEV = (Cpte.DEV_RO, Cpte.DEV_RW)


# ---- the KFD world ---------------------------------------------------------------------------

class KRange(NamedTuple):
    """One svm_range ("prange") of the process: pages [start, end).

    ``holder``: the GPU whose fault holds prange->migrate_mutex across labels (NO: free; the
    CPU fault, the eviction worker and the deferred worker take it inside one atomic step).
    ``actual_loc``, ``bo``, ``bo_frames``: the *old* design's svm_range.actual_loc and
    svm_bo (with the VRAM frame at each page offset); the redesign never sets them.
    """
    start: int
    end: int
    holder: int
    actual_loc: int
    bo: int
    bo_frames: tuple


# the labels of svm_range_restore_pages between migrate_vma_setup (mmap_lock and the range's
# migrate_mutex taken) and the end of svm_range_map_to_gpus
_HOLDING = ("svm_migrate_copy_to_vram", "amdgpu_hmm_range_get_pages", "svm_range_map_to_gpus")


class KfdWorld(namedtuple("KfdWorld", World._fields + ("kranges",))):
    """The shared page-level world plus ``kranges``: the process's svm_ranges, sorted.

    Built from :class:`World`'s own fields, so every svm primitive (which only reads fields
    and calls ``_replace``) runs on it unchanged."""
    __slots__ = ()


def krange_at(w, page: int):
    """svm_range_from_addr(): the range containing ``page``, or None."""
    for kr in w.kranges:
        if kr.start <= page < kr.end:
            return kr
    return None


def _replace_kr(w, old: KRange, new: KRange):
    """Update one range's KFD fields (bounds unchanged, so World.ranges is untouched)."""
    return w._replace(kranges=tuple(new if k == old else k for k in w.kranges))


def _gpu_view(cfg, w, kr: KRange) -> Range:
    return Range(kr.start, kr.end, cpu.vma_anonymous(cfg, w, kr.start), False, False, False,
                 False, ())


def _set_ranges(cfg, w, remove: KRange | None, add: tuple):
    """Replace range ``remove`` by ``add`` in kranges and in every GPU's World.ranges."""
    krs = sorted([k for k in w.kranges if k != remove] + list(add))
    views = [_gpu_view(cfg, w, k) for k in add]
    ranges = []
    for rs in w.ranges:
        keep = [r for r in rs if remove is None or r.start != remove.start]
        ranges.append(tuple(sorted(keep + views)))
    return w._replace(kranges=tuple(krs), ranges=tuple(ranges))


def _view(w, g: int, kr: KRange) -> Range | None:
    for r in w.ranges[g]:
        if r.start == kr.start:
            return r
    return None


def read_begin(w, g: int, kr: KRange):
    """mmu_interval_read_begin() on the range's own notifier for GPU g's fault."""
    r = _view(w, g, kr)
    rs = tuple(x._replace(valid=True) if x is r else x for x in w.ranges[g])
    return w._replace(ranges=tset(w.ranges, g, rs))


def read_retry(w, g: int, kr: KRange) -> bool:
    """mmu_interval_read_retry(): an invalidation overlapped the range since read_begin."""
    r = _view(w, g, kr)
    return r is None or not r.valid


def unmap_pending(w, kr: KRange) -> bool:
    """An UNMAP hit the range and svm_range_deferred_list_work has not run yet (child_list /
    deferred_list non-empty): read from the notifier's flag on the GPU view."""
    for r in w.ranges[0]:
        if r.start == kr.start:
            return r.unmapped
    return False


def block(cfg, kr: KRange, page: int) -> range:
    """The granularity block around ``page`` clamped to the range (svm_range_restore_pages's
    and svm_migrate_to_ram's window)."""
    s = max(kr.start, page - page % cfg.granularity)
    return range(s, min(kr.end, page - page % cfg.granularity + cfg.granularity))


def _skips(c):
    """Pages migrate_vma_setup may fail to collect (only with ``contention``)."""
    if not c.contention:
        return (frozenset(),)
    return tuple(frozenset(s) for n in range(c.pages + 1)
                 for s in itertools.combinations(range(c.pages), n))


def hive(cfg, g: int, h: int) -> bool:
    """Same pgmap owner for KFD: the same device or one XGMI hive."""
    return g == h or link(cfg, g, h) == Link.ATOMIC


# ---- configuration ---------------------------------------------------------------------------

class KfdConfig(SvmConfig):
    gpus: int = param(2, "GPUs mirroring the process", min=1, max=3)
    default_link: int = param(2, "link between GPU pairs: 0 none, 2 XGMI (atomic-capable); "
                                 "1 PCIe P2P is not a KFD pgmap-owner relation", choices=(0, 2))
    gpu_kinds: str = param("a,r", "access kinds each GPU issues: r read, w write, a atomic; "
                                  "one group per GPU separated by ','")
    granularity: int = param(2, "svm_range granularity in pages: the migration and CPU-fault "
                                "block (default 2 MiB = chunk_pages)", min=1, max=8)
    cpu_writes: int = param(0, "CPU writes in total (GPU atomics write data already)",
                            min=0, max=4)
    munmaps: int = param(0, "single-page munmaps", min=0, max=2)
    forks: int = param(1, "fork() calls (a child that only uses the CPU)", min=0, max=1)
    evictions: int = param(1, "VRAM BO evictions (svm_range_evict_svm_bo_worker)", min=0, max=2)

    def validate(self):
        super().validate()
        if any(v == Link.PCIE for row in self.links for v in row):
            raise ConfigError(
                f"links {self.links!r} use 1 (PCIe P2P); KFD peers share a pgmap owner only "
                f"inside an XGMI hive: use 0 (none) or 2 (XGMI)")


# ---- the model -------------------------------------------------------------------------------

class Kfd(SvmModel):
    """amdkfd svm_range: mixed per-page placement, free-floating VRAM BOs (seed 003, sound)."""
    name = "kfd"
    Config = KfdConfig

    # the switches the broken variants flip
    per_page_placement = True   # False: one actual_loc per range decides migration and mapping
    bo_page_refs = True         # False: the range owns its VRAM BO and frees it when it drops it
    pfn_write_check = True      # a page hmm_range_fault returns without HMM_PFN_WRITE is not
                                # mapped writable (the redesign's answer to fork/COW)

    # base steps that are drm_pagemap's, not KFD's: replaced by svm_migrate_to_ram and
    # svm_range_evict_svm_bo_worker below
    removed_steps = ("drm_pagemap_migrate_to_ram", "drm_pagemap_evict_to_ram")

    gpu = Flow("gpu{g}", over=dict(g=lambda c: range(c.gpus)),
               locals=dict(page=0, kind=0, rs=0, re=0, got=(), pfns=()))
    cpu_fault = Flow("cpu{mm}/fault", over=dict(mm=lambda c: range(c.mms)),
                     locals=dict(page=0, write=False, held=NO))

    coherence, no_lost_data, atomic_safety = coherence, no_lost_data, atomic_safety
    memory_safety, vma_respect, cow_isolation = memory_safety, vma_respect, cow_isolation
    frames_accounted = frames_accounted
    fault_progress = completes(gpu, name="fault_progress",
                               doc="Every GPU retry fault completes (mapped and replayed, or "
                                   "failed cleanly) under weak fairness; a livelock is a lasso.")
    cpu_fault_progress = completes(cpu_fault, name="cpu_fault_progress",
                                   doc="Every CPU fault on a device page completes.")

    def init(self):
        w = super().init()
        return KfdWorld(*w, kranges=())

    def permute_fields(self) -> dict:
        """check --symmetry (svm/symmetry.py): a GPU permutation renames each range's
        migrate_mutex holder, the old design's actual_loc and its BO and BO frames."""
        return {"kranges": lambda P, w: tuple(
            k._replace(holder=P.gm[k.holder], actual_loc=P.gm[k.actual_loc], bo=P.am[k.bo],
                       bo_frames=tuple(P.fm[f] for f in k.bo_frames)) for k in w.kranges)}

    def describe(self, w) -> str:
        rs = " ".join(f"[{k.start},{k.end})" + (f"@gpu{k.holder}" if k.holder != NO else "")
                      + (f" loc={k.actual_loc}" if k.actual_loc != NO else "")
                      + (f" bo={k.bo}" if k.bo != NO else "") for k in w.kranges)
        return f"{super().describe(w)} ranges={rs or '-'}"

    def pending(self, s):
        if any(unmap_pending(s, k) for k in s.kranges):
            yield ("kfd/deferred", "an unmapped range waits for svm_range_deferred_list_work")

    # ---- helpers ----------------------------------------------------------------------------
    @property
    def range_holds_bo(self) -> bool:
        """The old design: prange->svm_bo, set at migration, dropped with the range."""
        return not (self.per_page_placement and self.bo_page_refs)

    def _release(self, s, me):
        """mutex_unlock(migrate_mutex), mmap_read_unlock at the end of svm_range_restore_pages."""
        kr = krange_at(s, me.page)
        if kr is not None and kr.holder == me.g:
            s = _replace_kr(s, kr, kr._replace(holder=NO))
            r = _view(s, me.g, kr)
            if r is not None and r.valid:     # the seq read is no longer of interest
                rs = tuple(x._replace(valid=False) if x is r else x for x in s.ranges[me.g])
                s = s._replace(ranges=tset(s.ranges, me.g, rs))
        return s._replace(mmap_readers=s.mmap_readers - 1)

    def _fail(self, s, me, err: str, *, locked=True):
        """The fault is not recovered: the GPU access is dropped (VM fault, queue reset)."""
        if locked:
            s = self._release(s, me)
        return me.done(s._replace(budget=tadd(s.budget, me.g, -1)), outcome=err)

    def _retry(self, s, me, why: str):
        """-EAGAIN: svm_range_restore_pages removes the address from the fault filter and
        returns 0; the GPU replays the access and faults again (modelled as a jump back)."""
        return me.goto("svm_range_restore_pages", self._release(s, me), outcome=why,
                       got=(), pfns=())

    def _old_design_after_ram(self, s):
        """Old design bookkeeping after pages left VRAM (svm_migrate_vram_to_ram: vram_pages
        -= n; at 0, actual_loc = 0 and the range drops its BO reference)."""
        if self.per_page_placement:
            return s
        for kr in s.kranges:
            if kr.actual_loc == NO:
                continue
            left = any(s.pte[p][0] in _DEV and owner(self.config, s.pte[p][1]) == kr.actual_loc
                       for p in range(kr.start, kr.end))
            if not left:
                s = self._drop_bo(_replace_kr(s, kr, kr._replace(actual_loc=NO)),
                                  kr._replace(actual_loc=NO))
        return s

    def _drop_bo(self, s, kr: KRange):
        """The range drops its svm_bo reference (svm_range_vram_node_free).  With per-page
        references (the redesign, and the old kref) that frees nothing while pages use the
        BO; ``bo_page_refs = False`` frees the BO's frames right here."""
        if kr.bo == NO:
            return s
        if not self.bo_page_refs:
            for f in allocation_frames(self.config, s, kr.bo):
                s = free_frame(s, f)
        return _replace_kr(s, kr, kr._replace(bo=NO, bo_frames=()))

    # ---- the GPU retry fault: svm_range_restore_pages -------------------------------------
    @gpu.label(start=True, args=dict(page=lambda c: c.touched, kind=lambda c: c.kinds))
    def gpu_access(self, s, me, page, kind):
        """A GPU access through its page tables; a missing or insufficient PTE raises a
        recoverable retry fault (XNACK on) that gmc_v9_0_process_interrupt() hands to
        amdgpu_vm_handle_fault() -> svm_range_restore_pages() (amdgpu/gmc_v9_0.c, amdgpu_vm.c).
        The fault filter and the 2 ms validate_timestamp window are abstracted: a GPU
        with a sufficient PTE does not fault."""
        if s.budget[me.g] <= 0 or kind not in self.config.kinds_for(me.g):
            return None
        if self.gpu_mapped_for(s, me.g, page, kind):
            return me.done(self.gpu_perform(s, me.g, page, kind), outcome="hit")
        return me.next(s, outcome="retry fault", page=page, kind=kind)

    def _mutex_free(self, s, me, *_):
        """prange->migrate_mutex is free (a CPU fault holding a page lock of the range waits
        for it first: mutex handoff)"""
        kr = krange_at(s, me.page)
        if kr is None:
            return True
        if kr.holder != NO:
            return False
        P = self.config.pages
        return not any(s.flock[s.pte[mm * P + p][1]] for mm in range(self.config.mms)
                       for p in range(kr.start, kr.end) if s.pte[mm * P + p][0] in _DEV)

    def _not_deferred(self, s, me, *_):
        """the range is not queued for unmap (svm_range_skip_recover: the retry fault is
        dropped until svm_range_deferred_list_work has run)"""
        kr = krange_at(s, me.page)
        return kr is None or not unmap_pending(s, kr)

    @gpu.label(args=dict(skip=_skips), when=(_not_deferred, _mutex_free))
    def svm_range_restore_pages(self, s, me, skip):
        """svm_range_restore_pages() (amdkfd/kfd_svm.c): mmap_read_lock, svms->lock, find the
        range or create it (svm_range_create_unregistered_range: the 2 MiB-aligned window
        clamped to the VMA and the neighbouring ranges; no VMA -> -EFAULT), a write fault on
        a VMA without VM_WRITE -> -EPERM, migrate_mutex, best_loc (default attributes: this
        GPU), the granularity window; then svm_migrate_to_vram() -> svm_migrate_ram_to_vram()
        -> svm_migrate_vma_to_vram(): migrate_vma_setup(SELECT_SYSTEM) on the window.  Pages
        in VRAM (ours or an XGMI peer's) are not collected: cpages counts only what must
        move, and cpages == 0 skips every later migration step.  Pages in a peer's VRAM
        this GPU cannot reach are first moved to RAM (svm_migrate_vram_to_ram of those pages,
        the redesign's per-page form of vram_to_vram's bounce).
        Folded: svms->lock, the mmap write lock taken to create a range, reserving the VRAM
        budget; skip_recover and the migrate_mutex are this label's guards.  With
        ``contention`` migrate_vma_setup may fail to collect any page (``skip``: a GUP pin or
        extra reference)."""
        c = self.config
        page, g = me.page, me.g
        kr = krange_at(s, page)
        if s.vma[page] == NO:
            return self._fail(s, me, "-EFAULT", locked=False)
        if me.kind >= Access.WRITE and not cpu.vma_writable(c, s, page):
            return self._fail(s, me, "-EPERM", locked=False)
        w = s._replace(mmap_readers=s.mmap_readers + 1)
        if kr is None:
            w, kr = self._create_range(w, page)
        new = kr._replace(holder=g)
        w = _replace_kr(w, kr, new)
        kr = new
        win = block(c, kr, page)
        loc = dict(rs=win.start, re=win.stop)
        if not self.per_page_placement:
            if kr.actual_loc == g:
                return me.goto("amdgpu_hmm_range_get_pages", w,
                               outcome="actual_loc == best_loc: no migration", **loc)
            if kr.actual_loc != NO:
                w = self._vram_to_vram_bounce(w, kr)
        else:
            far = [w.pte[p][1] for p in win if w.pte[p][0] in _DEV
                   and not hive(c, g, owner(c, w.pte[p][1]))]
            if far:
                w, _, _ = migrate_to_ram(c, w, far)
        w, got, _ = setup_to_devmem(c, w, tuple(win), skip)
        if not got:
            return me.goto("amdgpu_hmm_range_get_pages", w, outcome="cpages=0", **loc)
        return me.next(w, outcome=f"cpages={len(got)}/{len(win)}", got=got, **loc)

    def _create_range(self, s, page: int):
        """svm_range_create_unregistered_range() (kfd_svm.c): the chunk-aligned window around
        the address (2 MiB: chunk_pages), clamped to the CPU VMA and to the ranges beside it."""
        c = self.config
        vs, ve = cpu.vma_bounds(s, page)
        st = max(vs, page - page % c.chunk_pages)
        en = min(ve, page - page % c.chunk_pages + c.chunk_pages, c.pages)
        for k in s.kranges:
            if k.end <= page:
                st = max(st, k.end)
            elif k.start > page:
                en = min(en, k.start)
        kr = KRange(st, en, NO, NO, NO, ())
        return _set_ranges(c, s, None, (kr,)), kr

    def _vram_to_vram_bounce(self, s, kr: KRange):
        """Old design, svm_migrate_vram_to_vram() (kfd_migrate.c): the *whole range* goes to
        RAM first (the 3-pass loop folded: a pass that leaves pages behind is the -EDEADLK
        case, abstracted as 'continue from where the pages are')."""
        c = self.config
        frames = [s.pte[p][1] for p in range(kr.start, kr.end) if s.pte[p][0] in _DEV]
        s, _, _ = migrate_to_ram(c, s, frames)
        return self._old_design_after_ram(s)

    @gpu.label
    def svm_migrate_copy_to_vram(self, s, me):
        """svm_migrate_copy_to_vram() and the rest of svm_migrate_vma_to_vram()
        (amdkfd/kfd_migrate.c): the VRAM BO (redesign: a new free-floating BO for the
        collected pages, refcounted per page; the old design: svm_range_vram_node_new, a BO
        sized to the whole range with each page at its own offset), the SDMA copy (synchronous
        here), migrate_vma_pages, migrate_vma_finalize.  cpages < npages, or fewer pages moved
        than collected (a CPU fault filled a hole: migrate_vma_insert_page drops it), is a
        *partial migration* and is accepted: those pages stay in RAM.  An allocation failure
        (-ENOMEM, after TTM evicted what it could) is dropped and the range is mapped from
        where it is."""
        c = self.config
        g = me.g
        kr = krange_at(s, me.page)
        size = kr.end - kr.start
        if self.per_page_placement:
            w, alloc, frames = alloc_devmem(c, s, g, len(me.got))
            dst = frames
        else:
            w, alloc, frames = alloc_devmem(c, s, g, size)
            dst = tuple(frames[p - kr.start] for p in me.got) if alloc != NO else ()
        if alloc == NO:
            w = abort_to_devmem(c, w, me.got)
            return me.next(w, outcome="-ENOMEM: mapped from where it is", got=())
        w, moved = finalize_to_devmem(c, w, me.got, dst, alloc)
        kr = krange_at(w, me.page)
        if moved and self.range_holds_bo:
            w = self._drop_bo(w, kr)
            kr = krange_at(w, me.page)
            new = kr._replace(bo=alloc, bo_frames=frames)
            if not self.per_page_placement:
                new = new._replace(actual_loc=g)
            w = _replace_kr(w, kr, new)
        local = sum(1 for p in range(me.rs, me.re)
                    if w.pte[p][0] in _DEV and owner(c, w.pte[p][1]) == g)
        shown = f"cpages={len(moved)}/{len(me.got)}"
        if moved and local < me.re - me.rs:
            shown += " partial"
        return me.next(w, outcome=shown, got=())

    @gpu.label
    def amdgpu_hmm_range_get_pages(self, s, me):
        """svm_range_validate_and_map() steps 3-5 (kfd_svm.c): amdgpu_hmm_range_get_pages()
        (amdgpu/amdgpu_hmm.c) on the range's notifier: mmu_interval_read_begin, then
        hmm_range_fault(REQ_FAULT, plus REQ_WRITE unless the VMA is read-only) with the
        faulting GPU's owner (its XGMI hive), outside prange->lock.  -EBUSY loops to
        read_begin (the HMM_RANGE_DEFAULT_TIMEOUT retry); a page lock held elsewhere is the
        timeout, turned into -EAGAIN.  A migration entry waits.  The redesign's write check:
        a write or atomic fault whose page came back without HMM_PFN_WRITE (a COW-shared
        device page after fork) moves that page to RAM (svm_migrate_vram_to_ram) and loops,
        so the REQ_WRITE walk breaks COW.  DMA mapping (svm_range_dma_map) is folded."""
        c = self.config
        win = range(me.rs, me.re)
        if must_wait(s, win):
            return None
        w = read_begin(s, me.g, krange_at(s, me.page))
        write = cpu.vma_writable(c, w, me.page)
        res = hmm_range_fault(c, w, me.g, tuple(win), fault=True, write=write)
        if res.err == "-EBUSY":
            if any(res.world.flock[res.world.pte[p][1]] for p in win
                   if res.world.pte[p][0] != Cpte.NONE):
                return self._retry(res.world, me, "-EBUSY timeout: -EAGAIN")
            return me.stay(res.world, outcome="hmm_range_fault -EBUSY")
        if res.err:
            return self._fail(res.world, me, res.err)
        w = res.world
        f, wr = res.pfns[me.page - me.rs]
        if (self.pfn_write_check and me.kind >= Access.WRITE and write and not wr
                and owner(c, f) >= 0):
            w, moved, _ = migrate_to_ram(c, w, [f])
            w = self._old_design_after_ram(w)
            if not moved:
                return self._retry(w, me, "no HMM_PFN_WRITE, page busy: -EAGAIN")
            return me.stay(w, outcome="no HMM_PFN_WRITE: page to RAM, walk again")
        return me.next(w, outcome="pfns valid", pfns=res.pfns)

    @gpu.label
    def svm_range_map_to_gpus(self, s, me):
        """svm_range_validate_and_map() step 6-8 (kfd_svm.c): svm_range_lock(prange); a
        moved seq (amdgpu_hmm_range_get_pages_done) or a munmap split in progress
        (child_list) -> -EAGAIN; otherwise svm_range_map_to_gpu() writes this GPU's PTEs for
        the window, **each page by its own placement** (the seed's page-type array: system,
        local VRAM, remote XGMI VRAM — a peer's VRAM only over XGMI, otherwise skipped),
        writable unless the VMA is read-only or (redesign) the pfn lacks HMM_PFN_WRITE,
        atomic where the memory supports this GPU's atomics; TLB flush; unlock, release
        migrate_mutex and mmap_lock.  The replay of the faulting access is folded in."""
        c = self.config
        kr = krange_at(s, me.page)
        if kr is None or unmap_pending(s, kr):
            return self._retry(s, me, "child_list: -EAGAIN")
        if read_retry(s, me.g, kr):
            return self._retry(s, me, "seq moved: -EAGAIN")
        gpte = s.gpte
        base = me.g * c.pages
        for p, (f, wr) in zip(range(me.rs, me.re), me.pfns):
            if not self.per_page_placement and kr.actual_loc != NO:
                f = kr.bo_frames[p - kr.start]     # the whole range taken as in actual_loc's BO
            o = owner(c, f)
            if o >= 0 and not hive(c, me.g, o):
                continue
            writable = cpu.vma_writable(c, s, p) and (wr or not self.pfn_write_check)
            perm = (Perm.READ if not writable else
                    Perm.ATOMIC if atomic_ok(c, me.g, o) else Perm.WRITE)
            gpte = tset(gpte, base + p, (f, perm))
        w = self._release(s._replace(gpte=gpte), me)
        if self.gpu_mapped_for(w, me.g, me.page, me.kind):
            return me.done(self.gpu_perform(w, me.g, me.page, me.kind),
                           outcome="mapped, replayed")
        return me.goto("svm_range_restore_pages", w, outcome="mapped, refault", pfns=())

    # ---- the CPU fault: svm_migrate_to_ram ----------------------------------------------------
    @cpu_fault.label(start=True, args=dict(page=lambda c: range(c.pages), write=(False, True)),
                     when=SvmModel._fault_page_unlocked)
    def do_swap_page(self, s, me, page, write):
        """do_swap_page() device-private branch (mm/memory.c): re-check the PTE, lock the
        device folio (the guard waits while it is locked: the 2026 "sleep until unlocked"
        fix) and call the pgmap's migrate_to_ram — svm_migrate_to_ram() for KFD pages — under
        mmap_lock (read), so munmap and fork wait for it.  The body is SvmModel's; it is
        re-declared only to sit in KFD's own CPU fault flow, so that its ``me.next`` leads to
        svm_migrate_to_ram."""
        return SvmModel.do_swap_page(self, s, me, page, write)

    def _cpu_mutex_free(self, s, me):
        """prange->migrate_mutex of the faulting page's range is free"""
        kr = krange_at(s, me.page)
        return kr is None or kr.holder == NO

    @cpu_fault.label(when=_cpu_mutex_free)
    def svm_migrate_to_ram(self, s, me):
        """svm_migrate_to_ram() (amdkfd/kfd_migrate.c): the svm_bo from zone_device_data, the
        owner process's range containing the address (none: SIGBUS), migrate_mutex, then
        svm_migrate_vram_to_ram() of the **granularity block** around the address clamped to
        the range, in the faulting VMA's mm: migrate_vma_setup(SELECT_DEVICE_PRIVATE, the
        hive's owner cookie, fault_page) — device pages of the block owned by the hive, the
        fault page already locked by do_swap_page, others trylocked — copy, finalize; every
        process mapping a page loses it (try_to_migrate).  Abstractions: the owner-process
        lookup through the BO's eviction fence and the faulting_task rule are folded."""
        c = self.config
        P = c.pages
        kr = krange_at(s, me.page)
        w = s
        moved = 0
        if kr is not None:
            src = owner(c, me.held)
            frames = [w.pte[me.mm * P + p][1] for p in block(c, kr, me.page)
                      if w.pte[me.mm * P + p][0] in _DEV
                      and hive(c, src, owner(c, w.pte[me.mm * P + p][1]))]
            w, moved, _ = migrate_to_ram(c, w, frames, held=me.held)
            w = self._old_design_after_ram(w)
        if w.fver[me.held] != FREE:
            w = w._replace(flock=tset(w.flock, me.held, False))
        w = w._replace(mmap_readers=w.mmap_readers - 1)    # do_swap_page returns
        if kr is None:
            return me.done(w, outcome="SIGBUS")
        return me.next(w, outcome=f"cpages={moved}" + (" moved" if moved else ""))

    @cpu_fault.label
    def retry_access(self, s, me):
        """The faulting CPU instruction is restarted (mm/memory.c) and finds a system page
        (a write breaks COW with do_wp_page)."""
        return SvmModel.retry_access(self, s, me)

    # ---- eviction and the deferred unmap work ---------------------------------------------
    @step(actor="kfd/evict", args=dict(alloc=lambda c: range(c.gpus * c.vram_pages)))
    def svm_range_evict_svm_bo_worker(self, s, alloc):
        """TTM evicts a VRAM BO under memory pressure (amdgpu_amdkfd_evict_svm_bo ->
        svm_range_schedule_evict_svm_bo) and svm_range_evict_svm_bo_worker() (kfd_svm.c)
        runs; in the redesign it migrates **every page still using the BO** (the BO's page
        array is the migrate.src: migrate_device_pfns + try_to_unmap, by pfn, not by range),
        trylocking each page; contended pages stay behind and the eviction fence is
        signalled anyway ("evicted with residue": the BO then lives on, held by those
        pages).  The kernel's worker takes each range's migrate_mutex and moves whole ranges;
        the redesign evicts by page, so it is modelled without the mutex — a fault in flight
        on those pages sees its range's seq move and retries (the re-check under
        prange->lock is what keeps it safe)."""
        c = self.config
        if self.left(s, EVICTIONS) <= 0 or s.arefs[alloc] <= 0:
            return None
        w, moved, skipped = migrate_to_ram(c, s, allocation_frames(c, s, alloc))
        w = self.spend(self._old_design_after_ram(w), EVICTIONS)
        return outcome(w, f"cpages={moved}" + (" moved" if moved else "")
                            + (" residue -EBUSY" if skipped else ""))

    @step(actor="kfd/deferred")
    def svm_range_deferred_list_work(self, s):
        """svm_range_deferred_list_work() (kfd_svm.c) after svm_range_unmap_from_cpu() split
        a partially unmapped range: mmap_write_lock (no fault in flight: the fault drain is
        the mmap lock here), migrate_mutex; the unmapped piece is removed (svm_range_free,
        which drops its svm_bo reference) and the pieces still mapped become ranges of their
        own with fresh notifiers.  Pages stay where they are: their BO references are per
        page.  (The split happens in notifier context in the kernel; the result is visible
        only through this worker, which is when it is applied here.)"""
        if s.mmap_readers:
            return None
        c = self.config
        for kr in s.kranges:
            if unmap_pending(s, kr) and kr.holder == NO:
                break
        else:
            return None
        kids, p = [], kr.start
        while p < kr.end:
            if s.vma[p] == NO:
                p += 1
                continue
            q = p
            while q < kr.end and s.vma[q] == s.vma[p]:
                q += 1
            kids.append(kr._replace(start=p, end=q,
                                    bo_frames=kr.bo_frames[p - kr.start:q - kr.start]))
            p = q
        w = _set_ranges(c, s, kr, tuple(kids))
        if self.range_holds_bo and kr.bo != NO and not self.bo_page_refs:
            for f in allocation_frames(c, w, kr.bo):
                w = free_frame(w, f)
            w = w._replace(kranges=tuple(k._replace(bo=NO, bo_frames=()) if k.bo == kr.bo
                                         else k for k in w.kranges))
        shown = "split " + " ".join(f"[{k.start},{k.end})" for k in kids) if kids else "removed"
        return outcome(w, shown)

    # ---- auxiliary invariants (what prove needs besides the properties; docs/z3.md) ------------
    @always
    def restore_pages_holds_its_range(self, s, procs):
        """Auxiliary: what svm_range_restore_pages holds between its labels agrees with the
        world, and every GPU's view of the ranges is the process's svm_ranges.

        From migrate_vma_setup to the end of svm_range_map_to_gpus the fault holds mmap_lock
        (read) and its range's migrate_mutex (``holder``; no other range has a holder), and
        its window is the granularity block of its page; only svm_migrate_copy_to_vram holds
        collected pages, inside the window, each with a VMA (munmap waits for mmap_lock);
        at svm_range_map_to_gpus, if the range's seq has not moved since read_begin (the
        GPU view's ``valid``), the walked pfns are the CPU page table's frames, writable only
        where the PTE is (every change of a page's frame runs the notifier that clears it).
        The folio locks and migration entries are the migrations' in flight (xe's
        ``migrations_hold_their_locks``, with svm_migrate_to_ram as the CPU fault).  Every
        GPU's World.ranges has the svm_ranges' bounds (_set_ranges keeps them in step) and a
        GPU PTE maps a frame only inside a range, on a present, non-migrating page, the frame
        that page's PTE points at, writably only where the PTE is writable (the notifier zaps
        every range a PTE change overlaps — fork's write-protect included — and
        migrate_vma_setup's notifier comes before its migration entries).  Needed by
        ``coherence``, ``no_lost_data``, ``memory_safety`` and (after fork)
        ``cow_isolation``."""
        c = self.config
        P = c.pages
        why = "the retry fault's locals, the locks or the GPU PTEs disagree with the world"
        # The clauses with messages of their own come first, GPU by GPU: after them a run
        # may end as soon as a part of ``ok`` is false (same verdict, same message).  ``ok``
        # is one expression except where Python needs a value: a test of one local alone (a
        # length, a bound of the window) narrows it for the rest of the run, where len() and
        # range() would fix it, a path per value (docs/z3.md).
        gpus = [procs[f"gpu{g}"] for g in range(c.gpus)]
        pranges = []        # the svm_range whose migrate_mutex each GPU's fault holds, or None
        for g, (label, loc) in enumerate(gpus):
            same = len(s.ranges[g]) == len(s.kranges)
            for r, kr in zip(s.ranges[g], s.kranges):
                same = same & (r.start == kr.start) & (r.end == kr.end)
            if not clause(same, "GPU{g}'s ranges are not the svm_ranges", g=g):
                return False
            kr = krange_at(s, loc["page"]) if label in _HOLDING else None
            if label in _HOLDING and not clause(kr is not None, "GPU{g} at {label} has no "
                                                "range", g=g, label=label):
                return False
            pranges.append(kr)
        readers, windows, ok = 0, [], True
        for g, ((label, loc), kr) in enumerate(zip(gpus, pranges)):
            page, rs, re, got, pfns = (loc[k] for k in ("page", "rs", "re", "got", "pfns"))
            if label != "idle":
                ok = ok & fault_kind_issued(self, g, loc["kind"])
            if kr is None:
                if got or pfns:
                    return clause(False, why)
                continue
            readers += 1
            win = block(c, kr, page)
            if rs != win.start or re != win.stop \
                    or bool(got) != (label == "svm_migrate_copy_to_vram") \
                    or (label != "svm_range_map_to_gpus" and pfns):
                return clause(False, why)
            ok = ok & (kr.holder == g)
            if label == "svm_migrate_copy_to_vram":
                windows.append((rs, re))
                ok = ok & collected_pages(s, rs, re, got)
            if label != "svm_range_map_to_gpus":
                continue
            # _view(s, g, kr).valid as one expression (its test of each range's start forks)
            valid, seen = False, False
            for r in s.ranges[g]:
                at = r.start == kr.start
                valid = valid | ((seen == False) & at & r.valid)
                seen = seen | at
            if valid:
                if len(pfns) != re - rs:
                    return clause(False, why)
                ok = pfns_current(ok, s, rs, re, pfns)
        for kr in s.kranges:
            holders = 0
            for (_, loc), pr in zip(gpus, pranges):
                if pr is not None:
                    holders = holders + ((kr.start <= loc["page"]) & (loc["page"] < kr.end))
            ok = ok & ((kr.holder != NO) == (holders > 0))
        ok = ok & migration_locks_held(self, s, procs, windows, readers, "svm_migrate_to_ram")
        for g in range(c.gpus):
            for p in range(P):
                gf, perm = s.gpte[g * P + p]
                inside = False
                for kr in s.kranges:
                    inside = inside | ((kr.start <= p) & (p < kr.end))
                kind, f = s.pte[p]
                ok = ok & ((gf != NO) <= (present_pte(kind) & inside & (gf == f))) \
                    & ((gf == NO) == (perm == Perm.NONE))
                if self.pfn_write_check:
                    ok = ok & ((perm >= Perm.WRITE) <= writable_pte(kind))
        return clause(ok, why)

    # ---- non-vacuity ----------------------------------------------------------------------------
    @sometimes
    def data_reaches_vram(self, s):
        """Some page's data reaches a GPU's VRAM."""
        return any(k in _DEV for k, _ in s.pte)

    @sometimes
    def mixed_placement_mapped(self, s):
        """A GPU maps one range with pages in different memories (system and VRAM)."""
        c = self.config
        for g in range(c.gpus):
            for kr in s.kranges:
                where = {owner(c, s.gpte[g * c.pages + p][0]) for p in range(kr.start, kr.end)
                         if s.gpte[g * c.pages + p][0] != NO}
                if len(where) > 1:
                    return True
        return False

    @sometimes
    def peer_vram_mapped(self, s):
        """A GPU maps a page in a peer's VRAM over XGMI (remote memory, the seed's third type)."""
        c = self.config
        return any(f != NO and owner(c, f) not in (-1, i // c.pages)
                   for i, (f, _) in enumerate(s.gpte))

    @sometimes
    def gpu_access_completes(self, s):
        """Some GPU access completes through a GPU mapping."""
        return any(b < self.config.gpu_accesses for b in s.budget[:self.config.gpus])

    partial_migration = sometimes_step(
        "partial_migration", step="svm_migrate_copy_to_vram", outcome="partial",
        doc="A migration to VRAM moves some pages of the window and leaves others in RAM.")
    bo_eviction_migrates = sometimes_step(
        "bo_eviction_migrates", step="svm_range_evict_svm_bo_worker", outcome="moved",
        doc="A BO eviction migrates the pages still using the BO back to RAM.")
    cow_fault_back = sometimes_step(
        "cow_fault_back", step="amdgpu_hmm_range_get_pages", outcome="no HMM_PFN_WRITE",
        doc="After fork a GPU write meets a COW-shared VRAM page and faults it back to "
            "system memory, page by page.")
    seq_recheck_retries = sometimes_step(
        "seq_recheck_retries", step="svm_range_map_to_gpus", outcome="seq moved",
        doc="An invalidation between hmm_range_fault and the PTE write is caught by the seq "
            "re-check under prange->lock (-EAGAIN, the fault retries).")
    cpu_fault_migrates = sometimes_step(
        "cpu_fault_migrates", step="svm_migrate_to_ram", outcome="moved",
        doc="A CPU fault migrates its granularity block back to RAM.")


def collected_pages(s, rs, re, got):
    """What svm_migrate_copy_to_vram holds from migrate_vma_setup (setup_to_devmem): the
    collected pages in window order, each with a VMA (munmap waits for mmap_lock) and still in
    system memory — a migration entry, or a collected hole a CPU fault may have filled since
    (migrate_vma_insert_page then drops it) — and every migration entry of the window among
    them (cpages < npages is accepted here, so unlike xe the window is not all collected).
    One implication per page: indexing the page tables by a collected page would fix it."""
    ok, prev = True, -1
    for p in got:
        ok = ok & (rs <= p) & (p < re) & (prev < p)
        prev = p
    for q, (kind, _) in enumerate(s.pte[:len(s.vma)]):
        among = False
        for p in got:
            among = among | (p == q)
        ok = ok & (among <= ((s.vma[q] != NO) & (kind != Cpte.DEV_RO) & (kind != Cpte.DEV_RW))) \
            & (((kind == Cpte.MIG) & (rs <= q) & (q < re)) <= among)
    return ok


# ---- broken variants ---------------------------------------------------------------------------

class KfdActualLoc(Kfd):
    """kfd with the old one actual_loc per range: the whole range is assumed to be there."""
    name = "kfd-actual-loc"
    per_page_placement = False


class UnmapConfig(KfdConfig):
    cpu_writes: int = param(1, "CPU writes in total", min=0, max=4)
    munmaps: int = param(1, "single-page munmaps", min=0, max=2)
    forks: int = param(0, "fork() calls (a child that only uses the CPU)", min=0, max=1)


class KfdUnmap(Kfd):
    """kfd (sound) in the partial-munmap configuration of kfd-bo-free-early."""
    name = "kfd-unmap"
    Config = UnmapConfig
    skip_properties = ("cow_fault_back",)     # no fork in this configuration

    range_split = sometimes_step(
        "range_split", step="svm_range_deferred_list_work", outcome="split",
        doc="A partial munmap splits a range; the pages left keep their placement.")


class KfdBoFreeEarly(KfdUnmap):
    """kfd with the VRAM BO owned by the range and freed when the range drops it."""
    name = "kfd-bo-free-early"
    bo_page_refs = False
