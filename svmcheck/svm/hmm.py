"""hmm_range_fault() (mm/hmm.c), faulting and non-faulting.

Per page the walk reports (frame, writable) or None (not valid), and with REQ_FAULT it first
makes the page present: a none PTE is populated (do_anonymous_page), a write request on a
read-only page takes a write fault (do_wp_page: COW break), a device-private page of another
owner is faulted back to RAM (do_swap_page -> migrate_to_ram; "mm/hmm: fault non-owner device
private entries").  An own-owner device-private entry is reported VALID (WRITE only if the
entry is writable) *without* evaluating hmm_pte_need_fault (hmm_vma_handle_pte), so
REQ_WRITE is not honoured for it unless ``cfg.hmm_req_write_faults_devpriv`` models a kernel
that faults it.  A fault that changes the PTEs fires an invalidation on the caller's own
notifier, and hmm_range_fault then returns -EBUSY: the caller must loop to read_begin
(fidelity item 12).  A migration entry makes the walk wait: the caller's guard waits.
"""
from __future__ import annotations

from typing import NamedTuple

from . import mm as cpu
from .migrate import allocation_frames, migrate_to_ram
from .mm import owner
from .state import NO, Cpte, World
from .topology import same_owner


class HmmResult(NamedTuple):
    world: World
    err: str | None           # None, "-EBUSY", "-EFAULT", "-EPERM", "-ENOMEM"
    pfns: tuple               # per page (frame, writable) or None


def must_wait(w: World, pages) -> bool:
    """A migration entry in the window: hmm_range_fault waits (migration_entry_wait)."""
    return any(w.pte[p][0] == Cpte.MIG for p in pages)


def hmm_range_fault(cfg, w: World, g: int, pages, *, fault: bool, write: bool,
                    owner_none: bool = False) -> HmmResult:
    """Walk [pages] for GPU g.  ``owner_none``: dev_private_owner = NULL, so every
    device-private page looks foreign and is faulted to RAM (drm_gpusvm_range_evict).

    Per page, in walk order (mm/hmm.c hmm_vma_walk_hole / hmm_vma_handle_pte / hmm_do_fault):
    no VMA: -EFAULT if a fault is requested, else an ERROR pfn (not VALID); a migration entry:
    not VALID without a fault, otherwise migration_entry_wait and re-walk (reported as
    -EBUSY: callers guard with :func:`must_wait` first); -EPERM only when a *write fault* is
    actually needed on a VMA without VM_WRITE (hmm_do_fault), so an own-owner read-only
    device-private entry in a read-only VMA is still reported VALID."""
    pfns = []
    moved = False
    for p in pages:
        if w.vma[p] == NO:
            if fault:
                return HmmResult(w, "-EFAULT", ())
            pfns.append(None)                   # HMM_PFN_ERROR
            continue
        kind, f = w.pte[p]
        if kind == Cpte.MIG:
            if fault:
                return HmmResult(w, "-EBUSY", ())
            pfns.append(None)
            continue
        writable_vma = cpu.vma_writable(cfg, w, p)
        if kind in (Cpte.DEV_RO, Cpte.DEV_RW):
            mine = not owner_none and same_owner(cfg, g, owner(cfg, f))
            honour = (fault and write and kind == Cpte.DEV_RO
                      and cfg.hmm_req_write_faults_devpriv)
            if mine and not honour:
                pfns.append((f, kind == Cpte.DEV_RW))
                continue
            if not fault:
                pfns.append(None)
                continue
            if write and not writable_vma:
                return HmmResult(w, "-EPERM", ())
            w, n, _ = migrate_to_ram(cfg, w, allocation_frames(cfg, w, w.falloc[f]))
            moved = moved or n > 0
            kind, f = w.pte[p]
            if kind in (Cpte.DEV_RO, Cpte.DEV_RW):      # the page lock was contended
                return HmmResult(w, "-EBUSY", ())
        if kind == Cpte.NONE:
            if not fault:
                pfns.append(None)
                continue
            if write and not writable_vma:
                return HmmResult(w, "-EPERM", ())
            w, err = cpu.do_anonymous_page(cfg, w, p, p)
            if err:
                return HmmResult(w, err, ())
            kind, f = w.pte[p]
        if kind == Cpte.RO and fault and write:
            if not writable_vma:
                return HmmResult(w, "-EPERM", ())
            w, err = cpu.do_wp_page(cfg, w, 0, p)
            if err:
                return HmmResult(w, err, ())
            moved = moved or w.pte[p][1] != f
            kind, f = w.pte[p]
        pfns.append((f, kind == Cpte.RW))
    if moved:
        return HmmResult(w, "-EBUSY", ())
    return HmmResult(w, None, tuple(pfns))
