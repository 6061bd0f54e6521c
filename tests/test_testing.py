"""svmcheck.testing: assert_holds / assert_finds, on the zoo and on the shipped models whose
counterexamples are committed in counterexamples/."""
from __future__ import annotations

import json

import pytest

from conftest import ROOT, zoo_path
from svmcheck.errors import ConfigError
from svmcheck.registry import resolve
from svmcheck.testing import assert_finds, assert_holds

CE = ROOT / "counterexamples"


def committed(name):
    path = next(CE.glob(f"{name}-*.json"))
    return json.loads(path.read_text())


@pytest.mark.parametrize("name,steps_max", [
    ("xe-upstream-cow_isolation", 9),
    ("xe-no-recheck-coherence", 10),
    ("pt-fence-user-wait-deadlock_free", 10),
    ("xe-retry-unbounded-fault_progress", 24),
])
def test_assert_finds_the_committed_counterexamples(name, steps_max):
    data = committed(name)
    t = assert_finds(data["model"], data["property"], max_length=steps_max, **data["config"])
    assert t.property == data["property"]
    assert [s["step"] for s in t.steps] == [s["step"] for s in data["steps"]]


def test_assert_finds_too_long_shows_the_trace():
    data = committed("xe-upstream-cow_isolation")
    with pytest.raises(AssertionError) as e:
        assert_finds(data["model"], "cow_isolation", max_length=3, **data["config"])
    msg = str(e.value)
    assert "at most 3 steps; the shortest has 9" in msg
    assert "why: gpu0 is at label drm_gpusvm_get_pages since step 4" in msg
    assert "violated: page 0: frame 2 is shared by parent and child after fork" in msg


def test_assert_holds_fails_with_the_readable_trace():
    with pytest.raises(AssertionError) as e:
        assert_holds(zoo_path("counter.py"))
    msg = str(e.value)
    assert msg.startswith("expected every property of counter to hold; got violated")
    assert "FAIL    no_lost_update" in msg and "violated: " in msg and "  1  " in msg


def test_assert_holds_passes_on_a_sound_model():
    res = assert_holds(zoo_path("locks.py:locks_same"))
    assert res.result == "ok"


def test_assert_holds_with_a_class_and_config():
    cls, _ = resolve(zoo_path("vacuity.py:reached"))
    assert assert_holds(cls, top=3).states == 4


def test_assert_holds_incomplete_is_not_a_proof():
    with pytest.raises(AssertionError, match="got incomplete"):
        assert_holds(zoo_path("bits.py"), bits=20, limits={"max_states": 100})


def test_assert_finds_on_a_sound_property_fails():
    with pytest.raises(AssertionError, match="expected locks_same to violate deadlock_free; "
                                             "it holds"):
        assert_finds(zoo_path("locks.py:locks_same"), "deadlock_free")


def test_assert_finds_vacuous_sometimes():
    p = assert_finds(zoo_path("vacuity.py:vacuous"), "beyond_top")
    assert p.status == "vacuous"


def test_bad_config_is_a_config_error():
    with pytest.raises(ConfigError):
        assert_holds(zoo_path("counter.py"), no_such_parameter=1)
