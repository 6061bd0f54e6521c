"""Run a workload on a protocol model with the model's own steps (docs/workloads.md "Runner").

Every page access becomes the actions the explorer fires: a GPU access starts the model's GPU
fault flow (``gpu_access`` then, on a fault, the flow's labels one by one: find_or_insert,
populate_mm, migrate_vma_pages, get_pages, bind, replay); a CPU access fires ``cpu_read`` /
``cpu_write`` or, on a device page, the CPU fault flow (do_swap_page ->
drm_pagemap_migrate_to_ram -> retry_access); ``munmap``, ``fork`` and TTM eviction
(``drm_pagemap_evict_to_ram``) are the model's steps too.  Each is run with
:meth:`svmcheck.model.Model.fire`, so the runner holds no copy of any step.

**Blocks.**  The model's world is tuples, so a step costs O(pages of the world).  The runner
therefore splits the address space into aligned *blocks* of the largest migration chunk
(2 MiB for Xe's default, at least 16 pages) and gives each touched block its own small world
of the same model.  A range never crosses an aligned chunk boundary, so the fault flows are
block-local; what is global is VRAM capacity, which the runner enforces by firing the model's
eviction step on the victim the eviction policy picks (docs/design.md, "Workload runner").

**Streams** (event field ``s``) run concurrently: a seeded scheduler picks a stream at every
label, so faults interleave label by label as in the checker; ``sync`` and ``expect`` are
barriers.  **Coherence** is checked at every access (the frame read or written holds the
address's latest version and so does the CPU page table's frame); a mismatch stops the run and
saves the block's actions as a counterexample that ``svmcheck replay`` re-runs.
"""
from __future__ import annotations

import bisect
import dataclasses
import random
from collections import OrderedDict
from itertools import compress
from operator import is_not

from ..errors import SvmCheckError
from ..svm.base import SvmModel
from ..svm.mm import vma_writable
from ..svm.state import NO, Access, Cpte
from . import cost
from . import format as fmt
from . import policy as pol
from .metrics import Metrics

BIG = 1 << 62                    # "unlimited" budgets: the checker's bounds do not apply here
STEP_CAP = 20_000                # labels (or blocked turns) one access may take: a livelock
MIN_BLOCK_PAGES = 16             # smallest block world (docs/design.md measures the choice)
BLOCKED, PROGRESS = False, True
_DEV = (Cpte.DEV_RO, Cpte.DEV_RW)
_SYS = (Cpte.RO, Cpte.RW)
_KIND = {"r": Access.READ, "w": Access.WRITE, "a": Access.ATOMIC}
_LINK = {"none": 0, "pcie": 1, "atomic": 2, 0: 0, 1: 1, 2: 2}


def _changed(old: tuple, new: tuple):
    """Indices where two same-length tuples hold different objects (C-speed: a step rebuilds
    a field with tset, which shares every unchanged item)."""
    return compress(range(len(old)), map(is_not, old, new))


class _Stop(Exception):
    """The run ends: a coherence mismatch, a failed expect, a livelock or a deadlock."""

    def __init__(self, msg: str, shard=None):
        super().__init__(msg)
        self.shard = shard


@dataclasses.dataclass
class RunResult:
    model: str
    policy: dict
    seed: int
    metrics: dict
    outcomes: list
    ok: bool
    failure: str | None
    trace_path: str | None
    workload: str = ""
    _runner: object = dataclasses.field(default=None, repr=False)

    def location(self, addr: int) -> str:
        """Where the data at ``addr`` is now: "ram", a GPU id, or "none" (never populated)."""
        return self._runner.location(addr)

    def to_json(self) -> dict:
        return {"model": self.model, "workload": self.workload, "policy": self.policy,
                "seed": self.seed, "ok": self.ok, "failure": self.failure,
                "trace": self.trace_path, "metrics": self.metrics}


def run(workload, model: str = "xe", policy=None, seed: int = 0, progress=None,
        out_dir: str = "counterexamples") -> RunResult:
    """Run ``workload`` (a :class:`~.format.Workload`, a path or lines) on ``model``.

    ``policy``: a dict or ``"k=v,..."`` string (:mod:`.policy`), over the header's ``policy``.
    ``progress``: ``callable(done_accesses, total_accesses)``, called now and then.
    """
    return _Runner(fmt.load(workload), model, policy, seed, progress, out_dir).run()


# ---------------------------------------------------------------------------------------------

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


class _Shard:
    __slots__ = ("index", "base", "pages", "chunks", "layout", "remote", "model", "acts",
                 "state", "fired", "outs", "res")

    def owner(self, f: int) -> int:
        c = self.model.config
        return -1 if f < c.sys_frames else (f - c.sys_frames) // c.vram_pages


class _Vma:
    __slots__ = ("start", "end", "kind", "id", "born")

    def __init__(self, start, end, kind, vid):
        self.start, self.end, self.kind, self.id, self.born = start, end, kind, vid, False


class _Runner:
    def __init__(self, wl, model_name, policy, seed, progress, out_dir):
        from ..registry import resolve
        self.wl = wl
        self.cls, self.model_path = resolve(model_name)
        if not issubclass(self.cls, SvmModel):
            raise SvmCheckError(
                f"model {self.cls.name} has no page-level SVM world; the workload runner "
                f"drives models built on svmcheck.svm (xe, kfd, mirror and their variants)")
        self.pol = pol.parse(wl.header.get("policy"), policy)
        self.seed = seed
        self.rng = random.Random(seed)
        self.progress = progress
        self.out_dir = out_dir
        self.ps = wl.page_size
        gpus = wl.processors("gpu")
        self.gpu_index = {p["id"]: i for i, p in enumerate(gpus)}
        self.gpu_names = [p["id"] for p in gpus]
        self.cap = [max(1, p["mem_bytes"] // self.ps) for p in gpus]
        self.G = len(gpus)
        self.chunks = self.pol.chunk_pages(self.ps)
        self.B = max(self.chunks[0], MIN_BLOCK_PAGES)
        self.tree_block = max(1, (2 << 20) // self.ps)
        self.forked = False
        self.fork_used = any(ev.get("e") == "fork" for ev in wl.events)
        self._links()
        self._vmas()
        self.need = self._block_sizes()
        self.models: dict = {}
        self.shards: dict[int, _Shard] = {}
        self.shard_list: list[_Shard] = []
        self.resident = [0] * self.G
        self.order = [OrderedDict() for _ in range(self.G)]   # live VRAM allocations, oldest first
        self.fresh: set = set()
        self._evicting = False
        self.inflight = [0] * self.G
        self.batch_fill = [0] * self.G
        self.m = Metrics(self.ps, self.gpu_names, lapse_ns=self.pol.thrash_lapse_us * 1000,
                         threshold=self.pol.thrash_threshold)
        self.local_ns = cost.local_access_ns(self.ps)
        self.outcomes: list = [None] * len(wl.events)
        self.total = sum(self._count(ev) for ev in wl.events)

    # ---- setup --------------------------------------------------------------------------
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

    def _count(self, ev) -> int:
        e = ev.get("e")
        if e in ("r", "w", "a"):
            a = ev["addr"]
            return ((a + ev.get("size", self.ps) - 1) // self.ps - a // self.ps + 1) * ev.get("n", 1)
        if e == "run":
            size = ev.get("size", self.ps)
            return ev["count"] * ((size - 1) // self.ps + 1)
        return 0

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

    def _shard(self, gp: int) -> _Shard:
        b = gp // self.B
        sh = self.shards.get(b)
        if sh is not None:
            return sh
        sh = _Shard()
        sh.index = len(self.shard_list)
        sh.base, sh.pages, sh.chunks = self._extent(gp)
        sh.layout = self._layout(sh.base, sh.pages)
        sh.remote = ()
        sh.model, sh.acts = self._model(self._config(sh.pages, sh.layout, sh.chunks, ()))
        sh.state = sh.model.initial_states()[0]
        sh.fired, sh.outs = [], []
        sh.res = [0] * self.G
        self.shards[b] = sh
        self.shard_list.append(sh)
        if self.forked:
            self._fire(sh, sh.acts.step[("fork",)])
        return sh

    def _repin(self, sh: _Shard, pages, on: bool):
        """Pin pages to where they are (map remotely) or unpin them: the block's model is
        rebuilt with ``remote_pages`` (a config of the model), the world carries over."""
        remote = set(sh.remote)
        remote = remote | set(pages) if on else remote - set(pages)
        if tuple(sorted(remote)) == sh.remote:
            return
        sh.remote = tuple(sorted(remote))
        sh.model, sh.acts = self._model(self._config(sh.pages, sh.layout, sh.chunks,
                                                     sh.remote))

    # ---- firing and observing ---------------------------------------------------------------
    def _fire(self, sh: _Shard, a):
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
            self._moves(sh, ow.pte, nw.pte)
        if nw.gpte is not ow.gpte:
            self.m.c["invalidations"] += sum(1 for i in _changed(ow.gpte, nw.gpte)
                                             if nw.gpte[i][0] == NO and ow.gpte[i][0] != NO)
        if nw.arefs is not ow.arefs:
            self._allocations(sh, ow.arefs, nw.arefs)
        return r

    def _moves(self, sh: _Shard, old, new):
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
            if nk in _DEV:
                dst = sh.owner(nf)
                if ok == Cpte.MIG or ok in _SYS:
                    src = -1
                elif ok in _DEV and sh.owner(of) != dst:
                    src = sh.owner(of)
                else:
                    if ok == Cpte.NONE:
                        self.m.c["populated_vram"] += 1
                    continue
            elif ok in _DEV and nk in _SYS:
                src, dst = sh.owner(of), -1
            else:
                continue
            groups.setdefault((src, dst), set()).add(of)
            pages.append(sh.base + a % P)
        for (src, dst), frames in groups.items():
            fast = src >= 0 and dst >= 0 and self._link(src, dst) == 2
            self.m.transfer(src, dst, len(frames), fast)
        for gp in set(pages):
            if self.m.migrated(gp) and self.pol.thrashing == "pin":
                self._repin(sh, (gp - sh.base,), True)
                self.m.c["pinned_pages"] += 1

    def _link(self, g: int, h: int) -> int:
        return self.links[min(g, h)][max(g, h)] if self.links else self.default_link

    def _allocations(self, sh: _Shard, old, new):
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
                    sh = self.shard_list[key[0]]
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

    # ---- flows ------------------------------------------------------------------------------
    def _flow(self, sh: _Shard, pi: int, last):
        """Run process ``pi``'s flow to idle, one label per scheduler turn; returns the
        last outcome (the one of the label that ended the run)."""
        for _ in range(STEP_CAP):
            t = sh.state[1][pi]
            if t[0] == 0:
                return last
            for a in sh.model.procs[pi].by_label[t[0]]:
                r = self._fire(sh, a)
                if r is not None:
                    last = r[0]
                    break
            else:
                yield BLOCKED
                continue
            if sh.state[1][pi][0] == 0:    # the access happened in this step: check it now
                return last
            yield PROGRESS
        proc = sh.model.procs[pi]
        raise _Stop(f"livelock: {proc.actor} ran {STEP_CAP} labels without finishing one "
                    f"access (at {proc.labels[sh.state[1][pi][0]]}, block {sh.index})", sh)

    def _idle(self, sh: _Shard, pi: int):
        for _ in range(STEP_CAP):
            if sh.state[1][pi][0] == 0:
                return
            yield BLOCKED
        raise _Stop(f"deadlock: {sh.model.procs[pi].actor} never became idle", sh)

    def _gpu(self, sh: _Shard, g: int, lp: int, kind: int, prefetch: bool = False):
        """One GPU access through the model's GPU fault flow: (outcome, faulted)."""
        pi = sh.acts.gpu_proc[g]
        yield from self._idle(sh, pi)
        r = self._fire(sh, sh.acts.gpu_start[(g, lp, kind)])
        if r is None:
            raise SvmCheckError(f"model {self.cls.name} refuses a GPU access of kind {kind} on "
                                f"GPU {g}; it cannot run workloads")
        if sh.state[1][pi][0] == 0:
            self._performed(sh, g, lp, kind)
            return "ok", False
        m = self.m
        if prefetch:
            m.c["prefetch_faults"] += 1
        else:
            m.c["gpu_faults"] += 1
            if self.inflight[g] == 0 or self.batch_fill[g] >= self.pol.batch:
                m.c["fault_batches"] += 1
                m.t["time_fault_ns"] += cost.FAULT_BATCH_NS
                self.batch_fill[g] = 0
            self.batch_fill[g] += 1
            self.inflight[g] += 1
        try:
            yield PROGRESS
            last = yield from self._flow(sh, pi, r[0])
        finally:
            if not prefetch:
                self.inflight[g] -= 1
        if last and "replayed" in last:
            self._performed(sh, g, lp, kind)
            return "ok", True
        return last or "-EFAULT", True

    def _performed(self, sh: _Shard, g: int, lp: int, kind: int):
        """The access just happened through GPU g's PTE: check it, count it, touch LRU."""
        w = sh.state[0]
        f = w.gpte[g * sh.pages + lp][0]
        self._check(sh, lp, f, self.gpu_names[g], kind)
        m = self.m
        m.c["gpu_accesses"] += 1
        o = sh.owner(f)
        if o == g:
            m.t["time_access_ns"] += self.local_ns
        else:
            m.c["remote_accesses"] += 1
            m.t["time_access_ns"] += cost.remote_access_ns(
                self.ps, o >= 0 and self._link(g, o) == 2)
        if o >= 0 and self.pol.eviction == "lru":
            key = (sh.index, w.falloc[f])
            order = self.order[o]
            if key in order:
                order.move_to_end(key)

    def _check(self, sh: _Shard, a: int, f: int, who: str, kind: int):
        w = sh.state[0]
        latest = w.latest[a]
        kind_c, cf = w.pte[a]
        if f != NO and w.fver[f] == latest and kind_c != Cpte.NONE and w.fver[cf] == latest:
            return
        verb = {Access.READ: "read", Access.WRITE: "wrote", Access.ATOMIC: "atomically updated"}
        seen = w.fver[f] if f != NO else "nothing"
        cpu = f"frame {cf} holding version {w.fver[cf]}" if kind_c != Cpte.NONE else "none"
        raise _Stop(f"coherence: {who} {verb[kind]} address {self._addr(sh, a):#x} through "
                    f"frame {f} holding version {seen}; the latest is version {latest} and "
                    f"the CPU page table has {cpu}", sh)

    def _addr(self, sh: _Shard, a: int) -> int:
        return (sh.base + a % sh.pages) * self.ps

    def _cpu(self, sh: _Shard, mm: int, lp: int, write: bool):
        """One CPU access: in place, cpu_read / cpu_write, or the CPU fault flow."""
        m = self.m
        kind = Access.WRITE if write else Access.READ
        a = mm * sh.pages + lp
        if mm and not self.forked:
            return "SIGSEGV"
        for _ in range(STEP_CAP):
            w, procs = sh.state
            if w.vma[lp] == NO or (write and not vma_writable(sh.model.config, w, lp)):
                return "SIGSEGV"
            k, f = w.pte[a]
            if k == Cpte.MIG:                  # migration_entry_wait
                yield BLOCKED
                continue
            if k in _DEV:
                pi = sh.acts.cpu_proc[mm]
                if procs[pi][0] != 0:
                    yield BLOCKED
                    continue
                before = w.latest[a]
                r = self._fire(sh, sh.acts.cpu_start[(mm, lp, write)])
                if r is None:                  # the folio is locked: wait
                    yield BLOCKED
                    continue
                m.c["cpu_faults"] += 1
                m.t["time_fault_ns"] += cost.CPU_FAULT_NS
                yield PROGRESS
                last = yield from self._flow(sh, pi, r[0])
                if last == "SIGBUS":
                    return last
                w = sh.state[0]
                if write and w.latest[a] != before:
                    break
                continue                       # the access is retried
            if k == Cpte.NONE or write:
                r = self._fire(sh, sh.acts.step[("cpu_write" if write else "cpu_read", mm, lp)])
                if r is None:
                    yield BLOCKED
                    continue
                if r[0]:
                    return "SIGBUS"            # -ENOMEM
            break
        else:
            raise _Stop(f"livelock: a CPU access to {self._addr(sh, lp):#x} never completed", sh)
        w = sh.state[0]
        self._check(sh, a, w.pte[a][1], f"cpu (mm {mm})", kind)
        m.c["cpu_accesses"] += 1
        m.t["time_access_ns"] += self.local_ns
        return "ok"

    # ---- prefetch ---------------------------------------------------------------------------
    def _world_of(self, gp: int):
        """The block world holding page ``gp``, or None if none was made or it lies outside."""
        sh = self.shards.get(gp // self.B)
        if sh is None or not 0 <= gp - sh.base < sh.pages:
            return None
        return sh

    def _resident(self, gp: int, g: int) -> bool:
        sh = self._world_of(gp)
        if sh is None:
            return False
        k, f = sh.state[0].pte[gp - sh.base]
        return k in _DEV and sh.owner(f) == g

    def _prefetch_pages(self, g: int, gp: int):
        if self.pol.prefetch == "window":
            return range(gp + 1, gp + self.pol.prefetch_window + 1)
        # uvm_perf_prefetch.c: the 64 KiB big page of the fault, then the largest aligned
        # subtree of the 2 MiB block whose occupancy (resident on g, or being faulted) is
        # above the threshold
        big = max(1, (64 << 10) // self.ps)
        lo = gp - gp % self.tree_block
        occ = [self._resident(p, g) for p in range(lo, lo + self.tree_block)]
        bstart = gp - gp % big
        for p in range(bstart, bstart + big):
            occ[p - lo] = True
        region = (bstart, bstart + big)
        size = big * 2
        while size <= self.tree_block:
            s = gp - gp % size
            if sum(occ[s - lo:s - lo + size]) * 100 > self.pol.tree_threshold * size:
                region = (s, s + size)
            size *= 2
        return range(*region)

    def _prefetch(self, g: int, pages):
        for gp in pages:
            v = self._vma_at(gp)
            if v is None or not v.born or self._resident(gp, g):
                continue
            sh = self._shard(gp)
            if sh.state[0].vma[gp - sh.base] == NO:
                continue
            self.m.c["prefetches"] += 1
            yield from self._gpu(sh, g, gp - sh.base, Access.READ, prefetch=True)

    def _prefetch_ram(self, pages):
        for gp in pages:
            sh = self._shard(gp)
            lp = gp - sh.base
            if sh.state[0].pte[lp][0] in _DEV:
                self.m.c["prefetches"] += 1
                yield from self._cpu(sh, 0, lp, False)

    # ---- events -------------------------------------------------------------------------------
    def _pages(self, ev):
        ps = self.ps
        e = ev["e"]
        if e == "run":
            size, stride = ev.get("size", ps), ev.get("stride", ps)
            for k in range(ev["count"]):
                a = ev["addr"] + k * stride
                yield from range(a // ps, (a + size - 1) // ps + 1)
        else:
            a, size = ev["addr"], ev.get("size", ps)
            for _ in range(ev.get("n", 1)):
                yield from range(a // ps, (a + size - 1) // ps + 1)

    def _access(self, ev):
        op = ev["op"] if ev["e"] == "run" else ev["e"]
        kind = _KIND[op]
        p = ev["p"]
        g = self.gpu_index.get(p)
        worst = "ok"
        for gp in self._pages(ev):
            if self.unborn and not self._born(gp):
                out = "SIGSEGV" if g is None else "-EFAULT"
            else:
                sh = self._shard(gp)
                lp = gp - sh.base
                if g is None:
                    out = yield from self._cpu(sh, ev["mm"], lp, kind != Access.READ)
                else:
                    out, faulted = yield from self._gpu(sh, g, lp, kind)
                    if faulted and out == "ok" and self.pol.prefetch != "none":
                        yield from self._prefetch(g, self._prefetch_pages(g, gp))
            self.m.c["accesses"] += 1
            if self.progress and self.m.c["accesses"] % 4096 == 0:
                self.progress(self.m.c["accesses"], self.total)
            if out != "ok" and worst == "ok":
                worst = out
        return worst

    def _born(self, gp: int) -> bool:
        v = self._vma_at(gp)
        return v is None or v.born

    def _range_pages(self, ev):
        if "id" in ev and "addr" not in ev:
            v = self.by_id[ev["id"]]
            return range(v.start, v.end)
        return range(ev["addr"] // self.ps, -(-(ev["addr"] + ev["size"]) // self.ps))

    def _event(self, ev):
        e = ev["e"]
        m = self.m
        if e in ("r", "w", "a", "run"):
            return (yield from self._access(ev))
        if e in ("alloc", "mmap"):
            v = self.by_id[ev["id"]]
            if not v.born:
                v.born = True
                self.unborn -= 1
            if e == "alloc" and (ev.get("advice") or {}).get("preferred_location") == "ram":
                self._advise(range(v.start, v.end), "ram")
        elif e in ("free", "munmap"):
            yield from self._munmap(self._range_pages(ev))
        elif e == "fork":
            yield from self._fork()
        elif e == "advise":
            self._advise(self._range_pages(ev), ev.get("value"))
        elif e == "prefetch":
            pages = self._range_pages(ev)
            if ev["dst"] in self.gpu_index:
                yield from self._prefetch(self.gpu_index[ev["dst"]], pages)
            else:
                yield from self._prefetch_ram(pages)
        elif e == "kernel":
            if ev.get("phase", "begin") == "begin":
                m.c["kernel_launches"] += 1
                m.t["time_other_ns"] += cost.LAUNCH_NS
        elif e == "compute":
            m.t["time_other_ns"] += ev["dt"]
        return "ok"

    def _advise(self, pages, where):
        """preferred_location: RAM pins the pages (GPU faults map them where they are, as
        Xe's madvise preferred location system does); a GPU unpins them."""
        by_block: dict = {}
        for gp in pages:
            by_block.setdefault(gp // self.B, []).append(gp)
        for b, gps in by_block.items():
            sh = self._shard(gps[0])
            self._repin(sh, [gp - sh.base for gp in gps if gp - sh.base < sh.pages],
                        where in ("ram", "cpu"))

    def _munmap(self, pages):
        """munmap() page by page with the model's munmap step (it waits for mmap_lock)."""
        for gp in pages:
            sh = self._shard(gp)
            lp = gp - sh.base
            if not 0 <= lp < sh.pages:
                continue
            for _ in range(STEP_CAP):
                if sh.state[0].vma[lp] == NO or self._fire(sh, sh.acts.step[("munmap", lp)]):
                    break
                yield BLOCKED

    def _fork(self):
        if self.forked:
            return
        self.forked = True
        for sh in self.shard_list:
            while self._fire(sh, sh.acts.step[("fork",)]) is None:
                yield BLOCKED

    def _expect(self, idx: int, ev) -> None:
        what = ev["what"]
        where = f"expect (event {idx}, line {self.wl.lines[idx]})"
        if what == "location":
            got = self.location(ev["addr"])
            if got != ev["is"]:
                raise _Stop(f"{where}: address {ev['addr']:#x} is in {got}, expected {ev['is']}")
        elif what == "outcome":
            got = self.outcomes[ev["of"]]
            if got != ev["is"]:
                raise _Stop(f"{where}: event {ev['of']} had outcome {got}, expected {ev['is']}")
        elif what == "metric":
            got = self.m.as_dict().get(ev["name"])
            if got is None:
                raise SvmCheckError(f"workload line {self.wl.lines[idx]}: unknown metric "
                                    f"'{ev['name']}'; available: "
                                    f"{', '.join(sorted(self.m.as_dict()))}")
            op, want = ev.get("op", "=="), ev["value"]
            ok = {"==": got == want, "<=": got <= want, ">=": got >= want, "<": got < want,
                  ">": got > want, "!=": got != want}[op]
            if not ok:
                raise _Stop(f"{where}: metric {ev['name']} is {got}, expected {op} {want}")
        elif what == "value":
            bad = self._incoherent(ev["addr"])
            if bad:
                raise _Stop(f"{where}: address {ev['addr']:#x} {bad}")
        return None

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
        gp = addr // self.ps
        sh = self._world_of(gp)
        if sh is None:
            return "none"
        k, f = sh.state[0].pte[gp - sh.base]
        if k in _DEV:
            return self.gpu_names[sh.owner(f)]
        return "none" if k == Cpte.NONE else "ram"

    # ---- the scheduler ------------------------------------------------------------------------
    def _segments(self):
        """Events split at barriers (sync, expect; alloc and mmap too: a VMA exists for
        every stream after it): each segment's streams run concurrently."""
        seg: dict = {}
        for idx, ev in enumerate(self.wl.events):
            e = ev.get("e")
            if e not in fmt.EVENTS:           # skipped under "strict": false
                self.outcomes[idx] = "skipped"
                continue
            if e in ("sync", "expect", "alloc", "mmap"):
                yield seg, None
                seg = {}
                self.outcomes[idx] = "ok"
                if e != "sync":
                    yield {}, (idx, ev)
                continue
            seg.setdefault(ev["s"], []).append((idx, ev))
        yield seg, None

    def _stream(self, items):
        for idx, ev in items:
            self.outcomes[idx] = yield from self._event(ev)

    def _interleave(self, gens):
        active = list(gens)
        blocked = 0
        while active:
            i = self.rng.randrange(len(active)) if len(active) > 1 else 0
            try:
                r = next(active[i])
            except StopIteration:
                active.pop(i)
                blocked = 0
                continue
            if r is BLOCKED:
                blocked += 1
                if blocked > 200 * len(active) + STEP_CAP:
                    raise _Stop(f"deadlock: {len(active)} stream(s) wait for each other")
            else:
                blocked = 0

    def run(self) -> RunResult:
        failure = trace = None
        try:
            for seg, expect in self._segments():
                if expect is not None:
                    idx, ev = expect
                    if ev["e"] == "expect":
                        self._expect(idx, ev)
                    else:                      # a new VMA exists for every stream after it
                        self._interleave([self._event(ev)])
                    continue
                if seg:
                    self._interleave([self._stream(items) for _, items in sorted(seg.items())])
        except _Stop as stop:
            failure = str(stop)
            if stop.shard is not None and failure.startswith("coherence"):
                trace = self._save_trace(stop.shard, failure)
        if self.progress:
            self.progress(self.m.c["accesses"], self.total)
        return RunResult(model=self.cls.name, policy=self.pol.as_dict(), seed=self.seed,
                         metrics=self.m.as_dict(), outcomes=self.outcomes, ok=failure is None,
                         failure=failure, trace_path=trace, workload=self.wl.name,
                         _runner=self)

    # ---- counterexamples ---------------------------------------------------------------------
    def _save_trace(self, sh: _Shard, msg: str) -> str | None:
        """The block's actions from its initial state as an ``svmcheck replay`` file.  The
        configuration's budgets are cut to what the run used, so a small block replays
        within the checker's parameter bounds."""
        from ..trace import Trace
        cfg = sh.model.config
        G = cfg.gpus
        b = sh.state[0].budget
        used = [BIG - x for x in b]
        # +1: an access in flight (a fault flow's write) has not spent its budget yet
        cfg = dataclasses.replace(
            cfg, gpu_accesses=max(used[:G]) + 1, cpu_writes=used[G] + 1, munmaps=used[G + 1],
            evictions=used[G + 3])
        steps = [dict(a.as_dict(), outcome=o) for a, o in zip(sh.fired, sh.outs)]
        model = self.cls(cfg)
        prop = "coherence"
        last = sh.state
        for p in model.properties:
            if p.kind == "always" and not p.test(model, last):
                prop = p.name
                break
        t = Trace(model=self.cls.name, config=cfg.as_dict(), property=prop, kind="always",
                  steps=steps, model_path=self.model_path, reason=msg)
        return t.save(self.out_dir)
