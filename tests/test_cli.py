"""The `bptt` command, in process through cli.main (and once as `python -m bptt`)."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from bptt import cli


def run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str, *fragments: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bptt: error: "), err
    assert "Traceback" not in err
    for f in fragments:
        assert f in lines[0], (f, lines[0])


def test_python_m_bptt_help():
    p = subprocess.run([sys.executable, "-m", "bptt", "--help"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0
    for command in ("train", "sample", "eval", "gradcheck", "diagnose", "translate"):
        assert command in p.stdout


def test_train_help_lists_tasks(capsys):
    code, out, _ = run(capsys, "train", "--help")
    assert code == 0
    for task in ("addition", "parity", "digits", "charlm", "sentiment", "timeseries", "dates"):
        assert task in out
    assert "--resume" in out and "--minutes" in out


def test_default_train_is_addition(capsys, tmp_path):
    code, out, err = run(capsys, "train", "--steps", 40, "--eval-every", 20, "--hidden", 4, "--test-bits", 16,
                         "--no-progress", "--out", tmp_path / "run")
    assert code == 0, err
    assert "16 bits:" in out and "trained on ≤32-bit numbers" in out
    assert "training a 4-unit RNN to add binary numbers, on numbers of at most 32 bits, then testing it on 16-bit" in out
    assert "run directory:" in out and (tmp_path / "run" / "last.npz").exists()
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["config"]["model"]["hidden_size"] == 4 and summary["config"]["task"]["test_bits"] == [16]
    # resume through the CLI, then evaluate and diagnose the checkpoint
    code, out, err = run(capsys, "train", "--resume", tmp_path / "run", "--steps", 60, "--no-progress")
    assert code == 0, err
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["steps"] == 60
    code, out, err = run(capsys, "eval", tmp_path / "run" / "checkpoint.npz")
    assert code == 0 and "addition checkpoint at step" in out
    code, out, err = run(capsys, "eval", tmp_path / "run" / "last.npz", "--json")
    assert code == 0 and json.loads(out)["step"] == 60
    code, out, err = run(capsys, "diagnose", tmp_path / "run" / "last.npz", "--out", tmp_path / "diag")
    assert code == 0, err
    assert "spectral radius" in out and (tmp_path / "diag" / "summary.txt").exists()


@pytest.mark.parametrize("argv, fragments", [
    (["train", "charlm"], ["--text"]),
    (["train", "--text", "x.txt"], ["--text is not an option of task addition", "charlm"]),
    (["train", "charlm", "--text", "/no/such/file.txt"], ["No such file", "/no/such/file.txt"]),
    (["train", "--lr", "-1"], ["lr must be"]),
    (["train", "--steps", "0"], ["steps must be"]),
    (["train", "--resume", "/no/such/run"], ["nothing to resume"]),
    (["train", "--resume", "/no/such/run", "--lr", "0.1"], ["resumed run keeps its configuration", "lr"]),
    (["sample", "/no/such/checkpoint.npz"], ["No such file"]),
    (["eval", __file__], ["not an .npz archive"]),
])
def test_bad_input_is_one_line_and_status_2(capsys, argv, fragments):
    code, out, err = run(capsys, *argv)
    assert code == 2
    one_error_line(err, *fragments)


def test_argparse_errors_are_status_2(capsys):
    code, _, err = run(capsys, "train", "--lr", "abc")
    assert code == 2 and "invalid float value" in err and "Traceback" not in err
    code, _, err = run(capsys, "train", "poetry")
    assert code == 2 and "invalid choice" in err


def test_gradcheck_prints_every_parameter(capsys, monkeypatch):
    import inspect

    import bptt

    real, used = bptt.gradcheck, []

    def spy(*args, **kwargs):  # the step gradcheck really takes, default or given
        used.append(kwargs.get("eps", inspect.signature(real).parameters["eps"].default))
        return real(*args, **kwargs)

    monkeypatch.setattr(bptt, "gradcheck", spy)
    code, out, _ = run(capsys, "gradcheck", "--layers", 2, "--bidirectional")
    assert code == 0
    assert len(used) == 1 and f"central differences, eps={used[0]:g}\n" in out  # prints the eps it uses
    for name in ("U", "W", "b", "U2_rev", "V", "c"):
        assert f"\n{name} " in out
    assert out.strip().splitlines()[-1].startswith("ok: largest error")


def test_diagnose_random_model(capsys, tmp_path):
    code, out, err = run(capsys, "diagnose", "--init", "orthogonal", "--activation", "tanh", "--hidden", 8,
                         "--steps", 12, "--batch", 4, "--out", tmp_path)
    assert code == 0, err
    assert "gradient" in out and (tmp_path / "gradient_decay.png").exists()


def test_charlm_train_sample_eval(capsys, tmp_path):
    text = tmp_path / "my.txt"
    text.write_text("hello world, hello there.\n" * 40, encoding="utf-8")
    code, out, err = run(capsys, "train", "charlm", "--text", text, "--seq-len", 8, "--steps", 30, "--batch-size", 4,
                         "--hidden", 12, "--eval-every", 15, "--no-progress", "--out", tmp_path / "run")
    assert code == 0, err
    assert "nats/char" in out and "bits/char" in out
    ckpt = tmp_path / "run" / "checkpoint.npz"
    code, out, err = run(capsys, "sample", ckpt, "--primer", "hello", "--length", 25, "--temperature", 0.5, "--seed", 1)
    assert code == 0 and out.startswith("hello") and len(out.rstrip("\n")) >= 30
    code, _, err = run(capsys, "sample", ckpt, "--primer", "Z", "--seed", 1)
    assert code == 2
    one_error_line(err, "'Z'")
    code, _, err = run(capsys, "sample", ckpt, "--temperature", 0)
    assert code == 2
    one_error_line(err, "temperature")
    code, _, err = run(capsys, "translate", ckpt, "1999/3/3")
    assert code == 2
    one_error_line(err, "dates checkpoint")


def test_sentiment_timeseries_dates_from_the_cli(capsys, tmp_path):
    sent = tmp_path / "s.txt"
    rows = [f"{w} movie\t{int(w == 'good')}" for w in ["good", "bad"] * 30]
    sent.write_text("\n".join(rows) + "\n", encoding="utf-8")
    code, out, err = run(capsys, "train", "sentiment", "--data", sent, "--steps", 20, "--hidden", 4,
                         "--eval-every", 10, "--no-progress", "--out", tmp_path / "s")
    assert code == 0, err
    assert "bag-of-words logistic regression" in out
    csv = tmp_path / "v.csv"
    values = 5 + np.sin(np.arange(80) / 3)
    csv.write_text("t,v\n" + "\n".join(f"{i},{v:.3f}" for i, v in enumerate(values)), encoding="utf-8")
    code, out, err = run(capsys, "train", "timeseries", "--data", csv, "--steps", 20, "--eval-every", 10,
                         "--no-progress", "--out", tmp_path / "t")
    assert code == 0, err
    assert "persistence" in out and "first differences" not in out
    code, out, err = run(capsys, "train", "timeseries", "--data", csv, "--difference", "--steps", 20,
                         "--eval-every", 10, "--no-progress", "--out", tmp_path / "td")
    assert code == 0, err
    assert "RNN on first differences" in out
    code, out, err = run(capsys, "train", "timeseries", "--data", csv, "--difference", "--season", 12, "--steps", 20,
                         "--eval-every", 10, "--no-progress", "--out", tmp_path / "ts")
    assert code == 0, err
    assert "differences over 12 steps" in out and "seasonal naive (the change 12 steps earlier)" in out
    summary = json.loads((tmp_path / "ts" / "summary.json").read_text())
    assert summary["final"]["season"] == 12 and summary["final"]["seasonal_naive_rmse"] > 0
    code, out, err = run(capsys, "train", "dates", "--steps", 2, "--batch-size", 4, "--hidden", 8, "--eval-every", 2,
                         "--no-progress", "--out", tmp_path / "d")
    assert code == 0, err
    code, out, err = run(capsys, "translate", tmp_path / "d" / "last.npz", "3rd of March 1999", "1999/3/3")
    assert code == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("3rd of March 1999\t")
    # not dates are named on stderr, one line each, and the others still translate (exit 2);
    # any case is read as the task writes it, and a wrong answer shows the right one
    args = ["hello", "3RD OF MARCH 1999", "", "31 February 2020", "Monday, 22 Nov 2026"]
    code, out, err = run(capsys, "translate", tmp_path / "d", *args)
    assert code == 2 and "Traceback" not in err
    assert err.strip().splitlines() == [
        "bptt: error: date 1 ('hello'): not a date in a supported format (`bptt translate --help` lists them)",
        "bptt: error: date 3 (''): empty: expected a date such as '3rd of March 1999'",
        "bptt: error: date 4 ('31 February 2020'): no such day: February 2020 has 29 days",
        "bptt: error: date 5 ('Monday, 22 Nov 2026'): 2026-11-22 is a Sunday, not 'Monday'"]
    from bptt.runs import load_state
    recipe, model, _, _ = load_state(tmp_path / "d" / "checkpoint.npz")
    got = recipe.translate(model, ["3rd of March 1999"])[0]
    right = "" if got == "1999-03-03" else "\t(wrong: 1999-03-03)"
    assert out == f"3RD OF MARCH 1999\t{got}{right}\n"
    code, out, _ = run(capsys, "translate", "--help")
    assert code == 0 and all(line in out for line in ("  22nd of November 2026", "  2026/11/22", "  22-Nov-2026"))


TASK_ARGS = {"addition": [], "parity": [], "digits": [], "sentiment": [], "timeseries": [],
             "dates": ["--batch-size", "4"], "charlm": ["--batch-size", "4", "--seq-len", "5"],
             "wordlm": ["--batch-size", "4", "--seq-len", "5", "--vocab-size", "9"]}


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("task", list(TASK_ARGS))
def test_every_task_trains_with_a_gated_cell(capsys, tmp_path, text_file, task, cell):
    extra = ["--text", text_file] if task in ("charlm", "wordlm") else []
    code, out, err = run(capsys, "train", task, "--cell", cell, "--steps", 3, "--eval-every", 3, "--hidden", 6,
                         "--no-progress", "--out", tmp_path / "run", *TASK_ARGS[task], *extra)
    assert code == 0, err
    if task == "wordlm":  # perplexity reported; eval and sample read the run
        assert "validation: perplexity" in out
        code, out, err = run(capsys, "eval", tmp_path / "run", "--json")
        assert code == 0 and json.loads(out)["vocab_size"] == 9
        code, out, err = run(capsys, "sample", tmp_path / "run", "--primer", "the cat", "--length", 7)
        assert code == 0 and out.startswith("the cat") and len(out.split()) >= 2
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    model = summary["config"]["model"]
    assert summary["status"] == "done" and summary["steps"] == 3
    assert model["cell"] == cell


def test_model_flags_reach_the_model(capsys, tmp_path):
    code, _, err = run(capsys, "train", "parity", "--cell", "lstm", "--proj-size", 3, "--forget-bias", 1.0,
                       "--dropout", 0.1, "--variational", "--learn-h0", "--optimizer", "adamw",
                       "--weight-decay", 0.01, "--steps", 2, "--eval-every", 2, "--no-progress",
                       "--out", tmp_path / "run")
    assert code == 0, err
    cfg = json.loads((tmp_path / "run" / "summary.json").read_text())["config"]
    assert {k: cfg["model"][k] for k in ("cell", "proj_size", "forget_bias", "dropout", "variational", "learn_h0")} \
        == {"cell": "lstm", "proj_size": 3, "forget_bias": 1.0, "dropout": 0.1, "variational": True, "learn_h0": True}
    assert cfg["train"]["optimizer"] == "adamw" and cfg["train"]["weight_decay"] == 0.01


def test_a_seq2seq_task_names_the_options_it_does_not_take(capsys, tmp_path):
    code, _, err = run(capsys, "train", "dates", "--embedding", 8, "--steps", 1, "--out", tmp_path / "r")
    assert code == 2
    one_error_line(err, "dates trains a Seq2Seq, which takes no embedding_size")


def test_sample_eval_translate_and_diagnose_take_a_run_directory(capsys, tmp_path, text_file):
    code, _, err = run(capsys, "train", "charlm", "--text", text_file, "--steps", 4, "--eval-every", 2, "--hidden", 6,
                       "--batch-size", 4, "--seq-len", 5, "--no-progress", "--out", tmp_path / "lm")
    assert code == 0, err
    code, out, err = run(capsys, "sample", tmp_path / "lm", "--length", 20, "--seed", 0)
    assert code == 0 and len(out) >= 20, err
    code, out_npz, _ = run(capsys, "sample", tmp_path / "lm" / "checkpoint.npz", "--length", 20, "--seed", 0)
    assert out_npz == out  # the directory means its best checkpoint
    code, out, err = run(capsys, "eval", tmp_path / "lm")
    assert code == 0 and "validation" in out, err
    code, _, err = run(capsys, "diagnose", tmp_path / "lm", "--out", tmp_path / "d")
    assert code == 0, err
    code, out, err = run(capsys, "diagnose", tmp_path / "lm")  # by default inside the run directory
    assert code == 0 and (tmp_path / "lm" / "diagnose" / "summary.txt").exists(), err
    (tmp_path / "empty").mkdir()
    code, _, err = run(capsys, "eval", tmp_path / "empty")
    assert code == 2
    one_error_line(err, "without a checkpoint.npz")
