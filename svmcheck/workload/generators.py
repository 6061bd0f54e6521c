"""Synthetic access-pattern generators: ``generate(name, **params) -> Workload``.

Each generator emits an ``svmtrace`` v1 workload (../shared/reference/workloads.md §(e), the
contract in docs/workloads.md) for one access pattern of workloads.md §(a): the table's row is
cited in each generator's docstring, and its parameters, ranges and defaults are declared with
:func:`svmcheck.config.param`, so a bad value is a one-line error naming the parameter and the
allowed range, exactly as for a model's ``--set``.

Conventions every generator shares:

* **Page-granular.**  Accesses are page-aligned and touch one 4 KiB page; the model's world is
  page-level, so where inside a page an element lives does not matter.
* **Compact and lossless.**  Consecutive touches of one stream are merged into ``run`` events
  (next page) or a repeat count ``n`` (same page); nothing is dropped, so the runner sees every
  access the pattern makes, in the stream's order.
* **Streams.**  ``streams`` (or one stream per processor) are the concurrent warps / queues the
  runner's seeded scheduler interleaves; ``sync`` is a kernel boundary (barrier).
* **First touch on the CPU.**  With ``cpu_init`` (default on) the CPU writes every buffer before
  the GPU phase, as a host-built input: the GPU's faults are then far faults (§(a) row 12).
* **Deterministic.**  Randomness comes only from ``random.Random(seed)``: the same parameters
  give the same events.
* Buffers are anonymous ``mmap`` regions placed 2 MiB-aligned from :data:`BASE`, each followed
  by a 2 MiB unmapped guard, so each is its own CPU VMA.

``parse_spec("zipf:alpha=1.1,accesses=2k")`` reads the CLI's ``GENERATOR[:k=v,...]``; a token
without ``=`` continues the previous value's list (``processors=cpu0,gpu0``), and sizes take
K/M/G suffixes (binary: ``8M`` = 8 MiB).
"""
from __future__ import annotations

import bisect
import itertools
import math
import random
import re
from dataclasses import dataclass
from typing import Callable

from ..config import Config, param
from ..errors import ConfigError, SvmCheckError

PAGE = 4096
BLOCK = 2 << 20            # 2 MiB: buffers are aligned to it and separated by a guard of it
BASE = 0x40000000          # first buffer's address (1 GiB: clear of the zero page and text)
MiB = 1 << 20


# ---- parameters --------------------------------------------------------------------------
class Common(Config):
    """Parameters every generator takes (workloads.md §(a), first paragraph)."""
    seed: int = param(0, "random seed: the same seed gives the same events", min=0)
    vram_bytes: int = param(64 * MiB, "VRAM of each GPU (header mem_bytes)", min=PAGE,
                            max=1 << 40)
    cpu_init: bool = param(True, "the CPU writes every buffer first (host-built input)")


def _footprint():
    return param(8 * MiB, "bytes of data the pattern touches", min=PAGE, max=1 << 40)


class Sized(Common):
    footprint_bytes: int = _footprint()
    iterations: int = param(1, "kernel launches over the data (gives reuse)", min=1, max=1000)
    streams: int = param(1, "concurrent access streams (warps/queues) interleaved by the "
                            "runner", min=1, max=256)
    processor: str = param("gpu0", "the processor that runs the pattern (gpuN or cpu0)")

    def validate(self):
        _processors(self.processor, "processor")


class StreamCfg(Sized):
    arrays: int = param(3, "arrays: 1 read; 2 read+write; 3 STREAM triad (2 read + 1 write)",
                        min=1, max=3)
    chunk_pages: int = param(16, "pages a stream handles per turn (per-warp chunk)",
                             min=1, max=1 << 20)


class StridedCfg(Sized):
    stride_pages: int = param(8, "page stride k of the walk (a column walk of a row-major "
                                 "matrix whose rows are k pages)", min=2, max=1 << 20)
    cover: bool = param(False, "after pass 0 (pages 0, k, 2k ...) shift by one page per pass "
                               "until every page was touched (a full transposed walk)")


class StencilCfg(Common):
    nx: int = param(1024, "grid columns (elements)", min=1, max=1 << 20)
    ny: int = param(1024, "grid rows (elements)", min=1, max=1 << 20)
    elem_bytes: int = param(4, "bytes per element", choices=(1, 2, 4, 8))
    radius: int = param(1, "halo rows read on each side", min=0, max=16)
    timesteps: int = param(2, "sweeps (ping-pong between the two buffers)", min=1, max=1000)
    block_rows: int = param(16, "output rows a thread block computes per turn", min=1,
                            max=1 << 20)
    streams: int = param(1, "concurrent access streams", min=1, max=256)


class GemmCfg(Common):
    m: int = param(512, "rows of A and C", min=1, max=1 << 16)
    n: int = param(512, "columns of B and C", min=1, max=1 << 16)
    k: int = param(512, "columns of A, rows of B", min=1, max=1 << 16)
    tile: int = param(128, "square tile edge (elements)", min=1, max=1 << 16)
    elem_bytes: int = param(4, "bytes per element (sgemm: 4)", choices=(2, 4, 8))
    streams: int = param(1, "concurrent streams; C tiles are dealt round-robin", min=1,
                         max=256)


class RandomCfg(Sized):
    accesses: int = param(4096, "accesses in total", min=1, max=1 << 24)
    rw_mix: float = param(0.0, "fraction of writes", min=0.0, max=1.0)
    hot_fraction: float = param(0.0, "fraction of accesses that go to the first 10% of pages "
                                      "on top of the uniform share (0 = uniform)",
                                min=0.0, max=1.0)


class ZipfCfg(Sized):
    accesses: int = param(4096, "accesses in total", min=1, max=1 << 24)
    alpha: float = param(1.0, "Zipf exponent (workloads.md: 0.8-1.2)", min=0.1, max=3.0)
    rw_mix: float = param(0.0, "fraction of writes", min=0.0, max=1.0)
    phase_len: int = param(0, "the page ranking is reshuffled every this many accesses "
                              "(0: never)", min=0, max=1 << 24)


class GraphCfg(Common):
    algo: str = param("bfs", "bfs (frontier expansion) or pagerank (pull, full passes)",
                      choices=("bfs", "pagerank"))
    vertices: int = param(4096, "vertices", min=2, max=1 << 22)
    avg_degree: int = param(8, "edges per vertex (before symmetrising)", min=1, max=256)
    graph: str = param("rmat", "rmat (skewed) or uniform", choices=("rmat", "uniform"))
    rmat_abcd: str = param("0.57,0.19,0.19,0.05", "R-MAT quadrant probabilities a,b,c,d")
    source: int = param(0, "BFS source vertex", min=0)
    iterations: int = param(2, "PageRank iterations", min=1, max=100)
    streams: int = param(1, "concurrent streams; vertices are dealt round-robin", min=1,
                         max=256)

    def validate(self):
        abcd = _floats(self.rmat_abcd, "rmat_abcd")
        if len(abcd) != 4 or any(x < 0 for x in abcd) or abs(sum(abcd) - 1) > 1e-6:
            raise ConfigError(f"parameter 'rmat_abcd' is "
                              f"'{self.rmat_abcd}'; give four non-negative numbers summing "
                              f"to 1, e.g. rmat_abcd=0.57,0.19,0.19,0.05")
        if self.source >= self.vertices:
            raise ConfigError(f"parameter 'source' is {self.source}, "
                              f"outside 0..{self.vertices - 1}; pick a vertex below vertices")


class PingPongCfg(Common):
    shared_bytes: int = param(64 << 10, "bytes each processor touches per turn", min=PAGE,
                              max=1 << 34)
    rounds: int = param(8, "turns of every processor", min=1, max=10000)
    processors: str = param("cpu0,gpu0", "processors taking turns, e.g. cpu0,gpu0 or "
                                         "gpu0,gpu1")
    overlap: float = param(1.0, "fraction of each processor's pages that all processors "
                                "share", min=0.0, max=1.0)
    atomics: bool = param(False, "turns are atomic read-modify-writes instead of read+write")

    def validate(self):
        if len(_processors(self.processors, "processors")) < 2:
            raise ConfigError(f"parameter 'processors' is "
                              f"'{self.processors}'; name at least two, e.g. cpu0,gpu0")


class MultiGpuCfg(Common):
    footprint_bytes: int = _footprint()
    gpus: int = param(2, "GPUs (one stream each)", min=2, max=8)
    partition: str = param("block", "block (contiguous share) or cyclic (chunk_pages "
                                    "round-robin)", choices=("block", "cyclic"))
    chunk_pages: int = param(16, "cyclic partition chunk", min=1, max=1 << 20)
    halo_pages: int = param(1, "pages a GPU reads from each neighbour's share", min=0,
                            max=1 << 20)
    shared_bytes: int = param(2 * MiB, "shared read-only bytes every GPU reads each "
                                       "iteration (the shared generator)", min=PAGE,
                              max=1 << 40)
    iterations: int = param(2, "iterations (barrier between)", min=1, max=1000)


class AtomicsCfg(Common):
    counters: int = param(4, "counters", min=1, max=4096)
    same_page: bool = param(False, "all counters on one page (else one page each)")
    increments: int = param(32, "increments per processor per counter", min=1, max=1 << 20)
    processors: str = param("gpu0,gpu1", "processors incrementing, one stream each")

    def validate(self):
        _processors(self.processors, "processors")


class OversubCfg(Common):
    ratio: float = param(1.10, "working set / VRAM (UVMBench sweeps 1.10 and 1.25)",
                         min=0.25, max=8.0)
    pattern: str = param("stream", "pattern run over the working set",
                         choices=("stream", "random", "stencil"))
    vram_bytes: int = param(8 * MiB, "VRAM of each GPU (header mem_bytes)", min=BLOCK,
                            max=1 << 40)
    iterations: int = param(2, "passes over the working set (reuse makes eviction matter)",
                            min=1, max=1000)
    streams: int = param(1, "concurrent access streams", min=1, max=256)


def _processors(text: str, name: str) -> list[str]:
    procs = [p.strip() for p in text.split(",")]
    bad = [p for p in procs if not re.fullmatch(r"cpu0|gpu[0-7]", p)]
    if bad or len(set(procs)) != len(procs):
        raise ConfigError(f"parameter '{name}' is '{text}'; list distinct processors cpu0 "
                          f"or gpu0..gpu7 separated by ','")
    return procs


def _floats(text: str, name: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",")]
    except ValueError:
        raise ConfigError(f"parameter '{name}' is '{text}'; give numbers separated by ','") \
            from None


# ---- emitting events ---------------------------------------------------------------------
class _Trace:
    """Events of one workload, with buffers placed from BASE and lossless merging of each
    stream's consecutive accesses (same page: ``n``; next page: ``run``)."""

    def __init__(self):
        self.events: list[dict] = []
        self.next_addr = BASE
        self.last: dict[tuple, dict] = {}     # (p, s) -> that stream's last access event
        self.gpus = 0

    def mmap(self, name: str, size: int) -> int:
        size = -(-size // PAGE) * PAGE
        addr = self.next_addr
        self.events.append({"e": "mmap", "id": name, "addr": addr, "size": size, "anon": True})
        self.next_addr = -(-(addr + size) // BLOCK) * BLOCK + BLOCK
        self.last.clear()
        return addr

    def sync(self):
        self.events.append({"e": "sync"})
        self.last.clear()

    def touch(self, p: str, op: str, addr: int, s: int = 0):
        """One access of page ``addr // PAGE`` by processor ``p`` on stream ``s``."""
        addr -= addr % PAGE
        if p.startswith("gpu"):
            self.gpus = max(self.gpus, int(p[3:]) + 1)
        ev = self.last.get((p, s))
        if ev is not None and ev["e"] == op and ev["addr"] == addr:
            ev["n"] = ev.get("n", 1) + 1
            return
        if ev is not None and "n" not in ev:
            if ev["e"] == op and ev["addr"] + PAGE == addr:
                ev.update(e="run", op=op, stride=PAGE, count=2)
                return
            if ev["e"] == "run" and ev["op"] == op and ev["addr"] + ev["count"] * PAGE == addr:
                ev["count"] += 1
                return
        ev = {"e": op, "p": p, "addr": addr}
        if s:
            ev["s"] = s
        self.events.append(ev)
        self.last[(p, s)] = ev

    def sweep(self, p: str, op: str, addr: int, size: int, s: int = 0):
        """Touch every page of ``[addr, addr + size)`` in order."""
        for a in range(addr - addr % PAGE, addr + size, PAGE):
            self.touch(p, op, a, s)

    def cpu_init(self, cfg, *buffers):
        if cfg.cpu_init:
            for addr, size in buffers:
                self.sweep("cpu0", "w", addr, size)
            self.sync()


def _deal(n: int, parts: int) -> list[range]:
    """``range(n)`` split into ``parts`` contiguous shares (the first ones one longer)."""
    q, r = divmod(n, parts)
    out, lo = [], 0
    for i in range(parts):
        hi = lo + q + (i < r)
        out.append(range(lo, hi))
        lo = hi
    return out


def _pages(nbytes: int) -> int:
    return max(1, -(-nbytes // PAGE))


# ---- the generators ----------------------------------------------------------------------
def _stream(cfg: StreamCfg, t: _Trace, rng: random.Random):
    """Sequential streaming: STREAM triad / vector add (workloads.md §(a) row 1).  Each
    stream takes ``chunk_pages`` at a time from its contiguous share of the arrays and reads
    the input arrays' chunk, then writes the output array's chunk."""
    npages = max(1, _pages(cfg.footprint_bytes) // cfg.arrays)
    bufs = [t.mmap(f"arr{i}", npages * PAGE) for i in range(cfg.arrays)]
    t.cpu_init(cfg, *[(b, npages * PAGE) for b in bufs[:max(1, cfg.arrays - 1)]])
    ops = {1: "r", 2: "rw", 3: "rrw"}[cfg.arrays]
    for _ in range(cfg.iterations):
        for s, share in enumerate(_deal(npages, cfg.streams)):
            for lo in range(share.start, share.stop, cfg.chunk_pages):
                hi = min(lo + cfg.chunk_pages, share.stop)
                for buf, op in zip(bufs, ops):
                    t.sweep(cfg.processor, op, buf + lo * PAGE, (hi - lo) * PAGE, s)
        t.sync()


def _strided(cfg: StridedCfg, t: _Trace, rng: random.Random):
    """Strided walk: a column of a row-major matrix whose rows are ``stride_pages`` pages
    (ATAX / BICG / MVT transposed access; §(a) row 2).  Pass j touches pages j, j+k, j+2k ...;
    without ``cover`` every pass is pass 0 (the same column, reused)."""
    npages = _pages(cfg.footprint_bytes)
    buf = t.mmap("matrix", npages * PAGE)
    t.cpu_init(cfg, (buf, npages * PAGE))
    k = cfg.stride_pages
    passes = k if cfg.cover else 1
    for _ in range(cfg.iterations):
        for j in range(passes):
            column = range(j, npages, k)
            for s, share in enumerate(_deal(len(column), cfg.streams)):
                for i in share:
                    t.touch(cfg.processor, "r", buf + column[i] * PAGE, s)
        t.sync()


def _stencil(cfg: StencilCfg, t: _Trace, rng: random.Random):
    """2-D stencil with ping-pong buffers: HOTSPOT / SRAD / FDTD-2D / Jacobi (§(a) row 3).
    Each turn a block of ``block_rows`` output rows reads the input rows it covers plus
    ``radius`` halo rows on each side and writes its rows of the output."""
    row = cfg.nx * cfg.elem_bytes
    size = row * cfg.ny
    bufs = [t.mmap("grid0", size), t.mmap("grid1", size)]
    t.cpu_init(cfg, (bufs[0], size))
    blocks = range(0, cfg.ny, cfg.block_rows)
    for step_ in range(cfg.timesteps):
        src, dst = bufs[step_ % 2], bufs[1 - step_ % 2]
        for s, share in enumerate(_deal(len(blocks), cfg.streams)):
            for b in share:
                y0 = blocks[b]
                y1 = min(y0 + cfg.block_rows, cfg.ny)
                lo, hi = max(0, y0 - cfg.radius), min(cfg.ny, y1 + cfg.radius)
                t.sweep("gpu0", "r", src + lo * row, (hi - lo) * row, s)
                t.sweep("gpu0", "w", dst + y0 * row, (y1 - y0) * row, s)
        t.sync()


def _gemm(cfg: GemmCfg, t: _Trace, rng: random.Random):
    """Tiled matrix multiply C = A·B, row-major (sgemm / 2MM / 3MM; §(a) row 4).  For each C
    tile, the k loop reads the A and B tiles row by row (high reuse), then C's tile is
    written once."""
    e, tl = cfg.elem_bytes, cfg.tile
    a = t.mmap("A", cfg.m * cfg.k * e)
    b = t.mmap("B", cfg.k * cfg.n * e)
    c = t.mmap("C", cfg.m * cfg.n * e)
    t.cpu_init(cfg, (a, cfg.m * cfg.k * e), (b, cfg.k * cfg.n * e))

    def tile(op, base, rows, ld, r0, c0, s):
        """The tile at (r0, c0) of a rows x ld matrix, row by row."""
        for r in range(r0, min(r0 + tl, rows)):
            t.sweep("gpu0", op, base + (r * ld + c0) * e, min(tl, ld - c0) * e, s)

    tiles = itertools.product(range(0, cfg.m, tl), range(0, cfg.n, tl))
    for i, (ti, tj) in enumerate(tiles):
        s = i % cfg.streams
        for tk in range(0, cfg.k, tl):
            tile("r", a, cfg.m, cfg.k, ti, tk, s)
            tile("r", b, cfg.k, cfg.n, tk, tj, s)
        tile("w", c, cfg.m, cfg.n, ti, tj, s)
    t.sync()


def _random(cfg: RandomCfg, t: _Trace, rng: random.Random):
    """Uniform random page accesses: GUPS / RandomAccess (§(a) row 5).  ``hot_fraction`` of
    the accesses go to the first tenth of the pages instead."""
    npages = _pages(cfg.footprint_bytes)
    buf = t.mmap("table", npages * PAGE)
    t.cpu_init(cfg, (buf, npages * PAGE))
    hot = max(1, npages // 10)
    for _ in range(cfg.iterations):
        for i in range(cfg.accesses):
            page = rng.randrange(hot) if rng.random() < cfg.hot_fraction else rng.randrange(npages)
            op = "w" if rng.random() < cfg.rw_mix else "r"
            t.touch(cfg.processor, op, buf + page * PAGE, i % cfg.streams)
        t.sync()


def _zipf(cfg: ZipfCfg, t: _Trace, rng: random.Random):
    """Zipf hot/cold reuse: embeddings, KV caches (§(a) row 6).  The page of rank r (1-based)
    is drawn with probability ∝ 1/r^alpha; ranks are a seeded permutation of the pages,
    redrawn every ``phase_len`` accesses (the hot set moves)."""
    npages = _pages(cfg.footprint_bytes)
    buf = t.mmap("table", npages * PAGE)
    t.cpu_init(cfg, (buf, npages * PAGE))
    cum = list(itertools.accumulate(1.0 / (r ** cfg.alpha) for r in range(1, npages + 1)))
    ranking = list(range(npages))
    count = 0
    for _ in range(cfg.iterations):
        for i in range(cfg.accesses):
            if count == 0 or cfg.phase_len and count % cfg.phase_len == 0:
                rng.shuffle(ranking)
            count += 1
            r = min(bisect.bisect_left(cum, rng.random() * cum[-1]), npages - 1)
            op = "w" if rng.random() < cfg.rw_mix else "r"
            t.touch(cfg.processor, op, buf + ranking[r] * PAGE, i % cfg.streams)
        t.sync()


def _graph_csr(cfg: GraphCfg, rng: random.Random) -> tuple[list[int], list[int]]:
    """A symmetric CSR graph (row pointers, column indices): R-MAT or uniform edges."""
    n, m = cfg.vertices, cfg.vertices * cfg.avg_degree
    scale = max(1, (n - 1).bit_length())
    a, b, c, _ = _floats(cfg.rmat_abcd, "rmat_abcd")
    adj: list[set] = [set() for _ in range(n)]
    for _ in range(m):
        if cfg.graph == "uniform":
            u, v = rng.randrange(n), rng.randrange(n)
        else:
            u = v = 0
            for _ in range(scale):
                x = rng.random()
                bit_u, bit_v = (0, 0) if x < a else (0, 1) if x < a + b else \
                    (1, 0) if x < a + b + c else (1, 1)
                u, v = 2 * u + bit_u, 2 * v + bit_v
            u, v = u % n, v % n
        if u != v:
            adj[u].add(v)
            adj[v].add(u)
    row, col = [0], []
    for nbrs in adj:
        col.extend(sorted(nbrs))
        row.append(len(col))
    return row, col


def _graph(cfg: GraphCfg, t: _Trace, rng: random.Random):
    """Irregular graph traversal over CSR (§(a) rows 7-8).  ``bfs``: per level, each frontier
    vertex reads its row pointer and edge list (streaming jumps) and each neighbour's level
    (random), writing the levels it discovers.  ``pagerank`` (pull): per iteration every
    vertex reads its edges and its neighbours' old ranks and writes its new rank."""
    row, col = _graph_csr(cfg, rng)
    n = cfg.vertices
    rp = t.mmap("row_ptr", (n + 1) * 8)
    ci = t.mmap("col_idx", max(1, len(col)) * 4)
    vals = [t.mmap("level" if cfg.algo == "bfs" else f"rank{i}", n * 4)
            for i in range(1 if cfg.algo == "bfs" else 2)]
    t.cpu_init(cfg, (rp, (n + 1) * 8), (ci, max(1, len(col)) * 4), (vals[0], n * 4))
    g = "gpu0"

    def edges(v, s):
        t.touch(g, "r", rp + v * 8, s)
        if row[v + 1] > row[v]:
            t.sweep(g, "r", ci + row[v] * 4, (row[v + 1] - row[v]) * 4, s)

    if cfg.algo == "bfs":
        seen, frontier = {cfg.source}, [cfg.source]
        while frontier:
            nxt = []
            for i, v in enumerate(frontier):
                s = i % cfg.streams
                edges(v, s)
                for u in col[row[v]:row[v + 1]]:
                    t.touch(g, "r", vals[0] + u * 4, s)
                    if u not in seen:
                        seen.add(u)
                        nxt.append(u)
                        t.touch(g, "w", vals[0] + u * 4, s)
            t.sync()
            frontier = nxt
        return
    for it in range(cfg.iterations):
        old, new = vals[it % 2], vals[1 - it % 2]
        for v in range(n):
            s = v % cfg.streams
            edges(v, s)
            for u in col[row[v]:row[v + 1]]:
                t.touch(g, "r", old + u * 4, s)
            t.touch(g, "w", new + v * 4, s)
        t.sync()


def _pingpong(cfg: PingPongCfg, t: _Trace, rng: random.Random):
    """CPU↔GPU (or GPU↔GPU) producer-consumer on shared pages (§(a) row 10): processors take
    turns, each reading then writing (or atomically updating) its pages, with a barrier
    between turns.  The first ``overlap`` of each processor's pages are common to all."""
    procs = _processors(cfg.processors, "processors")
    per = _pages(cfg.shared_bytes)
    common = round(per * cfg.overlap)
    private = per - common
    buf = t.mmap("shared", (common + private * len(procs)) * PAGE)
    for _ in range(cfg.rounds):
        for i, p in enumerate(procs):
            pages = list(range(common)) + [common + i * private + j for j in range(private)]
            for op in ("a",) if cfg.atomics else ("r", "w"):
                for page in pages:
                    t.touch(p, op, buf + page * PAGE)
            t.sync()


def _multi_gpu(cfg: MultiGpuCfg, t: _Trace, rng: random.Random, shared: bool):
    npages = _pages(cfg.footprint_bytes)
    data = t.mmap("data", npages * PAGE)
    ro = t.mmap("shared_ro", cfg.shared_bytes) if shared else None
    t.cpu_init(cfg, (data, npages * PAGE), *([(ro, cfg.shared_bytes)] if shared else []))
    if cfg.partition == "block":
        shares = [list(r) for r in _deal(npages, cfg.gpus)]
    else:
        chunks = range(0, npages, cfg.chunk_pages)
        shares = [[p for c in chunks[g::cfg.gpus]
                   for p in range(c, min(c + cfg.chunk_pages, npages))]
                  for g in range(cfg.gpus)]
    for _ in range(cfg.iterations):
        for g, mine in enumerate(shares):
            p = f"gpu{g}"
            if shared:
                t.sweep(p, "r", ro, cfg.shared_bytes, g)
            elif mine and cfg.halo_pages:
                lo, hi = mine[0], mine[-1]
                for page in itertools.chain(range(max(0, lo - cfg.halo_pages), lo),
                                            range(hi + 1, min(npages, hi + 1 + cfg.halo_pages))):
                    t.touch(p, "r", data + page * PAGE, g)
            for op in ("r", "w"):
                for page in mine:
                    t.touch(p, op, data + page * PAGE, g)
        t.sync()


def _partitioned(cfg, t, rng):
    """Multi-GPU data-parallel split with halo reads of the neighbours' shares (§(a) row
    11): each GPU (its own stream) reads its neighbours' ``halo_pages`` boundary pages, then
    reads and writes its own share; a barrier ends each iteration."""
    _multi_gpu(cfg, t, rng, shared=False)


def _shared(cfg, t, rng):
    """Multi-GPU all-gather: every GPU reads the whole shared read-only buffer each iteration
    (the read-duplication / remote-map case of §(a) row 11) and updates its own share."""
    _multi_gpu(cfg, t, rng, shared=True)


def _atomics(cfg: AtomicsCfg, t: _Trace, rng: random.Random):
    """Atomic counters (histogram / reduction): each processor, on its own stream, increments
    every counter ``increments`` times, counters visited round-robin (§(a) row 10 with
    atomics).  ``same_page`` packs all counters into one page (false sharing)."""
    procs = _processors(cfg.processors, "processors")
    buf = t.mmap("counters", (1 if cfg.same_page else cfg.counters) * PAGE)
    t.cpu_init(cfg, (buf, (1 if cfg.same_page else cfg.counters) * PAGE))
    for s, p in enumerate(procs):
        for _ in range(cfg.increments):
            for c in range(cfg.counters):
                t.touch(p, "a", buf + (0 if cfg.same_page else c * PAGE) + c * 8, s)
    t.sync()


def _oversub(cfg: OversubCfg, t: _Trace, rng: random.Random):
    """Oversubscription: ``pattern`` over a working set of ``ratio`` × VRAM (§(a) closing
    note; UVMBench's 110 % / 125 %).  The working set is the sum of the pattern's buffers."""
    want = _pages(round(cfg.vram_bytes * cfg.ratio))
    common = dict(seed=cfg.seed, vram_bytes=cfg.vram_bytes, cpu_init=cfg.cpu_init)
    if cfg.pattern == "stencil":
        nx = PAGE // 4                                     # one page per row
        sub = StencilCfg(**common, nx=nx, ny=max(1, want // 2), timesteps=cfg.iterations,
                         streams=cfg.streams)
        return _stencil(sub, t, rng)
    if cfg.pattern == "random":
        sub = RandomCfg(**common, footprint_bytes=want * PAGE, iterations=cfg.iterations,
                        streams=cfg.streams, accesses=want)
        return _random(sub, t, rng)
    sub = StreamCfg(**common, footprint_bytes=want * PAGE, iterations=cfg.iterations,
                    streams=cfg.streams, arrays=1)
    return _stream(sub, t, rng)


# ---- the registry ------------------------------------------------------------------------
@dataclass(frozen=True)
class Generator:
    """A registered generator: ``GENERATORS[name](**params) -> Workload``."""
    name: str
    Config: type
    build: Callable

    @property
    def doc(self) -> str:
        return " ".join((self.build.__doc__ or "").split())

    def config(self, params: dict):
        """The validated configuration (strings are parsed); ConfigError names the bad one."""
        try:
            return self.Config.build(params, model=self.name)
        except ConfigError as e:
            text = str(e)
            for model_word in (f"of model {self.name}", f"for model {self.name}"):
                text = text.replace(model_word, f"of generator {self.name}")
            text = re.sub(r"^parameter '(\w+)' (?!of generator)",
                          rf"parameter '\1' of generator {self.name} ", text)
            raise ConfigError(text.replace("--set ", f"{self.name}:")) from None

    def __call__(self, **params):
        cfg = self.config(params)
        t = _Trace()
        self.build(cfg, t, random.Random(cfg.seed))
        gpus = max(t.gpus, 1)
        header = {"svmtrace": 1, "page_size": PAGE, "time_unit": "ns", "clock": "logical",
                  "processors": [{"id": "cpu0", "kind": "cpu"}] + [
                      {"id": f"gpu{g}", "kind": "gpu", "mem_bytes": cfg.vram_bytes}
                      for g in range(gpus)],
                  "generator": {"name": self.name, "params": cfg.as_dict()},
                  "source": "synthetic", "notes": self.doc.split(". ")[0] + "."}
        return _workload(header, t.events)


def _workload(header: dict, events: list):
    from .format import Workload
    return Workload(header=header, events=events)


GENERATORS: dict[str, Generator] = {g.name: g for g in (
    Generator("stream", StreamCfg, _stream),
    Generator("strided", StridedCfg, _strided),
    Generator("stencil", StencilCfg, _stencil),
    Generator("gemm", GemmCfg, _gemm),
    Generator("random", RandomCfg, _random),
    Generator("zipf", ZipfCfg, _zipf),
    Generator("graph", GraphCfg, _graph),
    Generator("pingpong", PingPongCfg, _pingpong),
    Generator("multi_gpu_partitioned", MultiGpuCfg, _partitioned),
    Generator("multi_gpu_shared", MultiGpuCfg, _shared),
    Generator("atomics", AtomicsCfg, _atomics),
    Generator("oversub", OversubCfg, _oversub),
)}


def generate(name: str, **params):
    """The workload of generator ``name`` with ``params`` (values may be strings)."""
    if name not in GENERATORS:
        raise SvmCheckError(f"unknown workload generator '{name}'; available: "
                            f"{', '.join(GENERATORS)}")
    return GENERATORS[name](**params)


_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([KMGT])(?:i?B)?", re.IGNORECASE)


def parse_spec(text: str) -> tuple[str, dict]:
    """``'zipf:alpha=1.1,footprint_bytes=8M'`` -> ``('zipf', {'alpha': '1.1',
    'footprint_bytes': 8388608})``.  Values stay strings (the generator's parameters parse
    them) except sizes with a K/M/G/T suffix, which become bytes."""
    name, _, rest = text.strip().partition(":")
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise SvmCheckError(f"workload spec '{text}' must start with a generator name "
                            f"({', '.join(GENERATORS)}), as GENERATOR[:k=v,...]")
    params: dict = {}
    key = None
    for tok in rest.split(",") if rest else ():
        k, eq, v = tok.partition("=")
        if not eq:
            if key is None or not tok.strip():
                raise SvmCheckError(f"workload spec '{text}': '{tok}' is not k=v; write "
                                    f"GENERATOR:k=v,k2=v2 (a list continues after ',')")
            params[key] = f"{params[key]},{tok.strip()}"
            continue
        key = k.strip()
        if not key or key in params:
            raise SvmCheckError(f"workload spec '{text}': empty or repeated parameter "
                                f"'{key}'; give each k=v once")
        params[key] = v.strip()
    for k, v in params.items():
        m = _SIZE.fullmatch(v)
        if m:
            params[k] = int(float(m[1]) * 1024 ** ("KMGT".index(m[2].upper()) + 1))
    return name, params
