"""Peer scenarios: rows of ../shared/reference/scenarios.md replayed as workloads.

Each ``tests/scenarios/*.jsonl`` encodes one test of a public suite (header ``suite``,
``file``, ``test``; ``notes`` say what the original asserts and how it is encoded) and carries
``expect`` events for those assertions.  The file-name prefix picks the sound model that
stands for the suite's kernel code:

* ``hmm_`` / ``hmm2_``  Linux hmm-tests.c (dmirror)        -> ``mirror``
* ``xe_``               igt xe_exec_system_allocator.c      -> ``xe``
* ``kfd_``              ROCm kfdtest KFDSVMRangeTest.cpp    -> ``kfd``

Every scenario must pass on its sound model; each broken variant must fail a scenario where its
bug is reachable (``CAUGHT``), or the reason no scenario can reach it is written down and
checked (``NOT_REACHED``, and the strict xfail of kfd-actual-loc).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from svmcheck.registry import resolve
from svmcheck.workload.format import load
from svmcheck.workload.runner import run

SCENARIOS = Path(__file__).parent / "scenarios"
FILES = sorted(SCENARIOS.glob("*.jsonl"))
MODEL = {"hmm": "mirror", "hmm2": "mirror", "xe": "xe", "kfd": "kfd"}
SUITE_FILE = {"mirror": "tools/testing/selftests/mm/hmm-tests.c",
              "xe": "tests/intel/xe_exec_system_allocator.c",
              "kfd": "tests/kfdtest/src/KFDSVMRangeTest.cpp"}

# scenario -> why it cannot run yet (/work/notes/scenarios_needs.md)
NEEDS = {"hmm_migrate_release.jsonl":
         "the svmtrace format has no 'evict' event for dmirror's RELEASE (needs item 1)"}


def model_of(path: Path) -> str:
    return MODEL[path.name.split("_")[0]]


def _param(path: Path):
    marks = [pytest.mark.xfail(strict=True, reason=NEEDS[path.name])] if path.name in NEEDS \
        else []
    return pytest.param(path, id=path.stem, marks=marks)


def header(path: Path) -> dict:
    with open(path) as f:
        return json.loads(f.readline())


def test_at_least_eight_scenarios_from_each_suite_and_thirty_in_all():
    per_model = {m: [f for f in FILES if model_of(f) == m] for m in SUITE_FILE}
    assert all(len(fs) >= 8 for fs in per_model.values()), {m: len(v) for m, v in
                                                             per_model.items()}
    assert len(FILES) - len(NEEDS) >= 30


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_scenario_names_its_original_test_and_asserts_something(path):
    h = header(path)
    assert h["file"] == SUITE_FILE[model_of(path)] or h["file"].startswith("tests/kfdtest")
    assert h["test"] and h["suite"] and " Asserts: " in h["notes"]
    assert " Encoding: " in h["notes"]
    events = [json.loads(line) for line in path.read_text().splitlines()[1:]]
    assert any(e["e"] == "expect" for e in events)


def test_readme_table_lists_every_scenario():
    text = (SCENARIOS / "README.md").read_text()
    listed = set(re.findall(r"\[(\w+\.jsonl)\]", text))
    assert listed == {f.name for f in FILES}


@pytest.mark.parametrize("path", [_param(f) for f in FILES])
def test_scenario_passes_on_its_sound_model(path, tmp_path):
    r = run(path, model=model_of(path), out_dir=str(tmp_path))
    assert r.ok, r.failure
    wl = load(path)
    expects = [i for i, e in enumerate(wl.events) if e["e"] == "expect"]
    assert expects and all(r.outcomes[i] == "ok" for i in expects)


# ---- broken variants --------------------------------------------------------------------
# variant -> (scenario, seeds tried, what the failure says)
CAUGHT = {
    # a CPU fault between xe_pt_stage_bind and the commit: some seeds interleave it there
    "xe-no-recheck": ("xe_malloc_race.jsonl", range(40), "coherence: gpu0"),
    # -EFAULT "in place": gpu1's atomic maps gpu0's VRAM over PCIe P2P (no atomics there)
    "xe-efault-in-place": ("xe_shared_alloc_atomic.jsonl", range(2),
                           "metric remote_accesses is"),
    # the 2 MiB window over the munmapped half: the fault on B never resolves
    "xe-window-unclipped": ("xe_partial_munmap_cpu_fault.jsonl", range(1), "livelock: gpu0"),
    # the BO freed with the range that dropped it while pages still use its frames
    "kfd-bo-free-early": ("kfd_migrate_policy.jsonl", range(1), "coherence: gpu0"),
    # a GPU access on the munmapped hole populates a page instead of failing -ENOENT
    "mirror-no-vma-check": ("hmm2_migrate_mixed.jsonl", range(1),
                            "had outcome ok, expected -ENOENT"),
}


@pytest.mark.parametrize("variant", sorted(CAUGHT))
def test_broken_variant_fails_a_scenario_its_sound_model_passes(variant, tmp_path):
    name, seeds, says = CAUGHT[variant]
    path = SCENARIOS / name
    assert resolve(variant)[0].name == variant
    assert all(run(path, model=model_of(path), seed=s, out_dir=str(tmp_path)).ok
               for s in seeds)
    failures = [r.failure for r in (run(path, model=variant, seed=s, out_dir=str(tmp_path))
                                    for s in seeds) if not r.ok]
    assert failures, f"{variant} passed {name} for seeds {seeds}"
    assert says in failures[0], failures[0]


# variant -> (the closest scenario, seeds, why no scenario fails it): the test checks the claim
NOT_REACHED = {
    "xe-retry-unbounded": (
        "xe_shared_alloc_atomic.jsonl", range(20),
        "the livelock is two GPUs evicting each other's copy forever, which needs the one "
        "schedule that always lets the other GPU in at the same label: a fair lasso the "
        "checker finds, but a seeded random scheduler leaves it with probability 1 (over 200 "
        "seeds the most retries in one run was 86, and every run completed)"),
}


@pytest.mark.parametrize("variant", sorted(NOT_REACHED))
def test_variant_no_scenario_reaches_passes_its_closest_scenario(variant, tmp_path):
    name, seeds, _ = NOT_REACHED[variant]
    assert all(run(SCENARIOS / name, model=variant, seed=s, out_dir=str(tmp_path)).ok
               for s in seeds)


@pytest.mark.xfail(strict=True, reason=(
    "the runner sets kfd's svm_range size and its granularity from the one policy key "
    "`granularity`, so a range is never bigger than its granularity block and CPU faults "
    "never leave it in mixed places; MigrateAccessInPlaceTest's mix (range 2 MiB, "
    "granularity 4 KiB) needs the SVM GRANULARITY attribute as its own knob (needs item 3), "
    "then kfd_migrate_access_in_place.jsonl sets it in its header"))
def test_kfd_actual_loc_fails_the_access_in_place_scenario(tmp_path):
    path = SCENARIOS / "kfd_migrate_access_in_place.jsonl"
    assert not all(run(path, model="kfd-actual-loc", seed=s, out_dir=str(tmp_path)).ok
                   for s in range(5))


def test_every_broken_seed_variant_is_accounted_for():
    """The seed models' broken variants (svmcheck list) are caught, or why not is known."""
    variants = {"xe-no-recheck", "xe-efault-in-place", "xe-window-unclipped",
                "xe-retry-unbounded", "kfd-actual-loc", "kfd-bo-free-early",
                "mirror-no-vma-check"}
    assert variants == set(CAUGHT) | set(NOT_REACHED) | {"kfd-actual-loc"}
