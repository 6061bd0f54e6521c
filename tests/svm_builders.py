"""Hand-made page-level SVM worlds for the primitive tests.

A :class:`WorldBuilder` starts from ``SvmModel(cfg).init()`` for a validated
:class:`~svmcheck.svm.config.SvmConfig` and edits the world with small, explicit steps that do
*not* go through the primitives under test (populate a page, put pages in VRAM, add a GPU
range, bind it, lock a folio)::

    b = WorldBuilder(gpus=1, pages=2, vma_layout="aa")
    b.populate(0).vram([0, 1], gpu=0).range(0, 0, 2, valid=True, bound=True)
    w = b.w

Every builder step keeps the world's bookkeeping exact (mapcounts, zdd refcounts, versions),
so a freshly built world satisfies ``properties.memory.memory_safety`` and
``properties.data.no_lost_data``; :meth:`WorldBuilder.check` asserts that.
"""
from __future__ import annotations

from svmcheck.svm.base import SvmModel
from svmcheck.svm.config import SvmConfig
from svmcheck.svm.mm import alloc_sys_frame, fork, free_frame, set_pte, take_frame
from svmcheck.svm.pagemap import device_frames, free_alloc_slot
from svmcheck.svm.state import FREE, NO, Cpte, Perm, Range, World, tadd, tset


class WorldBuilder:
    """A mutable wrapper around an immutable World, for building test fixtures."""

    def __init__(self, **overrides):
        overrides.setdefault("gpu_kinds", "rwa")      # one group: valid for any GPU count
        self.cfg = SvmConfig.build(overrides)
        self.model = SvmModel(self.cfg)
        self.w: World = self.model.init()

    # ---- queries ------------------------------------------------------------------------
    def addr(self, page: int, mm: int = 0) -> int:
        return mm * self.cfg.pages + page

    def frame(self, page: int, mm: int = 0) -> int:
        return self.w.pte[self.addr(page, mm)][1]

    def kind(self, page: int, mm: int = 0) -> Cpte:
        return Cpte(self.w.pte[self.addr(page, mm)][0])

    def dev_frame(self, gpu: int, k: int = 0) -> int:
        return device_frames(self.cfg, gpu)[k]

    # ---- CPU side -----------------------------------------------------------------------
    def populate(self, page: int, *, mm: int = 0, kind: Cpte | None = None,
                 written: bool = True) -> "WorldBuilder":
        """Back (mm, page) with the lowest free system frame; ``written`` stores a fresh
        version (a CPU write), otherwise the zero page's version 0.  Default kind: RW in a
        writable VMA, RO otherwise."""
        w, c = self.w, self.cfg
        a = self.addr(page, mm)
        assert w.pte[a][0] == Cpte.NONE, f"page {page} of mm{mm} is already populated"
        f = alloc_sys_frame(c, w)
        assert f != NO, "no free system frame"
        if kind is None:
            kind = Cpte.RW if c.vma_kinds[w.vma[page]] == "a" else Cpte.RO
        version = 0
        if written:
            version = w.clock[page] + 1
            w = w._replace(clock=tset(w.clock, page, version), latest=tset(w.latest, a, version))
        w = take_frame(w, f, version)
        self.w = set_pte(w, a, kind, f)
        return self

    def vram(self, pages, gpu: int = 0, *, alloc: int | None = None,
             kind: Cpte | None = None) -> "WorldBuilder":
        """Move (mm 0) ``pages`` into one VRAM allocation of ``gpu`` as a finished migration
        would: device frames from the lowest free one, the data (version) carried over, the
        system frame freed, one zdd reference per page.  Default kind: DEV_RW in a writable
        VMA, DEV_RO otherwise."""
        c = self.cfg
        w = self.w
        if alloc is None:
            alloc = free_alloc_slot(c, w, gpu)
        free = [f for f in device_frames(c, gpu) if w.fver[f] == FREE]
        assert alloc != NO and len(free) >= len(pages), "not enough VRAM"
        for p, d in zip(pages, free):
            old_kind, old_f = w.pte[p]
            version = w.fver[old_f] if old_kind != Cpte.NONE else 0
            k = kind if kind is not None else (
                Cpte.DEV_RW if c.vma_kinds[w.vma[p]] == "a" else Cpte.DEV_RO)
            w = take_frame(w, d, version, alloc)
            w = w._replace(arefs=tadd(w.arefs, alloc, +1))
            w = set_pte(w, p, k, d)
            if old_kind != Cpte.NONE and w.fmap[old_f] == 0:
                w = free_frame(w, old_f)
        self.w = w
        return self

    def write(self, page: int, mm: int = 0) -> "WorldBuilder":
        """A CPU/GPU store of a fresh version into the frame (mm, page) maps."""
        w = self.w
        a = self.addr(page, mm)
        f = w.pte[a][1]
        v = w.clock[page] + 1
        self.w = w._replace(clock=tset(w.clock, page, v), fver=tset(w.fver, f, v),
                            latest=tset(w.latest, a, v))
        return self

    def lock(self, frame: int, locked: bool = True) -> "WorldBuilder":
        """Hold (or release) a folio lock: a concurrent migration or do_swap_page."""
        self.w = self.w._replace(flock=tset(self.w.flock, frame, locked))
        return self

    def fork(self) -> "WorldBuilder":
        """fork() through mm.fork (the child shares every page copy-on-write)."""
        self.w = fork(self.cfg, self.w)
        return self

    # ---- GPU side -----------------------------------------------------------------------
    def range(self, gpu: int, start: int, end: int, *, valid: bool = False,
              bound: bool = False, perm: Perm = Perm.WRITE, unmapped: bool = False,
              partial: bool = False, migrate_devmem: bool | None = None) -> "WorldBuilder":
        """Add a drm_gpusvm range [start, end) to ``gpu``.  ``valid``: pages collected from
        the current CPU PTEs (has_dma_mapping, has_devmem_pages when in VRAM); ``bound``: GPU
        PTEs written with ``perm``."""
        c, w = self.cfg, self.w
        if migrate_devmem is None:
            migrate_devmem = c.vma_kinds[w.vma[start]] != "f" if w.vma[start] != NO else False
        pfns = ()
        devmem = False
        if valid or bound:
            pfns = tuple((w.pte[p][1], w.pte[p][0] in (Cpte.RW, Cpte.DEV_RW))
                         for p in range(start, end))
            devmem = any(w.pte[p][0] in (Cpte.DEV_RO, Cpte.DEV_RW) for p in range(start, end))
        r = Range(start, end, migrate_devmem, valid, devmem and valid, unmapped, partial,
                  pfns if valid else ())
        rs = tuple(sorted(w.ranges[gpu] + (r,)))
        w = w._replace(ranges=tset(w.ranges, gpu, rs))
        if bound:
            gpte = w.gpte
            for p, (f, _) in zip(range(start, end), pfns):
                gpte = tset(gpte, gpu * c.pages + p, (f, perm))
            w = w._replace(gpte=gpte)
        self.w = w
        return self

    def stale(self, gpu: int, value: bool = True) -> "WorldBuilder":
        self.w = self.w._replace(stale=tset(self.w.stale, gpu, value))
        return self

    # ---- sanity ---------------------------------------------------------------------------
    def check(self, w: World | None = None) -> None:
        """Assert the world's own consistency (the properties the checker proves)."""
        from properties.data import coherence, no_lost_data
        from properties.memory import memory_safety
        w = self.w if w is None else w
        for prop in (memory_safety, no_lost_data, coherence):
            state = (w, ())
            assert prop.test(self.model, state), f"{prop.name}: {prop.explain(self.model, state)}"
