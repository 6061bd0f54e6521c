"""Sizes, layout and switches of the page-level SVM world (shared by every protocol model)."""
from __future__ import annotations

import functools

from ..config import Config, param
from ..errors import ConfigError


class SvmConfig(Config):
    gpus: int = param(2, "GPUs mirroring the process", min=1, max=3)
    pages: int = param(2, "virtual pages in the modelled address window", min=1, max=6)
    vma_layout: str = param("aa", "per page: a=anonymous rw, r=anonymous read-only, "
                                  "f=file-backed, -=no VMA; '|' splits adjacent VMAs")
    chunk_pages: int = param(2, "largest range chunk in pages (Xe: 2M; then 4K = 1 page)",
                             min=1, max=8)
    vram_pages: int = param(2, "device-private pages of VRAM per GPU", min=1, max=6)
    default_link: int = param(1, "link between GPU pairs: 0 none, 1 PCIe P2P (no atomics), "
                                 "2 atomic-capable", choices=(0, 1, 2))
    links: tuple = param((), "per-pair links as rows 'g,h,...' of the upper triangle, e.g. "
                             "'0,1;0,0' (empty: default_link everywhere)")
    sys_atomics: bool = param(False, "GPU atomics to system memory are honoured")
    gpu_accesses: int = param(1, "accesses each GPU issues", min=0, max=4)
    gpu_kinds: str = param("a,r", "access kinds each GPU issues: r read, w write, a atomic; "
                                  "one group per GPU separated by ',' (one group: all GPUs)")
    gpu_pages: str = param("0", "pages GPUs touch, e.g. '0' or '01' (empty: all)")
    cpu_writes: int = param(1, "CPU writes in total", min=0, max=4)
    cpu_reads: bool = param(True, "the CPU reads (and so faults device pages back)")
    munmaps: int = param(0, "single-page munmaps", min=0, max=2)
    forks: int = param(0, "fork() calls (at most one: a child that only uses the CPU)",
                       min=0, max=1)
    evictions: int = param(0, "VRAM-pressure evictions (drm_pagemap_evict_to_ram)",
                           min=0, max=2)
    contention: bool = param(False, "migrate_vma may fail to collect a page (trylock "
                                    "failure, GUP pin, extra reference)")
    # workload-runner policy hooks (svmcheck/workload/policy.py); the defaults are the
    # checker's model and change nothing in it
    chunk_sizes: tuple = param((), "more range chunk sizes in pages, tried between "
                                   "chunk_pages and 1 (Xe's fit: 2M, 64K, 4K)")
    migrate_on_fault: bool = param(True, "a GPU fault migrates to its VRAM (off: it maps the "
                                         "pages where they are, except for device-only atomics)")
    remote_pages: tuple = param((), "pages a GPU fault never migrates, mapped where they are "
                                    "(preferred location RAM, pinned by thrashing mitigation)")
    hmm_req_write_faults_devpriv: bool = param(
        False, "hmm_range_fault faults a read-only own device-private entry on REQ_WRITE "
               "(today's mm/hmm.c does not)")

    def symbolic_param(self, name: str, leaf):
        """``links`` as an unknown for Z3's configuration search: one leaf per GPU pair
        (0 none, 1 PCIe, 2 atomic-capable); topology.link reads the upper triangle."""
        if name != "links":
            return None
        g = self.gpus
        return tuple(tuple(leaf(f"cfg.links.{i}.{j}", (0, 1, 2)) if i < j else 0
                           for j in range(g)) for i in range(g))

    # ---- derived ------------------------------------------------------------------------
    @property
    def mms(self) -> int:
        return 2 if self.forks else 1

    @property
    def sys_frames(self) -> int:
        return self.pages * self.mms

    @property
    def vma_of_page(self) -> tuple:
        out, vid, prev = [], -1, None
        for ch in self.vma_layout:
            if ch == "|":
                prev = None
                continue
            if ch == "-":
                out.append(-1)
                prev = ch
                continue
            if ch != prev:
                vid += 1
            out.append(vid)
            prev = ch
        return tuple(out)

    @functools.cached_property      # read by every VMA test; a workload world has 512 pages
    def vma_kinds(self) -> tuple:
        kinds = []
        prev = None
        for ch in self.vma_layout:
            if ch in "|-":
                prev = None if ch == "|" else ch
                continue
            if ch != prev:
                kinds.append(ch)
            prev = ch
        return tuple(kinds)

    @property
    def kinds(self) -> tuple:
        """Every access kind some GPU issues."""
        from .state import Access
        return tuple(sorted({Access({"r": 1, "w": 2, "a": 3}[k])
                             for k in self.gpu_kinds if k != ","}))

    def kinds_for(self, g: int) -> tuple:
        groups = self.gpu_kinds.split(",")
        group = groups[g] if len(groups) > 1 else groups[0]
        from .state import Access
        return tuple(Access({"r": 1, "w": 2, "a": 3}[k]) for k in group)

    @property
    def touched(self) -> tuple:
        return tuple(int(c) for c in self.gpu_pages) if self.gpu_pages else tuple(range(self.pages))

    def smaller(self):
        """Structural reductions for ``svmcheck check --shrink``: one GPU fewer (its access
        group and links dropped), one page fewer (the layout and touched pages trimmed)."""
        import dataclasses
        if self.gpus > 1:
            groups = self.gpu_kinds.split(",")
            kinds = ",".join(groups[:-1]) if len(groups) > 1 else self.gpu_kinds
            links = tuple(row[:-1] for row in self.links[:-1]) if self.links else ()
            yield dataclasses.replace(self, gpus=self.gpus - 1, gpu_kinds=kinds, links=links)
        if self.pages > 1:
            layout = self.vma_layout.rstrip("|")[:-1].rstrip("|")
            touched = "".join(c for c in self.gpu_pages if int(c) < self.pages - 1)
            if touched or not self.gpu_pages:
                yield dataclasses.replace(self, pages=self.pages - 1, vma_layout=layout,
                                          gpu_pages=touched,
                                          chunk_pages=min(self.chunk_pages, self.pages - 1))

    def validate(self):
        if len(self.vma_of_page) != self.pages:
            raise ConfigError(
                f"vma_layout '{self.vma_layout}' describes {len(self.vma_of_page)} pages but "
                f"pages={self.pages}; give one letter (a, r, f or -) per page")
        if any(ch not in "arf-|" for ch in self.vma_layout):
            raise ConfigError(f"vma_layout '{self.vma_layout}' may only use a, r, f, - and |")
        groups = self.gpu_kinds.split(",")
        if (not all(groups) or any(k not in "rwa" for g in groups for k in g)
                or len(groups) not in (1, self.gpus)):
            raise ConfigError(
                f"gpu_kinds '{self.gpu_kinds}' must be letters from r, w, a: one group for all "
                f"GPUs or {self.gpus} groups separated by ','")
        if any(not c.isdigit() or int(c) >= self.pages for c in self.gpu_pages):
            raise ConfigError(f"gpu_pages '{self.gpu_pages}' must list page numbers below "
                              f"pages={self.pages}")
        if self.links and (len(self.links) != self.gpus or
                           any(len(row) != self.gpus for row in self.links)):
            raise ConfigError(
                f"links must be a {self.gpus}x{self.gpus} matrix like '0,1;1,0'; got "
                f"{self.links!r}")
