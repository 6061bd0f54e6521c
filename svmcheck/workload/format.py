"""The ``svmtrace`` v1 workload format: JSON Lines, a header then events (docs/workloads.md).

A workload file is data: it is parsed with :func:`json.loads` and validated field by field,
never executed.  Every defect is one :class:`~svmcheck.errors.SvmCheckError` line naming the
file line and the fix.  Addresses and sizes are integers (bytes) or hex strings ``"0x..."``;
a ``.jsonl.gz`` file (or any gzip stream) is read transparently.

:func:`load` returns a :class:`Workload` whose events are normalised: hex strings become ints,
``s`` (stream) defaults to 0 and ``mm`` (process: 0 parent, 1 fork child) to 0.
"""
from __future__ import annotations

import gzip
import io
import json
import os
from dataclasses import dataclass, field

from ..errors import SvmCheckError

VERSION = 1
ACCESS_OPS = ("r", "w", "a")
ALLOC_KINDS = ("managed", "hmm", "device", "host")
EXPECT_WHATS = ("location", "outcome", "metric", "value")
METRIC_OPS = ("==", "<=", ">=", "<", ">", "!=")
LINKS = {"none": 0, "pcie": 1, "atomic": 2, 0: 0, 1: 1, 2: 2}

# e -> (required fields, optional fields); types are checked in _check_event
EVENTS = {
    "alloc": (("id", "addr", "size"), ("kind", "advice")),
    "mmap": (("id", "addr", "size"), ("anon", "prot")),
    "free": (("id",), ()),
    "munmap": (("addr", "size"), ()),
    "fork": ((), ()),
    "advise": ((), ("id", "addr", "size", "advice", "value", "preferred_location")),
    "prefetch": (("addr", "size", "dst"), ()),
    "r": (("p", "addr"), ("size", "n", "mm")),
    "w": (("p", "addr"), ("size", "n", "mm")),
    "a": (("p", "addr"), ("size", "n", "mm")),
    "run": (("p", "op", "addr", "count"), ("size", "stride", "mm")),
    "kernel": ((), ("p", "name", "phase")),
    "sync": ((), ("p",)),
    "compute": (("dt",), ("p",)),
    "mark": ((), ("label",)),
    "expect": (("what",), ("addr", "is", "of", "name", "op", "value")),
}


@dataclass
class Workload:
    """A parsed workload: the header dict and the event dicts, in file order."""
    header: dict
    events: list
    lines: list = field(default_factory=list)   # source line of each event (1-based), if read
    name: str = ""
    validated: bool = False

    @property
    def page_size(self) -> int:
        return self.header.get("page_size", 4096)

    def processors(self, kind: str) -> list[dict]:
        return [p for p in self.header["processors"] if p["kind"] == kind]


def load(source) -> Workload:
    """Parse and validate a workload: a path (``.jsonl`` / ``.jsonl.gz``), an iterable of
    JSON lines or of dicts (header first), or a :class:`Workload` (validated in place)."""
    if isinstance(source, Workload):
        return validate(source)
    name = ""
    if isinstance(source, (str, os.PathLike)):
        name = os.fspath(source)
        source = _read_lines(name)
    items = []
    for lineno, item in enumerate(source, start=1):
        if isinstance(item, (bytes, str)):
            text = item.decode() if isinstance(item, bytes) else item
            if not text.strip():
                continue
            try:
                item = json.loads(text)
            except json.JSONDecodeError as e:
                raise _err(lineno, f"is not valid JSON ({e.msg}); write one JSON object per "
                                   f"line") from None
        items.append((lineno, item))
    if not items:
        raise SvmCheckError(f"workload {name or '(lines)'} is empty; the first line must be "
                            f"a header like {{\"svmtrace\": 1, \"page_size\": 4096, ...}}")
    (hline, header), rest = items[0], items[1:]
    wl = Workload(header=header, events=[it for _, it in rest],
                  lines=[ln for ln, _ in rest], name=name)
    return validate(wl, header_line=hline)


def dump(workload: Workload, path) -> None:
    """Write ``workload`` as JSON Lines (gzip if ``path`` ends in ``.gz``)."""
    path = os.fspath(path)
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "wt", encoding="utf-8") as f:
            f.write(json.dumps(workload.header, separators=(",", ":")) + "\n")
            for ev in workload.events:
                f.write(json.dumps(ev, separators=(",", ":")) + "\n")
    except OSError as e:
        raise SvmCheckError(f"cannot write workload '{path}': {e.strerror}; check the "
                            f"path") from None


def _read_lines(path: str):
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise SvmCheckError(f"cannot read workload '{path}': {e.strerror}; check the "
                            f"path") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise SvmCheckError(f"workload '{path}' is a broken gzip file ({e}); "
                                f"re-compress it") from None
    try:
        return io.StringIO(raw.decode("utf-8")).readlines()
    except UnicodeDecodeError:
        raise SvmCheckError(f"workload '{path}' is not UTF-8 text; write JSON Lines") from None


def _err(line: int, msg: str) -> SvmCheckError:
    return SvmCheckError(f"workload line {line}: {msg}")


# ---- validation ---------------------------------------------------------------------------

def validate(wl: Workload, header_line: int = 1) -> Workload:
    """Check the header and every event, normalising values in place; returns ``wl``."""
    if wl.validated:
        return wl
    if not wl.lines or len(wl.lines) != len(wl.events):
        wl.lines = [header_line + 1 + i for i in range(len(wl.events))]
    procs = _check_header(wl.header, header_line)
    strict = wl.header.get("strict", True)
    ids: set = set()
    for i, (ev, line) in enumerate(zip(wl.events, wl.lines)):
        _check_event(ev, line, i, procs, strict, ids, wl.header["page_size"])
    wl.validated = True
    return wl


def _check_header(h, line) -> dict:
    if not isinstance(h, dict) or h.get("svmtrace") != VERSION:
        raise _err(line, f"the header must be an object with \"svmtrace\": {VERSION} (got "
                         f"{_short(h)}); put the header on the first line")
    ps = h.setdefault("page_size", 4096)
    if not isinstance(ps, int) or ps < 512 or ps & (ps - 1):
        raise _err(line, f"page_size {ps!r} must be a power of two >= 512, e.g. 4096")
    procs = h.get("processors")
    if not isinstance(procs, list) or not procs:
        raise _err(line, "the header needs \"processors\": [{\"id\": \"cpu0\", \"kind\": "
                         "\"cpu\"}, {\"id\": \"gpu0\", \"kind\": \"gpu\", \"mem_bytes\": N}]")
    kinds = {}
    for p in procs:
        if not isinstance(p, dict) or not isinstance(p.get("id"), str) or \
                p.get("kind") not in ("cpu", "gpu"):
            raise _err(line, f"processor {_short(p)} needs a string \"id\" and \"kind\" "
                             f"\"cpu\" or \"gpu\"")
        if p["id"] in kinds or p["id"] in ("ram", "cpu"):
            raise _err(line, f"processor id '{p['id']}' is repeated or reserved; give each "
                             f"processor a unique id like gpu0")
        if p["kind"] == "gpu":
            mem = p.get("mem_bytes")
            if isinstance(mem, str):
                mem = p["mem_bytes"] = _int(mem, line, "mem_bytes")
            if not isinstance(mem, int) or isinstance(mem, bool) or mem < ps:
                raise _err(line, f"GPU '{p['id']}' needs \"mem_bytes\" (VRAM size in bytes, "
                                 f">= one page), got {mem!r}")
        kinds[p["id"]] = p["kind"]
    if "gpu" not in kinds.values():
        raise _err(line, "the header lists no GPU processor; add {\"id\": \"gpu0\", \"kind\": "
                         "\"gpu\", \"mem_bytes\": N}")
    if not isinstance(h.get("strict", True), bool):
        raise _err(line, "\"strict\" must be true or false")
    topo = h.get("topology", {})
    if not isinstance(topo, dict):
        raise _err(line, "\"topology\" must be an object like {\"default_link\": \"pcie\"}")
    for key in ("default_link",):
        if key in topo and topo[key] not in LINKS:
            raise _err(line, f"topology default_link {topo[key]!r} must be none, pcie or "
                             f"atomic")
    links = topo.get("links", {})
    if not isinstance(links, dict) or any(
            v not in LINKS or len(k.split("-")) != 2 or
            any(kinds.get(x) != "gpu" for x in k.split("-")) for k, v in links.items()):
        raise _err(line, f"topology links {_short(links)} must map \"gpuA-gpuB\" to none, pcie "
                         f"or atomic")
    if not isinstance(h.get("sys_atomics", False), bool):
        raise _err(line, "\"sys_atomics\" must be true or false")
    if not isinstance(h.get("policy", {}), dict):
        raise _err(line, "\"policy\" must be an object of policy keys, e.g. "
                         "{\"granularity\": \"64k\"}")
    return kinds


def _int(v, line, name, *, minimum=0):
    if isinstance(v, str):
        try:
            v = int(v, 16) if v.lower().startswith("0x") else int(v)
        except ValueError:
            raise _err(line, f"{name} '{v}' is not a number; write bytes as an integer or a "
                             f"hex string \"0x...\"") from None
    if not isinstance(v, int) or isinstance(v, bool):
        raise _err(line, f"{name} must be an integer or a hex string, not {_short(v)}")
    if v < minimum:
        raise _err(line, f"{name} is {v}, must be >= {minimum}")
    return v


def _check_event(ev, line, index, procs, strict, ids, page_size):
    if not isinstance(ev, dict) or not isinstance(ev.get("e"), str):
        raise _err(line, f"an event must be an object with a string \"e\", got {_short(ev)}")
    e = ev["e"]
    if e not in EVENTS:
        if strict:
            raise _err(line, f"unknown event \"e\": \"{e}\"; use one of {', '.join(EVENTS)} "
                             f"(or set \"strict\": false in the header to skip it)")
        return
    need, _ = EVENTS[e]
    missing = [k for k in need if k not in ev]
    if missing:
        raise _err(line, f"event '{e}' lacks {', '.join(missing)}; e.g. "
                         f"{_example(e)}")
    ev["s"] = _int(ev.get("s", 0), line, "s (stream)")
    for k in ("addr", "size", "stride", "count", "n", "dt"):
        if k in ev:
            ev[k] = _int(ev[k], line, k, minimum=1 if k in ("size", "count", "n") else 0)
    if "p" in ev and ev["p"] not in procs:
        raise _err(line, f"processor '{ev['p']}' is not in the header; declared: "
                         f"{', '.join(procs)}")
    if e in ACCESS_OPS or e == "run":
        if "p" not in ev:
            raise _err(line, f"access '{e}' needs \"p\" (a processor id)")
        if e == "run" and ev["op"] not in ACCESS_OPS:
            raise _err(line, f"run op '{ev['op']}' must be r, w or a")
        mm = ev.setdefault("mm", 0)
        if mm not in (0, 1) or (mm == 1 and procs[ev["p"]] != "cpu"):
            raise _err(line, "\"mm\" is 0 (the process) or 1 (its fork child, CPU only)")
    elif e in ("alloc", "mmap"):
        if ev["id"] in ids:
            raise _err(line, f"allocation id {ev['id']!r} is used twice; give each its own id")
        ids.add(ev["id"])
        if ev["addr"] % page_size:
            raise _err(line, f"{e} addr {ev['addr']:#x} is not page-aligned ({page_size})")
        if e == "alloc" and ev.get("kind", "managed") not in ALLOC_KINDS:
            raise _err(line, f"alloc kind {ev['kind']!r} must be one of "
                             f"{', '.join(ALLOC_KINDS)}")
        if e == "mmap" and ev.get("prot", "rw") not in ("rw", "r"):
            raise _err(line, f"mmap prot {ev['prot']!r} must be \"rw\" or \"r\"")
        if e == "mmap" and not isinstance(ev.get("anon", True), bool):
            raise _err(line, "mmap anon must be true or false")
    elif e == "free":
        if ev["id"] not in ids:
            raise _err(line, f"free of unknown allocation id {ev['id']!r}; free only ids an "
                             f"earlier alloc or mmap declared")
    elif e == "prefetch":
        if ev["dst"] not in procs and ev["dst"] not in ("ram", "cpu"):
            raise _err(line, f"prefetch dst '{ev['dst']}' must be a GPU id or \"ram\"")
    elif e == "advise":
        _check_advise(ev, line, procs)
    elif e == "kernel" and ev.get("phase", "begin") not in ("begin", "end"):
        raise _err(line, f"kernel phase {ev['phase']!r} must be begin or end")
    elif e == "expect":
        _check_expect(ev, line, index, procs)


def _check_advise(ev, line, procs):
    if "preferred_location" in ev:
        ev.setdefault("advice", "preferred_location")
        ev.setdefault("value", ev["preferred_location"])
    if ev.get("advice") != "preferred_location":
        raise _err(line, f"advise {ev.get('advice')!r} is not supported; use "
                         f"\"preferred_location\": \"ram\" or a GPU id")
    if ev.get("value") not in procs and ev.get("value") not in ("ram", "cpu", None):
        raise _err(line, f"preferred_location {ev.get('value')!r} must be \"ram\" or a GPU id")
    if "id" not in ev and not ("addr" in ev and "size" in ev):
        raise _err(line, "advise needs \"id\" or \"addr\" and \"size\"")


def _check_expect(ev, line, index, procs):
    what = ev["what"]
    if what not in EXPECT_WHATS:
        raise _err(line, f"expect what '{what}' must be one of {', '.join(EXPECT_WHATS)}")
    if what in ("location", "value") and "addr" not in ev:
        raise _err(line, f"expect {what} needs \"addr\"")
    if what == "location" and ev.get("is") not in ("ram", "none", *procs):
        raise _err(line, f"expect location is {ev.get('is')!r}; use \"ram\", \"none\" or a "
                         f"GPU id")
    if what == "value" and ev.get("is", "latest") != "latest":
        raise _err(line, "expect value supports only \"is\": \"latest\"")
    if what == "outcome":
        of = ev.get("of")
        if not isinstance(of, int) or isinstance(of, bool) or not 0 <= of < index:
            raise _err(line, f"expect outcome \"of\" {of!r} must be the index of an earlier "
                             f"event (0-based among events, this one is {index})")
        if not isinstance(ev.get("is"), str):
            raise _err(line, "expect outcome needs \"is\": \"ok\", \"-EFAULT\", \"SIGSEGV\"...")
    if what == "metric":
        if not isinstance(ev.get("name"), str) or ev.get("op", "==") not in METRIC_OPS:
            raise _err(line, f"expect metric needs \"name\" and \"op\" one of "
                             f"{' '.join(METRIC_OPS)}")
        if not isinstance(ev.get("value"), (int, float)) or isinstance(ev.get("value"), bool):
            raise _err(line, "expect metric needs a numeric \"value\"")


_EXAMPLES = {
    "alloc": '{"e": "alloc", "id": "A", "addr": "0x100000", "size": 65536}',
    "mmap": '{"e": "mmap", "id": "A", "addr": "0x100000", "size": 65536, "anon": true}',
    "free": '{"e": "free", "id": "A"}',
    "munmap": '{"e": "munmap", "addr": "0x100000", "size": 4096}',
    "prefetch": '{"e": "prefetch", "addr": "0x100000", "size": 65536, "dst": "gpu0"}',
    "run": '{"e": "run", "p": "gpu0", "op": "r", "addr": "0x100000", "count": 16}',
    "compute": '{"e": "compute", "p": "gpu0", "dt": 1000}',
    "expect": '{"e": "expect", "what": "location", "addr": "0x100000", "is": "gpu0"}',
}


def _example(e: str) -> str:
    return _EXAMPLES.get(e, f'{{"e": "{e}", "p": "gpu0", "addr": "0x100000"}}')


def _short(v) -> str:
    text = json.dumps(v) if not isinstance(v, (bytes, set)) else repr(v)
    return text if len(text) <= 60 else text[:57] + "..."
