"""Partial-order reduction proves itself: reduced and unreduced runs agree on every safety
verdict, never grow, and the BFS cycle proviso is what keeps a spinning process from hiding
the other processes' steps; liveness is refused."""
from __future__ import annotations

from typing import NamedTuple

import pytest

from conftest import zoo_model, zoo_path
from svmcheck import Flow, Model, always, step
from svmcheck.check import check, check_reduced
from svmcheck.errors import SvmCheckError
from svmcheck.explore.bfs import explore
from svmcheck.explore.por import ample_sets
from svmcheck.registry import build


class W(NamedTuple):
    bad: bool


class Spinner(Model):
    """A process that spins on its own locals forever, and a writer that breaks the world."""
    name = "spinner"

    def init(self):
        return W(False)

    spin = Flow("spinner", locals=dict(n=0))

    @spin.label(start=True)
    def tick(self, s, me):
        """Count up without looking at the world."""
        return me.next(s, n=1)

    @spin.label
    def tock(self, s, me):
        """Count down and go round again."""
        return me.goto("tick", s, n=0)

    @step(actor="writer", when=lambda m, s: not s.bad)
    def set_bad(self, s):
        """The one step that matters."""
        return W(True)

    @always
    def never_bad(self, s):
        """The writer never runs (violated in one step)."""
        return not s.bad


class SpinnerWatched(Spinner):
    """The same, with a property that reads the spinner's locals: its steps are visible."""
    name = "spinner-watched"

    @always
    def spinner_small(self, s, procs):
        """The spinner's counter stays below 2."""
        return procs["spinner"][1]["n"] < 2


def _agree(m):
    props = [p.name for p in m.properties if not p.is_liveness]
    full = check(m, properties=props, save_dir=None)
    red = check_reduced(m, properties=props, por=True, verify=True, save_dir=None)
    assert red.states <= full.states and red.transitions <= full.transitions
    assert [p.status for p in red.properties] == [p.status for p in full.properties]
    for r, u in zip(red.properties, full.properties):
        if r.length is not None:
            assert r.length >= u.length
    return red, full


@pytest.mark.parametrize("spec", ["counter.py", "locks.py:locks_same",
                                  "locks.py:locks_opposite", "maze.py", "bits.py",
                                  "terminal.py", "pingpong.py:fairloop", "nondet.py"])
def test_zoo_agrees(spec):
    _agree(zoo_model(spec))


def test_counter_is_reduced_and_still_loses_the_update():
    red, full = _agree(zoo_model("counter.py"))
    assert (full.states, red.states) == (27, 20)
    assert red.reduction["por"]["reduced_states"] > 0
    assert red.properties[0].status == "violated"


def test_cycle_proviso_finds_what_a_spinning_process_would_hide():
    m = Spinner()
    red, full = _agree(m)
    assert red.states < full.states == 6
    assert red.properties[0].status == "violated" and red.properties[0].length == 3
    # the same ample sets without the proviso take only the spinner's steps, forever
    ap = ample_sets(m, m.properties)

    class Nothing(set):
        def __contains__(self, x):
            return False
    ap.seen = Nothing()
    ex = explore(m, always=[m.properties[0]], expand=ap)
    assert ex.complete and not ex.violations


def test_property_reading_locals_turns_the_reduction_off():
    red, full = _agree(SpinnerWatched())
    assert red.states == full.states and red.reduction["por"]["reduced_states"] == 0


@pytest.mark.parametrize("name,over", [
    ("xe", dict(gpu_kinds="a", cpu_writes="0", cpu_reads="false", default_link="2")),
    ("kfd", dict(gpu_kinds="a", pages="1", vma_layout="a", chunk_pages="1",
                 granularity="1")),
])
def test_svm_models_agree(name, over):
    """Every SVM step reads the shared world (the notifier couples all GPUs), so nothing is
    process-local: the reduction is sound and, here, empty."""
    red, full = _agree(build(name, over)[0])
    assert red.states == full.states


def test_refusals(run):
    m = zoo_model("pingpong.py:fairloop")
    with pytest.raises(SvmCheckError, match="not sound for liveness"):
        check_reduced(m, properties=["job_completes"], por=True, save_dir=None)
    m = zoo_model("counter.py")
    with pytest.raises(SvmCheckError, match="together are not supported"):
        check_reduced(m, symmetry=True, por=True, save_dir=None)
    with pytest.raises(SvmCheckError, match="single-process"):
        check_reduced(m, por=True, workers=2, save_dir=None)
    r = run("check", zoo_path("counter.py"), "--por",
            "--property", "all_done", "--verify-reduction", "--json")
    assert r.rc == 0 and r.json["reduction"]["verified"]["unreduced_states"] == 27
