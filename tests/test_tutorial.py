"""The newcomer's path, tested: docs/tutorial.md is run as written.

The tutorial's fenced blocks drive the test, in document order:

* ```python title="FILE"```: written to FILE in a fresh directory;
* ```diff title="FILE"```: an edit (context, ``-`` and ``+`` lines) applied to FILE; the
  removed text must occur exactly once;
* ```console```: each ``$ svmcheck ...`` (or ``$ python -m pytest ...``) line is run in that
  directory through a fresh interpreter, ``$ echo $?`` prints the previous exit code, and the
  lines shown after a command must be its output: exactly, except that a ``...`` line stands
  for any lines and timings (``sec=0.00``, ``in 0.05s``) are not compared.

So a change to the engine's output, to the author API or to the doc that makes them disagree
fails here.  The checks after the walk pin what the tutorial promises even if its shown output
were cut down to ``...``: check passes, the edit breaks it (exit 1, a saved trace that
``show`` prints with every step and the failing clause), the reverse edit fixes it.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

DOC = ROOT / "docs" / "tutorial.md"
FENCE = re.compile(r"^```(\w*)\s*(.*)$")
ATTR = re.compile(r'(\w+)="([^"]*)"')
TIMING = [(re.compile(r"sec=\d+\.\d+"), "sec=*"), (re.compile(r" in \d+\.\d+s\b"), " in *s")]


def blocks(text: str):
    """(language, attributes, body lines) of every fenced block, in order."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if m is None:
            i += 1
            continue
        j = i + 1
        while not lines[j].startswith("```"):
            j += 1
        yield m.group(1), dict(ATTR.findall(m.group(2))), lines[i + 1:j]
        i = j + 1


def apply_diff(path: Path, body: list[str]) -> None:
    before = "".join(line[1:] + "\n" for line in body if line[:1] in (" ", "-"))
    after = "".join(line[1:] + "\n" for line in body if line[:1] in (" ", "+"))
    assert all(line[:1] in (" ", "-", "+") for line in body), body
    text = path.read_text()
    assert text.count(before) == 1, f"the tutorial's edit does not apply to {path.name}"
    path.write_text(text.replace(before, after))


def commands(body: list[str]):
    """(command, expected output lines) per ``$ `` line of a console block."""
    out = []
    for line in body:
        if line.startswith("$ "):
            out.append((line[2:], []))
        else:
            assert out, f"console block starts with output, not a command: {line!r}"
            out[-1][1].append(line)
    return out


def _norm(lines):
    out = []
    for line in lines:
        for pat, rep in TIMING:
            line = pat.sub(rep, line)
        out.append(line.rstrip())
    return out


def matches(expected: list[str], actual: list[str]) -> bool:
    """``expected`` equals ``actual`` where each ``...`` line may stand for any lines."""
    exp, act = _norm(expected), _norm(actual)
    segments, seg = [], []
    for line in exp:
        if line == "...":
            segments.append(seg)
            seg = []
        else:
            seg.append(line)
    segments.append(seg)
    if len(segments) == 1:
        return exp == act
    first, *middle, last = segments
    if act[:len(first)] != first or (last and act[-len(last):] != last):
        return False
    pos, end = len(first), len(act) - len(last)
    for seg in middle:
        k = next((k for k in range(pos, end - len(seg) + 1) if act[k:k + len(seg)] == seg),
                 None)
        if k is None:
            return False
        pos = k + len(seg)
    return pos <= end


def run_command(cmd: str, cwd: Path):
    argv = shlex.split(cmd)
    if argv[0] == "svmcheck":
        argv = [sys.executable, "-m", "svmcheck", *argv[1:]]
    elif argv[:3] == ["python", "-m", "pytest"]:
        argv = [sys.executable, *argv[1:]]
    else:
        raise AssertionError(f"the tutorial runs a command this test does not know: {cmd}")
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    p = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120, env=env)
    return p.returncode, p.stdout + p.stderr


def walk(text: str, cwd: Path):
    """Follow the tutorial; returns the written files and a log of (phase, command, exit
    code, output), where phase counts the edits applied before the command."""
    written, log, phase, rc = {}, [], 0, None
    for lang, attrs, body in blocks(text):
        if lang == "python" and "title" in attrs:
            written[attrs["title"]] = "\n".join(body) + "\n"
            (cwd / attrs["title"]).write_text(written[attrs["title"]])
        elif lang == "diff":
            apply_diff(cwd / attrs["title"], body)
            phase += 1
        elif lang == "console":
            for cmd, expected in commands(body):
                if cmd == "echo $?":
                    out = f"{rc}\n"
                else:
                    rc, out = run_command(cmd, cwd)
                    log.append((phase, cmd, rc, out))
                assert matches(expected, out.splitlines()), (
                    f"docs/tutorial.md shows for `$ {cmd}`:\n" + "\n".join(expected)
                    + f"\n\nbut it prints:\n{out}")
    return written, log


@pytest.fixture(scope="module")
def tutorial(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("newcomer")
    written, log = walk(DOC.read_text(), cwd)
    return cwd, written, log


def _runs(log, phase, prefix):
    return [(cmd, rc, out) for ph, cmd, rc, out in log if ph == phase and cmd.startswith(prefix)]


def test_the_model_is_a_standalone_file_under_100_lines(tutorial):
    cwd, written, _ = tutorial
    model = written["toy_svm.py"]
    assert len(model.splitlines()) < 100
    assert "from svmcheck import" in model and "models." not in model


def test_check_passes_then_the_edit_breaks_it_then_the_reverse_edit_fixes_it(tutorial):
    cwd, written, log = tutorial
    assert [rc for _, rc, _ in _runs(log, 0, "svmcheck check toy_svm.py")] == [0, 0]
    (_, rc, out), = _runs(log, 1, "svmcheck check toy_svm.py")
    assert rc == 1 and "FAIL    gpu_maps_what_cpu_maps (always)" in out
    assert [rc for _, rc, _ in _runs(log, 2, "svmcheck check toy_svm.py")] == [0]
    assert (cwd / "toy_svm.py").read_text() == written["toy_svm.py"]   # the fix undoes it


def test_the_trace_shows_every_step_and_the_failing_clause(tutorial):
    cwd, _, log = tutorial
    shows = _runs(log, 1, "svmcheck show ")
    assert len(shows) == 2          # the plain trace and the swimlane
    for cmd, rc, out in shows:
        path = cwd / shlex.split(cmd)[2]
        assert rc == 0 and path.is_file()
        data = json.loads(path.read_text())
        assert data["model"] == "toy-svm" and data["property"] == "gpu_maps_what_cpu_maps"
        for st in data["steps"]:
            assert st["step"] in out
        assert f"violated: {data['reason']}" in out
        assert data["reason"].startswith("page 0: the GPU maps frame 1 but the CPU maps 0")
    (_, rc, out), = _runs(log, 2, "svmcheck replay ")
    assert rc == 2 and out.startswith("error: ") and len(out.splitlines()) == 1


def test_the_users_own_pytest_file_passes(tutorial):
    _, written, log = tutorial
    assert "test_toy_svm.py" in written
    (_, rc, out), = _runs(log, 2, "python -m pytest")
    assert rc == 0 and "2 passed" in out


def test_readme_links_the_tutorial():
    assert "(docs/tutorial.md)" in (ROOT / "README.md").read_text()


@pytest.mark.parametrize("expected,actual,ok", [
    (["a", "b"], ["a", "b"], True),
    (["a", "b"], ["a", "b", "c"], False),
    (["a", "...", "c"], ["a", "b", "b", "c"], True),
    (["a", "...", "c"], ["a", "b", "c", "d"], False),
    (["...", "b", "..."], ["a", "b", "c"], True),
    (["...", "x", "..."], ["a", "b", "c"], False),
    (["done sec=0.00"], ["done sec=12.34"], True),
])
def test_the_output_matcher(expected, actual, ok):
    assert matches(expected, actual) is ok
