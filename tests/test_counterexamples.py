"""Every committed counterexample still reproduces its violation (they are regression tests)."""
import glob
import os

import pytest

from svmcheck.registry import build
from svmcheck.trace import confirm, load, replay

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FILES = sorted(glob.glob(os.path.join(ROOT, "counterexamples", "*.json")))


def test_there_are_committed_counterexamples():
    assert len(FILES) >= 5


@pytest.mark.parametrize("path", FILES, ids=[os.path.basename(f) for f in FILES])
def test_counterexample_reproduces(path):
    t = load(path)
    model, _ = build(t.model, t.config)
    rp = confirm(model, t, replay(model, t))
    assert rp.reproduced, rp.message
    assert os.path.basename(path).startswith(f"{t.model}-{t.property}-")
