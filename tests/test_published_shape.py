"""Published shapes reproduced qualitatively (../shared/reference/workloads.md §(d)).

Row 7 (NVIDIA's tree prefetcher, uvm_perf_prefetch.c, walked by hand for one sequential
sweep): far faults per 2 MiB are 512 at 4 KiB demand paging, 32 with the 64 KiB big-page
upgrade and about 6 with the density tree.  Row 12 / row 1: demand-only 4 KiB paging spends
far more time than the prefetcher on a regular sweep.  Row 3 (UVMBench §IV-C): small
transfers waste link bandwidth, so 64 KiB migrations reach a higher effective bandwidth than
4 KiB ones.  Row 4 (UVMBench §IV-D): at 110 % and 125 % of VRAM a single-pass stream degrades
gracefully (no page migrates twice), while a pattern with reuse collapses (pages bounce).

The workloads come from the generators (``stream``, ``oversub``), so this also checks that a
generated sweep is what the runner's policies see.  ``python tests/test_published_shape.py``
prints the tables of docs/workloads-shapes.md.
"""
from __future__ import annotations

import functools

from svmcheck.workload.generators import generate
from svmcheck.workload.runner import run

BLOCKS = 4                                   # the sweep covers four 2 MiB VA blocks
SWEEP = dict(arrays=1, footprint_bytes=BLOCKS * (2 << 20))
POLICIES = {"4 KiB demand": "granularity=4k", "64 KiB widening": "granularity=64k",
            "tree prefetcher": "granularity=4k,prefetch=tree"}
VRAM = 4 << 20
OVERSUB = {(pattern, ratio): dict(pattern=pattern, ratio=ratio, iterations=iters,
                                  vram_bytes=VRAM)
           for pattern, iters in (("stream", 1), ("random", 2)) for ratio in (0.9, 1.10, 1.25)}


@functools.lru_cache(maxsize=None)
def sweep(policy: str) -> dict:
    r = run(generate("stream", **SWEEP), model="xe", policy=policy, out_dir="/tmp")
    assert r.ok, r.failure
    return r.metrics


@functools.lru_cache(maxsize=None)
def oversub(pattern: str, ratio: float) -> tuple[dict, int]:
    w = generate("oversub", **OVERSUB[(pattern, ratio)])
    r = run(w, model="xe", policy="granularity=64k", out_dir="/tmp")
    assert r.ok, r.failure
    pages = sum(e["size"] for e in w.events if e["e"] == "mmap") // 4096
    return r.metrics, pages


def per_block(policy: str) -> float:
    return sweep(policy)["gpu_faults"] / BLOCKS


def test_faults_per_2mib_demand_vs_64k_vs_tree():
    demand, big, tree = (per_block(POLICIES[k]) for k in POLICIES)
    assert demand == 512 and big == 32           # one fault per page / per 64 KiB big page
    assert 4 <= tree <= 8                        # the hand walk gives 6: 0, 64K, ..., 1M
    assert demand / big == 16 and big / tree >= 4
    # the same bytes move whatever the policy: only how many faults it takes differs
    assert len({sweep(p)["bytes_h2d"] for p in POLICIES.values()}) == 1


def test_demand_paging_time_dwarfs_the_prefetcher():
    t = {k: sweep(p)["modelled_time_ns"] for k, p in POLICIES.items()}
    assert t["4 KiB demand"] > 10 * t["tree prefetcher"]
    assert t["4 KiB demand"] > t["64 KiB widening"] > t["tree prefetcher"]


def test_bigger_migrations_use_the_link_better():
    bw = {k: sweep(p)["effective_link_gbps"] for k, p in POLICIES.items()}
    assert bw["64 KiB widening"] > 3 * bw["4 KiB demand"]


def test_oversubscription_streaming_degrades_gracefully_reuse_collapses():
    fit, _ = oversub("stream", 0.9)
    for ratio in (1.10, 1.25):
        m, pages = oversub("stream", ratio)
        assert m["evictions"] > 0 and m["migrations_h2d"] == pages     # no page twice
        assert m["modelled_time_ns"] < 1.5 * fit["modelled_time_ns"]
        r, rpages = oversub("random", ratio)
        assert r["migrations_h2d"] > 3 * rpages                          # pages bounce
    rfit, _ = oversub("random", 0.9)
    assert oversub("random", 1.25)[0]["modelled_time_ns"] > 5 * rfit["modelled_time_ns"]


def tables() -> str:
    """The markdown tables of docs/workloads-shapes.md."""
    out = ["| policy (`--policy`) | GPU faults | faults per 2 MiB | prefetch faults | "
           "bytes h2d | effective link GB/s | modelled time (ms) |", "|---|---|---|---|---|---|---|"]
    for name, p in POLICIES.items():
        m = sweep(p)
        out.append(f"| {name} (`{p}`) | {m['gpu_faults']} | {per_block(p):g} | "
                   f"{m['prefetch_faults']} | {m['bytes_h2d']:,} | {m['effective_link_gbps']} | "
                   f"{m['modelled_time_ns'] / 1e6:.1f} |")
    out += ["", "| pattern | working set / VRAM | pages | migrations h2d | per page | "
            "evictions | modelled time (ms) | vs. fitting |", "|---|---|---|---|---|---|---|---|"]
    for pattern in ("stream", "random"):
        fit = oversub(pattern, 0.9)[0]["modelled_time_ns"]
        for ratio in (0.9, 1.10, 1.25):
            m, pages = oversub(pattern, ratio)
            out.append(f"| {pattern} (iterations={OVERSUB[(pattern, ratio)]['iterations']}) | "
                       f"{ratio:.0%} | {pages} | {m['migrations_h2d']} | "
                       f"{m['migrations_h2d'] / pages:.2f} | {m['evictions']} | "
                       f"{m['modelled_time_ns'] / 1e6:.1f} | {m['modelled_time_ns'] / fit:.1f}x |")
    return "\n".join(out)


if __name__ == "__main__":
    print(tables())
