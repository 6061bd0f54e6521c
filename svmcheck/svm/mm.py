"""Core-mm CPU side: frames, page faults, copy-on-write, munmap and fork (mm/memory.c, mm/mmap.c).

Each function returns a new World; none mutates.  Device-private CPU faults are in
``migrate.migrate_to_ram`` (do_swap_page hands them to the pagemap).
"""
from __future__ import annotations

from .notifier import invalidate
from .state import FREE, NO, Cpte, Event, World, tadd, tset


# ---- frames -----------------------------------------------------------------------------

def owner(cfg, f: int) -> int:
    """The GPU whose VRAM holds frame f, or -1 for a system frame."""
    # compared bank by bank rather than divided: on prove's symbolic state a division fixes
    # f to each of its values, a comparison only splits f's values by owner
    if f < cfg.sys_frames:
        return -1
    for g in range(cfg.gpus):
        if f < cfg.sys_frames + (g + 1) * cfg.vram_pages:
            return g
    return (f - cfg.sys_frames) // cfg.vram_pages


def alloc_sys_frame(cfg, w: World):
    """alloc_page / vma_alloc_folio: the lowest free system frame, or NO (-ENOMEM)."""
    for f in range(cfg.sys_frames):
        if w.fver[f] == FREE:
            return f
    return NO


def take_frame(w: World, f: int, version: int, alloc: int = NO) -> World:
    return w._replace(fver=tset(w.fver, f, version), fmap=tset(w.fmap, f, 0),
                      falloc=tset(w.falloc, f, alloc), flock=tset(w.flock, f, False))


def free_frame(w: World, f: int) -> World:
    """Last reference gone: free the frame; a device frame drops its zdd reference
    (drm_pagemap_folio_free -> drm_pagemap_zdd_put)."""
    a = w.falloc[f]
    if a != NO:
        w = w._replace(arefs=tadd(w.arefs, a, -1))
    return w._replace(fver=tset(w.fver, f, FREE), fmap=tset(w.fmap, f, 0),
                      falloc=tset(w.falloc, f, NO), flock=tset(w.flock, f, False))


def set_pte(w: World, a: int, kind: Cpte, f: int) -> World:
    """Point CPU PTE a at (kind, f), keeping frame mapcounts exact."""
    old_kind, old_f = w.pte[a]
    fmap = w.fmap
    if old_kind != Cpte.NONE:
        fmap = tadd(fmap, old_f, -1)
    if kind != Cpte.NONE:
        fmap = tadd(fmap, f, +1)
    return w._replace(pte=tset(w.pte, a, (kind, f)), fmap=fmap)


def unref(w: World, f: int) -> World:
    """Free ``f`` if no CPU PTE maps it any more."""
    return free_frame(w, f) if w.fver[f] != FREE and w.fmap[f] == 0 else w


# ---- VMAs -------------------------------------------------------------------------------

def vma_kind(cfg, vid: int) -> str:
    """'a' anonymous writable, 'r' anonymous read-only, 'f' file-backed (never migrated)."""
    return cfg.vma_kinds[vid]


def vma_writable(cfg, w: World, page: int) -> bool:
    v = w.vma[page]
    return v != NO and vma_kind(cfg, v) != "r"


def vma_anonymous(cfg, w: World, page: int) -> bool:
    v = w.vma[page]
    return v != NO and vma_kind(cfg, v) != "f"


def vma_bounds(w: World, page: int) -> tuple[int, int]:
    """[start, end) of the VMA containing page (vma_lookup)."""
    v = w.vma[page]
    s = page
    while s > 0 and w.vma[s - 1] == v:
        s -= 1
    e = page + 1
    while e < len(w.vma) and w.vma[e] == v:
        e += 1
    return s, e


# ---- CPU faults and accesses -------------------------------------------------------------

def do_anonymous_page(cfg, w: World, a: int, page: int):
    """do_anonymous_page() / do_fault() (mm/memory.c): populate a none PTE with a zeroed
    system frame.  Returns (world, error)."""
    f = alloc_sys_frame(cfg, w)
    if f == NO:
        return w, "-ENOMEM"
    w = take_frame(w, f, 0)
    kind = Cpte.RW if vma_writable(cfg, w, page) else Cpte.RO
    return set_pte(w, a, kind, f), None


def do_wp_page(cfg, w: World, mm: int, page: int):
    """do_wp_page() (mm/memory.c): a write to a read-only present page.  A frame mapped
    elsewhere too (COW after fork) is copied — an MMU_NOTIFY_CLEAR invalidation for the page,
    because the PTE changes frame; an exclusive one is reused in place.  (world, error)."""
    a = mm * cfg.pages + page
    _, f = w.pte[a]
    if w.fmap[f] <= 1:
        return set_pte(w, a, Cpte.RW, f), None
    nf = alloc_sys_frame(cfg, w)
    if nf == NO:
        return w, "-ENOMEM"
    w = invalidate(cfg, w, mm, (page,), Event.CLEAR)
    w = take_frame(w, nf, w.fver[f])
    return set_pte(w, a, Cpte.RW, nf), None


def write_version(cfg, w: World, mm: int, page: int, f: int) -> World:
    """Store a fresh version into frame f as the latest data of (mm, page)."""
    v = w.clock[page] + 1
    return w._replace(clock=tset(w.clock, page, v), fver=tset(w.fver, f, v),
                      latest=tset(w.latest, mm * cfg.pages + page, v))


# ---- munmap and fork ---------------------------------------------------------------------

def munmap(cfg, w: World, pages) -> World:
    """__do_munmap() -> unmap_region(): MMU_NOTIFY_UNMAP over the pages (every mm), zap the
    CPU PTEs, drop the frames (a device frame's last put frees it and drops its zdd
    reference), remove the VMA.  Both processes lose the range: fork children share the
    layout in this model, so munmap is modelled on the parent and applied to both."""
    for mm in range(cfg.mms):
        w = invalidate(cfg, w, mm, pages, Event.UNMAP)
    vma = w.vma
    for page in pages:
        for mm in range(cfg.mms):
            a = mm * cfg.pages + page
            kind, f = w.pte[a]
            if kind != Cpte.NONE:
                w = unref(set_pte(w, a, Cpte.NONE, NO), f)
            w = w._replace(latest=tset(w.latest, a, 0))
        vma = tset(vma, page, NO)
    return w._replace(vma=vma)


def fork(cfg, w: World) -> World:
    """copy_page_range() (mm/memory.c) for a COW VMA: one MMU_NOTIFY_PROTECTION_PAGE over the
    source VMA first, then per PTE: a writable present page is write-protected in both
    (copy_present_pte); a writable device-private entry is rewritten readable in the parent
    and the child gets the same entry (copy_nonpresent_pte: refcount and mapcount raised, data
    stays in VRAM, no migration).  Child addresses start with the parent's data."""
    P = cfg.pages
    pages = [p for p in range(P) if w.vma[p] != NO]
    w = invalidate(cfg, w, 0, pages, Event.PROTECTION_PAGE)
    for p in pages:
        kind, f = w.pte[p]
        if kind == Cpte.NONE:
            continue
        shared = {Cpte.RW: Cpte.RO, Cpte.RO: Cpte.RO, Cpte.DEV_RW: Cpte.DEV_RO,
                  Cpte.DEV_RO: Cpte.DEV_RO}[kind]
        # same frame: the parent's mapcount is unchanged; the child's page table is new
        # (forks <= 1), so its PTE is written, not replaced -- set_pte would look at an old
        # child entry that cannot exist, a case split per frame for the symbolic encoding
        w = w._replace(pte=tset(tset(w.pte, p, (shared, f)), P + p, (shared, f)),
                       fmap=tadd(w.fmap, f, +1),
                       latest=tset(w.latest, P + p, w.latest[p]))
    return w._replace(forked=True, fork_clock=w.clock)
