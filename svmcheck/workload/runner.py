"""Run a workload on a protocol model with the model's own steps (docs/workloads.md "Runner").

Every page access becomes the actions the explorer fires: a GPU access starts the model's GPU
fault flow (``gpu_access`` then, on a fault, the flow's labels one by one: find_or_insert,
populate_mm, migrate_vma_pages, get_pages, bind, replay); a CPU access fires ``cpu_read`` /
``cpu_write`` or, on a device page, the CPU fault flow (do_swap_page ->
drm_pagemap_migrate_to_ram -> retry_access); ``munmap``, ``fork`` and TTM eviction
(``drm_pagemap_evict_to_ram``) are the model's steps too.  Each is run with
:meth:`svmcheck.model.Model.fire`, so the runner holds no copy of any step.

**Blocks** (:mod:`.blocks`): each touched aligned block of the largest migration chunk is
its own small world of the model, so a step costs O(block), not O(workload); VRAM capacity
is enforced across blocks with the model's eviction step (docs/design.md, "Workload runner").

**Streams** (event field ``s``) run concurrently: a seeded scheduler picks a stream at every
label, so faults interleave label by label as in the checker; ``sync`` and ``expect`` are
barriers.  **Coherence** is checked at every access (the frame read or written holds the
address's latest version and so does the CPU page table's frame); a mismatch stops the run and
saves the block's actions as a counterexample that ``svmcheck replay`` re-runs.
"""
from __future__ import annotations

import dataclasses
import random

from ..errors import SvmCheckError
from ..svm.base import SvmModel
from ..svm.mm import vma_writable
from ..svm.state import NO, Access, Cpte
from . import cost
from . import format as fmt
from . import policy as pol
from .blocks import BIG, DEV, Block, Blocks
from .metrics import Metrics

STEP_CAP = 20_000                # labels (or blocked turns) one access may take: a livelock
BLOCKED, PROGRESS = False, True
_KIND = {"r": Access.READ, "w": Access.WRITE, "a": Access.ATOMIC}

class _Stop(Exception):
    """The run ends: a coherence mismatch, a failed expect, a livelock or a deadlock."""

    def __init__(self, msg: str, block=None):
        super().__init__(msg)
        self.block = block


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




class _Runner(Blocks):
    """One run: streams of events scheduled label by label over the block worlds."""

    def __init__(self, wl, model_name, policy, seed, progress, out_dir):
        from ..registry import resolve
        cls, self.model_path = resolve(model_name)
        if not issubclass(cls, SvmModel):
            raise SvmCheckError(
                f"model {cls.name} has no page-level SVM world; the workload runner "
                f"drives models built on svmcheck.svm (xe, kfd, mirror and their variants)")
        p = pol.parse(wl.header.get("policy"), policy)
        metrics = Metrics(wl.page_size, [g["id"] for g in wl.processors("gpu")],
                          lapse_ns=p.thrash_lapse_us * 1000, threshold=p.thrash_threshold)
        super().__init__(wl, cls, p, random.Random(seed), metrics)
        self.seed = seed
        self.progress = progress
        self.out_dir = out_dir
        self.tree_block = max(1, (2 << 20) // self.ps)
        self.inflight = [0] * self.G
        self.batch_fill = [0] * self.G
        self.local_ns = cost.local_access_ns(self.ps)
        self.outcomes: list = [None] * len(wl.events)
        self.total = sum(self._count(ev) for ev in wl.events)

    def _count(self, ev) -> int:
        e = ev.get("e")
        if e in ("r", "w", "a"):
            a = ev["addr"]
            return ((a + ev.get("size", self.ps) - 1) // self.ps - a // self.ps + 1) * ev.get("n", 1)
        if e == "run":
            size = ev.get("size", self.ps)
            return ev["count"] * ((size - 1) // self.ps + 1)
        return 0

    def _flow(self, sh: Block, pi: int, last):
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

    def _idle(self, sh: Block, pi: int):
        for _ in range(STEP_CAP):
            if sh.state[1][pi][0] == 0:
                return
            yield BLOCKED
        raise _Stop(f"deadlock: {sh.model.procs[pi].actor} never became idle", sh)

    def _gpu(self, sh: Block, g: int, lp: int, kind: int, prefetch: bool = False):
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
            m.c["batch_size_max"] = max(m.c["batch_size_max"], self.batch_fill[g])
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

    def _performed(self, sh: Block, g: int, lp: int, kind: int):
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

    def _check(self, sh: Block, a: int, f: int, who: str, kind: int):
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

    def _cpu(self, sh: Block, mm: int, lp: int, write: bool):
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
            if k in DEV:
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
            sh = self._block(gp)
            if sh.state[0].vma[gp - sh.base] == NO:
                continue
            self.m.c["prefetches"] += 1
            key = (sh.index, sh.acts.gpu_proc[g])
            self.prefetch_flows.add(key)
            try:
                yield from self._gpu(sh, g, gp - sh.base, Access.READ, prefetch=True)
            finally:
                self.prefetch_flows.discard(key)

    def _prefetch_ram(self, pages):
        for gp in pages:
            sh = self._block(gp)
            lp = gp - sh.base
            if sh.state[0].pte[lp][0] in DEV:
                self.m.c["prefetches"] += 1
                yield from self._cpu(sh, 0, lp, False)

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
                sh = self._block(gp)
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
            sh = self._block(gps[0])
            self._repin(sh, [gp - sh.base for gp in gps if gp - sh.base < sh.pages],
                        where in ("ram", "cpu"))

    def _munmap(self, pages):
        """munmap() page by page with the model's munmap step (it waits for mmap_lock)."""
        for gp in pages:
            sh = self._block(gp)
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
        for sh in self.block_list:
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
            if stop.block is not None and failure.startswith("coherence"):
                trace = self._save_trace(stop.block, failure)
        if self.progress:
            self.progress(self.m.c["accesses"], self.total)
        return RunResult(model=self.cls.name, policy=self.pol.as_dict(), seed=self.seed,
                         metrics=self.m.as_dict(), outcomes=self.outcomes, ok=failure is None,
                         failure=failure, trace_path=trace, workload=self.wl.name,
                         _runner=self)

    def _save_trace(self, sh: Block, msg: str) -> str | None:
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
