"""Every error message svmcheck can print is in docs/errors.md, with its cause and fix.

The source tree (svmcheck/, models/, properties/) is read with ``ast``: every construction of
``SvmCheckError`` or a subclass (wherever the subclass is declared), every
``argparse.ArgumentTypeError`` and every ``print("error: ...")`` is a message the CLI can
print.  Its literal text, in order, must appear in docs/errors.md with at most a short
placeholder (``NAME``, ``MODEL``, ``...``) where the code interpolates a value: the message
``f"unknown model '{name}'; available: {names}"`` is documented by
``unknown model 'NAME'; available: MODELS``.  A new or reworded error without documentation
fails here, naming the file and line.
"""
from __future__ import annotations

import ast
import re

import pytest

from conftest import ROOT

DOC = ROOT / "docs" / "errors.md"
SOURCES = ("svmcheck", "models", "properties")
GAP = r".{1,60}?"                # what a placeholder in the doc may stand for


def _family(trees) -> set[str]:
    """SvmCheckError and every class that derives from it, in any scanned module."""
    names = {"SvmCheckError", "ArgumentTypeError"}
    grew = True
    while grew:
        grew = False
        for tree in trees:
            for n in ast.walk(tree):
                if isinstance(n, ast.ClassDef) and n.name not in names and any(
                        _name(b) in names for b in n.bases):
                    names.add(n.name)
                    grew = True
    return names


def _name(node):
    return node.id if isinstance(node, ast.Name) else getattr(node, "attr", None)


def _fragments(node) -> list:
    """The message's literal pieces, with None where a value is interpolated."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        return [v.value if isinstance(v, ast.Constant) else None for v in node.values]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _fragments(node.left) + _fragments(node.right)
    return [None]


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def messages():
    """(file:line, literal fragments) of every error message in the source tree."""
    files = sorted(p for d in SOURCES for p in (ROOT / d).rglob("*.py"))
    trees = {p: ast.parse(p.read_text(), str(p)) for p in files}
    family = _family(trees.values())
    out = []
    for path, tree in trees.items():
        for n in ast.walk(tree):
            if not (isinstance(n, ast.Call) and n.args):
                continue
            frags = _fragments(n.args[0])
            if _name(n.func) == "print":
                if not (frags and isinstance(frags[0], str) and frags[0].startswith("error: ")):
                    continue
                frags = [frags[0][len("error: "):]] + frags[1:]
            elif _name(n.func) not in family:
                continue
            lits = [f for f in frags if f and f.strip()]
            if lits:                  # a message with no literal text re-raises another
                out.append((f"{path.relative_to(ROOT)}:{n.lineno}", frags))
    return out


def pattern(frags) -> re.Pattern:
    parts, gap = [], False
    for f in frags:
        if f is None or not f.strip():
            gap = True
            continue
        if parts or gap:
            parts.append(GAP if gap else "")
        parts.append(re.escape(_norm(f)).replace(r"\ ", " "))
        gap = False
    return re.compile("".join(parts))


def template(frags) -> str:
    return "".join("…" if f is None else f for f in frags)


def _as_regex(template: str) -> re.Pattern:
    """A documented template as a regex: UPPERCASE placeholders and ``...`` match anything."""
    parts = re.split(r"(\.\.\.|\b[A-Z][A-Z0-9_]*\b)", template)
    return re.compile("".join(".*?" if i % 2 else re.escape(p) for i, p in enumerate(parts)))


def documented(message: str) -> bool:
    """Whether a printed message (without ``error: ``) matches a template of errors.md; an
    argparse message is documented by its example under ``MESSAGE; see ... --help``."""
    text = DOC.read_text()
    templates = [t for t in re.findall(r"`([^`]+)`", text) if " " in t and len(t) >= 12]
    usage = re.fullmatch(r"(.+); see svmcheck(?: \w+)? --help", message)
    if usage and "`MESSAGE; see svmcheck COMMAND --help`" in text:
        message = usage.group(1)
    return any(_as_regex(t).fullmatch(message) for t in templates if t != "MESSAGE")


def test_the_scan_finds_the_known_messages():
    found = {template(f) for _, f in messages()}
    assert "unknown model '…'; available: … (or pass a path to a .py file)" in found
    assert "interrupted" in found                                   # a print("error: ...")
    assert "'…' must be positive" in found                          # an ArgumentTypeError
    assert any(t.startswith("step … (…) now reports outcome") for t in found)
    assert len(found) > 60


def test_every_error_message_is_documented():
    doc = _norm(DOC.read_text())
    missing = [f"{where}: {template(frags)}" for where, frags in messages()
               if not pattern(frags).search(doc)]
    assert not missing, ("error messages missing from docs/errors.md (add each, with its "
                         "cause and fix, under its group):\n  " + "\n  ".join(missing))


@pytest.mark.parametrize("frags,doc,ok", [
    (["unknown model '", None, "'; available: ", None], "unknown model 'NAME'; available: A, B",
     True),
    (["unknown model '", None, "'; available: ", None], "unknown model NAME; available: A",
     False),
    ([None, " is not sound for liveness"], "`--symmetry` is not sound for liveness", True),
])
def test_the_pattern_allows_short_placeholders_only(frags, doc, ok):
    assert bool(pattern(frags).search(doc)) is ok


def test_every_documented_group_gives_cause_and_fix():
    text = DOC.read_text()
    entries = [line for line in text.splitlines() if line.startswith("* `")]
    assert len(entries) > 60
    bodies = re.split(r"\n\* `", text)[1:]
    for body in bodies:
        entry = body.split("\n\n")[0]
        assert "Cause:" in entry and "Fix:" in entry, entry[:120]
