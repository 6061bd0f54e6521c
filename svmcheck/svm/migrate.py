"""migrate_vma_* and the migrations built on it (mm/migrate_device.c, drivers/gpu/drm/drm_pagemap.c).

To VRAM, in two atomic steps with the kernel's interleaving point between them (the copy):
``setup_to_devmem`` (migrate_vma_setup: MIGRATE notifier over the whole window, collect,
trylock, install migration entries) and ``finalize_to_devmem`` (copy, migrate_vma_pages,
migrate_vma_finalize).  Holes stay ``pte_none`` in between, so a CPU fault can fill one and
make migrate_vma_insert_page drop it (a partial migration).

To RAM, ``migrate_to_ram`` is one atomic step over a set of device frames: the source pages
are locked for its whole duration in the kernel, so no other actor can observe the middle.
"""
from __future__ import annotations

from .mm import (alloc_sys_frame, free_frame, owner, set_pte, take_frame, vma_anonymous,
                 vma_writable)
from .notifier import invalidate
from .state import FREE, NO, Cpte, Event, World, tadd, tset

_SYS = (Cpte.RO, Cpte.RW)
_DEV = (Cpte.DEV_RO, Cpte.DEV_RW)


def addresses_of(cfg, w: World, f: int) -> list[int]:
    """Every CPU PTE (address) pointing at frame f — the rmap walk of try_to_migrate."""
    return [a for a, (kind, g) in enumerate(w.pte) if kind != Cpte.NONE and g == f]


def migrate_to_ram(cfg, w: World, frames, held: int = NO):
    """Move device frames to system frames: the body shared by __drm_pagemap_migrate_to_ram
    (CPU fault), drm_gpusvm_range_evict (via hmm_range_fault with owner NULL),
    drm_pagemap_evict_to_ram (VRAM pressure) and hmm_range_fault's non-owner rule.

    migrate_vma_setup / migrate_device_pfns: MMU_NOTIFY_MIGRATE over every address mapping
    the frames (both processes after fork: try_to_migrate), folio *trylock* of each frame —
    a frame locked by someone else is skipped, except ``held``, the fault page whose lock the
    caller (do_swap_page) already holds; then allocate system frames, copy, finalize: a
    writable device entry becomes a writable PTE, a readable one read-only.
    Returns (world, moved, skipped); -ENOMEM is reported as skipped frames.
    """
    moved = skipped = 0
    for f in sorted(frames):
        if w.fver[f] == FREE:
            continue
        if w.flock[f] and f != held:
            skipped += 1
            continue
        nf = alloc_sys_frame(cfg, w)
        if nf == NO:
            skipped += 1
            continue
        addrs = addresses_of(cfg, w, f)
        for a in addrs:
            w = invalidate(cfg, w, a // cfg.pages, (a % cfg.pages,), Event.MIGRATE)
        w = take_frame(w, nf, w.fver[f])
        for a in addrs:
            kind = w.pte[a][0]
            w = set_pte(w, a, Cpte.RW if kind == Cpte.DEV_RW else Cpte.RO, nf)
        w = free_frame(w, f)
        moved += 1
    return w, moved, skipped


def allocation_frames(cfg, w: World, alloc: int) -> list[int]:
    return [f for f in range(len(w.fver)) if w.falloc[f] == alloc and w.fver[f] != FREE]


# ---- to device memory ---------------------------------------------------------------------

def setup_to_devmem(cfg, w: World, pages, skip=frozenset()):
    """migrate_vma_setup() with MIGRATE_VMA_SELECT_SYSTEM (drm_pagemap_migrate_to_devmem):
    the MIGRATE invalidation covers the whole window *before* anything is known to move; then
    per page: a hole in an anonymous VMA is collected (no page yet), an exclusive present
    system page is trylocked and replaced by a migration entry; device-private pages (ours or
    anyone's: SELECT_DEVICE_PRIVATE is not passed), COW-shared pages (mapcount > 1, not
    anon-exclusive), locked pages and pages in ``skip`` (a racing GUP pin or extra reference,
    chosen by the caller) are not collected.
    Returns (world, collected pages tuple, device-private page count).
    """
    w = invalidate(cfg, w, 0, pages, Event.MIGRATE)
    got, on_device = [], 0
    for p in pages:
        kind, f = w.pte[p]
        if kind in _DEV:
            on_device += 1
        elif p in skip:
            continue
        elif kind == Cpte.NONE:
            if vma_anonymous(cfg, w, p):
                got.append(p)
        elif kind in _SYS and w.fmap[f] == 1 and not w.flock[f]:
            w = w._replace(pte=tset(w.pte, p, (Cpte.MIG, f)), flock=tset(w.flock, f, True))
            got.append(p)
    return w, tuple(got), on_device


def abort_to_devmem(cfg, w: World, collected) -> World:
    """migrate_vma_finalize() with no destination: remove_migration_ptes restores the source."""
    for p in collected:
        kind, f = w.pte[p]
        if kind == Cpte.MIG:
            back = Cpte.RW if vma_writable(cfg, w, p) else Cpte.RO
            w = w._replace(pte=tset(w.pte, p, (back, f)), flock=tset(w.flock, f, False))
    return w


def finalize_to_devmem(cfg, w: World, collected, dst_frames, alloc: int):
    """The copy (xe_svm_copy, synchronous), migrate_vma_pages() and migrate_vma_finalize()
    (mm/migrate_device.c __migrate_device_pages, migrate_vma_insert_page,
    __migrate_device_finalize):

    * a collected hole gets its zeroed VRAM page only if the PTE is still none
      (migrate_vma_insert_page), otherwise it is dropped (MIGRATE cleared: the CPU won the
      race);
    * a migration entry is switched to a device-private entry (writable iff VM_WRITE) and the
      system frame freed — unless the VMA is not anonymous: "only support anonymous memory
      migrating to device private" clears MIGRATE and finalize restores the source.
    Each device page takes a zdd reference (arefs).
    Abstraction: the MMU_NOTIFY_MIGRATE range that __migrate_device_pages opens before it
    inserts into holes (first hole to window end) is not fired here; setup's MIGRATE already
    zapped the window, so only mappings made in between (other GPUs' binds of uncollected or
    CPU-filled pages, which stay coherent) and their seqs escape it (docs/fidelity.md, item 17).
    Returns (world, moved pages tuple); unused destination frames stay free.
    """
    moved = []
    for p, d in zip(collected, dst_frames):
        kind, f = w.pte[p]
        dev = Cpte.DEV_RW if vma_writable(cfg, w, p) else Cpte.DEV_RO
        if kind == Cpte.NONE:
            w = take_frame(w, d, 0, alloc)
        elif kind == Cpte.MIG and not vma_anonymous(cfg, w, p):
            w = abort_to_devmem(cfg, w, (p,))
            continue
        elif kind == Cpte.MIG:
            w = take_frame(w, d, w.fver[f], alloc)
            w = w._replace(flock=tset(w.flock, f, False), pte=tset(w.pte, p, (Cpte.RW, f)))
        else:
            continue
        w = w._replace(arefs=tadd(w.arefs, alloc, +1))
        w = set_pte(w, p, dev, d)
        if kind == Cpte.MIG and w.fmap[f] == 0:
            w = free_frame(w, f)
        moved.append(p)
    return w, tuple(moved)


def owners_of(cfg, w: World, pages) -> set:
    """Which memories currently hold the pages (-1 system) — a non-faulting placement scan."""
    return {owner(cfg, w.pte[p][1]) for p in pages if w.pte[p][0] != Cpte.NONE}
