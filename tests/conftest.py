"""Shared helpers for the engine tests: zoo paths, in-process and subprocess CLI runs."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from svmcheck import cli
from svmcheck.registry import build

ZOO = Path(__file__).parent / "zoo"
ROOT = Path(__file__).parent.parent


def zoo_path(spec: str) -> str:
    """Absolute path of a zoo model file, keeping a ``:NAME`` suffix (``locks.py:locks_same``)."""
    return str(ZOO / spec)


def zoo_model(spec: str, **overrides):
    """Build a zoo model instance with configuration overrides."""
    model, _ = build(zoo_path(spec), overrides)
    return model


@dataclass
class Run:
    rc: int
    out: str
    err: str

    @property
    def json(self):
        return json.loads(self.out)

    def assert_one_line_error(self):
        """The CLI contract for bad input: exit 2, one line on stderr, no traceback."""
        assert self.rc == 2, (self.rc, self.out, self.err)
        assert "Traceback" not in self.err and "Traceback" not in self.out
        lines = self.err.splitlines()
        assert len(lines) == 1, self.err
        assert lines[0].startswith("error: "), self.err


@pytest.fixture
def run(capsys):
    """Run ``svmcheck.cli.main(argv)`` in-process: run("check", path, "--json", ...)."""
    def _run(*argv) -> Run:
        capsys.readouterr()
        rc = cli.main([str(a) for a in argv])
        cap = capsys.readouterr()
        return Run(rc, cap.out, cap.err)
    return _run


@pytest.fixture
def sub():
    """Run ``python -m svmcheck ...`` in a fresh interpreter (end-to-end)."""
    def _sub(*argv, cwd=None) -> Run:
        env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        p = subprocess.run([sys.executable, "-m", "svmcheck", *map(str, argv)], cwd=cwd,
                           capture_output=True, text=True, timeout=120, env=env)
        return Run(p.returncode, p.stdout, p.stderr)
    return _sub


@pytest.fixture
def check_json(run, tmp_path):
    """``svmcheck check SPEC --json --out tmp`` -> (exit code, parsed JSON)."""
    def _check(spec, *extra):
        r = run("check", zoo_path(spec), "--json", "--out", tmp_path / "ce", *extra)
        assert r.err == "", r.err
        return r.rc, r.json
    return _check


def prop(result_json: dict, name: str) -> dict:
    """The entry of property ``name`` in a ``check --json`` result."""
    return next(p for p in result_json["properties"] if p["name"] == name)
