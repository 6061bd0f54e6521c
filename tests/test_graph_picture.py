"""svmcheck graph: a counterexample's neighbourhood / livelock cycle drawn with Graphviz."""
import glob
import os
import shutil

import pytest

from svmcheck.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIVELOCK = glob.glob(os.path.join(ROOT, "counterexamples", "xe-retry-unbounded-*.json"))[0]
COW = glob.glob(os.path.join(ROOT, "counterexamples", "xe-upstream-cow_isolation-*.json"))[0]


def test_dot_has_the_trace_the_cycle_and_the_alternatives(tmp_path):
    out = tmp_path / "ll.dot"
    assert main(["graph", LIVELOCK, "--out", str(out)]) == 0
    text = out.read_text()
    assert text.count("color=red") >= 10           # the lasso's cycle
    assert "style=dashed" in text                  # moves the behaviour did not take
    assert "drm_pagemap_populate_mm" in text


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz not installed")
@pytest.mark.parametrize("ext,magic", [(".svg", b"<svg"), (".png", b"\x89PNG")])
def test_rendered_picture(tmp_path, ext, magic):
    out = tmp_path / f"cow{ext}"
    assert main(["graph", COW, "--out", str(out)]) == 0
    data = out.read_bytes()
    assert magic in data[:400] and len(data) > 2000


def test_unknown_picture_format_is_one_line_exit_2(tmp_path, capsys):
    assert main(["graph", COW, "--out", str(tmp_path / "x.txt")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and ".svg, .png or .dot" in err
