"""benchmarks/results.py, the command that reruns docs/results.md: at a tiny budget on one task,
the JSON and the markdown table it writes must agree with every run's own summary.json; bad
arguments are one-line errors; the seasonal-naive baseline is exact on a seasonal series."""
from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))

import results  # noqa: E402
from bptt.tasks import timeseries  # noqa: E402


def test_tiny_run_agrees_with_the_summaries(tmp_path):
    out = tmp_path / "res"
    got = results.main(["--tasks", "parity", "--match", "(elman)", "--try", "--hidden 8", "--seeds", "0,1",
                        "--budget-scale", "0.01", "--out", str(out)])
    saved = json.loads((out / "results.json").read_text())
    assert saved == json.loads(json.dumps(got))
    base = next(e for e in results.EXPERIMENTS if e.name == "parity (elman)")
    tried = base.trying("--hidden 8")
    assert [row["name"] for row in saved["experiments"]] == ["parity (elman)", "parity (elman) + --hidden 8"]
    assert saved["provenance"]["git_commit"] and saved["provenance"]["machine"]["cpu"]["logical_cpus"] >= 1
    table = (out / "results.md").read_text().splitlines()
    for exp, row, eight in zip((base, tried), saved["experiments"], (False, True)):
        assert [r["seed"] for r in row["runs"]] == [0, 1]
        accs = []
        for run in row["runs"]:
            summary = json.loads((Path(run["run_dir"]) / "summary.json").read_text())
            assert summary["steps"] == round(exp.steps * 0.01) == run["steps"]
            assert summary["config"]["train"]["seed"] == run["seed"]
            assert (summary["config"]["model"]["hidden_size"] == 8) == eight
            assert run["values"] == {"final.seq_acc": summary["final"]["seq_acc"], "best.value": summary["best"]["value"]}
            assert run["wall_time_s"] == summary["wall_time_s"]
            accs.append(summary["final"]["seq_acc"])
        assert row["spread"]["final.seq_acc"] == {"mean": np.mean(accs), "min": min(accs), "max": max(accs), "n": 2}
        line = next(x for x in table if x.startswith(f"| {exp.name} |"))
        assert f"`bptt train {' '.join(exp.argv(0.01))}`" in line
        assert f"{100 * np.mean(accs):.1f}%" in line
        assert all(f"{100 * a:.1f}%" in line for a in accs)
    compared = results.compare([saved, saved]).splitlines()  # a row present twice is shown once
    one, two = (json.loads(json.dumps(saved)) for _ in range(2))
    for part, seed in ((one, 0), (two, 1)):  # the same rows run as two invocations, a seed each
        for row in part["experiments"]:
            row["runs"] = [r for r in row["runs"] if r["seed"] == seed]
    assert results.compare([one, two]) == results.compare([saved])  # pooled at the same commit
    two["provenance"]["git_commit"] = "0" * 40
    assert "S = 0)" in results.compare([one, two])  # another commit: not pooled, the first kept
    assert len(compared) == 4 and compared[0].startswith("| settings (+ `--seed S --threads 1`, S = 0, 1) | validation")
    for exp, line in zip((base, tried), compared[2:]):
        assert line.startswith(f"| `bptt train {' '.join(exp.argv(0.01))}` |")
    results.main(["--compare", str(out / "results.json")])
    with pytest.raises(SystemExit) as exc:
        results.main(["--compare", str(out / "missing.json")])
    assert exc.value.code == 2


@pytest.mark.parametrize("argv, named", [
    (["--tasks", "parity,nope"], "--tasks"),
    (["--seeds", "0,x"], "--seeds"),
    (["--seeds", "1,1"], "--seeds"),
    (["--budget-scale", "0"], "--budget-scale"),
    (["--budget-scale", "nan"], "--budget-scale"),
    (["--tasks", "parity", "--match", "charlm"], "--match"),
    (["--try", ""], "--try"),
    (["--try", "--window '24"], "--try"),
    (["--tasks", "parity", "--match", "parity (elman)", "--try", "--hidden 8", "--try", "--hidden  8"], "--try"),
])
def test_bad_arguments_exit_2_naming_the_argument(argv, named, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        results.main([*argv, "--out", str(tmp_path / "new")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"results.py: error: {named}:" in err and "Traceback" not in err
    assert not (tmp_path / "new").exists()


def test_a_tried_budget_replaces_the_experiments():
    exp = results.experiment("parity (gru)", "parity").trying("--steps 6000")
    argv = exp.argv(1.0)
    assert argv[:3] == ["parity", "--steps", "3000"] and argv[-2:] == ["--steps", "6000"]  # the last counts
    from bptt import cli
    assert cli.build_parser().parse_args(["train", *argv]).steps == 6000


def test_every_experiment_has_its_own_run_folder():
    slugs = [e.slug() for e in results.EXPERIMENTS]
    assert len(set(slugs)) == len(slugs)
    assert results.experiment("airline, differences, season 12, GRU", "timeseries").slug() == \
        "airline-differences-season-12-gru"


def test_an_existing_out_folder_is_never_reused(tmp_path, capsys):
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "results.json").write_text("{}")
    with pytest.raises(SystemExit) as exc:
        results.main(["--tasks", "parity", "--out", str(tmp_path / "old")])
    assert exc.value.code == 2 and "--out" in capsys.readouterr().err
    assert (tmp_path / "old" / "results.json").read_text() == "{}"
    assert os.listdir(tmp_path / "old") == ["results.json"]


def test_seasonal_naive_is_the_librarys_on_the_runs_split(tmp_path):
    values = 3.0 * np.arange(60) + np.random.default_rng(0).normal(size=60)
    path = tmp_path / "s.csv"
    path.write_text("month,value\n" + "".join(f"{i},{float(x)!r}\n" for i, x in enumerate(values)))
    options = {"data": str(path), "column": 1, "train_frac": 0.5}
    assert results.seasonal_naive_rmse(options, 12) == timeseries.OneStepForecast(values, 0.5).seasonal_naive_rmse(12)


def test_docs_results_tables_are_the_committed_result_files():
    """docs/results.md quotes `results.py --compare FILES` of result files committed in
    benchmarks/results/: each quoted table is that command's output, line for line."""
    import re

    root = Path(__file__).resolve().parents[1]
    doc = (root / "docs" / "results.md").read_text(encoding="utf-8")
    quoted = re.findall(r"^(?:\.venv/bin/)?python benchmarks/results\.py --compare (benchmarks/results/.+)$", doc, flags=re.M)
    assert len(quoted) >= 5, "docs/results.md quotes its tables with the --compare command above each"
    for rest in quoted:
        args = results.parse_args(["--compare", *shlex.split(rest)])
        table = results.compare([json.loads((root / f).read_text()) for f in args.compare], args.tasks)
        assert table.strip() and table.strip() in doc, rest
