"""Property-based tests: random runs of models/xe.py keep the page-level world consistent.

Hypothesis draws a small configuration (1-2 GPUs, 1-3 pages, a VMA layout of anonymous,
read-only, file-backed and missing pages with optional VMA splits, chunk 1-2, fork, munmap,
eviction, migrate_vma contention, CPU writes, links, access kinds) and then a run: at every
step it picks one of ``model.successors(state)`` by index.  After every step the world must
satisfy the model's own consistency properties:

* ``properties.data.no_lost_data``   every mapped address has exactly one current holder of
                                     its latest data;
* ``properties.memory.memory_safety`` no CPU or GPU PTE points at freed memory, and every
                                     allocation's refcount equals the device pages using it;
* ``properties.data.coherence``      wherever the CPU and a GPU both map an address they see
                                     the same frame (hence the same version).

A failure prints the configuration and the run (actor, step, outcome per line); hypothesis
shrinks both.  Set ``SVM_CONSISTENCY_EXAMPLES`` to run more examples than the default 60.
"""
from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.xe import Xe, XeConfig
from properties.data import coherence, no_lost_data
from properties.memory import memory_safety

PROPERTIES = (no_lost_data, memory_safety, coherence)
MAX_STEPS = 80
EXAMPLES = int(os.environ.get("SVM_CONSISTENCY_EXAMPLES", "60"))


@st.composite
def layouts(draw, pages: int) -> str:
    """Per page a (anonymous rw, twice as likely), r (read-only), f (file) or - (no VMA);
    '|' between two letters splits adjacent VMAs."""
    letters = draw(st.lists(st.sampled_from("aarf-"), min_size=pages, max_size=pages))
    out = letters[0]
    for ch in letters[1:]:
        if draw(st.booleans()) and ch != "-" and out[-1] != "-":
            out += "|"
        out += ch
    return out


@st.composite
def configs(draw) -> XeConfig:
    gpus = draw(st.integers(1, 2))
    pages = draw(st.integers(1, 3))
    return XeConfig.build(dict(
        gpus=gpus,
        pages=pages,
        vma_layout=draw(layouts(pages)),
        chunk_pages=draw(st.integers(1, 2)),
        vram_pages=draw(st.integers(1, 2)),
        default_link=draw(st.integers(0, 2)),
        sys_atomics=draw(st.booleans()),
        gpu_accesses=draw(st.integers(1, 2)),
        gpu_kinds=draw(st.sampled_from(["r", "w", "a", "rw", "wa", "rwa"])),
        gpu_pages="",
        cpu_writes=draw(st.integers(0, 2)),
        cpu_reads=draw(st.booleans()),
        munmaps=draw(st.integers(0, 1)),
        forks=draw(st.integers(0, 1)),
        evictions=draw(st.integers(0, 1)),
        contention=draw(st.booleans()),
        hmm_req_write_faults_devpriv=draw(st.booleans()),
        evict_retry_bound=draw(st.integers(-1, 2)),
    ))


def assert_consistent(model, state, trace):
    for prop in PROPERTIES:
        if not prop.test(model, state):
            steps = "\n  ".join(trace) or "(initial state)"
            raise AssertionError(
                f"{prop.name} violated: {prop.explain(model, state)}\n"
                f"config: {model.config}\nrun:\n  {steps}\n"
                f"state: {model.describe(state[0])}")


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(cfg=configs(), data=st.data())
def test_random_runs_keep_world_consistent(cfg, data):
    model = Xe(cfg)
    state = model.initial_states()[0]
    trace: list[str] = []
    assert_consistent(model, state, trace)
    for _ in range(MAX_STEPS):
        succ = list(model.successors(state))
        if not succ:
            break
        i = data.draw(st.integers(0, len(succ) - 1), label="successor")
        action, outcome, state = succ[i]
        trace.append(f"{action.actor} {action.format()}" + (f" -> {outcome}" if outcome else ""))
        assert_consistent(model, state, trace)


def test_configs_strategy_builds_valid_layouts():
    """Every layout the strategy can draw passes XeConfig validation (smoke check)."""
    for layout in ("a", "a|a", "ar", "a-f", "f|r|a", "-a"):
        XeConfig.build(dict(pages=len(layout.replace("|", "")), vma_layout=layout,
                             gpu_kinds="rwa", gpu_pages=""))
