"""xe: the drm_gpusvm / drm_pagemap / Xe GPU fault flow, with multiple GPUs (seeds 000, 001, 004).

The fault handler is ``__xe_svm_handle_pagefault`` (drivers/gpu/drm/xe/xe_svm.c) written as one
flow whose labels are the kernel's interleaving points (protocol.md §2.1–§2.8):

    gpu_access -> find_or_insert (GC first) -> [placement scan] -> populate_mm: migrate_vma_setup
    -> migrate_vma_pages (copy, finalize) -> [evict and retry once] -> get_pages: hmm_range_fault
    -> get_pages: map under notifier_lock -> bind: stage (prepare) -> bind: pre-commit -> replay

The sound model carries the four-step flow proposed in seed 004 (in-VRAM check, a
non-faulting hmm_range_fault pass to learn placement, populate_mm, evict and retry once on
-EBUSY), the atomic-placement check Matt asks for (a foreign page reached over a link without
atomics is moved, not mapped, for an atomic fault), and the per-pfn HMM_PFN_WRITE check that
closes the fork/COW hole of issue 9.  Each broken variant below is a one-switch diff:

* ``xe-efault-in-place``  takes -EFAULT (cpages == 0, "all in device memory") as "already where
  it belongs" and skips the placement checks (seed 004) — atomics over PCIe P2P.
* ``xe-no-recheck``       binds without re-checking validity under the notifier lock — a stale
  GPU mapping after a racing migration or munmap (protocol.md §4.1).
* ``xe-retry-unbounded``  evict-and-retry with no bound — two GPUs atomic-faulting one page
  ping-pong forever (a lasso for fault progress).
* ``xe-window-unclipped`` the range window is not clipped to the CPU VMA (seed 000).
* ``xe-upstream``         today's code on the fork/COW points: no HMM_PFN_WRITE check (issue 9).
"""
from __future__ import annotations

import itertools

from properties.atomics import atomic_safety
from properties.data import coherence, cow_isolation, no_lost_data
from properties.invariants import (fault_kind_issued, frames_accounted,
                                   gpu_ptes_in_valid_ranges, migration_locks_held, pfns_current)
from properties.memory import memory_safety, vma_respect
from svmcheck import Flow, always, clause, completes, one_of, param, sometimes, sometimes_step
from svmcheck.svm import gpusvm
from svmcheck.svm.base import SvmModel
from svmcheck.svm.config import SvmConfig
from svmcheck.svm.hmm import hmm_range_fault, must_wait
from svmcheck.svm.migrate import (abort_to_devmem, finalize_to_devmem, owners_of,
                                  setup_to_devmem)
from svmcheck.svm.mm import owner, vma_writable
from svmcheck.svm.pagemap import alloc_devmem
from svmcheck.svm.state import NO, Access, Cpte, Perm, World, tadd
from svmcheck.svm.topology import Link, atomic_frames, atomic_ok, link

MIGRATE_TRIES_DEVMEM_ONLY = 3     # xe: migrate_try_count = devmem_only ? 3 : 1


def _skips(c):
    """Pages migrate_vma_setup may fail to collect (only with contention)."""
    if not c.contention:
        return (frozenset(),)
    pages = range(c.pages)
    return tuple(frozenset(s) for n in range(c.pages + 1) for s in itertools.combinations(pages, n))


class XeConfig(SvmConfig):
    evict_retry_bound: int = param(1, "evict-and-retry rounds per fault after -EBUSY/-EFAULT "
                                   "(xe_svm_alloc_vram); -1: unbounded", min=-1, max=3)
    dma_map_errors: int = param(0, "DMA-mapping failures (dma_mapping_error: -EFAULT) "
                                "migrations to VRAM may hit, in total", min=0, max=2)


DMA_MAP_ERRORS = 4                # Xe's budget slot after the shared ones (base.extra_budget)


def _dma_errors(c):
    """Whether the copy's DMA mapping fails: only offered while the budget allows one."""
    return (False, True) if c.dma_map_errors else (False,)


class Xe(SvmModel):
    """drm_gpusvm/drm_pagemap/Xe GPU fault flow, N GPUs, migrate-on-fault (sound)."""
    name = "xe"
    Config = XeConfig

    # the switches the broken variants flip
    clip_window = True          # drm_gpusvm_range_chunk_size bounds the window by the VMA
    placement_checks = True     # seed 004 step 2 and the atomic-placement check after get_pages
    efault_means_in_place = False
    recheck_on_commit = True    # xe_pt_svm_pre_commit re-checks pages_valid
    pfn_write_check = True      # bind write access only for pages with HMM_PFN_WRITE

    gpu = Flow("gpu{g}", over=dict(g=lambda c: range(c.gpus)),
               locals=dict(page=0, kind=0, devmem_only=False, tries=0, evicts=0, rs=0, re=0,
                           got=(), pfns=()))

    coherence, no_lost_data, atomic_safety = coherence, no_lost_data, atomic_safety
    memory_safety, vma_respect, cow_isolation = memory_safety, vma_respect, cow_isolation
    frames_accounted, gpu_ptes_in_valid_ranges = frames_accounted, gpu_ptes_in_valid_ranges
    fault_progress = completes(gpu, name="fault_progress",
                               doc="Every GPU fault completes (resolved, or failed with a clean "
                                   "error) under weak fairness; a livelock is a lasso.")

    def extra_budget(self) -> tuple:
        return (self.config.dma_map_errors,)

    # ---- helpers ------------------------------------------------------------------------
    def _range(self, s: World, me):
        return gpusvm.range_at(s, me.g, me.page)

    def _pages(self, me):
        return range(me.rs, me.re)

    def _fail(self, s: World, me, err: str):
        """The fault is reported failed; the GPU access is dropped (context banned)."""
        return me.done(s._replace(budget=tadd(s.budget, me.g, -1)), outcome=err)

    def _retry(self, s: World, me, err: str):
        """xe: "if tries remain or !devmem_only goto retry", else the fault fails."""
        if me.tries > 0 or not me.devmem_only:
            return me.goto("drm_gpusvm_range_find_or_insert", s, outcome=f"{err} retry")
        return self._fail(s, me, err)

    def _devmem_ok(self, s: World, me, pages=None) -> bool:
        """Every page of the range is in VRAM this GPU can run the fault's accesses on."""
        for p in pages if pages is not None else self._pages(me):
            kind, f = s.pte[p]
            if kind not in (Cpte.DEV_RO, Cpte.DEV_RW):
                return False
            if me.devmem_only and link(self.config, me.g, owner(self.config, f)) != Link.ATOMIC:
                return False
        return True

    def _atomic_path_ok(self, s: World, me) -> bool:
        """Every page of the range sits where this GPU's atomics are honoured."""
        c = self.config
        return all(atomic_ok(c, me.g, owner(c, s.pte[p][1])) for p in self._pages(me))

    # ---- the flow -------------------------------------------------------------------------
    @gpu.label(start=True, args=dict(page=lambda c: c.touched, kind=lambda c: c.kinds))
    def gpu_access(self, s: World, me, page, kind):
        """A GPU access through its page tables; a missing or insufficient PTE raises a GPU
        page fault delivered to xe_svm_handle_pagefault() (drivers/gpu/drm/xe/xe_svm.c) with
        the atomic bit; need_vram = atomic and no system atomics (xe_vma_need_vram_for_atomic)."""
        if s.budget[me.g] <= 0 or kind not in self.config.kinds_for(me.g):
            return None
        if self.gpu_mapped_for(s, me.g, page, kind):
            return me.done(self.gpu_perform(s, me.g, page, kind), outcome="hit")
        devmem_only = kind == Access.ATOMIC and not self.config.sys_atomics
        return me.next(s, outcome="GPU fault", page=page, kind=kind, devmem_only=devmem_only,
                       tries=MIGRATE_TRIES_DEVMEM_ONLY if devmem_only else 1, evicts=0)

    @gpu.label
    def drm_gpusvm_range_find_or_insert(self, s: World, me):
        """retry: xe_svm_garbage_collector() first, then drm_gpusvm_range_find_or_insert()
        (drivers/gpu/drm/drm_gpusvm.c) — -ENOENT without a VMA, -EPERM for a write to a
        read-only VMA, -EACCES for devmem_only on a non-migratable VMA — then
        xe_svm_range_is_valid(): a range already bound for this access is a spurious fault."""
        c = self.config
        w = gpusvm.garbage_collector(c, s, me.g)
        w, r, err = self._lookup_range(w, me)
        if err:
            return self._fail(w, me, err)
        if me.devmem_only and not r.migrate_devmem:
            return self._fail(w, me, "-EACCES")
        if (r.valid and (r.devmem or not me.devmem_only)
                and all(self.gpu_mapped_for(w, me.g, p, me.kind) for p in range(r.start, r.end))):
            return self._replay(w, me, "valid fault")
        in_vram = r.devmem and self._devmem_ok(w, me, range(r.start, r.end))
        if r.migrate_devmem and me.tries > 0 and not in_vram and self._migrate_wanted(me):
            return self._placement_scan(w, me, r)
        return me.goto("drm_gpusvm_get_pages", w, rs=r.start, re=r.end)

    def _migrate_wanted(self, me) -> bool:
        """Policy hook (svmcheck/workload/policy.py): migrate on fault unless the workload maps
        pages where they are (fault=remote, preferred location RAM, a page pinned by
        thrashing mitigation); an atomic fault that needs VRAM migrates regardless."""
        c = self.config
        return me.devmem_only or (c.migrate_on_fault and me.page not in c.remote_pages)

    def _lookup_range(self, w: World, me):
        """drm_gpusvm_range_find_or_insert() proper: vma_lookup, then an existing range or a
        new chunk (clipped to the VMA unless ``clip_window`` is off).  (world, range, err)."""
        return gpusvm.find_or_insert(self.config, w, me.g, me.page,
                                     write=me.kind >= Access.WRITE, clip=self.clip_window)

    def _placement_scan(self, s: World, me, r):
        """Seed 004 step 2: a non-faulting hmm_range_fault() pass learns where the pages are
        before migrate_vma_setup sends an invalidation.  Data in compatible memory (ours, or a
        peer's over a link that serves this fault) needs no migration; data in a foreign
        device's VRAM that cannot serve it is evicted (drm_gpusvm_range_evict) first.
        (Run inside the find_or_insert step: it only reads, or evicts as its own migration.)"""
        loc = dict(rs=r.start, re=r.end, evicts=0)
        if not self.placement_checks:
            return me.next(s, **loc)
        c = self.config
        owners = owners_of(c, s, range(r.start, r.end))
        foreign = {o for o in owners if o >= 0 and o != me.g}
        if owners == {me.g}:
            return me.goto("drm_gpusvm_get_pages", s, outcome="in place", **loc)
        if foreign:
            usable = all(link(c, me.g, o) == Link.ATOMIC if me.kind == Access.ATOMIC
                         else link(c, me.g, o) != Link.NONE for o in foreign)
            if usable and -1 not in owners and len(foreign) == 1:
                return me.goto("drm_gpusvm_get_pages", s, outcome="compatible placement", **loc)
            w, err = gpusvm.range_evict(c, s, me.g, r)
            return me.next(w, outcome=f"evict foreign{' ' + err if err else ''}", **loc)
        return me.next(s, **loc)

    @gpu.label(args=dict(skip=_skips))
    def drm_pagemap_populate_mm(self, s: World, me, skip):
        """drm_pagemap_populate_mm() -> drm_pagemap_migrate_to_devmem() (drivers/gpu/drm/
        drm_pagemap.c), first half: mmap_read_lock, migrate_vma_setup(SELECT_SYSTEM).  All
        pages ours: 0, nothing to do.  Nothing collected and every page in device memory:
        -EFAULT (seed 004: "the pages are entirely present somewhere in device memory").
        cpages < npages: abort and -EBUSY (all or nothing)."""
        c = self.config
        pages = tuple(self._pages(me))
        if all(s.pte[p][0] in (Cpte.DEV_RO, Cpte.DEV_RW) and owner(c, s.pte[p][1]) == me.g
               for p in pages):
            return me.goto("drm_gpusvm_get_pages", s, outcome="0 (already in VRAM)")
        w, got, on_device = setup_to_devmem(c, s, pages, skip)
        me_tries = max(0, me.tries - 1) if c.evict_retry_bound >= 0 else me.tries
        if not got and on_device == len(pages):
            return self._alloc_vram_error(w, me, "-EFAULT", "-EFAULT", me_tries)
        if len(got) < len(pages):
            w = abort_to_devmem(c, w, got)
            return self._alloc_vram_error(w, me, "-EBUSY",
                                          f"-EBUSY cpages={len(got)}/{len(pages)}", me_tries)
        w = w._replace(mmap_readers=w.mmap_readers + 1)
        return me.next(w, outcome=f"cpages={len(got)}/{len(pages)}", got=got, tries=me_tries)

    @gpu.label(args=dict(dma_error=_dma_errors))
    def migrate_vma_pages(self, s: World, me, dma_error):
        """Second half: allocate the VRAM BO (xe_bo_create_locked may evict others; -ENOMEM),
        copy (xe_svm_copy), migrate_vma_pages(), migrate_vma_finalize(), mmap_read_unlock.
        Fewer pages moved than collected (a CPU fault filled a hole): -EBUSY "Raced while
        finalizing migration" — a partial migration that leaves a mixed range.
        ``dma_error`` (only with ``dma_map_errors``): drm_pagemap_migrate_map_pages() fails
        (dma_mapping_error), so drm_pagemap_migrate_to_devmem() goes to err_finalize: the
        destination pages are put (drm_pagemap_migration_unlock_put_pages), migrate_vma_pages
        moves nothing, finalize restores the sources, the BO is released with its zdd, and
        the error is **-EFAULT** — the code seed 004 reads as "all pages already in device
        memory", so the fault handler's -EFAULT branch runs for a page still in RAM."""
        c = self.config
        if dma_error and self.left(s, DMA_MAP_ERRORS) <= 0:
            return None
        w = s._replace(mmap_readers=s.mmap_readers - 1)
        w, alloc, frames = alloc_devmem(c, w, me.g, len(me.got))
        if alloc == NO:
            w = abort_to_devmem(c, w, me.got)
            return self._alloc_vram_error(w, me, "-ENOMEM", "-ENOMEM", me.tries)
        if dma_error:
            w = abort_to_devmem(c, self.spend(w, DMA_MAP_ERRORS), me.got)
            return self._alloc_vram_error(w, me, "-EFAULT", "-EFAULT dma_mapping_error",
                                          me.tries)
        w, moved = finalize_to_devmem(c, w, me.got, frames, alloc)
        if len(moved) < len(me.got):
            return self._alloc_vram_error(w, me, "-EBUSY",
                                          f"-EBUSY partial {len(moved)}/{len(me.got)}", me.tries)
        return me.goto("drm_gpusvm_get_pages", w, outcome="0 migrated", got=())

    def _alloc_vram_error(self, s: World, me, err: str, shown: str, tries: int):
        """xe_svm_alloc_vram() error handling (seed 004 patch): on -EBUSY (or -EFAULT) evict
        the range (drm_gpusvm_range_evict) and retry once; then xe's fault handler: with tries
        left (or !devmem_only) retry, else fail; !devmem_only falls back to system pages
        (get_pages without migration).  Folded into the step that saw the error."""
        c = self.config
        if err == "-EFAULT" and self.efault_means_in_place:
            return me.goto("drm_gpusvm_get_pages", s, outcome=f"{shown}: taken as in place",
                           got=(), tries=tries)
        bound = c.evict_retry_bound
        bounded = bound >= 0            # -1: retry forever, counting neither evicts nor tries
        if err in ("-EBUSY", "-EFAULT") and (not bounded or me.evicts < bound):
            w, _ = gpusvm.range_evict(c, s, me.g, self._range(s, me))
            return me.goto("drm_pagemap_populate_mm", w, outcome=f"{shown}: evict, retry",
                           got=(), evicts=me.evicts + 1 if bounded else 0,
                           tries=tries if bounded else me.tries)
        if me.devmem_only:
            if tries > 0:
                return me.goto("drm_gpusvm_range_find_or_insert", s, outcome=f"{shown}: retry",
                               got=(), tries=tries)
            return self._fail(s, me, err)
        return me.goto("drm_gpusvm_get_pages", s, outcome=f"{shown}: fall back to system",
                       got=(), tries=tries)

    @gpu.label
    def drm_gpusvm_get_pages(self, s: World, me):
        """drm_gpusvm_get_pages() (drivers/gpu/drm/drm_gpusvm.c): mmu_interval_read_begin,
        then hmm_range_fault(REQ_FAULT | REQ_WRITE for a write) outside the notifier lock.
        -EBUSY (the seq moved, possibly by our own fault) loops to read_begin; a migration
        entry waits; -EFAULT / -EPERM make the fault handler retry."""
        c = self.config
        if must_wait(s, self._pages(me)):
            return None
        w = s._replace(stale=s.stale[:me.g] + (False,) + s.stale[me.g + 1:])
        res = hmm_range_fault(c, w, me.g, tuple(self._pages(me)), fault=True,
                              write=me.kind >= Access.WRITE)
        if res.err == "-EBUSY":
            return me.stay(res.world, outcome="hmm_range_fault -EBUSY")
        if res.err:
            return self._retry(res.world, me, res.err)
        return me.next(res.world, outcome="pfns valid", pfns=res.pfns)

    @gpu.label
    def drm_gpusvm_get_pages_map(self, s: World, me):
        """The notifier-locked half of drm_gpusvm_get_pages(): unmapped -EFAULT, read_retry
        -> loop, -EOPNOTSUPP on mixed placement (the handler evicts and retries), -EFAULT for
        devmem_only with a system page; then DMA-map and publish has_dma_mapping.  The sound
        model also refuses (as -EFAULT, retried with migration) an atomic fault on pages in a
        peer's VRAM without an atomic link, and a write fault on a page hmm_range_fault
        returned without HMM_PFN_WRITE (which it evicts so the write fault breaks COW)."""
        c = self.config
        r = self._range(s, me)
        if r is None:
            return self._retry(s, me, "-EFAULT")
        w, r, err = gpusvm.collect_pages(c, s, me.g, r, me.pfns, devmem_only=me.devmem_only)
        if err == "-EAGAIN":
            return me.goto("drm_gpusvm_get_pages", w, outcome="read_retry: -EAGAIN")
        if err == "-EOPNOTSUPP":
            w, _ = gpusvm.range_evict(c, w, me.g, r)
            return self._retry(w, me, err)
        if err:
            return self._retry(w, me, err)
        if (self.placement_checks and me.kind == Access.ATOMIC
                and not self._atomic_path_ok(w, me)):
            # bounce to system memory first (Matt: "initially … just a bounce to system
            # memory"); the retry then migrates to our VRAM or maps where atomics work
            w, _ = gpusvm.range_evict(c, w, me.g, r)
            return self._retry(w, me, "-EFAULT (no atomic path)")
        if (self.pfn_write_check and me.kind >= Access.WRITE
                and not all(wr for _, wr in me.pfns)):
            w, _ = gpusvm.range_evict(c, w, me.g, r)
            return self._retry(w, me, "-EFAULT (no HMM_PFN_WRITE)")
        return me.next(w, outcome="0", pfns=())

    @gpu.label
    def xe_pt_stage_bind(self, s: World, me):
        """xe_pt_stage_bind() (drivers/gpu/drm/xe/xe_pt.c): under notifier_lock (read) check
        xe_svm_range_pages_valid (else -EAGAIN, retry the fault), build the PTEs from the
        dma_addr array, drop the lock — the addresses may go stale before commit."""
        r = self._range(s, me)
        if r is None or not gpusvm.pages_valid(s, me.g, r):
            return me.goto("drm_gpusvm_range_find_or_insert", s, outcome="-EAGAIN")
        return me.next(s, pfns=r.pfns)     # the staged PTE entries

    @gpu.label
    def xe_pt_svm_pre_commit(self, s: World, me):
        """xe_pt_svm_userptr_pre_commit() then xe_pt_update_ops_run() (drivers/gpu/drm/xe/
        xe_pt.c): retake notifier_lock, re-check every MAP_RANGE's pages_valid (-EAGAIN:
        retry the whole fault) and write the PTEs while holding it.  The PTE's write access
        comes from the GPU VMA; atomics only for an atomic fault."""
        c = self.config
        r = self._range(s, me)
        if self.recheck_on_commit and (r is None or not gpusvm.pages_valid(s, me.g, r)):
            return me.goto("drm_gpusvm_range_find_or_insert", s, outcome="-EAGAIN", pfns=())
        perm = Perm.ATOMIC if me.kind == Access.ATOMIC else (
            Perm.WRITE if vma_writable(c, s, me.page) else Perm.READ)
        w = gpusvm.bind(c, s, me.g, me.rs, me.pfns, perm, pfn_write=self.pfn_write_check)
        return self._replay(w, me, "bound")

    def _replay(self, s: World, me, shown: str):
        """The fault is acknowledged and the GPU replays the access (folded into the step that
        completed the fault: the bind fence is waited on before acknowledging); a PTE that
        still does not allow the access faults again."""
        if self.gpu_mapped_for(s, me.g, me.page, me.kind):
            return me.done(self.gpu_perform(s, me.g, me.page, me.kind),
                           outcome=f"{shown}, replayed")
        return me.goto("drm_gpusvm_range_find_or_insert", s, outcome=f"{shown}, refault",
                       pfns=())

    # ---- auxiliary invariants (what prove needs besides the properties; docs/z3.md) ------------
    @always
    def fault_handler_holds_its_range(self, s: World, procs):
        """Auxiliary: what __xe_svm_handle_pagefault holds at each label agrees with the world.

        A fault in flight is of an access kind the GPU issues.  Past
        drm_gpusvm_range_find_or_insert the handler's window [rs, re) is the GPU range
        containing its page (only the handler's own garbage collector removes ranges, and
        ranges never split); only migrate_vma_pages has collected pages, all of the window
        (drm_pagemap_migrate_to_devmem is all or nothing), each with a VMA (munmap waits for
        the mmap_lock it holds); in the locked half of get_pages, if no notifier has run
        since the hmm_range_fault walk (``stale`` clear), the walked pfns are the CPU page
        table's frames, writable only where the PTE is, and a valid range's pfns, published
        before the walk, are no more writable (only a notifier takes a write bit away); after
        it, a valid range passed this fault's checks (atomics honoured where it lies, every page
        writable for a write fault with the HMM_PFN_WRITE check), because only this handler
        sets has_dma_mapping on its GPU's ranges and any notifier clears it; at the bind's
        pre-commit the staged PTE entries are the valid range's dma_addr array
        (xe_pt_stage_bind copied them under the notifier lock).  Needed by ``coherence``,
        ``atomic_safety``, ``no_lost_data`` and ``memory_safety`` through
        xe_pt_svm_pre_commit."""
        c = self.config
        for g in range(c.gpus):
            label, loc = procs[f"gpu{g}"]
            page, kind, rs, re = loc["page"], loc["kind"], loc["rs"], loc["re"]
            ok = len(loc["got"]) == (0 if label != "migrate_vma_pages" else re - rs)
            if label not in ("idle", "gpu_access"):
                ok = ok & fault_kind_issued(self, g, kind)
            if label not in ("idle", "gpu_access", "drm_gpusvm_range_find_or_insert"):
                r = gpusvm.range_at(s, g, page)
                if not clause(r is not None and ok, "GPU{g} at {label} has no range for "
                              "page {p}", g=g, label=label, p=page):
                    return False
                ok = (r.start == rs) & (r.end == re)
                if label == "migrate_vma_pages":     # munmap waits for mmap_readers
                    for i, p in enumerate(loc["got"]):
                        ok = ok & (p == rs + i) & (s.vma[p] != NO)
                if label == "drm_gpusvm_get_pages_map" and not s.stale[g]:
                    ok = pfns_current(ok, s, rs, re, loc["pfns"])
                    if r.valid:     # published before the walk, no notifier since
                        for (_, wr), (_, walked) in zip(r.pfns, loc["pfns"]):
                            ok = ok & (wr <= walked)
                if label in ("xe_pt_stage_bind", "xe_pt_svm_pre_commit") and r.valid:
                    atomic = atomic_frames(c, g, len(s.fver))
                    for f, wr in r.pfns:
                        if self.placement_checks:
                            ok = ok & ((kind == Access.ATOMIC) <= one_of(f, atomic))
                        if self.pfn_write_check:
                            ok = ok & ((kind >= Access.WRITE) <= wr)
                    if label == "xe_pt_svm_pre_commit":
                        ok = ok & (len(loc["pfns"]) == len(r.pfns))
                        for (f, wr), (f2, wr2) in zip(loc["pfns"], r.pfns):
                            ok = ok & (f == f2) & (wr == wr2)
            if not clause(ok, "GPU{g} at {label} holds locals that contradict its range",
                          g=g, label=label):
                return False
        return True

    @always
    def migrations_hold_their_locks(self, s: World, procs):
        """Auxiliary: the folio locks, migration entries and mmap_lock readers are the ones
        the migrations in flight took.

        mmap_readers counts the GPU handlers between migrate_vma_setup and
        migrate_vma_finalize (drm_pagemap_migrate_to_devmem holds mmap_read_lock across the
        copy) and the CPU faults inside drm_pagemap_migrate_to_ram (do_swap_page runs under
        mmap_lock); a migration entry sits in the parent's page table at a page of the
        window of a handler at migrate_vma_pages (two handlers' windows may overlap: one
        collected a hole the CPU then filled, the other the filled page), on a system frame
        it locked and that nothing else maps (migrate_vma_setup collects only exclusive
        pages, and munmap and fork wait for the readers); a CPU fault in migrate_to_ram
        holds the folio lock of the device page its PTE still points at (every other
        migration trylocks and skips it); no other folio is locked.  Needed by
        ``memory_safety`` (a locked frame may be unmapped) and ``no_lost_data``."""
        windows = []
        for g in range(self.config.gpus):
            label, loc = procs[f"gpu{g}"]
            if label == "migrate_vma_pages":
                windows.append((loc["rs"], loc["re"]))
        ok = migration_locks_held(self, s, procs, windows, len(windows),
                                  "drm_pagemap_migrate_to_ram")
        return clause(ok, "the folio locks, migration entries or mmap_lock readers disagree "
                      "with the migrations in flight")

    # ---- non-vacuity ------------------------------------------------------------------------
    @sometimes
    def data_reaches_vram(self, s: World):
        """Some page's data reaches a GPU's VRAM."""
        return any(k in (Cpte.DEV_RO, Cpte.DEV_RW) for k, _ in s.pte)

    @sometimes
    def gpu_access_completes(self, s: World):
        """Some GPU access completes through a GPU mapping."""
        return any(b < self.config.gpu_accesses for b in s.budget[:self.config.gpus])

    evict_and_retry = sometimes_step("evict_and_retry", outcome="evict, retry")
    ebusy_happens = sometimes_step("ebusy_happens", outcome="-EBUSY")


# --- the ping-pong needs both GPUs atomic-faulting one page ------------------------------------
class PingPongConfig(XeConfig):
    pages: int = param(1, "virtual pages", min=1, max=6)
    vma_layout: str = param("a", "per page VMA letters (see xe)")
    chunk_pages: int = param(1, "largest range chunk in pages", min=1, max=8)
    gpu_kinds: str = param("a", "access kinds GPUs issue")
    cpu_writes: int = param(0, "CPU writes in total", min=0, max=4)
    cpu_reads: bool = param(False, "the CPU reads")
    evict_retry_bound: int = param(-1, "evict-and-retry rounds per fault (-1: unbounded)",
                                   min=-1, max=3)


class XeEfaultInPlace(Xe):
    """xe with -EFAULT / cpages == 0 taken as "already where it belongs" (seed 004)."""
    name = "xe-efault-in-place"
    efault_means_in_place = True
    placement_checks = False


class XeNoRecheck(Xe):
    """xe binding without re-checking range validity under the notifier lock."""
    name = "xe-no-recheck"
    recheck_on_commit = False


class XeRetryUnbounded(Xe):
    """xe with evict-and-retry unbounded: two GPUs atomic-faulting one page ping-pong."""
    name = "xe-retry-unbounded"
    Config = PingPongConfig


class UnclippedConfig(XeConfig):
    vma_layout: str = param("a-", "per page VMA letters: page 1 has no VMA")
    gpu_pages: str = param("0", "pages GPUs touch")


class XeWindowUnclipped(Xe):
    """xe with the range window not clipped to the CPU VMA (seed 000)."""
    name = "xe-window-unclipped"
    Config = UnclippedConfig
    clip_window = False


class ForkConfig(XeConfig):
    gpus: int = param(1, "GPUs mirroring the process", min=1, max=3)
    pages: int = param(1, "virtual pages", min=1, max=6)
    vma_layout: str = param("a", "per page VMA letters (see xe)")
    chunk_pages: int = param(1, "largest range chunk in pages", min=1, max=8)
    gpu_accesses: int = param(2, "accesses each GPU issues", min=0, max=4)
    gpu_kinds: str = param("w", "access kinds GPUs issue")
    cpu_writes: int = param(0, "CPU writes in total", min=0, max=4)
    forks: int = param(1, "fork() calls", min=0, max=1)


class XeUpstream(Xe):
    """xe as today's code reads on the fork/COW points: no per-pfn HMM_PFN_WRITE check (issue 9)."""
    name = "xe-upstream"
    Config = ForkConfig
    pfn_write_check = False


class XeFork(Xe):
    """xe (with the HMM_PFN_WRITE fix) in the fork configuration of xe-upstream."""
    name = "xe-fork"
    Config = ForkConfig
