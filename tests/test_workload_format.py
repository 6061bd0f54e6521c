"""svmtrace v1: parsing, normalisation, gzip, and one-line errors naming the line and the fix."""
import gzip
import json

import pytest

from svmcheck.errors import SvmCheckError
from svmcheck.workload import format as fmt

HEADER = {"svmtrace": 1, "page_size": 4096,
          "processors": [{"id": "cpu0", "kind": "cpu"},
                         {"id": "gpu0", "kind": "gpu", "mem_bytes": "0x100000"}]}


def lines(*events, header=HEADER):
    return [json.dumps(header)] + [json.dumps(e) for e in events]


def test_hex_addresses_and_defaults_are_normalised():
    wl = fmt.load(lines({"e": "mmap", "id": "A", "addr": "0x10000", "size": "0x2000"},
                        {"e": "r", "p": "gpu0", "addr": "0x10000", "s": 3}))
    mmap, read = wl.events
    assert (mmap["addr"], mmap["size"]) == (0x10000, 0x2000)
    assert read["s"] == 3 and read["mm"] == 0
    assert wl.header["processors"][1]["mem_bytes"] == 0x100000
    assert wl.lines == [2, 3]


def test_dump_and_load_round_trip_through_gzip(tmp_path):
    wl = fmt.load(lines({"e": "mmap", "id": "A", "addr": 65536, "size": 8192},
                        {"e": "run", "p": "gpu0", "op": "w", "addr": 65536, "count": 2}))
    path = tmp_path / "t.jsonl.gz"
    fmt.dump(wl, path)
    with gzip.open(path, "rt") as f:
        assert json.loads(f.readline())["svmtrace"] == 1
    again = fmt.load(str(path))
    assert again.events == wl.events and again.header == wl.header


@pytest.mark.parametrize("events, line, words", [
    ([{"e": "r", "p": "gpu9", "addr": 0}], 2, "processor 'gpu9' is not in the header"),
    ([{"e": "w", "addr": 0}], 2, "lacks p"),
    ([{"e": "bogus"}], 2, "unknown event"),
    ([{"e": "mmap", "id": "A", "addr": 4096, "size": 4096}, {"e": "r", "p": "gpu0",
      "addr": "0xzz"}], 3, "is not a number"),
    ([{"e": "mmap", "id": "A", "addr": 100, "size": 4096}], 2, "not page-aligned"),
    ([{"e": "free", "id": "nope"}], 2, "unknown allocation id"),
    ([{"e": "run", "p": "gpu0", "op": "x", "addr": 0, "count": 1}], 2, "run op"),
    ([{"e": "expect", "what": "outcome", "of": 5, "is": "ok"}], 2, "earlier event"),
    ([{"e": "r", "p": "gpu0", "addr": 0, "n": 0}], 2, "must be >= 1"),
])
def test_event_errors_name_the_line_and_the_fix(events, line, words):
    with pytest.raises(SvmCheckError) as e:
        fmt.load(lines(*events))
    msg = str(e.value)
    assert msg.startswith(f"workload line {line}:") and words in msg and "\n" not in msg


def test_header_errors():
    with pytest.raises(SvmCheckError, match="line 1: the header must be"):
        fmt.load([json.dumps({"e": "r"})])
    with pytest.raises(SvmCheckError, match="no GPU processor"):
        fmt.load(lines(header={"svmtrace": 1, "processors": [{"id": "cpu0", "kind": "cpu"}]}))
    with pytest.raises(SvmCheckError, match="not valid JSON"):
        fmt.load([json.dumps(HEADER), "{'e': 'r'}"])
    with pytest.raises(SvmCheckError, match="is empty"):
        fmt.load([])


def test_unknown_events_pass_when_not_strict():
    wl = fmt.load(lines({"e": "custom_thing"}, header=dict(HEADER, strict=False)))
    assert wl.events == [{"e": "custom_thing"}]


def test_a_file_is_data_never_code(tmp_path):
    path = tmp_path / "evil.jsonl"
    path.write_text(json.dumps(HEADER) + "\n__import__('os').system('false')\n")
    with pytest.raises(SvmCheckError, match="line 2: is not valid JSON"):
        fmt.load(str(path))
