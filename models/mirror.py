"""mirror: on-demand mirroring of the whole CPU address space in chunks, with holes (seed 001).

Seed 001 (Thomas Hellström, dri-devel, 29 Feb 2024): "an augmented userptr (A..B -> C..D
mapping) which is internally sparsely populated in chunks.  KMD manages the population using
gpu pagefaults.  We acknowledge that some parts of this mirror will not have a valid CPU
mapping.  That is, no vma so a gpu page-fault that resolves to such a mirror address will
cause an error."  Christian König's answer it replies to: "you can perfectly mirror on demand
... work with large chunks created on demand".

The fault flow is xe's (``models/xe.py``, drm_gpusvm + Xe); this file only chooses a world
that exercises the mirror's edges and names the outcomes that prove they were reached:

* a layout with a hole (``aa-a``: page 2 has no VMA), GPUs faulting on *every* page (the
  mirror covers the whole address space, so a GPU can touch the hole);
* chunked ranges (``chunk_pages=2``: the 2-page chunk [0,2) next to a 1-page range at 3,
  because the chunk [2,4) would cover the hole);
* one single-page munmap that may land while a fault on that chunk is in flight, making
  the range partially unmapped (protocol.md §2.11).

Sound ``mirror``: a GPU fault on the hole fails cleanly with -ENOENT in
drm_gpusvm_range_find_or_insert (vma_lookup) and nothing is created, populated or mapped
there; a munmap racing a fault is caught by the UNMAP notifier (zap, ``unmapped`` flag), by
get_pages' unmapped / read_retry check and the bind's pages_valid re-check (-EFAULT /
-EAGAIN, retry), and by the garbage collector on the retry, which removes the partially
unmapped chunk so the next find_or_insert builds a smaller, VMA-clipped one.

Broken ``mirror-no-vma-check`` (one switch, ``vma_lookup = False``): the fault handler does
not look the CPU VMA up for the chunk — find_or_insert makes an aligned chunk range without
vma_lookup and without clipping it to the VMA, and the page collection maps whatever the
walk finds, populating a page where the process has none — so ``vma_respect`` fails.
"""
from __future__ import annotations

from models.xe import Xe, XeConfig
from svmcheck import param, sometimes, sometimes_step
from svmcheck.svm import gpusvm
from svmcheck.svm import mm as cpu
from svmcheck.svm.config import SvmConfig
from svmcheck.svm.hmm import hmm_range_fault, must_wait
from svmcheck.svm.state import NO, Access, Cpte, Range, World, tset

UNMAPPED = "(range unmapped)"


class MirrorConfig(XeConfig):
    gpus: int = param(1, "GPUs mirroring the process", min=1, max=3)
    pages: int = param(4, "virtual pages in the modelled address window", min=1, max=6)
    vma_layout: str = param("aa-a", "per page VMA letters (see xe): page 2 is a hole")
    chunk_pages: int = param(2, "largest range chunk in pages (Xe: 2M; then 4K = 1 page)",
                             min=1, max=8)
    gpu_accesses: int = param(1, "accesses each GPU issues", min=0, max=4)
    gpu_kinds: str = param("arw", "access kinds each GPU issues (see xe)")
    gpu_pages: str = param("", "pages GPUs touch (empty: every page, holes included)")
    cpu_writes: int = param(0, "CPU writes in total", min=0, max=4)
    cpu_reads: bool = param(True, "the CPU reads (and so faults device pages back)")
    munmaps: int = param(1, "single-page munmaps", min=0, max=2)


class Mirror(Xe):
    """xe mirroring a whole address space with holes, in chunks, under munmap (seed 001, sound)."""
    name = "mirror"
    Config = MirrorConfig

    vma_lookup = True     # find_or_insert looks the CPU VMA up (-ENOENT) and clips the chunk

    # ---- the fault flow: xe's labels, with the munmap race named in their outcomes --------
    def _unmapped_outcome(self, s: World, me, res):
        """Name an -EFAULT / -EAGAIN caused by an UNMAP that hit this fault's range while the
        fault was in flight (the range is still in the tree, flagged for the GC)."""
        if res is None:
            return None
        r = self._range(s, me)
        if (r is None or not r.unmapped or res.outcome is None
                or not any(e in res.outcome for e in ("-EFAULT", "-EAGAIN"))):
            return res
        return res._replace(outcome=f"{res.outcome} {UNMAPPED}")

    def drm_gpusvm_get_pages(self, s: World, me):
        """drm_gpusvm_get_pages() (drivers/gpu/drm/drm_gpusvm.c): read_begin, then
        hmm_range_fault() over the range; a page without a VMA (munmapped under the fault)
        is -EFAULT and the fault handler retries, running the GC first."""
        if self.vma_lookup:
            return self._unmapped_outcome(s, me, super().drm_gpusvm_get_pages(s, me))
        return self._get_pages_unchecked(s, me)

    def drm_gpusvm_get_pages_map(self, s: World, me):
        """The notifier-locked half of drm_gpusvm_get_pages(): a range an UNMAP hit is
        -EFAULT (flags.unmapped), a moved seq is -EAGAIN (read_retry); see xe."""
        return self._unmapped_outcome(s, me, super().drm_gpusvm_get_pages_map(s, me))

    def xe_pt_stage_bind(self, s: World, me):
        """xe_pt_stage_bind() (drivers/gpu/drm/xe/xe_pt.c): pages_valid under notifier_lock,
        else -EAGAIN and the whole fault is retried; see xe."""
        return self._unmapped_outcome(s, me, super().xe_pt_stage_bind(s, me))

    def xe_pt_svm_pre_commit(self, s: World, me):
        """xe_pt_svm_userptr_pre_commit() + xe_pt_update_ops_run() (drivers/gpu/drm/xe/
        xe_pt.c): the pages_valid re-check under notifier_lock that keeps a munmapped page
        out of the GPU page table (-EAGAIN, retry); see xe."""
        return self._unmapped_outcome(s, me, super().xe_pt_svm_pre_commit(s, me))

    # ---- the broken variant's fault path (vma_lookup = False) -----------------------------
    def _lookup_range(self, w: World, me):
        """find_or_insert without vma_lookup (the broken variant): no -ENOENT, no -EPERM,
        and the chunk is the aligned window that overlaps no other range, whatever VMAs (or
        none) it covers.  The sound mirror uses xe's lookup."""
        if self.vma_lookup:
            return super()._lookup_range(w, me)
        c = self.config
        r = gpusvm.range_at(w, me.g, me.page)
        if r is None:
            start, end = gpusvm.chunk_window(c, w, me.g, me.page, clip=False)
            r = Range(start, end, cpu.vma_anonymous(c, w, me.page), False, False, False,
                      False, ())
            w = w._replace(ranges=tset(w.ranges, me.g, tuple(sorted(w.ranges[me.g] + (r,)))))
        return w, r, None

    def _get_pages_unchecked(self, s: World, me):
        """A page collection that maps whatever is there: a page of the chunk with no VMA is
        populated with a zeroed system page (as if the chunk were anonymous memory) instead
        of failing with -EFAULT; pages with a VMA go through hmm_range_fault as in xe."""
        c = self.config
        pages = tuple(self._pages(me))
        if must_wait(s, pages):
            return None
        w = s._replace(stale=tset(s.stale, me.g, False))
        for p in pages:
            if w.vma[p] == NO and w.pte[p][0] == Cpte.NONE:
                w, err = cpu.do_anonymous_page(c, w, p, p)
                if err:
                    return self._retry(w, me, err)
        mapped = tuple(p for p in pages if w.vma[p] != NO)
        res = hmm_range_fault(c, w, me.g, mapped, fault=True, write=me.kind >= Access.WRITE)
        if res.err == "-EBUSY":
            return me.stay(res.world, outcome="hmm_range_fault -EBUSY")
        if res.err:
            return self._retry(res.world, me, res.err)
        w, got = res.world, dict(zip(mapped, res.pfns))
        pfns = tuple(got[p] if p in got else (w.pte[p][1], False) for p in pages)
        return me.next(w, outcome="pfns valid", pfns=pfns)

    # ---- non-vacuity ------------------------------------------------------------------------
    hole_fault_enoent = sometimes_step(
        "hole_fault_enoent", step="drm_gpusvm_range_find_or_insert", outcome="-ENOENT",
        doc="A GPU fault on a mirror address with no CPU VMA fails with -ENOENT.")
    munmap_races_fault = sometimes_step(
        "munmap_races_fault", outcome=UNMAPPED,
        doc="A munmap hits the range of a fault in flight, which sees it (-EFAULT/-EAGAIN) "
            "and retries.")
    munmap_caught_at_bind = sometimes_step(
        "munmap_caught_at_bind", step="xe_pt_svm_pre_commit", outcome=f"-EAGAIN {UNMAPPED}",
        doc="A munmap between staging and committing the bind is caught by the pages_valid "
            "re-check under the notifier lock.")

    @sometimes
    def chunk_bound(self, s: World):
        """Some GPU has a multi-page chunk range bound (valid)."""
        return any(r.valid and r.end - r.start > 1 for rs in s.ranges for r in rs)

    @sometimes
    def partial_unmap_pending(self, s: World):
        """Some chunk range is partially unmapped and waits for the garbage collector."""
        return any(r.unmapped and r.partial for rs in s.ranges for r in rs)

    @sometimes
    def rechunked_after_munmap(self, s: World):
        """After a partial munmap, a smaller range clipped to what is left of the VMA is bound
        where a chunk used to fit."""
        c = self.config
        for rs in s.ranges:
            for r in rs:
                lo = r.start - r.start % c.chunk_pages
                hi = min(lo + c.chunk_pages, c.pages)
                if r.valid and r.end - r.start < hi - lo and any(
                        s.vma[p] == NO and c.vma_of_page[p] != NO for p in range(lo, hi)):
                    return True
        return False


class MirrorNoVmaCheck(Mirror):
    """mirror whose fault handler skips the CPU VMA lookup for the chunk (seed 001, broken)."""
    name = "mirror-no-vma-check"
    vma_lookup = False
    # witnesses of the paths this variant removes: no -ENOENT, no VMA-clipped re-chunking
    skip_properties = ("hole_fault_enoent", "rechunked_after_munmap")
