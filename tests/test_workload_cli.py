"""svmcheck run / compare: exit codes, JSON, the metrics table and the plot files."""
import json

from svmcheck.cli import main
from svmcheck.workload import format as fmt

PS = 4096
BASE = 0x40000000


def write(tmp_path, events, name="w.jsonl"):
    header = {"svmtrace": 1, "page_size": PS,
              "processors": [{"id": "cpu0", "kind": "cpu"},
                             {"id": "gpu0", "kind": "gpu", "mem_bytes": 1 << 26}]}
    path = tmp_path / name
    fmt.dump(fmt.Workload(header=header, events=events), path)
    return str(path)


def stream(tmp_path, pages=64, extra=()):
    return write(tmp_path, [{"e": "mmap", "id": "A", "addr": BASE, "size": pages * PS},
                            {"e": "run", "p": "cpu0", "op": "w", "addr": BASE, "count": pages},
                            {"e": "sync"},
                            {"e": "run", "p": "gpu0", "op": "r", "addr": BASE, "count": pages},
                            *extra])


def test_run_prints_a_table_and_exits_0(tmp_path, capsys):
    assert main(["run", "xe", "--workload", stream(tmp_path), "--policy", "granularity=64k"]) == 0
    out = capsys.readouterr().out
    assert "gpu_faults" in out and "granularity=64k" in out and "bytes host->gpu0" in out
    assert "ok: every access read the latest data" in out


def test_run_json_is_one_object(tmp_path, capsys):
    path = stream(tmp_path) + ".gz"
    fmt.dump(fmt.load(stream(tmp_path)), path)
    assert main(["run", "xe", "--workload", path, "--json", "--seed", "3"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["ok"] and d["seed"] == 3 and d["metrics"]["migrations_h2d"] == 64
    assert d["policy"]["granularity"] == "fit"


def test_failed_expect_exits_1(tmp_path, capsys):
    path = stream(tmp_path, extra=[{"e": "sync"}, {"e": "expect", "what": "location",
                                                   "addr": BASE, "is": "ram"}])
    assert main(["run", "xe", "--workload", path]) == 1
    assert "FAILED: expect (event 5, line 7): address 0x40000000 is in gpu0, expected ram" \
        in capsys.readouterr().out


def test_bad_input_exits_2_with_one_line(tmp_path, capsys):
    assert main(["run", "xe", "--workload", stream(tmp_path), "--policy", "prefetch=magic"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: policy prefetch cannot be 'magic'") and err.count("\n") == 1
    assert main(["run", "xe", "--workload", str(tmp_path / "missing.jsonl")]) == 2
    assert "cannot read workload" in capsys.readouterr().err
    bad = write(tmp_path, [{"e": "r", "p": "gpu7", "addr": 0}], "bad.jsonl")
    assert main(["run", "xe", "--workload", bad]) == 2
    assert "workload line 2: processor 'gpu7'" in capsys.readouterr().err


def test_compare_writes_png_and_svg(tmp_path, capsys):
    out = tmp_path / "cmp"
    rc = main(["compare", "xe", "--workload", stream(tmp_path), "--policy", "granularity=4k",
               "--policy", "granularity=64k", "--metrics", "gpu_faults,modelled_time_ns",
               "--plot", str(out)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "granularity=4k" in text and "granularity=64k" in text
    for ext in ("png", "svg"):
        f = tmp_path / f"cmp.{ext}"
        assert f.exists() and f.stat().st_size > 1000
    assert (tmp_path / "cmp.png").read_bytes()[:4] == b"\x89PNG"


def test_compare_json_and_unknown_metric(tmp_path, capsys):
    path = stream(tmp_path)
    assert main(["compare", "xe", "--workload", path, "--policy", "granularity=4k",
                 "--policy", "granularity=64k", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    faults = [r["metrics"]["gpu_faults"] for r in d["results"]]
    assert faults[0] > faults[1]
    assert main(["compare", "xe", "--workload", path, "--metrics", "gpu_fautls"]) == 2
    assert "unknown metric 'gpu_fautls'" in capsys.readouterr().err
