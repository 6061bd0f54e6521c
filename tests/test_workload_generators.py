"""Workload generators: deterministic per seed, the access pattern each promises, bad params.

Every shape test expands the compact events (``run``, repeat ``n``) back into single page
touches, so a generator cannot pass by emitting a plausible-looking but wrong ``run``.
"""
from __future__ import annotations

from collections import Counter

import pytest

from svmcheck.errors import SvmCheckError
from svmcheck.workload.format import load
from svmcheck.workload.generators import GENERATORS, PAGE, generate, parse_spec
from svmcheck.workload.runner import run

# small enough that every generator runs in milliseconds
SMALL = {
    "stream": dict(footprint_bytes=96 * PAGE),
    "strided": dict(footprint_bytes=64 * PAGE, stride_pages=4),
    "stencil": dict(nx=1024, ny=64, block_rows=8),
    "gemm": dict(m=64, n=64, k=64, tile=32),
    "random": dict(footprint_bytes=64 * PAGE, accesses=300, rw_mix=0.3, streams=3),
    "zipf": dict(footprint_bytes=64 * PAGE, accesses=300, streams=2),
    "graph": dict(vertices=256, avg_degree=4, streams=2),
    "pingpong": dict(shared_bytes=8 * PAGE, rounds=3),
    "multi_gpu_partitioned": dict(footprint_bytes=32 * PAGE),
    "multi_gpu_shared": dict(footprint_bytes=32 * PAGE, shared_bytes=8 * PAGE),
    "atomics": dict(counters=3, increments=5),
    "oversub": dict(vram_bytes=2 << 20),
}


def accesses(w):
    """(processor, op, page, stream) of every single access, in file order per event."""
    out = []
    for ev in w.events:
        e = ev["e"]
        if e in ("r", "w", "a"):
            out += [(ev["p"], e, ev["addr"] // PAGE, ev.get("s", 0))] * ev.get("n", 1)
        elif e == "run":
            stride = ev.get("stride", PAGE)
            out += [(ev["p"], ev["op"], (ev["addr"] + i * stride) // PAGE, ev.get("s", 0))
                    for i in range(ev["count"])]
    return out


def buffers(w):
    return {ev["id"]: (ev["addr"] // PAGE, ev["size"] // PAGE)
            for ev in w.events if ev["e"] == "mmap"}


def gpu_pages(w, op=None, buf=None):
    """GPU-touched page numbers inside ``buf`` (default: the workload's only buffer)."""
    bufs = buffers(w)
    base, n = bufs[buf] if buf else next(iter(bufs.values())) if len(bufs) == 1 else (0, 1 << 62)
    return [pg - base for p, o, pg, _ in accesses(w)
            if p.startswith("gpu") and (op is None or o == op) and base <= pg < base + n]


def test_every_generator_is_registered_and_documented():
    assert set(SMALL) == set(GENERATORS)
    for g in GENERATORS.values():
        assert g.doc and all(f.metadata["help"] for f in g.Config.params())


@pytest.mark.parametrize("name", sorted(SMALL))
def test_same_seed_same_events_and_header(name):
    a = generate(name, seed=7, **SMALL[name])
    b = generate(name, seed=7, **SMALL[name])
    assert a.events == b.events and a.header == b.header
    assert a.header["generator"] == {"name": name, "params": a.header["generator"]["params"]}
    assert a.header["generator"]["params"]["seed"] == 7
    # every access lies inside a buffer that was mmapped before it
    spans = [(base, base + n) for base, n in buffers(a).values()]
    assert accesses(a) and all(any(lo <= pg < hi for lo, hi in spans)
                               for _, _, pg, _ in accesses(a))


@pytest.mark.parametrize("name", sorted(SMALL))
def test_generated_workload_is_valid_and_runs_coherently_on_xe(name, tmp_path):
    w = load(generate(name, **SMALL[name]))             # the format's validation
    r = run(w, model="xe", out_dir=str(tmp_path))
    assert r.ok, r.failure
    assert r.metrics["accesses"] == len(accesses(w)) and r.metrics["gpu_faults"] > 0


@pytest.mark.parametrize("name", ["random", "zipf", "graph"])
def test_another_seed_another_pattern(name):
    assert generate(name, seed=1, **SMALL[name]).events != \
        generate(name, seed=2, **SMALL[name]).events


def test_stream_is_one_sequential_sweep_per_array():
    w = generate("stream", footprint_bytes=96 * PAGE, arrays=3, chunk_pages=8)
    assert len(buffers(w)) == 3
    assert gpu_pages(w, "r", "arr0") == list(range(32))
    assert gpu_pages(w, "r", "arr1") == list(range(32))
    assert gpu_pages(w, "w", "arr2") == list(range(32))
    # the CPU initialised the inputs first, not the output
    cpu = {pg for p, _, pg, _ in accesses(w) if p == "cpu0"}
    base = buffers(w)
    assert cpu == {b + i for b, n in (base["arr0"], base["arr1"]) for i in range(n)}
    # compact: one GPU run per array chunk, not one event per page
    assert len([e for e in w.events if e.get("p") == "gpu0"]) == 3 * 32 // 8


def test_stream_streams_split_the_sweep():
    w = generate("stream", footprint_bytes=64 * PAGE, arrays=1, streams=4)
    by_stream = {}
    for p, _, pg, s in accesses(w):
        if p == "gpu0":
            by_stream.setdefault(s, []).append(pg)
    assert sorted(by_stream) == [0, 1, 2, 3]
    assert all(len(v) == 16 and v == sorted(v) for v in by_stream.values())


@pytest.mark.parametrize("k", [2, 5, 16])
def test_strided_touches_every_kth_page(k):
    w = generate("strided", footprint_bytes=64 * PAGE, stride_pages=k, iterations=2)
    assert gpu_pages(w) == list(range(0, 64, k)) * 2
    full = generate("strided", footprint_bytes=64 * PAGE, stride_pages=k, cover=True)
    assert Counter(gpu_pages(full)) == Counter(range(64))
    assert gpu_pages(full)[:3] == [0, k, 2 * k]


def test_stencil_reads_halo_and_writes_each_row_once():
    row_pages = 2                                # nx=2048 floats = 8 KiB
    w = generate("stencil", nx=2048, ny=32, block_rows=8, radius=1, timesteps=2)
    b = buffers(w)
    reads0 = Counter(gpu_pages(w, "r", "grid0"))
    # interior block boundaries are read twice (own block + neighbour's halo), edges once
    assert set(reads0) == set(range(32 * row_pages))
    assert reads0[8 * row_pages] == 2 and reads0[0] == 1
    assert Counter(gpu_pages(w, "w", "grid1")) == Counter(range(32 * row_pages))
    assert Counter(gpu_pages(w, "w", "grid0")) == Counter(range(32 * row_pages))  # ping-pong
    assert b["grid0"][1] == b["grid1"][1] == 32 * row_pages


def test_gemm_rereads_inputs_and_writes_output():
    w = generate("gemm", m=64, n=64, k=64, tile=32)
    a_reads = Counter(gpu_pages(w, "r", "A"))
    c_writes = Counter(gpu_pages(w, "w", "C"))
    assert set(a_reads) == set(range(buffers(w)["A"][1]))
    # each A tile is read once per C-tile column: n / tile = 2 times, 32 rows per page visit
    assert min(a_reads.values()) >= 2
    assert set(c_writes) == set(range(buffers(w)["C"][1]))
    assert not gpu_pages(w, "w", "A") and not gpu_pages(w, "r", "C")


def test_random_mixes_reads_and_writes_over_all_streams():
    w = generate("random", footprint_bytes=64 * PAGE, accesses=2000, rw_mix=0.25, streams=3)
    ops = Counter(o for p, o, _, _ in accesses(w) if p == "gpu0")
    assert sum(ops.values()) == 2000 and 0.18 < ops["w"] / 2000 < 0.32
    assert {s for p, _, _, s in accesses(w) if p == "gpu0"} == {0, 1, 2}
    assert len(set(gpu_pages(w))) > 56                     # uniform: nearly all 64 pages


def test_zipf_hot_set_gets_most_accesses():
    w = generate("zipf", footprint_bytes=1000 * PAGE, accesses=5000, alpha=1.0)
    counts = sorted(Counter(gpu_pages(w)).values(), reverse=True)
    assert sum(counts) == 5000
    assert sum(counts[:100]) > 0.6 * 5000                  # top 10 % of pages: ~ H(100)/H(1000)
    flat = generate("random", footprint_bytes=1000 * PAGE, accesses=5000)
    assert sum(sorted(Counter(gpu_pages(flat)).values(), reverse=True)[:100]) < 0.25 * 5000


def test_zipf_hot_set_moves_with_phase_len():
    w = generate("zipf", footprint_bytes=1000 * PAGE, accesses=4000, phase_len=2000)
    pages = gpu_pages(w)
    top = [Counter(half).most_common(1)[0][0] for half in (pages[:2000], pages[2000:])]
    assert top[0] != top[1]


@pytest.mark.parametrize("algo", ["bfs", "pagerank"])
def test_graph_reads_edges_and_vertex_values_irregularly(algo):
    w = generate("graph", algo=algo, vertices=8192, avg_degree=2, iterations=2)
    b = buffers(w)
    vals = "level" if algo == "bfs" else "rank0"
    col_reads = gpu_pages(w, "r", "col_idx")
    val_reads = gpu_pages(w, "r", vals)
    assert set(col_reads) == set(range(b["col_idx"][1]))   # every edge list read
    jumps = sum(1 for x, y in zip(val_reads, val_reads[1:]) if abs(x - y) > 0)
    assert jumps > len(val_reads) // 4                     # data-dependent, not sequential
    if algo == "pagerank":
        assert set(gpu_pages(w, "w", "rank1")) == set(range(b["rank1"][1]))
        assert set(gpu_pages(w, "w", "rank0")) == set(range(b["rank0"][1]))


def test_pingpong_processors_alternate_on_common_pages():
    w = generate("pingpong", shared_bytes=4 * PAGE, rounds=3, overlap=0.5)
    turns, cur = [], None
    for ev in w.events:
        if ev["e"] == "sync":
            cur = None
        elif ev.get("p"):
            if cur is None:
                turns.append(ev["p"])
            cur = ev["p"]
    assert turns == ["cpu0", "gpu0"] * 3
    base = buffers(w)["shared"][0]
    mine = {p: {pg - base for q, _, pg, _ in accesses(w) if q == p} for p in ("cpu0", "gpu0")}
    assert mine["cpu0"] & mine["gpu0"] == {0, 1}             # overlap 0.5 of 4 pages
    assert len(mine["cpu0"]) == len(mine["gpu0"]) == 4
    atomic = generate("pingpong", processors="gpu0,gpu1", atomics=True, rounds=2)
    assert {o for _, o, _, _ in accesses(atomic)} == {"a"}


def test_multi_gpu_partitioned_shares_are_disjoint_with_halos():
    w = generate("multi_gpu_partitioned", gpus=3, footprint_bytes=30 * PAGE, halo_pages=2,
                 iterations=1)
    base = buffers(w)["data"][0]
    writes = {g: {pg - base for p, o, pg, _ in accesses(w) if p == f"gpu{g}" and o == "w"}
              for g in range(3)}
    assert writes == {0: set(range(10)), 1: set(range(10, 20)), 2: set(range(20, 30))}
    reads1 = {pg - base for p, o, pg, _ in accesses(w) if p == "gpu1" and o == "r"}
    assert reads1 == set(range(8, 22))                     # own share + 2 halo pages per side
    assert {s for p, _, _, s in accesses(w) if p == "gpu2"} == {2}
    cyc = generate("multi_gpu_partitioned", partition="cyclic", chunk_pages=4,
                   footprint_bytes=16 * PAGE, iterations=1)
    base = buffers(cyc)["data"][0]
    assert {pg - base for p, o, pg, _ in accesses(cyc) if p == "gpu1" and o == "w"} == \
        {4, 5, 6, 7, 12, 13, 14, 15}


def test_multi_gpu_shared_every_gpu_reads_the_shared_buffer():
    w = generate("multi_gpu_shared", gpus=2, footprint_bytes=8 * PAGE, shared_bytes=4 * PAGE,
                 iterations=2)
    base = buffers(w)["shared_ro"][0]
    for g in (0, 1):
        seen = Counter(pg - base for p, o, pg, _ in accesses(w)
                       if p == f"gpu{g}" and base <= pg < base + 4)
        assert seen == Counter({0: 2, 1: 2, 2: 2, 3: 2})
    assert len(w.header["processors"]) == 3


def test_atomics_count_every_increment():
    w = generate("atomics", counters=3, increments=5, processors="gpu0,gpu1,cpu0")
    atom = [a for a in accesses(w) if a[1] == "a"]
    assert len(atom) == 3 * 5 * 3
    assert len({pg for _, _, pg, _ in atom}) == 3
    packed = generate("atomics", counters=3, increments=5, same_page=True)
    assert len({pg for _, o, pg, _ in accesses(packed) if o == "a"}) == 1


@pytest.mark.parametrize("pattern", ["stream", "random", "stencil"])
@pytest.mark.parametrize("ratio", [1.10, 1.25])
def test_oversub_working_set_is_the_asked_fraction_of_vram(pattern, ratio):
    vram = 4 << 20
    w = generate("oversub", ratio=ratio, pattern=pattern, vram_bytes=vram)
    ws = sum(n for _, n in buffers(w).values()) * PAGE
    assert abs(ws / vram - ratio) <= 2 * PAGE / vram
    assert w.header["processors"][1]["mem_bytes"] == vram
    touched = {pg for p, _, pg, _ in accesses(w) if p == "gpu0"}
    if pattern == "random":
        assert len(touched) > 0.5 * ws / PAGE
    else:
        assert touched == {b + i for b, n in buffers(w).values() for i in range(n)}


@pytest.mark.parametrize("name, params, words", [
    ("zipf", dict(alpha="5"), ["alpha", "0.1..3.0"]),
    ("stream", dict(arrays=4), ["arrays", "1..3"]),
    ("stream", dict(footprint_bytes=0), ["footprint_bytes", "4096"]),
    ("random", dict(rw_mix=1.5), ["rw_mix", "0.0..1.0"]),
    ("stencil", dict(elem_bytes=3), ["elem_bytes", "1, 2, 4, 8"]),
    ("graph", dict(algo="sssp"), ["algo", "bfs, pagerank"]),
    ("graph", dict(rmat_abcd="0.5,0.5"), ["rmat_abcd"]),
    ("graph", dict(vertices=8, source=9), ["source", "0..7"]),
    ("pingpong", dict(processors="gpu0"), ["processors"]),
    ("atomics", dict(processors="gpu9"), ["processors", "gpu0..gpu7"]),
    ("oversub", dict(ratio=20), ["ratio", "0.25..8.0"]),
    ("oversub", dict(pattern="gemm"), ["pattern", "stream, random, stencil"]),
    ("stream", dict(iterations="many"), ["iterations", "int"]),
    ("stream", dict(bogus=1), ["bogus", "arrays"]),
    ("nosuch", {}, ["nosuch", "stream"]),
])
def test_bad_parameters_are_one_line_errors(name, params, words):
    with pytest.raises(SvmCheckError) as e:
        generate(name, **params)
    msg = str(e.value)
    assert "\n" not in msg and all(w in msg for w in words), msg
    if name in GENERATORS:
        assert f"generator {name}" in msg and "model" not in msg


def test_parse_spec():
    assert parse_spec("stream") == ("stream", {})
    assert parse_spec("zipf:alpha=1.1,footprint_bytes=8M,vram_bytes=64KiB") == (
        "zipf", {"alpha": "1.1", "footprint_bytes": 8 << 20, "vram_bytes": 64 << 10})
    assert parse_spec("pingpong:processors=gpu0,gpu1,rounds=2") == (
        "pingpong", {"processors": "gpu0,gpu1", "rounds": "2"})
    name, params = parse_spec("oversub:ratio=1.25,vram_bytes=2M")
    assert generate(name, **params).header["generator"]["params"]["ratio"] == 1.25
    for bad in ("", ":a=1", "zipf:alpha", "zipf:alpha=1,alpha=2", "zipf:=3", "Zipf!"):
        with pytest.raises(SvmCheckError, match="GENERATOR|k=v"):
            parse_spec(bad)
