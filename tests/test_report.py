"""Traces that explain why (issue 8): "why" lines in text traces, the swimlane view, the HTML
sequence diagram, JUnit XML and the HTML report of a check — on the committed
counterexamples of the shipped models."""
from __future__ import annotations

import json
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import ROOT, zoo_path
from svmcheck.report.steps import load_view

CE = ROOT / "counterexamples"
COW = CE / "xe-upstream-cow_isolation-82b2ed7d.json"
NO_RECHECK = CE / "xe-no-recheck-coherence-48c3faf3.json"
DEADLOCK = CE / "pt-fence-user-wait-deadlock_free-ebf20a50.json"
LIVELOCK = CE / "xe-retry-unbounded-fault_progress-6ee0c159.json"
ALL = [COW, NO_RECHECK, DEADLOCK, LIVELOCK]


def steps_of(path):
    return json.loads(Path(path).read_text())["steps"]


# ---------------------------------------------------------------------------------------
# text: why lines, only changed fields, the failing clause
# ---------------------------------------------------------------------------------------

def test_show_explains_why_each_label_ran(run):
    r = run("show", COW)
    assert r.rc == 0, r.err
    lines = r.out.splitlines()
    # a flow label: the actor reached it at its previous step
    i = next(k for k, l in enumerate(lines) if "  6  gpu0" in l and "drm_gpusvm_get_pages()" in l)
    assert lines[i + 1].strip() == "why: gpu0 is at label drm_gpusvm_get_pages since step 4"
    # a start label: the actor was idle
    assert "why: gpu0 was idle; gpu_access starts a run of flow gpu" in r.out
    # only changed fields: fork() changes pte, fmap, forked, budget — nothing else
    j = next(k for k, l in enumerate(lines) if "cpu0" in l and "fork()" in l)
    block = []
    for l in lines[j + 1:]:
        if not l.startswith("       "):
            break
        block.append(l.strip())
    assert [b.split(":")[0].split("[")[0] for b in block] == ["pte", "pte", "fmap", "forked",
                                                              "budget"]
    assert all(" -> " in b for b in block)
    assert lines[-1].strip().startswith("violated: page 0: frame 2 is shared by parent and "
                                        "child after fork")


def test_show_names_the_guards_that_held(run):
    r = run("show", DEADLOCK)
    assert r.rc == 0, r.err
    lines = r.out.splitlines()
    i = next(k for k, l in enumerate(lines) if "amdgpu_bo_pin()" in l)
    assert lines[i + 1].strip() == ("when: the other client has a BO to pin and VRAM has a "
                                    "free slot")
    i = next(k for k, l in enumerate(lines) if "amdgpu_vm_pt_create()" in l)
    assert lines[i + 1].strip().startswith("why: gpu0/fault is at label amdgpu_vm_pt_create "
                                           "since step 4")
    assert lines[i + 2].strip().startswith("when: VRAM has room for a page table")
    assert lines[-1].strip().startswith("violated: deadlock, wait cycle: gpu0/fault")


def test_liveness_trace_marks_obligation_and_cycle(run):
    r = run("show", LIVELOCK)
    assert r.rc == 0, r.err
    assert "<- obligation gpu0 pending from here" in r.out.splitlines()[2]
    assert sum("<- cycle starts here" in l for l in r.out.splitlines()) == 1
    assert "a fair cycle of 18 steps never reaches the goal" in r.out


def test_check_output_carries_why_lines(run, tmp_path):
    r = run("check", zoo_path("locks.py:locks_opposite"), "--quiet", "--out", tmp_path)
    r2 = run("check", zoo_path("locks.py:locks_opposite"), "--out", tmp_path)
    assert r.rc == r2.rc == 1
    assert "why: " in r2.out or "when: " in r2.out


# ---------------------------------------------------------------------------------------
# swimlane
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name.split("-")[0] + "-" + p.stem[-8:])
def test_swimlane_one_column_per_actor(run, path):
    r = run("show", path, "--swimlane")
    assert r.rc == 0, r.err
    lines = r.out.splitlines()
    steps = steps_of(path)
    actors = list(dict.fromkeys(s["actor"] for s in steps))
    header = [c.strip() for c in lines[1].split("|")]
    assert header == ["step"] + actors
    rows = [l for l in lines if l[:4].strip().isdigit()]
    assert len(rows) == len(steps)
    for row, st in zip(rows, steps):
        cells = [c.strip() for c in row.split("  <- ")[0].split("|")]
        col = 1 + actors.index(st["actor"])
        assert cells[col].split(" => ")[0] == st["step"]            # the kernel function
        assert all(not c for k, c in enumerate(cells[1:], start=1) if k != col)
    assert lines[-1].startswith("violated: ")


# ---------------------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------------------

class _Checker(HTMLParser):
    VOID = {"meta", "br", "img", "input", "link", "hr", "path", "rect", "line", "stop"}

    def __init__(self):
        super().__init__()
        self.stack, self.errors, self.tags, self.text = [], [], set(), []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        for k, v in attrs:
            if k in ("src", "href") and v and not v.startswith("#"):
                self.errors.append(f"external asset {k}={v}")
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.add(tag)

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        if self.stack[-1:] != ["style"]:
            self.text.append(data)


def parse_html(text):
    p = _Checker()
    p.feed(text)
    p.close()
    assert not p.errors, p.errors[:5]
    assert not p.stack, p.stack
    return p


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name.split("-")[0] + "-" + p.stem[-8:])
def test_show_html(run, tmp_path, path):
    out = tmp_path / "trace.html"
    r = run("show", path, "--html", out)
    assert r.rc == 0, r.err
    text = out.read_text()
    assert text.startswith("<!DOCTYPE html>")
    p = parse_html(text)
    assert {"html", "head", "style", "body", "svg", "details", "summary"} <= p.tags
    body = "".join(p.text)
    for st in steps_of(path):
        assert st["step"] in body and st["actor"] in body
    assert text.count("<details") == len(steps_of(path))
    view = load_view(str(path))
    assert f"Violated: {view.verdict}" in body


def test_html_unwritable(run, tmp_path):
    r = run("show", COW, "--html", tmp_path / "no" / "such" / "dir.html")
    r.assert_one_line_error()


def _png_colours(data: bytes) -> int:
    """Distinct pixel colours of an 8-bit RGB/RGBA non-interlaced PNG (decoded by hand)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, w = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", chunk)
            assert depth == 8 and ctype in (2, 6) and interlace == 0
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = w * bpp
    prev = bytearray(stride)
    colours = set()
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pr) & 255
        if y % 4 == 0:
            colours.update(bytes(line[i:i + 3]) for i in range(0, stride, bpp * 4))
        prev = line
    return len(colours)


def test_html_renders_in_chromium(run, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not installed")
    page, png = tmp_path / "trace.html", tmp_path / "out.png"
    assert run("show", COW, "--html", page).rc == 0
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                    f"--screenshot={png}", "--window-size=1200,800", page.as_uri()],
                   capture_output=True, timeout=120, cwd=tmp_path)
    assert png.exists() and png.stat().st_size > 5000
    assert _png_colours(png.read_bytes()) > 20        # text, lanes, boxes: not a blank page


# ---------------------------------------------------------------------------------------
# check --junit / --report
# ---------------------------------------------------------------------------------------

def test_junit_one_testcase_per_property(run, tmp_path):
    xml = tmp_path / "j.xml"
    r = run("check", zoo_path("counter.py"), "--quiet", "--out", tmp_path, "--junit", xml)
    assert r.rc == 1, r.err
    root = ET.parse(xml).getroot()
    assert root.tag == "testsuites"
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert set(cases) == {"no_lost_update", "all_done", "inc_completes", "deadlock_free"}
    fail = cases["no_lost_update"].find("failure")
    assert fail is not None and fail.get("type") == "violated"
    assert "svmcheck replay" in fail.text and "why: " in fail.text
    for n in ("all_done", "inc_completes", "deadlock_free"):
        assert len(cases[n]) == 0
    assert root.get("failures") == "1" and root.get("tests") == "4"


def test_junit_vacuous_and_unknown(run, tmp_path):
    xml = tmp_path / "v.xml"
    r = run("check", zoo_path("vacuity.py:vacuous"), "--quiet", "--out", tmp_path, "--junit", xml)
    root = ET.parse(xml).getroot()
    fails = [c.find("failure") for c in root.iter("testcase") if c.find("failure") is not None]
    assert r.rc == 1 and any(f.get("type") == "vacuous" for f in fails)
    xml2 = tmp_path / "u.xml"
    r = run("check", zoo_path("bits.py"), "--set", "bits=20", "--max-states", "50",
            "--quiet", "--out", tmp_path, "--junit", xml2)
    assert r.rc == 3
    root = ET.parse(xml2).getroot()
    skips = [c.find("skipped") for c in root.iter("testcase")]
    assert skips and all(s is not None and "unknown" in s.get("message") for s in skips)
    assert root.get("skipped") == str(len(skips))


def test_html_report(run, tmp_path):
    page = tmp_path / "r.html"
    r = run("check", zoo_path("locks.py:locks_opposite"), "--quiet", "--out", tmp_path,
            "--report", page)
    assert r.rc == 1, r.err
    text = page.read_text()
    p = parse_html(text)
    body = "".join(p.text)
    assert "locks_opposite" in body and "VIOLATED" in body
    assert "FAIL" in body and "deadlock_free" in body and "work_completes" in body
    assert "svg" in p.tags and "Counterexample: deadlock_free" in body
    for field in ("states", "transitions", "seconds"):
        assert field in body


def test_html_report_ok(run, tmp_path):
    page = tmp_path / "ok.html"
    r = run("check", zoo_path("locks.py:locks_same"), "--quiet", "--out", tmp_path,
            "--report", page)
    assert r.rc == 0, r.err
    body = "".join(parse_html(page.read_text()).text)
    assert "OK: every property holds" in body and "FAIL" not in body


def test_lambda_guards_show_their_expression(run, tmp_path):
    r = run("check", zoo_path("counter.py"), "--out", tmp_path)
    assert r.rc == 1
    assert "when: not s.started[me.cpu]" in r.out and "<lambda>" not in r.out
