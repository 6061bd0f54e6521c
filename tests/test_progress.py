"""The progress estimator: per-level growth and a geometric projection of the total states and
the time left, from the cumulative level sizes the explorer's reports reveal."""
from __future__ import annotations

import io
import json

import pytest

from conftest import zoo_path
from svmcheck.progress import Progress, estimate


def cum_of(levels, depths=None):
    out, total = {}, 0
    for d, n in enumerate(levels):
        total += n
        if depths is None or d in depths:
            out[d] = total
    return out


def test_tapering_levels_project_the_geometric_sum():
    levels = [1000 * 0.5 ** k for k in range(4)]         # 1000 500 250 125 ... -> 2000
    e = estimate(cum_of(levels), states=1900, rate=100.0)
    assert e["growth"] == pytest.approx(0.5)
    assert e["projected_states"] == 2000
    assert e["eta_s"] == pytest.approx(1.0)


def test_sampled_depths_still_estimate_growth():
    levels = [1000 * 0.5 ** k for k in range(5)]
    e = estimate(cum_of(levels, depths={0, 2, 4}), states=1940, rate=10.0)
    assert e["growth"] == pytest.approx(0.5)
    assert e["projected_states"] == pytest.approx(2000, rel=0.01)


def test_growing_levels_have_no_projection_without_a_bound():
    e = estimate(cum_of([1, 2, 4, 8]), states=20, rate=5.0)
    assert e["growth"] == pytest.approx(2.0)
    assert e["projected_states"] is None and e["eta_s"] is None


def test_growing_levels_up_to_max_depth():
    e = estimate(cum_of([1, 2, 4, 8]), states=20, rate=43.0, max_depth=5)
    assert e["projected_states"] == 63                    # 1 + 2 + ... + 32
    assert e["eta_s"] == pytest.approx(1.0)


def test_flat_levels_up_to_max_depth():
    e = estimate(cum_of([10, 10, 10]), states=30, rate=10.0, max_depth=9)
    assert e["growth"] == pytest.approx(1.0)
    assert e["projected_states"] == 100


def test_max_states_caps_the_projection():
    e = estimate(cum_of([1, 2, 4, 8]), states=20, rate=10.0, max_states=120)
    assert e["projected_states"] == 120 and e["eta_s"] == pytest.approx(10.0)
    e = estimate(cum_of([1000 * 0.5 ** k for k in range(4)]), states=1900, rate=100.0,
                 max_states=5000)
    assert e["projected_states"] == 2000                  # the space ends before the cap


def test_too_few_levels_say_nothing():
    assert estimate({}, states=5, rate=1.0) == {"growth": None, "projected_states": None,
                                                "eta_s": None}
    assert estimate({0: 1}, states=5, rate=1.0)["growth"] is None


def test_projection_never_below_states_found():
    e = estimate(cum_of([100, 50, 25]), states=400, rate=10.0)
    assert e["projected_states"] == 400 and e["eta_s"] == 0


def test_progress_lines_carry_the_estimate():
    """Reports as the explorer makes them: states - frontier = levels 0..depth-1."""
    levels = [1, 3, 9, 27, 20, 10, 5]
    reports = []
    for d in range(1, len(levels) - 1):
        done = sum(levels[:d])
        frontier = levels[d] + levels[d + 1] // 2
        reports.append({"states": done + frontier, "transitions": 0, "depth": d,
                        "frontier": frontier, "seconds": d, "states_per_s": 10.0})
    out = io.StringIO()
    p = Progress(out, json_lines=True)
    for st in reports:
        p(st)
    p(dict(reports[-1], frontier=0), final=True)
    lines = [json.loads(l) for l in out.getvalue().splitlines()]
    assert p.cumulative == {0: 1, 1: 4, 2: 13, 3: 40, 4: 60}
    assert lines[-2]["growth"] == pytest.approx(20 / 27, abs=0.001)     # |L4| / |L3|
    assert lines[-2]["projected_states"] >= lines[-2]["states"]
    assert lines[-1]["final"] is True and lines[-1]["eta_s"] is None
    out = io.StringIO()
    p = Progress(out)
    for st in reports:
        p(st)
    last = out.getvalue().splitlines()[-1]
    assert "growth=x" in last and "projected~" in last and "eta~" in last


def test_cli_progress_json_has_estimate_keys(sub, tmp_path):
    r = sub("check", zoo_path("bits.py"), "--set", "bits=20", "--time-limit", "2.5",
            "--progress", "json", "--out", tmp_path)
    assert r.rc == 3
    lines = [json.loads(l) for l in r.err.splitlines()]
    assert lines and all({"growth", "projected_states", "eta_s"} <= set(l) for l in lines)
    assert lines[-1]["final"] is True
