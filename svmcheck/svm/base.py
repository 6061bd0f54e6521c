"""SvmModel: the world every protocol model shares — CPU threads, fork, munmap, VRAM pressure.

A protocol model (models/xe.py, …) subclasses :class:`SvmModel` and adds its GPU fault flow.
What lives here is core-mm and drm_pagemap behaviour that does not depend on the driver:

* ``cpu_read`` / ``cpu_write``: CPU accesses (do_anonymous_page, do_wp_page);
* the CPU fault flow on a device-private page (do_swap_page -> drm_pagemap_migrate_to_ram);
* ``munmap`` (partial, one page) and ``fork`` (copy_page_range);
* ``drm_pagemap_evict_to_ram``: TTM evicting a VRAM allocation under memory pressure;
* ``gpu_perform`` / ``gpu_mapped_for``: the GPU access itself, for the protocol's GPU flow.
"""
from __future__ import annotations

from ..model import Flow, Model, outcome, step
from . import mm as cpu
from .config import SvmConfig
from .migrate import addresses_of, allocation_frames, migrate_to_ram
from .state import FREE, NO, Access, Cpte, World, tadd
from .gpusvm import gpu_can

_DEV = (Cpte.DEV_RO, Cpte.DEV_RW)

# budget slots after the per-GPU access counters
CPU_WRITES, MUNMAPS, FORKS, EVICTIONS = range(4)


class SvmModel(Model):
    """Base of the page-level SVM protocol models (not checked on its own)."""
    Config = SvmConfig

    # ---- initial state ------------------------------------------------------------------
    def init(self):
        c = self.config
        n_addr = c.pages * c.mms
        n_frames = c.sys_frames + c.gpus * c.vram_pages
        return World(
            vma=c.vma_of_page, pte=((Cpte.NONE, NO),) * n_addr, latest=(0,) * n_addr,
            clock=(0,) * c.pages, fver=(FREE,) * n_frames, fmap=(0,) * n_frames,
            falloc=(NO,) * n_frames, flock=(False,) * n_frames,
            arefs=(0,) * (c.gpus * c.vram_pages), gpte=((NO, 0),) * (c.gpus * c.pages),
            ranges=((),) * c.gpus, stale=(False,) * c.gpus, mmap_readers=0, forked=False,
            fork_clock=(0,) * c.pages,
            budget=(c.gpu_accesses,) * c.gpus + (c.cpu_writes, c.munmaps, c.forks, c.evictions)
            + self.extra_budget())

    def extra_budget(self) -> tuple:
        """Budget slots a model adds after the shared ones (slot numbers from 4 on)."""
        return ()

    def spend(self, w: World, slot: int) -> World:
        return w._replace(budget=tadd(w.budget, self.config.gpus + slot, -1))

    def left(self, w: World, slot: int) -> int:
        return w.budget[self.config.gpus + slot]

    # ---- symmetry (svmcheck/svm/symmetry.py, check --symmetry) -----------------------------
    gpu_params = ("g",)              # flow parameters that are GPU numbers
    frame_locals = ("pfns", "held")  # flow locals holding frames or (frame, writable) entries

    def gpu_signature(self, g: int):
        """Everything the configuration says about GPU g alone: GPUs with equal signatures
        (and links) are interchangeable.  A model with another per-GPU parameter extends it."""
        return self.config.kinds_for(g)

    def permute_fields(self) -> dict:
        """How a GPU permutation rebuilds the World fields a model adds: name ->
        ``fn(perm, world) -> value`` (perm is svm/symmetry.py's ``_Perm``)."""
        return {}

    def gpu_view(self, w, g: int, rel) -> object:
        """What GPU g alone sees of the World fields a model adds (frames through ``rel``),
        to order GPUs for the canonical form; any value equal for permuted GPUs will do."""
        return None

    def symmetry(self):
        """The GPUs the topology makes interchangeable, explored once (svm/symmetry.py);
        None if none are, or if the world has a field no permutation rule covers."""
        from .symmetry import gpu_symmetry
        known = set(World._fields) | set(self.permute_fields())
        if any(f not in known for f in self.init()._fields):
            return None
        return gpu_symmetry(self)

    def asymmetry(self) -> str | None:
        from .symmetry import asymmetry
        extra = [f for f in self.init()._fields
                 if f not in World._fields and f not in self.permute_fields()]
        if extra:
            return f"its world field(s) {', '.join(extra)} declare no GPU permutation"
        return asymmetry(self)

    def describe(self, w: World) -> str:
        cpu_txt = " ".join(f"{Cpte(k).name}:{f}" if k else "-" for k, f in w.pte)
        gpu_txt = " ".join(f"{f}/{p}" if f != NO else "-" for f, p in w.gpte)
        return f"cpu[{cpu_txt}] gpu[{gpu_txt}] latest={w.latest}"

    # ---- CPU ------------------------------------------------------------------------------
    def _active(self, w: World, mm: int) -> bool:
        return mm == 0 or w.forked

    @step(actor="cpu{mm}", args=dict(mm=lambda c: range(c.mms), page=lambda c: range(c.pages)))
    def cpu_read(self, s: World, mm, page):
        """A CPU load.  A none PTE is populated by do_anonymous_page() (mm/memory.c); a
        present page reads in place (no state change, so not a step); a device-private page
        goes through the CPU fault flow; a migration entry waits (migration_entry_wait)."""
        c = self.config
        if not c.cpu_reads or not self._active(s, mm) or s.vma[page] == NO:
            return None
        a = mm * c.pages + page
        if s.pte[a][0] != Cpte.NONE:
            return None
        w, err = cpu.do_anonymous_page(c, s, a, page)
        return outcome(w, err) if err else w

    @step(actor="cpu{mm}", args=dict(mm=lambda c: range(c.mms), page=lambda c: range(c.pages)))
    def cpu_write(self, s: World, mm, page):
        """A CPU store with a fresh version: do_anonymous_page() for a none PTE, do_wp_page()
        (COW break or reuse) for a read-only one (mm/memory.c).  Device-private pages take
        the CPU fault flow first; a migration entry waits."""
        c = self.config
        if self.left(s, CPU_WRITES) <= 0 or not self._active(s, mm) or s.vma[page] == NO:
            return None
        if not cpu.vma_writable(c, s, page):
            return None     # SIGSEGV: the process does not do that
        a = mm * c.pages + page
        kind = s.pte[a][0]
        if kind in _DEV or kind == Cpte.MIG:
            return None
        w, err = s, None
        if kind == Cpte.NONE:
            w, err = cpu.do_anonymous_page(c, w, a, page)
        elif kind == Cpte.RO:
            w, err = cpu.do_wp_page(c, w, mm, page)
        if err:
            return outcome(w, err)
        w = cpu.write_version(c, w, mm, page, w.pte[a][1])
        return self.spend(w, CPU_WRITES)

    cpu_fault = Flow("cpu{mm}/fault", over=dict(mm=lambda c: range(c.mms)),
                     locals=dict(page=0, write=False, held=NO))

    def _fault_page_unlocked(self, s: World, me, page, write):
        """the device page's folio lock is free (do_swap_page trylock)"""
        kind, f = s.pte[me.mm * self.config.pages + page]
        return kind not in _DEV or not s.flock[f]

    @cpu_fault.label(start=True, args=dict(page=lambda c: range(c.pages), write=(False, True)),
                     when=_fault_page_unlocked)
    def do_swap_page(self, s: World, me, page, write):
        """do_swap_page() device-private branch (mm/memory.c): re-check the PTE under the PTE
        lock, trylock the device folio and take a reference, then call the pagemap's
        migrate_to_ram with the page locked.  Modelled with the 2026 fix (sleep until the
        folio is unlocked: the guard waits) rather than the v6.15 busy retry.  The fault runs
        under mmap_lock (read) until migrate_to_ram returns (the per-VMA-lock path retries
        under mmap_lock), so munmap and fork wait for it (``mmap_readers``)."""
        c = self.config
        if not self._active(s, me.mm) or (write and self.left(s, CPU_WRITES) <= 0):
            return None
        if not c.cpu_reads and not write:
            return None
        kind, f = s.pte[me.mm * c.pages + page]
        if kind not in _DEV:
            return None
        w = s._replace(flock=s.flock[:f] + (True,) + s.flock[f + 1:],
                       mmap_readers=s.mmap_readers + 1)
        return me.next(w, page=page, write=write, held=f)

    @cpu_fault.label
    def drm_pagemap_migrate_to_ram(self, s: World, me):
        """__drm_pagemap_migrate_to_ram() (drivers/gpu/drm/drm_pagemap.c): migrate the whole
        allocation of the fault page — only pages with the same zdd — clamped to the VMA;
        migrate_vma_setup with SELECT_DEVICE_PRIVATE fires MIGRATE (zapping every GPU's
        mappings of those pages), the copy is synchronous, finalize switches the PTEs.
        Abstractions: the timeslice is not modelled (as if expired); folio allocation
        failure (SIGBUS) cannot happen because system frames are sized for every address."""
        c = self.config
        vs, ve = cpu.vma_bounds(s, me.page)
        alloc = s.falloc[me.held]
        frames = [f for f in allocation_frames(c, s, alloc)
                  if any(vs <= a % c.pages < ve for a in addresses_of(c, s, f))]
        w, moved, _ = migrate_to_ram(c, s, frames, held=me.held)
        if w.fver[me.held] != FREE:      # not migrated: unlock and let the access retry
            w = w._replace(flock=w.flock[:me.held] + (False,) + w.flock[me.held + 1:])
        w = w._replace(mmap_readers=w.mmap_readers - 1)     # do_swap_page returns
        return me.next(w, outcome=f"cpages={moved}")

    @cpu_fault.label
    def retry_access(self, s: World, me):
        """The faulting instruction is restarted and now finds a system page."""
        c = self.config
        a = me.mm * c.pages + me.page
        kind = s.pte[a][0]
        if not me.write or kind not in (Cpte.RO, Cpte.RW):
            return me.done(s)
        w, err = (s, None) if kind == Cpte.RW else cpu.do_wp_page(c, s, me.mm, me.page)
        if err:
            return me.done(w, outcome=err)
        w = cpu.write_version(c, w, me.mm, me.page, w.pte[a][1])
        return me.done(self.spend(w, CPU_WRITES))

    @step(actor="cpu0", args=dict(page=lambda c: range(c.pages)))
    def munmap(self, s: World, page):
        """munmap() of one page (mm/mmap.c do_vmi_munmap): MMU_NOTIFY_UNMAP, PTEs zapped,
        frames released; a page of a larger range makes the range partially unmapped.  Waits
        for mmap_lock (write) while a migration holds it for read."""
        if self.left(s, MUNMAPS) <= 0 or s.vma[page] == NO or s.mmap_readers:
            return None
        return self.spend(cpu.munmap(self.config, s, (page,)), MUNMAPS)

    @step(actor="cpu0")
    def fork(self, s: World):
        """fork() -> dup_mmap() -> copy_page_range() (mm/memory.c), mmap_lock held for write:
        PROTECTION_PAGE invalidation of the parent's VMA, then COW sharing of every page,
        device-private entries included (copy_nonpresent_pte)."""
        if self.left(s, FORKS) <= 0 or s.forked or s.mmap_readers:
            return None
        return self.spend(cpu.fork(self.config, s), FORKS)

    @step(actor="ttm", args=dict(alloc=lambda c: range(c.gpus * c.vram_pages)))
    def drm_pagemap_evict_to_ram(self, s: World, alloc):
        """drm_pagemap_evict_to_ram() (drivers/gpu/drm/drm_pagemap.c) from xe_svm_bo_evict():
        TTM evicts a VRAM allocation under memory pressure, by pfn with trylock; contended
        pages make it fail with -EBUSY."""
        from .pagemap import evict_to_ram
        if self.left(s, EVICTIONS) <= 0 or s.arefs[alloc] <= 0:
            return None
        w, err = evict_to_ram(self.config, s, alloc)
        w = self.spend(w, EVICTIONS)
        return outcome(w, err) if err else w

    # ---- GPU helpers ----------------------------------------------------------------------
    def gpu_perform(self, s: World, g: int, page: int, kind: int) -> World:
        """The GPU access itself, through its PTE: a write or atomic stores a fresh version
        into the mapped frame as the process's latest data; every access spends budget."""
        c = self.config
        if kind != Access.READ:
            f = s.gpte[g * c.pages + page][0]
            s = cpu.write_version(c, s, 0, page, f)
        return s._replace(budget=tadd(s.budget, g, -1))

    def gpu_mapped_for(self, s: World, g: int, page: int, kind: int) -> bool:
        return gpu_can(s, self.config, g, page, kind)
