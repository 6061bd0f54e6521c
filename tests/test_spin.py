"""The Promela/TLA+ exports describe the protocol svmcheck checks: SPIN agrees on states and
verdicts; on the SVM models (too big for SPIN's parser in a test) the exported transitions,
run directly, reach exactly svmcheck's states."""
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

SMALL = [
    (zoo_path("counter.py"), {}),
    (zoo_path("retry.py"), {}),
    (zoo_path("retry.py"), {"retry_bound": "1"}),
    ("pt-fence", {}),
    ("pt-fence-user-wait", {}),
    ("ring-direct-unlocked", {}),
    ("mirror-no-vma-check", {"pages": "1", "vma_layout": "-", "chunk_pages": "1",
                             "vram_pages": "1"}),
]


# spin's dataflow optimisation and statement merging are superlinear in the number of
# transitions (800 of xe's: 11.6 s with them, 2.1 s without) and neither applies to one loop
# of d_steps over globals
SPIN_OPTS = ("-o1", "-o3")


def _build(name, sets):
    cls = resolve(name)[0]
    return cls(cls.Config.build(sets, model=cls.name))


def _pan(tmp_path, pml, *flags) -> str:
    cc = ["cc", "-O0", "-w", "-DSAFETY", "-DNOREDUCE", *flags, "-o", "pan", "pan.c"]
    for cmd in (["spin", "-a", *SPIN_OPTS, pml], cc, ["./pan", "-m1000000", "-E"]):
        p = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)
        if cmd[0] != "./pan":
            assert p.returncode == 0, p.stderr + p.stdout
    return p.stdout


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
    # every state, properties off (a violation would stop SPIN early)
    out = _pan(tmp_path, "m.pml", "-DNOCLAIM")
    assert int(re.search(r"(\d+) states, stored", out).group(1)) == res.states
    # the verdict: the never claim of the always-properties
    out = _pan(tmp_path, "m.pml")
    errors = int(re.search(r"errors: (\d+)", out).group(1))
    assert (errors > 0) == violated, out


SVM = [
    ("xe", dict(gpus="1", pages="1", vma_layout="a", chunk_pages="1", vram_pages="1",
                gpu_kinds="a")),
    ("xe-no-recheck", dict(gpus="1", pages="1", vma_layout="a", chunk_pages="1",
                           vram_pages="1", gpu_kinds="a")),
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
