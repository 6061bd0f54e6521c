"""Symmetry reduction proves itself: reduced and unreduced runs agree (verdicts, shortest
counterexample lengths, unreduced count = sum of orbit sizes), and a wrong declaration, an
asymmetric topology, an asymmetric property or reduced liveness is refused."""
from __future__ import annotations

import itertools

import pytest

from conftest import zoo_path
from svmcheck import always
from svmcheck import trace as tr
from svmcheck.check import check, check_reduced
from svmcheck.errors import SvmCheckError
from svmcheck.explore import symmetry as S
from svmcheck.explore.bfs import explore
from svmcheck.registry import build
from svmcheck.svm.symmetry import gpu_group
from zoo.counter import Counter

# two GPUs issuing atomics over an atomic link, no CPU traffic: 1338 states
XE2 = dict(gpu_kinds="a", cpu_writes="0", cpu_reads="false", default_link="2")


def _model(name, **over):
    return build(name, {k: str(v) for k, v in over.items()})[0]


def _safety(m):
    return [p.name for p in m.properties if not p.is_liveness]


class ThreadSymmetricCounter(Counter):
    """The zoo's lost-update counter, declaring that its threads are interchangeable."""
    name = "counter-sym"
    wrong = False

    def symmetry(self):
        n = self.config.threads

        def apply(pi, st):
            w, procs = st
            inv = sorted(range(n), key=lambda g: pi[g])
            started = tuple(w.started[g] for g in inv)
            if self.wrong:          # forgets that each thread's register moves with it
                return (w._replace(started=started), procs)
            return (w._replace(started=started), tuple(procs[g] for g in inv))
        return S.Symmetry("threads", itertools.permutations(range(n)), apply)


class WrongCounter(ThreadSymmetricCounter):
    """The same declaration with the processes left in place."""
    name = "counter-wrong"
    wrong = True


def _agree(m, *, length=None):
    """Reduced vs unreduced on every safety property; returns the reduced result."""
    props = _safety(m)
    full = check(m, properties=props, save_dir=None)
    red = check_reduced(m, properties=props, symmetry=True, verify=True, save_dir=None)
    sym = S.declared(m)
    assert red.states < full.states
    assert sum(len(sym.orbit(s)) for s in red.exploration.states) == full.states
    assert [(p.status, p.length) for p in red.properties] == \
        [(p.status, p.length) for p in full.properties]
    assert red.reduction["verified"]["unreduced_states"] == full.states
    return red


def test_zoo_counter_threads_one_orbit_each():
    m = ThreadSymmetricCounter(Counter.Config.build({"threads": 3}))
    red = _agree(m)
    v = next(p for p in red.properties if p.name == "no_lost_update")
    assert v.status == "violated" and v.length == 4


def test_wrong_declaration_is_refuted():
    m = WrongCounter(Counter.Config.build({"threads": 2}))
    with pytest.raises(SvmCheckError, match="do not respect"):
        check_reduced(m, properties=["no_lost_update"], symmetry=True, save_dir=None)


@pytest.mark.parametrize("name,over", [
    ("xe", XE2),
    ("kfd-actual-loc", dict(gpu_kinds="a", evictions=0, forks=0)),
    ("mirror", dict(gpus=2, pages=2, vma_layout="a-", gpu_kinds="r", munmaps=0)),
])
def test_svm_models_agree_reduced_and_unreduced(name, over):
    _agree(_model(name, **over))


def test_reduced_counterexample_is_concrete_and_replays(tmp_path):
    m = _model("kfd-actual-loc", gpu_kinds="a", evictions=0, forks=0)
    red = check_reduced(m, properties=["coherence"], symmetry=True, save_dir=str(tmp_path))
    p = red.properties[0]
    assert p.status == "violated" and p.length == 6
    t = tr.load(p.counterexample)
    assert tr.confirm(m, t, tr.replay(m, t)).reproduced


def test_canonical_form_is_one_member_of_each_orbit():
    m = _model("xe", **XE2)
    sym = S.require(m)
    ex = explore(m)
    for st in ex.states[::7]:
        orbit = sym.orbit(st)
        c = sym.canon(st)
        assert c in orbit and all(sym.canon(t) == c for t in orbit)


def test_group_follows_links_and_per_gpu_parameters():
    assert len(gpu_group(_model("xe", gpus=3, gpu_kinds="a", default_link=2))) == 6
    # only GPUs 0 and 1 share an atomic link; GPU 2 reaches both over PCIe
    m = _model("xe", gpus=3, gpu_kinds="a", links="0,2,1;2,0,1;1,1,0")
    assert gpu_group(m) == [(0, 1, 2), (1, 0, 2)]
    S.self_check(m, S.require(m), S.sample_states(m, bfs=60, walks=2))
    assert len(gpu_group(_model("xe", gpus=3, gpu_kinds="a,a,r", default_link=2))) == 2


@pytest.mark.parametrize("over,why", [
    (dict(gpu_kinds="a,r"), "gpu_kinds"),                     # xe's default: GPU0 atomics
    (dict(gpus=2, gpu_kinds="a", links="0,2;2,0", gpu_pages="0"), None),
    (dict(gpus=1, gpu_kinds="a"), "one GPU"),
])
def test_asymmetric_configurations_are_refused(run, over, why):
    if why is None:   # a symmetric matrix given explicitly is as good as default_link
        assert S.require(_model("xe", **over)).order == 2
        return
    args = [a for k, v in over.items() for a in ("--set", f"{k}={v}")]
    r = run("check", "xe", *args, "--symmetry", "--property", "coherence", "--quiet")
    r.assert_one_line_error()
    assert "no symmetry" in r.err and why in r.err


def test_asymmetric_property_is_refused():
    class XeGpu0(type(_model("xe", **XE2))):
        """xe with a property about GPU 0 in particular."""
        name = "xe-gpu0"

        @always
        def gpu0_not_behind(self, s):
            """GPU 0 has issued no fewer accesses than GPU 1."""
            return s.budget[0] <= s.budget[1]

    m = XeGpu0(_model("xe", **XE2).config)
    with pytest.raises(SvmCheckError, match="gpu0_not_behind .*not symmetric"):
        check_reduced(m, properties=["gpu0_not_behind"], symmetry=True, save_dir=None)


def test_liveness_is_checked_unreduced_and_refused_alone(run):
    m = _model("xe", **XE2)
    with pytest.raises(SvmCheckError, match="not sound for liveness"):
        check_reduced(m, properties=["fault_progress"], symmetry=True, save_dir=None)
    red = check_reduced(m, properties=["coherence", "fault_progress"], symmetry=True,
                        save_dir=None)
    full = check(m, properties=["fault_progress"], save_dir=None)
    assert red.reduction["liveness_unreduced"] == ["fault_progress"]
    assert red.reduction["liveness_states"] == full.states
    assert red.properties[1].status == full.properties[0].status == "holds"
    args = [a for k, v in XE2.items() for a in ("--set", f"{k}={v}")]
    r = run("check", "xe", *args, "--symmetry", "--property", "fault_progress")
    r.assert_one_line_error()


def test_cli_symmetry_verified_json(run):
    args = [a for k, v in XE2.items() for a in ("--set", f"{k}={v}")]
    r = run("check", "xe", *args, "--symmetry", "--verify-reduction", "--json",
            "--property", "coherence", "--property", "memory_safety", "--property",
            "deadlock_free")
    assert r.rc == 0, r.err
    red = r.json["reduction"]
    assert red["symmetry"] == {"group": "GPUs 0,1", "order": 2}
    assert red["verified"]["orbit_states"] == red["verified"]["unreduced_states"] == 1338
    assert r.json["states"] == red["verified"]["reduced_states"] == 671
    r = run("check", zoo_path("counter.py"), "--verify-reduction")
    r.assert_one_line_error()


def test_verification_catches_a_model_that_is_not_symmetric():
    """kfd moves frames of two GPUs' VRAM in one migrate_to_ram, taking system frames in
    frame-number order (svm/migrate.py): swapping the GPUs then does not swap the outcome.
    The sampled self-check refutes it; so would the full comparison."""
    m = _model("kfd", gpu_kinds="a", forks=0, evictions=0)
    with pytest.raises(SvmCheckError, match="svm_migrate_to_ram"):
        check_reduced(m, properties=["coherence"], symmetry=True, save_dir=None)
    sym = S.require(m)
    with pytest.raises(SvmCheckError, match="orbits of the .* reduced states cover"):
        S.compare(check(m, properties=["coherence"], canon=sym.canon, save_dir=None),
                  check(m, properties=["coherence"], save_dir=None), sym=sym)
