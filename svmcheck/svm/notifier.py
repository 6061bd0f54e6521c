"""MMU interval notifiers as drm_gpusvm / Xe use them (protocol.md §2.0, §2.9).

One notifier per GPU covers the whole modelled address space (Xe's notifier_size is 512M or
more), so *any* invalidation of the mirrored mm moves that GPU's sequence: ``stale[g]`` is
"mmu_interval_read_retry would return true for the seq read at the last read_begin".
"""
from __future__ import annotations

from .state import NO, Event, Perm, World

ZAPPED = (NO, Perm.NONE)


def invalidate(cfg, w: World, mm: int, pages, event: Event) -> World:
    """drm_gpusvm_notifier_invalidate() -> xe_svm_invalidate() (drivers/gpu/drm/drm_gpusvm.c,
    drivers/gpu/drm/xe/xe_svm.c), run from mmu_notifier_invalidate_range_start.

    Under notifier_lock (write): mmu_interval_set_seq (every GPU's notifier: ``stale``), then
    for each overlapping range zap the GPU PTEs of the *whole* range, flush the TLB (atomic
    here), drm_gpusvm_range_unmap_pages (clear has_dma_mapping / has_devmem_pages), and on
    MMU_NOTIFY_UNMAP mark the range unmapped (+partial) for the garbage collector.
    Abstraction: the child of a fork has no GPU, so only mm 0 is mirrored.
    """
    if mm != 0:
        return w
    pages = set(pages)
    gpte = list(w.gpte)
    ranges = list(w.ranges)
    P = cfg.pages
    for g in range(cfg.gpus):
        rs = []
        for r in ranges[g]:
            hit = pages.intersection(range(r.start, r.end))
            if hit:
                for p in range(r.start, r.end):
                    gpte[g * P + p] = ZAPPED
                r = r._replace(valid=False, devmem=False, pfns=())
                if event == Event.UNMAP:
                    r = r._replace(unmapped=True, partial=len(hit) < r.end - r.start)
            rs.append(r)
        ranges[g] = tuple(rs)
    return w._replace(gpte=tuple(gpte), ranges=tuple(ranges), stale=(True,) * cfg.gpus)
