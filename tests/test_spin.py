"""The Promela/TLA+ exports describe the protocol svmcheck checks: SPIN agrees on the state
count and the verdict on every shipped model at a small size (but xe-fork and xe-upstream) and
on the zoo; independently of SPIN, the exported transitions of the SVM models, run directly on
variable vectors, reach exactly svmcheck's states."""
import os
import re
import shutil
import subprocess

import pytest

from svmcheck.check import check
from svmcheck.cli import main
from svmcheck.export.promela import _grouped, prepare
from svmcheck.registry import resolve
from svmcheck.symbolic import layout
from tests.conftest import zoo_path

needs_spin = pytest.mark.skipif(shutil.which("spin") is None or shutil.which("cc") is None,
                                reason="spin and a C compiler are needed (.ci/run installs them)")

XS = dict(gpus="1", pages="1", vma_layout="a", chunk_pages="1", vram_pages="1", gpu_kinds="a")
KS = dict(gpus="1", pages="1", vma_layout="a", granularity="1", forks="0", evictions="0",
          vram_pages="1", gpu_kinds="a")
SMALL = [
    (zoo_path("counter.py"), {}),
    (zoo_path("retry.py"), {}),
    (zoo_path("retry.py"), {"retry_bound": "1"}),
    ("pt-fence", {}),
    ("pt-fence-user-wait", {}),
    ("ring-direct-unlocked", {}),
    ("mirror", dict(pages="1", vma_layout="a", chunk_pages="1", vram_pages="1")),
    ("mirror-no-vma-check", {"pages": "1", "vma_layout": "-", "chunk_pages": "1",
                             "vram_pages": "1"}),
    ("xe", XS),
    ("xe-no-recheck", XS),
    ("xe-efault-in-place", XS),
    ("xe-retry-unbounded", XS),
    ("xe-window-unclipped", dict(XS, pages="2", vma_layout="a-", chunk_pages="2")),
    ("kfd", KS),
    ("kfd-unmap", KS),
    ("kfd-actual-loc", KS),
    ("kfd-bo-free-early", KS),
]
# Not here: xe-fork and xe-upstream, whose encodings have about 70,000 symbolic paths even at
# one page (minutes to export).

# spin's dataflow optimisation and statement merging are superlinear in the number of
# transitions (800 of xe's: 11.6 s with them, 2.1 s without) and neither applies to loops
# of d_steps over globals
SPIN_OPTS = ("-o1", "-o3")
# tcc compiles an SVM model's pan.c (~75,000 lines) in under a second, gcc -O0 in 100 s
CC = ["tcc"] if shutil.which("tcc") else ["cc", "-O0"]


def _build(name, sets):
    cls = resolve(name)[0]
    return cls(cls.Config.build(sets, model=cls.name))


def _pan(tmp_path, pml) -> tuple[str, str]:
    """SPIN's output with the never claim off (every state) and on (the verdict)."""
    p = subprocess.run(["spin", "-a", *SPIN_OPTS, pml], cwd=tmp_path, capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0, p.stderr + p.stdout
    outs = []
    for flags in (["-DNOCLAIM"], []):
        cc = [*CC, "-w", "-DSAFETY", "-DNOREDUCE", *flags, "-o", "pan", "pan.c"]
        p = subprocess.run(cc, cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stderr + p.stdout
        p = subprocess.run(["./pan", "-m1000000", "-E"], cwd=tmp_path, capture_output=True,
                           text=True, timeout=300)
        outs.append(p.stdout)
    return outs[0], outs[1]


@needs_spin
@pytest.mark.parametrize("name,sets", SMALL, ids=[f"{os.path.basename(n)}{s}" for n, s in SMALL])
def test_spin_agrees_on_states_and_verdict(name, sets, tmp_path):
    m = _build(name, sets)
    res = check(m, save_dir=None)
    violated = any(p.status == "violated" for p in res.properties if p.kind == "always")
    argv = ["export", name, "--promela", str(tmp_path / "m.pml")]
    for k, v in sets.items():
        argv += ["--set", f"{k}={v}"]
    assert main(argv) == 0
    # every state with the properties off (a violation would stop SPIN early); the verdict
    # with the never claim of the always-properties
    every, out = _pan(tmp_path, "m.pml")
    assert int(re.search(r"(\d+) states, stored", every).group(1)) == res.states
    errors = int(re.search(r"errors: (\d+)", out).group(1))
    assert (errors > 0) == violated, out


SVM = [
    ("xe", dict(gpus="1", pages="1", vma_layout="a", chunk_pages="1", vram_pages="1",
                gpu_kinds="a")),
    ("mirror", dict(pages="1", vma_layout="a", chunk_pages="1", vram_pages="1")),
]


@pytest.mark.parametrize("name,sets", SVM, ids=[n for n, _ in SVM])
def test_exported_transitions_reach_exactly_the_explored_states(name, sets):
    """Run the exported transitions (conditions and assignments, as SPIN and TLC get them)
    on variable vectors: the reachable vectors are exactly svmcheck's states, encoded."""
    m = _build(name, sets)
    x = prepare(m)
    idx = {ident: i for i, (ident, *_) in enumerate(x.kinds)}
    var = {name: idx[ident] for name, ident in x.idents.items()}

    def vec(state):
        v = [0] * len(x.kinds)
        for target, _, ref, _ in layout.bind(x.enc.t, x.enc.pre, state):
            v[var[target]] = 0 if ref is None else int(ref[1])
        return tuple(v)

    from svmcheck.explore.bfs import explore
    want = {vec(s) for s in explore(m).states}
    trans = []
    for a, pcs, assigns in _grouped(x):
        conds = [[(var[leaf.e], set(map(int, vals))) for leaf, vals in pc] for pc in pcs]
        trans.append((conds, [(idx[i], (k, ref, g)) for i, k, ref, g in assigns]))

    def ref_value(v, ref, kind):
        if ref[0] == "c":
            return int(ref[1])
        x_ = v[var[ref[1]]]
        return int(x_ != 0) if kind == "bool" else x_

    def value(v, assign):
        """What the exported assignment writes (render(): guarded slots reset to 0)."""
        kind, ref, guard = assign
        if ref is None:
            return 0
        if guard is not None and not ref_value(v, guard[0], "int") > guard[1]:
            return 0
        return ref_value(v, ref, kind)

    start = vec(m.initial_states()[0])
    seen, frontier = {start}, [start]
    while frontier:
        nxt = []
        for v in frontier:
            for conds, assigns in trans:
                if any(all(v[i] in ok for i, ok in c) for c in conds):
                    w = list(v)
                    for i, text in assigns:
                        w[i] = value(v, text)
                    w = tuple(w)
                    if w not in seen:
                        seen.add(w)
                        nxt.append(w)
        frontier = nxt
    assert seen == want


def test_tla_export_has_every_transition_and_invariant(tmp_path):
    assert main(["export", "pt-fence", "--tla", str(tmp_path / "M.tla")]) == 0
    text = (tmp_path / "M.tla").read_text()
    x = prepare(_build("pt-fence", {}))
    n = len(_grouped(x))
    assert text.startswith("---- MODULE ptfence ----") and text.rstrip().endswith("====")
    assert len(re.findall(r"^A\d+ == ", text, re.M)) == n
    for p in x.props:
        assert re.search(rf"^{p.name} == ", text, re.M)
