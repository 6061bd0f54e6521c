"""The workload runner drives the model's own steps: metrics move the right way between
policies, coherence is checked at every access, and a broken variant's mismatch is saved as
a counterexample that ``svmcheck replay`` reproduces."""
import pytest

from svmcheck.errors import SvmCheckError
from svmcheck.trace import confirm, load, replay
from svmcheck.registry import build
from svmcheck.workload import format as fmt
from svmcheck.workload.runner import run

PS = 4096
BASE = 0x40000000
MiB = 1 << 20


def workload(events, *, gpus=1, vram=64 * MiB, **header):
    h = {"svmtrace": 1, "page_size": PS,
         "processors": [{"id": "cpu0", "kind": "cpu"}] +
                       [{"id": f"gpu{g}", "kind": "gpu", "mem_bytes": vram} for g in range(gpus)]}
    h.update(header)
    return fmt.load([h] + events)


def sweep(npages, p="gpu0", op="r", **kw):
    return [{"e": "mmap", "id": "A", "addr": BASE, "size": npages * PS},
            {"e": "run", "p": p, "op": op, "addr": BASE, "count": npages, **kw}]


def test_prefetch_shape_on_one_2m_sweep():
    """workloads.md §(d) row 7: faults per 2 MiB of a sequential sweep are 512 with 4 KiB
    demand paging, 32 with 64 KiB granularity and 6 with the tree prefetcher."""
    wl = workload(sweep(512))
    faults = {name: run(wl, policy=p).metrics["gpu_faults"] for name, p in (
        ("4k", "granularity=4k"), ("64k", "granularity=64k"),
        ("tree", "granularity=4k,prefetch=tree"), ("fit", None))}
    assert faults == {"4k": 512, "64k": 32, "tree": 6, "fit": 1}
    tree = run(wl, policy="granularity=4k,prefetch=tree").metrics
    # never-touched pages are zero-filled in VRAM: prefetch faults, but nothing transferred
    assert tree["prefetch_faults"] == tree["populated_vram"] - 6 == 506
    assert tree["prefetched_pages"] == 0 and tree["migration_sizes"] == {}


def test_coarser_granularity_fewer_faults_same_bytes_less_time():
    wl = workload([{"e": "mmap", "id": "A", "addr": BASE, "size": 128 * PS},
                   {"e": "run", "p": "cpu0", "op": "w", "addr": BASE, "count": 128},
                   {"e": "sync"},
                   {"e": "run", "p": "gpu0", "op": "r", "addr": BASE, "count": 128}])
    small, big = run(wl, policy="granularity=4k"), run(wl, policy="granularity=64k")
    assert small.ok and big.ok
    assert big.metrics["gpu_faults"] < small.metrics["gpu_faults"]
    assert big.metrics["bytes_h2d"] == small.metrics["bytes_h2d"] == 128 * PS
    assert big.metrics["modelled_time_ns"] < small.metrics["modelled_time_ns"]
    assert big.metrics["bytes_by_link"] == {"host->gpu0": 128 * PS}
    assert big.location(BASE) == "gpu0"


def test_map_remote_moves_nothing_and_counts_remote_accesses():
    wl = workload(sweep(32))
    r = run(wl, policy="fault=remote")
    assert r.metrics["migrations_h2d"] == 0 and r.metrics["populated_vram"] == 0
    assert r.metrics["remote_accesses"] == 32
    assert r.location(BASE) == "ram"


def test_cpu_fault_brings_gpu_data_back():
    wl = workload([{"e": "mmap", "id": "A", "addr": BASE, "size": 16 * PS},
                   {"e": "run", "p": "gpu0", "op": "w", "addr": BASE, "count": 16},
                   {"e": "sync"},
                   {"e": "r", "p": "cpu0", "addr": BASE + 3 * PS},
                   {"e": "expect", "what": "location", "addr": BASE + 3 * PS, "is": "ram"},
                   {"e": "expect", "what": "value", "addr": BASE + 3 * PS}])
    r = run(wl, policy="granularity=64k")
    assert r.ok, r.failure
    assert r.metrics["cpu_faults"] == 1 and r.metrics["migrations_d2h"] == 16
    assert r.metrics["invalidations"] == 16        # the GPU mapping of the whole range


def test_oversubscription_evicts_down_to_capacity():
    """A 2-pass sweep over 48 pages with 32 pages of VRAM: eviction by the model's TTM step."""
    events = [{"e": "mmap", "id": "A", "addr": BASE, "size": 48 * PS}]
    for _ in range(2):
        events += [{"e": "run", "p": "gpu0", "op": "w", "addr": BASE, "count": 48},
                   {"e": "sync"}]
    wl = workload(events, vram=32 * PS)
    lru = run(wl, policy="granularity=64k,eviction=lru")
    assert lru.ok, lru.failure
    assert lru.metrics["evictions"] > 0 and lru.metrics["migrations_d2h"] > 0
    assert lru.metrics["resident_peak"] <= 32 + 16     # one chunk over, then TTM evicts
    rnd = run(wl, policy="granularity=64k,eviction=random", seed=3)
    assert rnd.ok and rnd.metrics["evictions"] > 0


def test_expect_events_pass_and_fail_with_one_line():
    # a 4-page VMA takes 4 KiB chunks: neither 2 MiB nor 64 KiB fits in it (Xe's fit)
    events = sweep(4) + [{"e": "sync"},
                         {"e": "expect", "what": "metric", "name": "gpu_faults", "op": "==",
                          "value": 4},
                         {"e": "expect", "what": "outcome", "of": 1, "is": "ok"},
                         {"e": "expect", "what": "location", "addr": BASE, "is": "gpu0"}]
    assert run(workload(events)).ok
    bad = events + [{"e": "expect", "what": "metric", "name": "gpu_faults", "op": ">=",
                     "value": 5}]
    r = run(workload(bad))
    assert not r.ok and "metric gpu_faults is 4, expected >= 5" in r.failure
    assert "\n" not in r.failure and r.trace_path is None


def test_munmap_then_gpu_access_fails_in_the_model():
    events = sweep(2) + [{"e": "sync"}, {"e": "munmap", "addr": BASE, "size": PS},
                         {"e": "sync"}, {"e": "r", "p": "gpu0", "addr": BASE},
                         {"e": "r", "p": "cpu0", "addr": BASE}]
    r = run(workload(events), policy="granularity=4k")
    assert r.ok
    assert r.outcomes[5:] == ["-ENOENT", "SIGSEGV"]


def test_fork_child_write_is_isolated():
    events = [{"e": "mmap", "id": "A", "addr": BASE, "size": PS},
              {"e": "w", "p": "cpu0", "addr": BASE}, {"e": "sync"},
              {"e": "w", "p": "gpu0", "addr": BASE}, {"e": "sync"}, {"e": "fork"},
              {"e": "w", "p": "cpu0", "addr": BASE, "mm": 1},
              {"e": "r", "p": "gpu0", "addr": BASE}, {"e": "r", "p": "cpu0", "addr": BASE},
              {"e": "sync"}, {"e": "expect", "what": "value", "addr": BASE}]
    r = run(workload(events))
    assert r.ok, r.failure
    assert r.outcomes[6:9] == ["ok", "ok", "ok"]


def test_thrashing_detected_and_pinning_stops_the_ping_pong():
    events = [{"e": "mmap", "id": "A", "addr": BASE, "size": PS}]
    for _ in range(8):
        events += [{"e": "w", "p": "gpu0", "addr": BASE}, {"e": "sync"},
                   {"e": "w", "p": "cpu0", "addr": BASE}, {"e": "sync"}]
    wl = workload(events)
    free = run(wl)
    pinned = run(wl, policy="thrashing=pin")
    assert free.ok and pinned.ok
    assert free.metrics["thrashing_pages"] == 1 and pinned.metrics["pinned_pages"] == 1
    assert pinned.metrics["migrations_d2h"] < free.metrics["migrations_d2h"]
    assert pinned.metrics["remote_accesses"] > 0


def _race():
    """GPU reads a page while a CPU stream writes it (data starts in RAM)."""
    return workload([{"e": "mmap", "id": "A", "addr": BASE, "size": PS},
                     {"e": "w", "p": "cpu0", "addr": BASE}, {"e": "sync"},
                     {"e": "r", "p": "gpu0", "addr": BASE, "s": 0},
                     {"e": "w", "p": "cpu0", "addr": BASE, "s": 1},
                     {"e": "r", "p": "gpu0", "addr": BASE, "s": 0}])


def test_broken_variant_gives_a_replayable_coherence_counterexample(tmp_path):
    """xe-no-recheck binds without re-checking validity under the notifier lock: some
    interleaving of the CPU write's fault with the GPU fault maps a freed frame."""
    seeds = range(30)
    assert all(run(_race(), seed=s, out_dir=str(tmp_path)).ok for s in seeds)
    bad = [r for r in (run(_race(), "xe-no-recheck", seed=s, out_dir=str(tmp_path))
                       for s in seeds) if not r.ok]
    assert bad, "no seed interleaved the CPU fault between stage_bind and commit"
    r = bad[0]
    assert r.failure.startswith("coherence: gpu0 read address 0x40000000 through frame 2 "
                                "holding version -1;")        # a freed VRAM frame
    t = load(r.trace_path)
    assert t.property == "coherence" and t.config["pages"] <= 6
    model, _ = build(t.model, t.config)
    assert confirm(model, t, replay(model, t)).reproduced


def test_streams_interleave_deterministically_per_seed():
    events = [{"e": "mmap", "id": "A", "addr": BASE, "size": 64 * PS}]
    for s in range(4):
        events.append({"e": "run", "p": "gpu0", "op": "r", "addr": BASE + s * 16 * PS,
                       "count": 16, "s": s})
    wl = workload(events)
    a, b = run(wl, policy="granularity=4k", seed=7), run(wl, policy="granularity=4k", seed=7)
    assert a.metrics == b.metrics
    assert a.metrics["fault_batches"] < a.metrics["gpu_faults"] == 64


def test_bad_policy_and_model_are_one_line_errors():
    with pytest.raises(SvmCheckError, match="unknown policy 'granularty'; available"):
        run(workload(sweep(1)), policy="granularty=4k")
    with pytest.raises(SvmCheckError, match="choose one of: lru, fifo, random"):
        run(workload(sweep(1)), policy={"eviction": "mru"})
    with pytest.raises(SvmCheckError, match="no page-level SVM world"):
        run(workload(sweep(1)), model="pt-fence")


def test_kfd_actual_loc_mixed_placement_is_reachable_by_a_workload():
    """kfd-actual-loc maps a whole svm_range by its one actual_loc: after GPU0's atomic, a
    CPU read and GPU1's atomic leave the range's pages in mixed places, and GPU0's next
    access goes through a PTE the sound per-page kfd would not have kept."""
    events = [{"e": "mmap", "id": "A", "addr": BASE, "size": 16 * PS},
              {"e": "a", "p": "gpu0", "addr": BASE + PS, "s": 2},
              {"e": "r", "p": "cpu0", "addr": BASE + PS, "s": 1},
              {"e": "w", "p": "gpu0", "addr": BASE, "s": 2}, {"e": "sync"},
              {"e": "r", "p": "cpu0", "addr": BASE, "s": 1}, {"e": "sync"},
              {"e": "a", "p": "gpu1", "addr": BASE + PS, "s": 2},
              {"e": "r", "p": "gpu0", "addr": BASE + PS, "s": 2},
              {"e": "w", "p": "gpu1", "addr": BASE + PS, "s": 1},
              {"e": "w", "p": "cpu0", "addr": BASE + PS, "s": 2}]
    wl = workload(events, gpus=2, topology={"default_link": "atomic"})
    assert run(wl, "kfd", "granularity=64k", seed=0, out_dir="/tmp").ok
    bad = run(wl, "kfd-actual-loc", "granularity=64k", seed=0, out_dir="/tmp")
    assert not bad.ok and bad.failure.startswith("coherence: gpu0")
