"""The world: an immutable, page-granular picture of one process tree and its GPUs.

Addresses are ``a = mm * pages + page``.  Physical frames are numbered: system frames
``0 .. sys_frames-1``, then each GPU's device-private frames (``vram_pages`` per GPU).  A VRAM
allocation (a drm_pagemap_devmem / xe_bo, refcounted through its zdd) is ``g * vram_pages + k``.

Everything is tuples of ints and bools so that states hash fast, compare cheaply and can be
run on Z3 values.
"""
from __future__ import annotations

from enum import IntEnum
from typing import NamedTuple

FREE = -1          # fver[f] of a free frame
NO = -1            # no frame / no VMA / no allocation


class Cpte(IntEnum):
    """A CPU page-table entry (protocol.md §1.1)."""
    NONE = 0       # never touched or zapped
    RO = 1         # present, read-only (COW-shared after fork, or a read-only VMA)
    RW = 2         # present, writable
    DEV_RO = 3     # readable device-private swap entry
    DEV_RW = 4     # writable device-private swap entry
    MIG = 5        # migration entry: a migrate_vma is moving the page (frame = source)


class Perm(IntEnum):
    """What a GPU PTE allows."""
    NONE = 0
    READ = 1
    WRITE = 2
    ATOMIC = 3


class Access(IntEnum):
    READ = 1
    WRITE = 2
    ATOMIC = 3


class Event(IntEnum):
    """mmu_notifier_range event (include/linux/mmu_notifier.h)."""
    UNMAP = 0
    CLEAR = 1
    PROTECTION_PAGE = 2
    MIGRATE = 3


class Range(NamedTuple):
    """A drm_gpusvm_range of one GPU: pages [start, end) and its drm_gpusvm_pages flags."""
    start: int
    end: int
    migrate_devmem: bool     # set at creation: anonymous VMA
    valid: bool              # has_dma_mapping (cleared by any overlapping invalidation)
    devmem: bool             # has_devmem_pages
    unmapped: bool           # an UNMAP event hit it: garbage-collect
    partial: bool            # ... and covered only part of it
    pfns: tuple              # per page (frame, writable) collected by get_pages, or ()


class World(NamedTuple):
    vma: tuple        # vma[page]: VMA id, NO after munmap (both mms share the VMA layout)
    pte: tuple        # pte[a] = (Cpte, frame)
    latest: tuple     # latest[a]: version of the last write to address a (0 = never written)
    clock: tuple      # clock[page]: versions handed out so far (fresh per write, all mms)
    fver: tuple       # fver[f]: version held by frame f, FREE if free
    fmap: tuple       # fmap[f]: CPU PTEs pointing at f (mapcount)
    falloc: tuple     # falloc[f]: VRAM allocation of a device frame, NO for system frames
    flock: tuple      # flock[f]: folio lock held
    arefs: tuple      # arefs[alloc]: zdd references (device pages using the allocation)
    gpte: tuple       # gpte[g*pages+page] = (frame or NO, Perm)
    ranges: tuple     # ranges[g]: sorted tuple of Range
    stale: tuple      # stale[g]: GPU g's notifier seq moved since its last read_begin
    mmap_readers: int # mmap_lock read holders (migrations in flight); munmap/fork need 0
    forked: bool
    fork_clock: tuple # clock[page] at fork: versions above it were written after fork
    budget: tuple     # remaining operations: (gpu accesses per GPU..., cpu writes, munmaps, forks, evictions, the model's extra_budget()...)


def tset(t: tuple, i: int, v) -> tuple:
    """``t`` with item ``i`` replaced (tuples are immutable)."""
    return t[:i] + (v,) + t[i + 1:]


def tadd(t: tuple, i: int, d: int) -> tuple:
    return t[:i] + (t[i] + d,) + t[i + 1:]
