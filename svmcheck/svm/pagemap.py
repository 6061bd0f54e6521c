"""drm_pagemap device memory: VRAM allocations refcounted per page through the zdd.

An allocation (drm_pagemap_devmem embedded in an xe_bo; seed 003's "free-floating VRAM BO")
lives while any device page references it: ``arefs[alloc]`` counts them and the frames carry
``falloc``.  It is sized to the migrated range; it is freed when its last page leaves
(drm_pagemap_zdd_destroy -> devmem_release), not when the GPU range goes away.
"""
from __future__ import annotations

from .migrate import allocation_frames, migrate_to_ram
from .state import FREE, NO, World


def device_frames(cfg, g: int) -> range:
    base = cfg.sys_frames + g * cfg.vram_pages
    return range(base, base + cfg.vram_pages)


def free_device_frames(cfg, w: World, g: int) -> list[int]:
    return [f for f in device_frames(cfg, g) if w.fver[f] == FREE]


def free_alloc_slot(cfg, w: World, g: int) -> int:
    for k in range(cfg.vram_pages):
        a = g * cfg.vram_pages + k
        if w.arefs[a] == 0:
            return a
    return NO


def live_allocations(cfg, w: World, g: int) -> list[int]:
    return [g * cfg.vram_pages + k for k in range(cfg.vram_pages)
            if w.arefs[g * cfg.vram_pages + k] > 0]


def evict_to_ram(cfg, w: World, alloc: int):
    """drm_pagemap_evict_to_ram() (drivers/gpu/drm/drm_pagemap.c), from TTM eviction
    (xe_svm_bo_evict): by pfn, no mmap lock, trylock each device page (migrate_device_pfns);
    it succeeds only when every page left (``detached``).  The kernel's three passes are
    folded into one: a page that stays locked across them is the -EBUSY case.
    Returns (world, error or None)."""
    w, moved, skipped = migrate_to_ram(cfg, w, allocation_frames(cfg, w, alloc))
    return w, ("-EBUSY" if skipped else None)


def alloc_devmem(cfg, w: World, g: int, npages: int):
    """xe_bo_create_locked() for drm_pagemap_populate_mm: a VRAM allocation of ``npages``.
    Under pressure TTM evicts other allocations of this GPU (lowest first; an eviction that
    fails with -EBUSY is skipped); if room cannot be made: -ENOMEM.
    Returns (world, alloc id or NO, frames)."""
    for victim in [NO] + live_allocations(cfg, w, g):
        if victim != NO:
            w, _ = evict_to_ram(cfg, w, victim)
        frames = free_device_frames(cfg, w, g)
        slot = free_alloc_slot(cfg, w, g)
        if len(frames) >= npages and slot != NO:
            return w, slot, tuple(frames[:npages])
    return w, NO, ()
