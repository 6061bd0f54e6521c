"""Auxiliary invariants of the shared page-level world (svmcheck/svm/): what every reachable
state satisfies, written down so that ``svmcheck prove`` can use them (docs/z3.md).

Each is an ordinary ``always`` property, so ``svmcheck check`` verifies it on every state it
reaches.  They are written with ``&``, ``|``, ``==`` and ``<=`` ("implies", on bools) rather
than ``and``/``or`` so that each clause is one formula for Z3, not a path split.
"""
from svmcheck import always, clause, one_of
from svmcheck.svm.state import FREE, NO, Cpte, Perm
from svmcheck.svm.topology import reached_frames


def present_pte(kind):
    """A PTE the CPU or hmm_range_fault can read through: not none, not a migration entry."""
    return (kind != Cpte.NONE) & (kind != Cpte.MIG)


def writable_pte(kind):
    """A PTE through which the CPU may write without a fault."""
    return (kind == Cpte.RW) | (kind == Cpte.DEV_RW)


def fault_kind_issued(m, g: int, kind):
    """A fault in flight is of an access kind GPU g issues (the clause the xe and kfd fault
    invariants share): one formula, ``|`` over the kinds, not a path per kind."""
    return one_of(kind, m.config.kinds_for(g))


def pfns_current(ok, s, start: int, end: int, pfns):
    """``ok`` and: hmm_range_fault's walk of [start, end) is what the CPU page table holds now
    -- one pfn per page, each the frame of a present (not migrating) PTE, writable only where
    the PTE is, and exactly where a device-private entry is.  What a range's dma_addr array
    (drm_gpusvm_get_pages) or a fault's walked pfns satisfy while no notifier has run since
    the walk: the walk reports each PTE's write bit, and only do_wp_page's in-place reuse of a
    system page changes a PTE's write bit without a notifier (it adds write)."""
    ok = ok & (len(pfns) == end - start)
    for p, (pf, wr) in zip(range(start, end), pfns):
        kind, f = s.pte[p]
        dev = (kind == Cpte.DEV_RO) | (kind == Cpte.DEV_RW)
        ok = ok & present_pte(kind) & (f == pf) & (wr <= writable_pte(kind)) \
            & (dev <= (wr == (kind == Cpte.DEV_RW)))
    return ok


@always
def frames_accounted(m, s):
    """Auxiliary: every frame's bookkeeping agrees with the CPU page tables.

    A frame's mapcount is the number of CPU PTEs (both processes) pointing at it; a free
    frame has no mapping, no allocation and no lock; a system PTE (RO, RW, migration entry)
    points at a system frame, a device-private one at a VRAM frame of an allocation of the
    GPU that owns the frame, a none PTE at no frame; a writable PTE's frame is mapped once;
    before fork the child's page table is empty; no address's latest write and no mapped
    frame's version is above the page's clock, and the fork-time clock is not either.
    Holds because every PTE change goes through ``set_pte`` (mm.py), which moves the
    mapcount with it, and frames are taken and freed only by ``take_frame``/``free_frame``
    (the folio refcount of mm/memory.c and the zdd of drm_pagemap.c); a migration entry
    replaces its own PTE in place (migrate_vma_setup: try_to_migrate keeps the page's
    mapcount until finalize).  ``do_wp_page`` makes a PTE writable only for a frame mapped
    once, and ``copy_page_range`` write-protects both sides of a shared one.  Needed by
    ``memory_safety`` (a frame nothing maps is free) and ``no_lost_data``.  Every write takes
    the next version of its page's clock (``write_version``) and migrations copy versions,
    so no version exceeds the clock; ``no_lost_data`` and ``cow_isolation`` need that
    after fork (``fork_clock`` is the clock then).
    """
    c = m.config
    n_sys, vp = c.sys_frames, c.vram_pages
    for a, (kind, f) in enumerate(s.pte):
        dev = (kind == Cpte.DEV_RO) | (kind == Cpte.DEV_RW)
        child = a >= c.pages     # copy_page_range fills the child's page table at fork
        ok = (((s.forked == False) & child) <= ((kind == Cpte.NONE) & (s.latest[a] == 0))) \
            & ((kind == Cpte.NONE) == (f == NO)) \
            & ((kind != Cpte.NONE) <= (f >= 0)) \
            & (dev <= (f >= n_sys)) & (((kind != Cpte.NONE) & (dev == False)) <= (f < n_sys)) \
            & (s.latest[a] <= s.clock[a % c.pages]) \
            & ((kind != Cpte.NONE) <= (s.fver[f] <= s.clock[a % c.pages]))
        if not ok:      # the kind is named only here: naming it fixes it, a path per kind
            return clause(False, "address {a}: a {k} PTE points at frame {f}", a=a,
                          k=Cpte(kind).name, f=f)
    for p in range(c.pages):
        if not clause(s.fork_clock[p] <= s.clock[p], "page {p}: fork-time clock {k} is "
                      "above the clock {n}", p=p, k=s.fork_clock[p], n=s.clock[p]):
            return False
    for f in range(len(s.fver)):
        users = sum((kind != Cpte.NONE) & (pf == f) for kind, pf in s.pte)
        writers = sum(writable_pte(kind) & (pf == f) for kind, pf in s.pte)
        free = s.fver[f] == FREE
        alloc = s.falloc[f]
        ok = (s.fmap[f] == users) & ((writers > 0) <= (users == 1)) \
            & (free <= ((alloc == NO) & (s.flock[f] == False)))
        if f < n_sys:
            ok = ok & (alloc == NO)
        else:
            o = (f - n_sys) // vp
            ok = ok & ((free == False) <= ((alloc >= o * vp) & (alloc < (o + 1) * vp)))
        if not clause(ok, "frame {f}: mapcount {n} for {u} PTEs, allocation {al}",
                      f=f, n=s.fmap[f], u=users, al=alloc):
            return False
    return True


@always
def gpu_ptes_in_valid_ranges(m, s):
    """Auxiliary: a GPU maps a page only inside one of its ranges whose pages are valid, and a
    valid range's dma_addr array is what the CPU page table holds.

    Each GPU's ranges are sorted, disjoint and inside the address window (drm_gpusvm's
    interval tree; ranges never split or grow); partially unmapped implies unmapped; a range
    that is not valid has no pfns and no devmem pages; a valid range is not unmapped, has one
    pfn per page, each the frame of a present (not migrating) CPU PTE, writable only where
    the PTE is, in system memory or in the VRAM of a device sharing the GPU's pgmap owner
    (hmm_range_fault faults other owners' device-private pages back to RAM); a GPU PTE maps a frame (with some permission) only in a valid range, that
    range's pfn for the page, writably only where the pfn is writable (in models with the
    HMM_PFN_WRITE check of issue 9: xe_pt_svm_pre_commit binds what the range holds), and a
    page outside every range is not mapped.  Holds because drm_gpusvm_get_pages publishes
    has_dma_mapping only when the notifier sequence has not moved since the hmm_range_fault
    walk (``stale``), every change of a mirrored CPU PTE's frame runs the notifier first
    (xe_svm_invalidate: zap the whole range and clear its flags), xe_pt_svm_pre_commit
    binds only after re-checking pages_valid under the notifier lock, and the garbage
    collector unbinds a range before removing it.  A migration to VRAM replaces its
    migration entries without a notifier (docs/fidelity.md item 17), but no valid range
    holds a migrating page: hmm_range_fault waits on migration entries and
    migrate_vma_setup's notifier came first.  Needed by ``coherence`` (with the fault
    handler's invariant: the staged pfns are the range's).
    """
    c = m.config
    P = c.pages
    for g in range(c.gpus):
        covered = set()
        prev_end = 0
        reach = reached_frames(c, g, len(s.fver))
        for r in s.ranges[g]:
            start, end = int(r.start), int(r.end)
            ok = (prev_end <= start) & (start < end) & (end <= P) \
                & (r.partial <= r.unmapped) \
                & ((r.valid == False) <= ((len(r.pfns) == 0) & (r.devmem == False)))
            if r.valid:
                ok = pfns_current(ok & (r.unmapped == False), s, start, end, r.pfns)
            for i, p in enumerate(range(start, end)):
                gf, perm = s.gpte[g * P + p]
                ok = ok & ((gf != NO) <= r.valid) & ((gf == NO) == (perm == Perm.NONE))
                if r.valid and i < len(r.pfns):     # the bind copied the range's pfns
                    pf, wr = r.pfns[i]
                    ok = ok & ((gf == NO) | (gf == pf)) & one_of(pf, reach)
                    if getattr(m, "pfn_write_check", False):
                        ok = ok & ((perm >= Perm.WRITE) <= wr)
            if not clause(ok, "GPU{g} range [{a},{b}): valid={v} unmapped={u} pfns={n} "
                          "disagrees with the page tables", g=g, a=start, b=end, v=r.valid,
                          u=r.unmapped, n=len(r.pfns)):
                return False
            covered.update(range(start, end))
            prev_end = end
        for p in range(P):
            if p in covered:
                continue
            gf, perm = s.gpte[g * P + p]
            if not clause((gf == NO) & (perm == Perm.NONE),
                          "GPU{g} maps page {p} outside its ranges", g=g, p=p):
                return False
    return True


def migration_locks_held(m, s, procs, windows, readers: int, cpu_label: str):
    """The clause shared by the models' lock invariants.  ``windows`` are the [start, end) of
    the GPU migrations between migrate_vma_setup and finalize, ``readers`` the GPU faults
    holding mmap_lock, ``cpu_label`` the CPU fault flow's label inside the pagemap's
    migrate_to_ram (do_swap_page runs it under mmap_lock with the fault page locked).

    ``mmap_readers`` counts both; a CPU fault there still has its PTE on the locked device
    page (every other migration trylocks and skips it); every migration entry sits in the
    parent's page table inside a window, on a locked system frame mapped once; a folio is
    locked exactly when a migration entry points at it or a CPU fault holds it."""
    c = m.config
    P = c.pages
    ok, held = True, []
    for mm in range(c.mms):
        label, loc = procs[f"cpu{mm}/fault"]
        if label == cpu_label:
            readers += 1
            for p in range(P):      # an implication per page: indexing by the page fixes it
                kind, f = s.pte[mm * P + p]
                ok = ok & ((loc["page"] == p) <= (((kind == Cpte.DEV_RO) | (kind == Cpte.DEV_RW))
                                                  & (f == loc["held"])))
            for h in held:      # do_swap_page waits for the folio lock
                ok = ok & (h != loc["held"])
            held.append(loc["held"])
    ok = ok & (s.mmap_readers == readers)
    for a, (kind, f) in enumerate(s.pte):
        inside = sum((lo <= a) & (a < hi) for lo, hi in windows) if a < P else 0
        ok = ok & ((kind == Cpte.MIG) <= ((inside > 0) & s.flock[f] & (s.fmap[f] == 1)))
    for f in range(len(s.flock)):
        why = False
        for kind, pf in s.pte:
            why = why | ((kind == Cpte.MIG) & (pf == f))
        for h in held:
            why = why | (h == f)
        ok = ok & (s.flock[f] == why)
    return ok


__all__ = ["fault_kind_issued", "frames_accounted", "gpu_ptes_in_valid_ranges",
           "migration_locks_held", "pfns_current", "present_pte", "writable_pte"]
