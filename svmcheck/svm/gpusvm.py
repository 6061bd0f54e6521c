"""drm_gpusvm: ranges, page collection and binding (drivers/gpu/drm/drm_gpusvm.c, xe_svm.c, xe_pt.c).

A GPU's ranges are a sorted tuple of :class:`~svmcheck.svm.state.Range`; they never overlap,
never split, and are destroyed only by the garbage collector after an UNMAP.
"""
from __future__ import annotations

from . import mm as cpu
from .migrate import allocation_frames, migrate_to_ram
from .mm import owner
from .notifier import ZAPPED
from .state import NO, Cpte, Perm, Range, World, tset
from .topology import Link, link


def range_at(w: World, g: int, page: int) -> Range | None:
    for r in w.ranges[g]:
        if r.start <= page < r.end:
            return r
    return None


def _put_range(w: World, g: int, old: Range | None, new: Range | None) -> World:
    rs = [r for r in w.ranges[g] if r is not old and r != old]
    if new is not None:
        rs.append(new)
    rs.sort()
    return w._replace(ranges=tset(w.ranges, g, tuple(rs)))


def update_range(w: World, g: int, old: Range, **changes) -> tuple[World, Range]:
    new = old._replace(**changes)
    return _put_range(w, g, old, new), new


def chunk_window(cfg, w: World, g: int, page: int, *, clip: bool = True):
    """drm_gpusvm_range_chunk_size(): the largest chunk (cfg.chunk_pages, cfg.chunk_sizes,
    then 1 page; Xe's fault_chunk_sizes are 2M, 64K, 4K) whose
    aligned window lies inside the CPU VMA and overlaps no existing range.  With
    ``clip=False`` the VMA bound is not applied (seed 000's unclipped window)."""
    vs, ve = cpu.vma_bounds(w, page)
    for size in sorted({cfg.chunk_pages, 1, *cfg.chunk_sizes}, reverse=True):
        s = page - page % size
        e = min(s + size, cfg.pages)
        if clip and (s < vs or e > ve):
            continue
        if size > 1 and any(r.start < e and s < r.end for r in w.ranges[g]):
            continue
        return s, e
    return None


def find_or_insert(cfg, w: World, g: int, page: int, *, write: bool, clip: bool = True):
    """drm_gpusvm_range_find_or_insert(): vma_lookup (no VMA: -ENOENT), a write fault on a VMA
    without VM_WRITE: -EPERM, an existing range containing the page is returned as is,
    otherwise a new range sized by chunk selection; migrate_devmem iff anonymous.
    Returns (world, range or None, error)."""
    if w.vma[page] == NO:
        return w, None, "-ENOENT"
    if write and not cpu.vma_writable(cfg, w, page):
        return w, None, "-EPERM"
    r = range_at(w, g, page)
    if r is not None:
        return w, r, None
    win = chunk_window(cfg, w, g, page, clip=clip)
    if win is None:
        return w, None, "-EINVAL"
    s, e = win
    r = Range(s, e, cpu.vma_anonymous(cfg, w, page), False, False, False, False, ())
    return _put_range(w, g, None, r), r, None


def collect_pages(cfg, w: World, g: int, r: Range, pfns, *, devmem_only: bool):
    """The notifier-locked half of drm_gpusvm_get_pages() (drm_gpusvm_dma_map_pages): an
    unmapped range gives -EFAULT; a moved notifier seq (read_retry) gives -EAGAIN (the caller
    loops to read_begin); then the pfns are walked **in order** and the first bad page decides:

    * a device page whose zdd (devmem allocation) differs from the previous page's — including
      a device page after a system page — is -EOPNOTSUPP (Xe does not set ctx.allow_mixed); a
      second pagemap is -EOPNOTSUPP; a device page this GPU cannot reach (no link:
      device_map returns DMA_MAPPING_ERROR) is -EFAULT;
    * a system page after a device page is -EOPNOTSUPP; a system page under devmem_only is
      -EFAULT.

    HMM_PFN_WRITE is *not* tested here (§2.3): the dma_addr array just records it.
    Returns (world, range, error)."""
    if r.unmapped:
        return w, r, "-EFAULT"
    if w.stale[g]:
        return w, r, "-EAGAIN"
    zdd, pagemap = NO, NO
    for i, (f, _) in enumerate(pfns):
        o = owner(cfg, f)
        if o >= 0:
            if i > 0 and zdd != w.falloc[f]:
                return w, r, "-EOPNOTSUPP"
            zdd = w.falloc[f]
            if pagemap != o:
                if pagemap != NO:
                    return w, r, "-EOPNOTSUPP"
                pagemap = o
            if link(cfg, g, o) == Link.NONE:
                return w, r, "-EFAULT"
        else:
            if pagemap != NO:
                return w, r, "-EOPNOTSUPP"
            if devmem_only:
                return w, r, "-EFAULT"
    w, r = update_range(w, g, r, valid=True, devmem=pagemap != NO, pfns=tuple(pfns))
    return w, r, None


def pages_valid(w: World, g: int, r: Range) -> bool:
    """drm_gpusvm_range_pages_valid(): has_dma_mapping || has_devmem_pages."""
    cur = range_at(w, g, r.start)
    return cur is not None and cur.start == r.start and cur.valid and not cur.unmapped


def bind(cfg, w: World, g: int, start: int, pfns, perm: Perm, *, pfn_write: bool) -> World:
    """xe_pt_update_ops_run() under the notifier lock: write GPU PTEs for every page of the
    range from its dma_addr array.  The write bit comes from the GPU VMA (``perm``), not from
    HMM_PFN_WRITE — unless ``pfn_write`` models the fix of issue 9 (a page collected without
    HMM_PFN_WRITE is bound read-only).  ``pfns`` are the entries staged from the range's
    dma_addr array by xe_pt_stage_bind: stale if an invalidation came after staging."""
    gpte = w.gpte
    for p, (f, writable) in zip(range(start, start + len(pfns)), pfns):
        pp = perm if (writable or not pfn_write) else Perm.READ
        gpte = tset(gpte, g * cfg.pages + p, (f, pp))
    return w._replace(gpte=gpte)


def range_evict(cfg, w: World, g: int, r: Range):
    """drm_gpusvm_range_evict(): hmm_range_fault with dev_private_owner = NULL over the range,
    so every device-private page in it goes through migrate_to_ram — whole allocations.
    Returns (world, error): -EBUSY models the 1 s -ETIME timeout on contended pages."""
    allocs = {w.falloc[w.pte[p][1]] for p in range(r.start, r.end)
              if w.pte[p][0] in (Cpte.DEV_RO, Cpte.DEV_RW)}
    frames = [f for a in sorted(allocs) for f in allocation_frames(cfg, w, a)]
    w, _, skipped = migrate_to_ram(cfg, w, frames)
    return w, ("-EBUSY" if skipped else None)


def garbage_collector(cfg, w: World, g: int) -> World:
    """xe_svm_garbage_collector(): for each range an UNMAP hit, unbind it and
    drm_gpusvm_range_remove() it; a partially unmapped range first has its remaining
    device pages migrated back to RAM (DOC "Partial Unmapping of Ranges")."""
    for r in [r for r in w.ranges[g] if r.unmapped]:
        if r.partial:
            w, _ = range_evict(cfg, w, g, r)
        gpte = w.gpte
        for p in range(r.start, r.end):
            gpte = tset(gpte, g * cfg.pages + p, ZAPPED)
        w = _put_range(w._replace(gpte=gpte), g, r, None)
    return w


def gpu_can(w: World, cfg, g: int, page: int, kind) -> bool:
    """Whether GPU g's PTE for page allows the access without a fault."""
    f, perm = w.gpte[g * cfg.pages + page]
    return f != NO and perm >= kind
