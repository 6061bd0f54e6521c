"""docs/properties.md is checked against the shipped models.

Every property a shipped model declares (``Model.declared_properties()``, deadlock_free
included) has a ``### `name` `` section with its kind and the exact set of models that check
it (model groups expanded); every section is a shipped property; and every quoted
counterexample exists, is for that property, and ends with the quoted failing clause.
"""
from __future__ import annotations

import json
import re
from collections import defaultdict

import pytest

from conftest import ROOT

from svmcheck.registry import shipped

DOC = ROOT / "docs" / "properties.md"


def _shipped_properties() -> dict:
    """property name -> (set of kinds, set of models that declare it)."""
    out = defaultdict(lambda: (set(), set()))
    for name, cls in shipped().items():
        for p in cls.declared_properties():
            out[p.name][0].add(p.kind)
            out[p.name][1].add(name)
    return dict(out)


def _catalogue() -> tuple[dict, dict]:
    """(sections: name -> text, groups: 'SVM models' -> set of model names)."""
    text = DOC.read_text()
    groups = {m.group(1): {n.strip() for n in m.group(2).split(",")}
              for m in re.finditer(r"^- \*\*(.+? models)\*\*: (.+)$", text, re.M)}
    parts = re.split(r"^### `(\w+)`\n", text, flags=re.M)
    sections = dict(zip(parts[1::2], parts[2::2]))
    return sections, groups


def _field(section: str, name: str) -> str:
    m = re.search(rf"^- \*\*{name}:\*\* (.+)$", section, re.M)
    assert m, f"no '{name}:' line in:\n{section}"
    return m.group(1).strip()


def _checked_by(section: str, groups: dict) -> set:
    out = set()
    for item in _field(section, "Checked by").split(","):
        item = item.strip()
        out |= groups.get(item, {item})
    return out


SECTIONS, GROUPS = _catalogue()
SHIPPED = _shipped_properties()


def test_every_shipped_property_is_catalogued():
    missing = sorted(set(SHIPPED) - set(SECTIONS))
    assert not missing, f"add these to docs/properties.md: {missing}"
    stale = sorted(set(SECTIONS) - set(SHIPPED))
    assert not stale, f"docs/properties.md lists properties no shipped model declares: {stale}"


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_kind_and_models_match_the_code(name):
    kinds, models = SHIPPED[name]
    section = SECTIONS[name]
    assert {_field(section, "Kind")} == kinds
    assert _checked_by(section, GROUPS) == models


def test_the_groups_name_shipped_models():
    names = set(shipped())
    for group, members in GROUPS.items():
        assert members <= names, (group, members - names)
    assert GROUPS["SVM models"] == (GROUPS["xe models"] | GROUPS["kfd models"]
                                    | GROUPS["mirror models"])


def test_quoted_counterexamples_exist_and_end_with_the_quoted_clause():
    quoted = 0
    for name, section in SECTIONS.items():
        for path, reason in re.findall(r"`(counterexamples/[^`]+\.json)`: `([^`]+)`", section):
            data = json.loads((ROOT / path).read_text())
            assert (data["property"], data["reason"]) == (name, reason), path
            assert data["model"] in _checked_by(section, GROUPS)
            quoted += 1
    assert quoted >= 10      # one per committed counterexample when this was written
