"""Primitive benchmark: random applications of the page-level SVM primitives on a big world.

    python benchmarks/bench_primitives.py                     # 1,000,000 applications, 4096 pages
    python benchmarks/bench_primitives.py --ops 20000 --check # smaller run, consistency checked

The world is far beyond the configuration bounds the CLI accepts (pages <= 6), so the
:class:`~svmcheck.svm.config.SvmConfig` is constructed directly (dataclass construction does
not run ``Config.build``'s bound checks) and the world comes from ``SvmModel(cfg).init()``.

Each random *operation* applies one or more primitives to valid inputs, the way the models'
steps do; every primitive call counts as one *application*:

  cpu_touch      do_anonymous_page (a none PTE) or do_wp_page (a read-only one), then a store
                 (write_version) if the VMA is writable
  gpu_fault      garbage_collector, find_or_insert, hmm_range_fault (loops on -EBUSY, at most
                 3 walks), collect_pages, bind
  migrate        setup_to_devmem, alloc_devmem (may evict), finalize_to_devmem or abort_to_devmem
  to_ram         migrate_to_ram of a live allocation's frames (a CPU fault)
  evict          evict_to_ram (TTM eviction)
  range_evict    drm_gpusvm_range_evict of a random range
  invalidate     a CLEAR / MIGRATE / PROTECTION_PAGE invalidation of a random page
  munmap         munmap of one page (rare, and at most pages/8 of them: a VMA never comes back)

Reported: applications/s overall and per primitive (wall time of the calls only), operations/s.
``--check`` evaluates memory_safety, no_lost_data and coherence at the end (and every
``--check-every`` operations).  Not run by the test suite.

Measured on the 2-core development machine while other jobs shared it (seed 1): at 4096
pages, 150,201 applications in 205 s = ~730 applications/s (~280 operations/s), so the full
million would take ~23 minutes; the cost is dominated by migrate_to_ram / evict_to_ram
(~17 ms each: rmap and frame scans over 4096-entry tuples) and finalize_to_devmem (~6 ms for
a 16-page chunk).  The same mix at 64 pages runs ~53,000 applications/s.  The primitives are
written for model checking (<= 6 pages), where every state is an immutable tuple copy.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections import Counter, defaultdict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from properties.data import coherence, no_lost_data  # noqa: E402
from properties.memory import memory_safety  # noqa: E402
from svmcheck.svm import gpusvm  # noqa: E402
from svmcheck.svm import mm as cpu  # noqa: E402
from svmcheck.svm.base import SvmModel  # noqa: E402
from svmcheck.svm.config import SvmConfig  # noqa: E402
from svmcheck.svm.hmm import hmm_range_fault, must_wait  # noqa: E402
from svmcheck.svm.migrate import (abort_to_devmem, allocation_frames,  # noqa: E402
                                  finalize_to_devmem, migrate_to_ram, setup_to_devmem)
from svmcheck.svm.notifier import invalidate  # noqa: E402
from svmcheck.svm.pagemap import alloc_devmem, evict_to_ram, live_allocations  # noqa: E402
from svmcheck.svm.state import NO, Cpte, Event, Perm  # noqa: E402

MIX = (("cpu_touch", 30), ("gpu_fault", 30), ("migrate", 12), ("to_ram", 8), ("evict", 4),
       ("range_evict", 4), ("invalidate", 11), ("munmap", 1))


def big_config(pages: int, gpus: int, vram_pages: int, chunk: int) -> SvmConfig:
    """An SvmConfig outside the CLI bounds: built directly, validated by hand."""
    size = min(512, max(1, pages // 8))                 # 512-page VMAs at 4096 pages
    kinds = ["r" if v % 4 == 3 else "a" for v in range((pages + size - 1) // size)]
    vma = "|".join(kinds[v] * len(range(v * size, min(pages, (v + 1) * size)))
                   for v in range(len(kinds)))          # every 4th VMA read-only
    cfg = SvmConfig(gpus=gpus, pages=pages, vma_layout=vma, chunk_pages=chunk,
                    vram_pages=vram_pages, default_link=1, gpu_kinds="rwa", gpu_pages="",
                    cpu_writes=0, munmaps=0, forks=0, evictions=0)
    cfg.validate()
    return cfg


class Bench:
    def __init__(self, cfg: SvmConfig, seed: int):
        self.cfg = cfg
        self.rng = random.Random(seed)
        self.model = SvmModel(cfg)
        self.w = self.model.init()
        self.calls = Counter()
        self.secs = defaultdict(float)
        self.outcomes = Counter()

    # one timed primitive application
    def call(self, name, fn, *args, **kw):
        t = time.perf_counter()
        r = fn(*args, **kw)
        self.secs[name] += time.perf_counter() - t
        self.calls[name] += 1
        return r

    def mapped_page(self):
        c, w, rng = self.cfg, self.w, self.rng
        for _ in range(8):
            p = rng.randrange(c.pages)
            if w.vma[p] != NO:
                return p
        return None

    # ---- operations -------------------------------------------------------------------
    def op_cpu_touch(self):
        c, w = self.cfg, self.w
        p = self.mapped_page()
        if p is None:
            return
        kind, f = w.pte[p]
        writable = cpu.vma_writable(c, w, p)
        err = None
        if kind == Cpte.NONE:
            w, err = self.call("do_anonymous_page", cpu.do_anonymous_page, c, w, p, p)
        elif kind == Cpte.RO and writable:
            w, err = self.call("do_wp_page", cpu.do_wp_page, c, w, 0, p)
        elif kind != Cpte.RW:
            return                      # device-private: that is the to_ram operation
        if not err and writable:
            w = self.call("write_version", cpu.write_version, c, w, 0, p, w.pte[p][1])
        self.w = w

    def op_gpu_fault(self):
        c, rng = self.cfg, self.rng
        g = rng.randrange(c.gpus)
        p = self.mapped_page()
        if p is None:
            return
        write = rng.random() < 0.5 and cpu.vma_writable(c, self.w, p)
        w = self.call("garbage_collector", gpusvm.garbage_collector, c, self.w, g)
        w, r, err = self.call("find_or_insert", gpusvm.find_or_insert, c, w, g, p, write=write)
        self.outcomes[f"find_or_insert {err or 0}"] += 1
        if err:
            self.w = w
            return
        pages = tuple(range(r.start, r.end))
        if must_wait(w, pages):
            self.w = w
            return
        for _ in range(3):                                   # read_begin .. hmm_range_fault
            w = w._replace(stale=w.stale[:g] + (False,) + w.stale[g + 1:])
            res = self.call("hmm_range_fault", hmm_range_fault, c, w, g, pages, fault=True,
                            write=write)
            w = res.world
            self.outcomes[f"hmm_range_fault {res.err or 0}"] += 1
            if res.err != "-EBUSY":
                break
        if res.err:
            self.w = w
            return
        r = gpusvm.range_at(w, g, p)
        w, r, err = self.call("collect_pages", gpusvm.collect_pages, c, w, g, r, res.pfns,
                              devmem_only=False)
        self.outcomes[f"collect_pages {err or 0}"] += 1
        if not err and self.call("pages_valid", gpusvm.pages_valid, w, g, r):
            perm = Perm.WRITE if write else Perm.READ
            w = self.call("bind", gpusvm.bind, c, w, g, r.start, r.pfns, perm, pfn_write=True)
        self.w = w

    def op_migrate(self):
        c, rng = self.cfg, self.rng
        g = rng.randrange(c.gpus)
        p = self.mapped_page()
        if p is None or not cpu.vma_anonymous(c, self.w, p):
            return
        size = c.chunk_pages
        s = p - p % size
        vs, ve = cpu.vma_bounds(self.w, p)
        pages = tuple(range(max(s, vs), min(s + size, ve)))
        w, got, _ = self.call("setup_to_devmem", setup_to_devmem, c, self.w, pages)
        if not got:
            self.outcomes["migrate cpages=0"] += 1
            self.w = w
            return
        w, alloc, frames = self.call("alloc_devmem", alloc_devmem, c, w, g, len(got))
        if alloc == NO:
            self.outcomes["migrate -ENOMEM"] += 1
            self.w = self.call("abort_to_devmem", abort_to_devmem, c, w, got)
            return
        w, moved = self.call("finalize_to_devmem", finalize_to_devmem, c, w, got, frames, alloc)
        self.outcomes[f"migrate {len(moved)}/{len(pages)}"] += 1
        self.w = w

    def op_to_ram(self):
        c, rng = self.cfg, self.rng
        allocs = live_allocations(c, self.w, rng.randrange(c.gpus))
        if not allocs:
            return
        a = rng.choice(allocs)
        frames = allocation_frames(c, self.w, a)
        self.w, moved, skipped = self.call("migrate_to_ram", migrate_to_ram, c, self.w, frames)

    def op_evict(self):
        c, rng = self.cfg, self.rng
        allocs = live_allocations(c, self.w, rng.randrange(c.gpus))
        if allocs:
            self.w, err = self.call("evict_to_ram", evict_to_ram, c, self.w, rng.choice(allocs))
            self.outcomes[f"evict_to_ram {err or 0}"] += 1

    def op_range_evict(self):
        c, rng = self.cfg, self.rng
        g = rng.randrange(c.gpus)
        rs = self.w.ranges[g]
        if rs:
            self.w, err = self.call("range_evict", gpusvm.range_evict, c, self.w, g,
                                    rs[rng.randrange(len(rs))])

    def op_invalidate(self):
        c, rng = self.cfg, self.rng
        p = rng.randrange(c.pages)
        ev = rng.choice((Event.CLEAR, Event.MIGRATE, Event.PROTECTION_PAGE))
        self.w = self.call("invalidate", invalidate, c, self.w, 0, (p,), ev)

    def op_munmap(self):
        if self.calls["munmap"] >= self.cfg.pages // 8:      # keep 7/8 of the window mapped
            return
        p = self.mapped_page()
        if p is not None and not self.w.mmap_readers:
            self.w = self.call("munmap", cpu.munmap, self.cfg, self.w, (p,))

    # ---- driver -------------------------------------------------------------------------
    def check(self):
        st = (self.w, ())
        for prop in (memory_safety, no_lost_data, coherence):
            if not prop.test(self.model, st):
                raise SystemExit(f"{prop.name} violated: {prop.explain(self.model, st)}")

    def run(self, ops: int, check_every: int = 0):
        names = [n for n, _ in MIX]
        weights = [wt for _, wt in MIX]
        table = {n: getattr(self, f"op_{n}") for n in names}
        chosen = self.rng.choices(names, weights, k=ops)
        t0 = time.perf_counter()
        for i, n in enumerate(chosen, 1):
            table[n]()
            if check_every and i % check_every == 0:
                self.check()
        return time.perf_counter() - t0, Counter(chosen)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ops", type=int, default=1_000_000,
                    help="primitive applications to perform (default 1,000,000)")
    ap.add_argument("--pages", type=int, default=4096)
    ap.add_argument("--gpus", type=int, default=2)
    ap.add_argument("--vram-pages", type=int, default=1024, help="device pages per GPU")
    ap.add_argument("--chunk", type=int, default=16, help="largest range chunk in pages")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--check", action="store_true", help="check consistency at the end")
    ap.add_argument("--check-every", type=int, default=0, help="... and every N operations")
    args = ap.parse_args(argv)

    cfg = big_config(args.pages, args.gpus, args.vram_pages, args.chunk)
    b = Bench(cfg, args.seed)
    print(f"world: pages={cfg.pages} gpus={cfg.gpus} vram_pages={cfg.vram_pages} "
          f"chunk={cfg.chunk_pages} sys_frames={cfg.sys_frames} seed={args.seed}", flush=True)
    # run operations until the requested number of primitive applications is reached
    wall = 0.0
    ops = Counter()
    shown = 0.0
    while sum(b.calls.values()) < args.ops:
        left = args.ops - sum(b.calls.values())
        dt, chosen = b.run(max(100, min(left // 3, 20_000)), args.check_every)
        wall += dt
        ops.update(chosen)
        if wall - shown > 30:
            shown = wall
            print(f"  ... {sum(b.calls.values()):,} applications, {wall:.0f} s", flush=True)
    if args.check:
        b.check()
    total = sum(b.calls.values())
    prim_secs = sum(b.secs.values())
    print(f"applications={total:,} operations={sum(ops.values()):,} wall={wall:.2f}s "
          f"applications/s={total / wall:,.0f} operations/s={sum(ops.values()) / wall:,.0f}")
    print(f"{'primitive':<20}{'calls':>11}{'sec':>9}{'calls/s':>12}{'us/call':>10}")
    for name, n in b.calls.most_common():
        s = b.secs[name]
        print(f"{name:<20}{n:>11,}{s:>9.2f}{n / s if s else 0:>12,.0f}{1e6 * s / n:>10.1f}")
    print(f"(primitive time {prim_secs:.2f}s of {wall:.2f}s wall)")
    interesting = sorted(b.outcomes.items(), key=lambda kv: -kv[1])[:14]
    print("outcomes: " + ", ".join(f"{k}={v:,}" for k, v in interesting))
    live = sum(1 for a in b.w.arefs if a > 0)
    dev = sum(1 for k, _ in b.w.pte if k in (Cpte.DEV_RO, Cpte.DEV_RW))
    print(f"final: {dev} pages in VRAM, {live} live allocations, "
          f"{sum(len(r) for r in b.w.ranges)} ranges, "
          f"{sum(1 for v in b.w.vma if v == NO)} pages unmapped"
          + ("; consistency checked" if args.check else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
