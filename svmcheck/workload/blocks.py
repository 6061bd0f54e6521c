"""Block worlds: the workload's address space as small worlds of one model (docs/design.md,
"Workload runner").

Each aligned block of the largest migration chunk (2 MiB for Xe's ``fit``, at least
:data:`MIN_BLOCK_PAGES` pages) that a workload touches gets its own world of the model, made
when first touched and trimmed to the span the workload uses there.  A drm_gpusvm range never
crosses an aligned chunk boundary, so the model's fault flows are block-local.  What is global
is kept by firing model steps: VRAM capacity (the model's eviction step on the victim the
eviction policy picks) and fork (its ``fork`` step in every block).

:class:`Blocks` fires actions with :meth:`svmcheck.model.Model.fire` and reads what happened
off the world before and after: migrations from the CPU page table, GPU PTE zaps from the GPU
page table, VRAM residency and allocations from the zdd reference counts.
"""
from __future__ import annotations

import bisect
import dataclasses
from collections import OrderedDict
from itertools import compress
from operator import is_not

from ..errors import SvmCheckError
from ..svm.state import NO, Cpte

BIG = 1 << 62                    # "unlimited" budgets: the checker's bounds do not apply here
MIN_BLOCK_PAGES = 16             # smallest block world (docs/design.md measures the choice)
DEV = (Cpte.DEV_RO, Cpte.DEV_RW)
SYS = (Cpte.RO, Cpte.RW)
_LINK = {"none": 0, "pcie": 1, "atomic": 2, 0: 0, 1: 1, 2: 2}


def _changed(old: tuple, new: tuple):
    """Indices where two same-length tuples hold different objects (C-speed: a step rebuilds
    a field with tset, which shares every unchanged item)."""
    return compress(range(len(old)), map(is_not, old, new))


class _Acts:
    """A model's actions by what the runner asks for (built once per model instance)."""

    def __init__(self, model):
        self.gpu_proc, self.cpu_proc = {}, {}
        self.gpu_start, self.cpu_start = {}, {}
        for p in model.procs:
            if p.flow.name == "gpu":
                self.gpu_proc[p.params["g"]] = p.index
                for a in p.by_label[0]:
                    self.gpu_start[(p.params["g"],) + a.args] = a
            elif p.flow.name == "cpu_fault":
                self.cpu_proc[p.params["mm"]] = p.index
                for a in p.by_label[0]:
                    self.cpu_start[(p.params["mm"],) + a.args] = a
        self.step = {}
        self.evict = {}
        for a in model.steps_static:
            if a.argnames == ("alloc",):
                self.evict[a.args[0]] = a
            else:
                self.step[(a.name,) + a.args] = a


class Block:
    __slots__ = ("index", "base", "pages", "chunks", "layout", "remote", "model", "acts",
                 "state", "fired", "outs", "res")

    def owner(self, f: int) -> int:
        c = self.model.config
        return -1 if f < c.sys_frames else (f - c.sys_frames) // c.vram_pages


class _Vma:
    __slots__ = ("start", "end", "kind", "id", "born")

    def __init__(self, start, end, kind, vid):
        self.start, self.end, self.kind, self.id, self.born = start, end, kind, vid, False


class Blocks:
    """The block worlds of one run, and what firing actions in them does to the metrics."""

    def __init__(self, wl, cls, pol, rng, metrics):
        self.wl, self.cls, self.pol, self.rng, self.m = wl, cls, pol, rng, metrics
        self.ps = wl.page_size
        gpus = wl.processors("gpu")
        self.gpu_index = {p["id"]: i for i, p in enumerate(gpus)}
        self.gpu_names = [p["id"] for p in gpus]
        self.cap = [max(1, p["mem_bytes"] // self.ps) for p in gpus]
        self.G = len(gpus)
        self.chunks = pol.chunk_pages(self.ps)
        self.B = max(self.chunks[0], MIN_BLOCK_PAGES)
        self.forked = False
        self.fork_used = any(ev.get("e") == "fork" for ev in wl.events)
        self._links()
        self._vmas()
        self.need = self._block_sizes()
        self.models: dict = {}
        self.by_block: dict[int, Block] = {}
        self.block_list: list[Block] = []
        self.resident = [0] * self.G
        self.order = [OrderedDict() for _ in range(self.G)]   # live VRAM allocations, oldest first
        self.fresh: set = set()
        self._evicting = False
        self.prefetch_flows: set = set()      # (block, process) running a prefetch

    def _links(self):
        h = self.wl.header
        topo = h.get("topology", {})
        self.default_link = _LINK[topo.get("default_link", "pcie")]
        links = topo.get("links", {})
        rows = [[self.default_link] * self.G for _ in range(self.G)]
        for k, v in links.items():
            a, b = (self.gpu_index[x] for x in k.split("-"))
            rows[min(a, b)][max(a, b)] = _LINK[v]
        self.links = tuple(tuple(r) for r in rows) if links else ()
        self.sys_atomics = bool(h.get("sys_atomics", False)) or self.pol.atomics == "system"

    def _vmas(self):
        vmas = []
        self.by_id = {}
        for ev in self.wl.events:
            if ev.get("e") not in ("alloc", "mmap"):
                continue
            start = ev["addr"] // self.ps
            end = -(-(ev["addr"] + ev["size"]) // self.ps)
            kind = "a"
            if ev["e"] == "mmap":
                kind = "f" if not ev.get("anon", True) else "r" if ev.get("prot") == "r" else "a"
            v = _Vma(start, end, kind, ev["id"])
            vmas.append(v)
            self.by_id[ev["id"]] = v
        vmas.sort(key=lambda v: v.start)
        for a, b in zip(vmas, vmas[1:]):
            if b.start < a.end:
                raise SvmCheckError(
                    f"workload allocations {a.id!r} and {b.id!r} overlap; the model's VMAs are "
                    f"fixed at start, so give each allocation its own address range")
        self.vma_list = vmas
        self.vma_starts = [v.start for v in vmas]
        self.unborn = len(vmas)

    def _vma_at(self, gp: int):
        i = bisect.bisect_right(self.vma_starts, gp) - 1
        if i >= 0 and gp < self.vma_list[i].end:
            return self.vma_list[i]
        return None

    def _spans(self, ev):
        """(first page, last page) ranges an event touches (for sizing blocks)."""
        e = ev.get("e")
        if e in ("r", "w", "a"):
            a = ev["addr"]
            yield a // self.ps, (a + ev.get("size", self.ps) - 1) // self.ps
        elif e == "run":
            a = ev["addr"]
            last = a + ev.get("stride", self.ps) * (ev["count"] - 1) + ev.get("size", self.ps) - 1
            yield a // self.ps, last // self.ps
        elif e in ("alloc", "mmap", "munmap", "prefetch") or (e == "advise" and "addr" in ev):
            yield ev["addr"] // self.ps, (ev["addr"] + ev["size"] - 1) // self.ps

    def _block_sizes(self) -> dict:
        """The first and last page any VMA or event uses in each block (block-relative)."""
        need: dict[int, tuple] = {}
        for ev in self.wl.events:
            for lo, hi in self._spans(ev):
                for b in range(lo // self.B, hi // self.B + 1):
                    first = max(lo, b * self.B) - b * self.B
                    last = min(hi, (b + 1) * self.B - 1) - b * self.B
                    old = need.get(b, (first, last))
                    need[b] = (min(old[0], first), max(old[1], last))
        return need

    def _extent(self, gp: int) -> tuple[int, int, tuple]:
        """(first page, pages, chunk sizes) of the world of ``gp``'s block.  A chunk lies in
        one VMA, so only chunks no longer than the span the block uses can ever fit: the
        world keeps just those, starts at the span aligned to the largest of them (every
        window keeps its alignment) and ends one page past it (a window is never cut short
        by the world's edge).  A small workload gets a small world that replays in the
        checker's bounds."""
        b = gp // self.B
        lo, hi = self.need.get(b, (gp - b * self.B,) * 2)
        chunks = tuple(c for c in self.chunks if c <= hi - lo + 1)
        off = lo - lo % chunks[0]
        return b * self.B + off, min(self.B, hi + 2) - off, chunks

    def _config(self, pages: int, layout: str, chunks: tuple, remote: tuple):
        cls = self.cls.Config
        names = {f.name for f in dataclasses.fields(cls)}
        want = dict(
            gpus=self.G, pages=pages, vma_layout=layout,
            vram_pages=max(1, min(pages, max(self.cap))), default_link=self.default_link,
            links=self.links, sys_atomics=self.sys_atomics, gpu_accesses=BIG,
            gpu_kinds="rwa", gpu_pages="", cpu_writes=BIG, cpu_reads=True, munmaps=BIG,
            forks=1 if self.fork_used else 0, evictions=BIG, contention=False,
            chunk_pages=chunks[0], chunk_sizes=chunks[1:-1], granularity=chunks[0], migrate_on_fault=self.pol.fault == "migrate",
            remote_pages=remote)
        cfg = cls(**{k: v for k, v in want.items() if k in names})
        cfg.validate()
        return cfg

    def _model(self, cfg):
        m = self.models.get(cfg)
        if m is None:
            m = self.cls(cfg)
            self.models[cfg] = m = (m, _Acts(m))
        return m

    def _layout(self, base: int, pages: int) -> str:
        out, prev = [], None
        for gp in range(base, base + pages):
            v = self._vma_at(gp)
            if v is None:
                out.append("-")
            else:
                if prev is not None and v is not prev and out and out[-1] != "-":
                    out.append("|")
                out.append(v.kind)
            prev = v
        return "".join(out)

    def _block(self, gp: int) -> Block:
        b = gp // self.B
        sh = self.by_block.get(b)
        if sh is not None:
            return sh
        sh = Block()
        sh.index = len(self.block_list)
        sh.base, sh.pages, sh.chunks = self._extent(gp)
        sh.layout = self._layout(sh.base, sh.pages)
        sh.remote = ()
        sh.model, sh.acts = self._model(self._config(sh.pages, sh.layout, sh.chunks, ()))
        sh.state = sh.model.initial_states()[0]
        sh.fired, sh.outs = [], []
        sh.res = [0] * self.G
        self.by_block[b] = sh
        self.block_list.append(sh)
        if self.forked:
            self._fire(sh, sh.acts.step[("fork",)])
        return sh

    def _repin(self, sh: Block, pages, on: bool):
        """Pin pages to where they are (map remotely) or unpin them: the block's model is
        rebuilt with ``remote_pages`` (a config of the model), the world carries over."""
        remote = set(sh.remote)
        remote = remote | set(pages) if on else remote - set(pages)
        if tuple(sorted(remote)) == sh.remote:
            return
        sh.remote = tuple(sorted(remote))
        sh.model, sh.acts = self._model(self._config(sh.pages, sh.layout, sh.chunks,
                                                     sh.remote))

    def _fire(self, sh: Block, a):
        old = sh.state
        r = sh.model.fire(a, old)
        if r is None:
            return None
        out, new = r
        if not self._evicting:
            self.fresh.clear()      # allocations made by this action (never the victim)
        sh.state = new
        sh.fired.append(a)
        sh.outs.append(out)
        self.m.c["steps"] += 1
        if out and out != "hit":
            self.m.outcome(out)
        ow, nw = old[0], new[0]
        if nw.pte is not ow.pte:
            prefetch = a.proc is not None and (sh.index, a.proc.index) in self.prefetch_flows
            self._moves(sh, ow.pte, nw.pte, prefetch)
        if nw.gpte is not ow.gpte:
            self.m.c["invalidations"] += sum(1 for i in _changed(ow.gpte, nw.gpte)
                                             if nw.gpte[i][0] == NO and ow.gpte[i][0] != NO)
        if nw.arefs is not ow.arefs:
            self._allocations(sh, ow.arefs, nw.arefs)
        return r

    def _moves(self, sh: Block, old, new, prefetch: bool):
        """Migrations, read off the CPU page table: a page whose PTE went from a system frame
        (or a migration entry) to a device entry moved host->device, and so on."""
        groups: dict = {}
        pages = []
        P = sh.pages
        for a in _changed(old, new):
            o, n = old[a], new[a]
            if o == n:
                continue
            ok, of = o
            nk, nf = n
            if nk in DEV:
                dst = sh.owner(nf)
                if ok == Cpte.MIG or ok in SYS:
                    src = -1
                elif ok in DEV and sh.owner(of) != dst:
                    src = sh.owner(of)
                else:
                    if ok == Cpte.NONE:
                        self.m.c["populated_vram"] += 1
                    continue
            elif ok in DEV and nk in SYS:
                src, dst = sh.owner(of), -1
            else:
                continue
            groups.setdefault((src, dst), set()).add(of)
            pages.append(sh.base + a % P)
        for (src, dst), frames in groups.items():
            fast = src >= 0 and dst >= 0 and self._link(src, dst) == 2
            self.m.transfer(src, dst, len(frames), fast, prefetch)
        for gp in set(pages):
            if self.m.migrated(gp) and self.pol.thrashing == "pin":
                self._repin(sh, (gp - sh.base,), True)
                self.m.c["pinned_pages"] += 1

    def _link(self, g: int, h: int) -> int:
        return self.links[min(g, h)][max(g, h)] if self.links else self.default_link

    def _allocations(self, sh: Block, old, new):
        """VRAM allocations born or freed (zdd references), residency, and TTM eviction when
        a GPU is over its capacity (the header's mem_bytes)."""
        V = sh.model.config.vram_pages
        for i in _changed(old, new):
            if (old[i] > 0) == (new[i] > 0):
                continue
            key = (sh.index, i)
            if new[i] > 0:
                self.order[i // V][key] = None
                self.fresh.add(key)
            else:
                self.order[i // V].pop(key, None)
        over = False
        for g in range(self.G):
            r = sum(new[g * V:(g + 1) * V])
            if r != sh.res[g]:
                self.resident[g] += r - sh.res[g]
                sh.res[g] = r
                over = over or self.resident[g] > self.cap[g]
        total = sum(self.resident)
        if total > self.m.c["resident_peak"]:
            self.m.c["resident_peak"] = total
        if over and not self._evicting:
            self._evict()

    def _evict(self):
        """TTM under memory pressure: fire the model's eviction step on victims chosen by the
        eviction policy (lru: least recently accessed allocation; fifo: oldest; random) until
        every GPU fits, never the allocation just made."""
        self._evicting = True
        try:
            for g in range(self.G):
                order = self.order[g]
                busy = []
                while self.resident[g] > self.cap[g]:
                    cands = [k for k in order if k not in self.fresh]
                    if not cands:
                        break
                    key = self.rng.choice(cands) if self.pol.eviction == "random" else cands[0]
                    order.pop(key)
                    sh = self.block_list[key[0]]
                    before = self.m.c["migrations_d2h"]
                    r = self._fire(sh, sh.acts.evict[key[1]])
                    if r is None:
                        continue
                    self.m.c["evictions"] += 1
                    self.m.c["evicted_pages"] += self.m.c["migrations_d2h"] - before
                    if sh.state[0].arefs[key[1]] > 0:
                        busy.append(key)
                for key in busy:
                    order[key] = None
        finally:
            self._evicting = False

    def _world_of(self, gp: int):
        """The block world holding page ``gp``, or None if none was made or it lies outside."""
        sh = self.by_block.get(gp // self.B)
        if sh is None or not 0 <= gp - sh.base < sh.pages:
            return None
        return sh

    def _resident(self, gp: int, g: int) -> bool:
        sh = self._world_of(gp)
        if sh is None:
            return False
        k, f = sh.state[0].pte[gp - sh.base]
        return k in DEV and sh.owner(f) == g

    def _addr(self, sh: Block, a: int) -> int:
        return (sh.base + a % sh.pages) * self.ps

    def _incoherent(self, addr: int) -> str | None:
        gp = addr // self.ps
        sh = self._world_of(gp)
        if sh is None:
            return None
        w = sh.state[0]
        lp = gp - sh.base
        k, cf = w.pte[lp]
        latest = w.latest[lp]
        if k != Cpte.NONE and w.fver[cf] != latest:
            return f"holds version {w.fver[cf]} in frame {cf}, the latest is {latest}"
        for g in range(self.G):
            f = w.gpte[g * sh.pages + lp][0]
            if f != NO and w.fver[f] != latest:
                return (f"is mapped by {self.gpu_names[g]} to frame {f} holding version "
                        f"{w.fver[f]}, the latest is {latest}")
        return None

    def location(self, addr: int) -> str:
        """Where the data at ``addr`` is now: "ram", a GPU id, or "none" (never populated)."""
        sh = self._world_of(addr // self.ps)
        if sh is None:
            return "none"
        k, f = sh.state[0].pte[addr // self.ps - sh.base]
        if k in DEV:
            return self.gpu_names[sh.owner(f)]
        return "none" if k == Cpte.NONE else "ram"
