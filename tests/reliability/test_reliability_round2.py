"""Round two of the reliability work (issue 15): hostile paths and sizes named by checkpoints
or by the user, metadata with a valid checksum that still lies, two writers on one run
directory, data files moved mid-run, runs killed before their first or after their last
checkpoint, symlinks in a run directory. Every case ends in one clear error (exit 2 and one
line ``bptt: error: …`` on the command line) or in no error at all where the input is
legitimate. Processes that could run away without the fix run as subprocesses with a memory
limit and a timeout, so a regression fails the test instead of the machine.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import subprocess
import sys

import numpy as np
import pytest

from bptt import checkpoint
from bptt.cli import main
from bptt.train import train

ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
TEXT = "the quick brown fox jumps over the lazy dog\n" * 40


def _limit_memory():  # 1.5 GB of address space: a runaway read fails fast instead of swapping
    resource.setrlimit(resource.RLIMIT_AS, (1536 * 2**20, 1536 * 2**20))


def bptt(*args, timeout=60, cwd=None, limit=True):
    """The real command; returns (status, stdout, stderr). A timeout is a failure, not a hang."""
    try:
        p = subprocess.run([sys.executable, "-m", "bptt", *map(str, args)], env=ENV, capture_output=True, text=True,
                           timeout=timeout, cwd=cwd, preexec_fn=_limit_memory if limit else None)
    except subprocess.TimeoutExpired:
        pytest.fail(f"bptt {' '.join(map(str, args))} still running after {timeout} s")
    return p.returncode, p.stdout, p.stderr


def cli(*args):
    """``bptt.cli.main`` in process: (status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main([str(a) for a in args])
    return status, out.getvalue(), err.getvalue()


def one_error(status, err, *fragments):
    """Exit 2 and exactly one stderr line ``bptt: error: …`` holding every fragment."""
    lines = err.strip().splitlines()
    assert status == 2 and len(lines) == 1 and lines[0].startswith("bptt: error: "), (status, err)
    for f in fragments:
        assert f in lines[0], f"{f!r} not in {lines[0]!r}"
    return lines[0]


def charlm_run(path, text_path, **kw):
    opts = dict(steps=4, eval_every=2, batch_size=2, minutes=None, progress=False, plot=False)
    opts.update(kw)
    return train("charlm", out=path, task_options={"text": str(text_path), "seq_len": 5, "sample_length": 5},
                 model_options={"hidden_size": 4}, **opts)


@pytest.fixture(scope="module")
def lm(tmp_path_factory):
    """A tiny finished charlm run and its text."""
    d = tmp_path_factory.mktemp("round2")
    (d / "text.txt").write_text(TEXT)
    charlm_run(d / "run", d / "text.txt")
    return d


def resave(src, dst, arrays_=None, drop=(), **changes):
    """A copy of checkpoint ``src`` with metadata changed and a VALID checksum."""
    arrays, meta = checkpoint.load(src)
    meta = {k: v for k, v in {**meta, **changes}.items() if k not in ("format_version", "created", "sha256")
            and k not in drop}
    checkpoint.save(dst, arrays if arrays_ is None else arrays_, meta)
    return dst


# ------------------------------------------------------------------ 1. unbounded reads
@pytest.mark.parametrize("command", ["eval", "sample", "resume"])
def test_a_checkpoint_naming_dev_zero_is_refused_without_reading(lm, tmp_path, command):
    arrays, meta = checkpoint.load(lm / "run" / "last.npz")
    run = tmp_path / "run"
    run.mkdir()
    ckpt = resave(lm / "run" / "last.npz", run / "last.npz",
                  task_options={**meta["task_options"], "text": "/dev/zero"})
    args = ["train", "--resume", run, "--steps", "6"] if command == "resume" else [command, ckpt]
    status, _, err = bptt(*args, timeout=60)
    one_error(status, err, "/dev/zero", "regular file")


def test_a_checkpoint_naming_a_fifo_does_not_block(lm, tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    arrays, meta = checkpoint.load(lm / "run" / "last.npz")
    ckpt = resave(lm / "run" / "last.npz", tmp_path / "c.npz", task_options={**meta["task_options"], "text": str(fifo)})
    status, _, err = bptt("eval", ckpt, timeout=30)
    one_error(status, err, str(fifo), "FIFO")


@pytest.mark.parametrize("path", ["/dev/zero", "fifo"])
def test_the_users_own_text_is_read_only_if_it_is_a_regular_file(tmp_path, path):
    if path == "fifo":
        path = tmp_path / "fifo"
        os.mkfifo(path)
    status, _, err = bptt("train", "charlm", "--text", path, "--out", tmp_path / "o", "--steps", "2", timeout=30)
    one_error(status, err, str(path), "regular file")


def test_a_2gb_text_is_refused_before_reading(tmp_path):
    big = tmp_path / "big.txt"
    with open(big, "wb") as f:  # sparse: 2 GB long, no disk used
        f.truncate(2 * 10**9)
    status, _, err = bptt("train", "charlm", "--text", big, "--out", tmp_path / "o", "--steps", "2", timeout=30)
    one_error(status, err, str(big), "2,000,000,000 bytes", "268,435,456")


def test_a_stored_data_file_is_hashed_in_bounded_chunks(lm, tmp_path, monkeypatch):
    """The checksum of a stored --text is streamed, and a file above the limit is refused
    with the limit named (here set low through BPTT_MAX_DATA_BYTES)."""
    monkeypatch.setenv("BPTT_MAX_DATA_BYTES", "100")
    status, _, err = cli("eval", lm / "run" / "last.npz")
    one_error(status, err, "text.txt", "more than the 100 bytes", "BPTT_MAX_DATA_BYTES")
    monkeypatch.delenv("BPTT_MAX_DATA_BYTES")
    assert cli("eval", lm / "run" / "last.npz")[0] == 0


# ------------------------------------------------------------------ 2. sizes
SIZES = {
    "--batch-size": (["train", "--batch-size", 10**9], "--batch-size"),
    "--bits": (["train", "--bits", 10**9], "--bits"),
    "--test-bits": (["train", "--test-bits", 8, 10**9], "--test-bits"),
    "parity --length": (["train", "parity", "--length", 10**9], "--length"),
    "parity --test-length": (["train", "parity", "--test-length", 10**10], "--test-length"),
    "gradcheck --hidden": (["gradcheck", "--hidden", 10**5], "--hidden"),
    "diagnose --hidden": (["diagnose", "--hidden", 10**5], "--hidden"),
}


@pytest.mark.parametrize("case", SIZES)
def test_sizes_that_cannot_fit_are_refused_naming_the_argument(tmp_path, case):
    args, flag = SIZES[case]
    out = {"train": ["--out", tmp_path / "o", "--steps", 2, "--no-progress"], "diagnose": ["--out", tmp_path / "o"]}
    out = out.get(args[0], [])
    status, _, err = bptt(*args, *out, timeout=60)
    one_error(status, err, flag, "needs about")
    assert not (tmp_path / "o" / "metrics.jsonl").exists()


def test_a_checkpoint_cannot_ask_for_an_hour_of_sampling(lm, tmp_path):
    arrays, meta = checkpoint.load(lm / "run" / "last.npz")
    ckpt = resave(lm / "run" / "last.npz", tmp_path / "c.npz",
                  task_options={**meta["task_options"], "sample_length": 10**7})
    status, _, err = bptt("eval", ckpt, timeout=60)
    one_error(status, err, "sample_length", "10000")


def test_a_checkpoint_cannot_ask_for_a_test_that_cannot_fit(tmp_path):
    train("addition", out=tmp_path / "a", task_options={"test_bits": [8]}, steps=2, eval_every=2, batch_size=2,
          progress=False, plot=False, model_options={"hidden_size": 4})
    arrays, meta = checkpoint.load(tmp_path / "a" / "last.npz")
    ckpt = resave(tmp_path / "a" / "last.npz", tmp_path / "c.npz",
                  task_options={**meta["task_options"], "test_bits": [10**9]})
    one_error(*cli("eval", ckpt)[::2], "--test-bits", "needs about")


# ------------------------------------------------------------------ 3. metadata that lies
@pytest.fixture(scope="module")
def dg(tmp_path_factory):
    """A tiny digits run (an epoch stream: its checkpoints hold stream/perm), stopped at step 4 of 8."""
    d = tmp_path_factory.mktemp("digits")
    train("digits", out=d / "run", task_options={"bits": 3}, steps=4, eval_every=2, batch_size=3,
          progress=False, plot=False, model_options={"hidden_size": 4})
    return d


def _deep(n):
    x = {"int": "1"}
    for _ in range(n):
        x = {"a": x}
    return x


META_CASES = {
    "no window": dict(drop=("window",)),
    "window without n": dict(window={"loss": 0.0, "norm": 0.0, "tokens": 0, "ema": None}),
    "empty stream": dict(stream={}),
    "stream pos a string": dict(stream={"pos": "x", "epoch": 1}),
    "900-deep rng": dict(rng={"bit_generator": "PCG64", "state": _deep(900)}),
    "elapsed NaN": dict(elapsed=float("nan")),
    "elapsed negative": dict(elapsed=-1.0),
    "best.step a string": dict(best={"metric": "val_loss", "mode": "min", "value": 1.0, "step": "x"}),
    "best.step beyond step": dict(best={"metric": "val_loss", "mode": "min", "value": 1.0, "step": 10**6}),
    "best.mode": dict(best={"metric": "val_loss", "mode": "sideways", "value": 1.0, "step": 2}),
    "best.value inf": dict(best={"metric": "val_loss", "mode": "min", "value": float("inf"), "step": 2}),
}


@pytest.mark.parametrize("case", META_CASES)
def test_metadata_with_a_valid_checksum_is_checked_field_by_field(dg, tmp_path, case):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(dg / "run", run)
    resave(dg / "run" / "last.npz", run / "last.npz", **META_CASES[case])
    field = case.split()[0] if case.split()[0] in ("window", "stream", "rng", "elapsed") else case.split()[0]
    field = {"no": "window", "empty": "stream", "900-deep": "nested", "window": "window"}.get(field, field)
    status, _, err = cli("train", "--resume", run, "--steps", 8, "--no-progress")
    one_error(status, err, str(run / "last.npz"), field)


@pytest.mark.parametrize("perm", ["out of range", "float", "short", "repeated"])
def test_a_stream_permutation_must_be_one(dg, tmp_path, perm):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(dg / "run", run)
    arrays, _ = checkpoint.load(dg / "run" / "last.npz")
    p = arrays["stream/perm"]
    bad = {"out of range": p + 100, "float": p.astype(float), "short": p[:-1], "repeated": np.zeros_like(p)}[perm]
    resave(dg / "run" / "last.npz", run / "last.npz", arrays_={**arrays, "stream/perm": bad})
    one_error(*cli("train", "--resume", run, "--steps", 8, "--no-progress")[::2], "stream/perm", "permutation")


def _with_metrics(dg, tmp_path, text):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(dg / "run", run)
    (run / "metrics.jsonl").write_text(text(run / "metrics.jsonl"))
    return run


def test_a_torn_last_metrics_line_is_dropped_silently(dg, tmp_path):
    """A kill mid-append leaves part of a row without its newline: legitimate, dropped, and the
    resumed run's rows are the uninterrupted run's."""
    run = _with_metrics(dg, tmp_path, lambda p: p.read_text() + '{"step": 6, "elapsed_s": 0.')
    status, _, err = cli("train", "--resume", run, "--steps", 8, "--no-progress")
    assert status == 0, err
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [2, 4, 6, 8]


@pytest.mark.parametrize("case", ["malformed middle line", "row without step", "step a string", "not an object"])
def test_a_bad_metrics_row_names_file_and_line(dg, tmp_path, case):
    def edit(p):
        lines = p.read_text().splitlines(keepends=True)
        bad = {"malformed middle line": '{"step": 1, "val_loss": \n', "row without step": '{"val_loss": 1.0}\n',
               "step a string": '{"step": "1"}\n', "not an object": "[1, 2]\n"}[case]
        return bad + "".join(lines)

    run = _with_metrics(dg, tmp_path, edit)
    one_error(*cli("train", "--resume", run, "--steps", 8, "--no-progress")[::2], "metrics.jsonl, line 1")


# ------------------------------------------------------------------ 4. two writers, one directory
LONG = ["train", "addition", "--steps", "100000", "--eval-every", "20", "--hidden", "8", "--batch-size", "8",
        "--test-bits", "8", "--no-progress"]


def _start(*args):
    return subprocess.Popen([sys.executable, "-m", "bptt", *map(str, args)], env=ENV, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def _wait_for(path, proc, timeout=60.0):
    import time

    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.01)


def test_a_second_writer_is_refused_and_the_first_run_is_untouched(tmp_path):
    """Two real processes on one --out: the second (a new run, or --resume) exits 2 naming the
    directory and the first one's PID, and removes nothing; after the first is SIGKILLed its
    lock is gone with it and --resume continues the run."""
    import signal

    run = tmp_path / "run"
    first = _start(*LONG, "--out", run)
    try:
        _wait_for(run / "metrics.jsonl", first)  # (last.npz is there from step 0)
        status, _, err = bptt(*LONG, "--out", run)
        one_error(status, err, str(run), f"PID {first.pid}", "in use")
        held = run / ".last.npz.held.tmp"  # stands for the live run's in-flight write
        held.write_bytes(b"")
        status, _, err = bptt("train", "--resume", run, "--steps", "200000", "--no-progress")
        one_error(status, err, str(run), f"PID {first.pid}")
        assert held.exists() and first.poll() is None, "the live run was disturbed"
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.endswith("}")]
    assert [r["step"] for r in rows] == sorted({r["step"] for r in rows}), "interleaved metrics"
    status, _, err = bptt("train", "--resume", run, "--steps", rows[-1]["step"] + 40 if rows else 60,
                          "--no-progress", timeout=120)
    assert status == 0, err
    assert not held.exists()


def test_two_runs_started_together_on_one_directory_one_is_refused(tmp_path):
    import signal
    import time

    run = tmp_path / "run"
    procs = [_start(*LONG, "--out", run) for _ in range(2)]
    try:
        deadline = time.monotonic() + 60
        while all(p.poll() is None for p in procs):
            assert time.monotonic() < deadline, "neither was refused"
            time.sleep(0.02)
        loser = next(p for p in procs if p.poll() is not None)
        winner = next(p for p in procs if p is not loser)
        one_error(loser.returncode, loser.stderr.read(), str(run), f"PID {winner.pid}")
        assert winner.poll() is None
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
            p.wait()


# ------------------------------------------------------------------ 5. the data file moved mid-run
def test_the_data_file_is_hashed_once_so_moving_it_mid_run_is_harmless(tmp_path, monkeypatch):
    from bptt import runs
    from bptt.train import resume_trainer

    (tmp_path / "text.txt").write_text(TEXT)
    charlm_run(tmp_path / "run", tmp_path / "text.txt", steps=4)
    run_dir, trainer = resume_trainer(tmp_path / "run", steps=8, progress=False)
    trainer.plot = False
    trainer.recipe.splits()  # the data is in memory; the file goes away
    (tmp_path / "text.txt").rename(tmp_path / "moved.txt")
    calls = []
    monkeypatch.setattr(runs, "_sha256", lambda p: calls.append(p))
    result = trainer.run()
    assert result.status == "done" and result.summary["steps"] == 8 and not calls
    # resuming it needs the data again: the same content under its new name is accepted
    one_error(*cli("train", "--resume", tmp_path / "run", "--steps", 10, "--no-progress")[::2], "text.txt")
    monkeypatch.undo()
    status, _, err = cli("train", "--resume", tmp_path / "run", "--steps", 10, "--no-progress",
                         "--text", tmp_path / "moved.txt")
    assert status == 0, err
    (tmp_path / "other.txt").write_text(TEXT.upper())
    one_error(*cli("train", "--resume", tmp_path / "run", "--steps", 12, "--no-progress",
                   "--text", tmp_path / "other.txt")[::2], "other.txt", "sha256")


# ------------------------------------------------------------------ 6. a text without a newline
def test_charlm_on_a_text_without_a_newline_trains_reports_evaluates_and_samples(tmp_path):
    (tmp_path / "flat.txt").write_text(TEXT.replace("\n", " "))
    result = charlm_run(tmp_path / "run", tmp_path / "flat.txt")
    assert result.status == "done" and len(result.summary["final"]["sample"]) == 5
    for command in ("eval", "sample"):
        status, out, err = cli(command, tmp_path / "run" / "checkpoint.npz")
        assert status == 0 and not err, err


# ------------------------------------------------------------------ 12. the smaller ones
def test_a_mask_beyond_the_float32_range_is_refused_like_x():
    import bptt

    net = bptt.RNN(2, 3, 2)  # float32
    x, y = np.zeros((4, 2, 2)), np.zeros((4, 2), dtype=int)
    with pytest.raises(ValueError, match=r"mask has values beyond the float32 range"):
        net.loss_and_grad(x, y, mask=np.full((4, 2), 1e39))


def test_an_empty_out_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    one_error(*cli("train", "parity", "--out", "", "--steps", 2, "--no-progress")[::2], "--out must name a folder")
    assert os.listdir(tmp_path) == []


def test_a_diverged_run_prints_one_message_naming_only_the_files_it_left(tmp_path):
    csv = tmp_path / "s.csv"
    csv.write_text("t,v\n" + "".join(f"{i},{100 + i * 3 + (i % 12) * 5}\n" for i in range(120)))
    status, out, err = bptt("train", "timeseries", "--data", csv, "--lr", "1e3", "--clip", "0", "--optimizer", "sgd",
                            "--steps", 300, "--eval-every", 100, "--out", tmp_path / "run", "--no-progress")
    assert status == 1 and "Warning" not in err and "Traceback" not in err, err
    line = err.strip().splitlines()[0]
    assert line.startswith("bptt: non-finite") and "Saved: last.npz (the state after step" in line
    assert not (tmp_path / "run" / "checkpoint.npz").exists() and "checkpoint.npz" not in line


def test_sampling_at_a_tiny_temperature_is_greedy_not_nan(lm):
    status, out, err = cli("sample", lm / "run", "--temperature", "1e-320", "--length", 20, "--seed", 1)
    assert status == 0 and not err, err
    status2, out2, _ = cli("sample", lm / "run", "--temperature", "1e-300", "--length", 20, "--seed", 2)
    assert out == out2  # greedy: the seed plays no part


@pytest.mark.parametrize("argv, fragments", [
    (["train", "parity", "--optimizer", "adam", "--momentum", "0.5"], ["momentum", "'adam'"]),
    (["train", "parity", "--warmup", "5"], ["warmup", "cosine", "'constant'"]),
    (["gradcheck", "--tol", "nan"], ["--tol"]),
    (["train", "parity", "--threads", "100000"], ["threads", "100000"]),
    (["train", "addition", "--weight-decay", "0.1", "--optimizer", "rmsprop"], ["weight_decay", "rmsprop"]),
])
def test_values_that_nothing_would_read_are_refused(tmp_path, argv, fragments):
    one_error(*cli(*argv, "--out", tmp_path / "r")[::2] if argv[0] == "train" else cli(*argv)[::2], *fragments)


@pytest.mark.parametrize("options, fragments", [
    ({"test_bits": "x"}, ["task addition: option test_bits", "str 'x'"]),
    ({"bits": 2.5}, ["task addition: option bits must be an integer", "2.5"]),
])
def test_a_task_option_of_the_wrong_type_names_task_and_option(options, fragments):
    with pytest.raises(ValueError, match="betas is an option of optimizer adam or adamw; the optimizer is 'sgd'"):
        train("parity", save=False, progress=False, optimizer="sgd", betas=(0.8, 0.9))
    with pytest.raises(TypeError) as info:
        train("addition", save=False, progress=False, task_options=options)
    for f in fragments:
        assert f in str(info.value)


# ------------------------------------------------------------------ 8. symlinks in a run directory
@pytest.mark.parametrize("name", ["loss.png", "metrics.jsonl", "summary.json", "checkpoint.npz"])
def test_resume_refuses_a_run_file_that_is_a_link_and_leaves_its_target_alone(tmp_path, name):
    (tmp_path / "text.txt").write_text(TEXT)
    charlm_run(tmp_path / "run", tmp_path / "text.txt")
    outside = tmp_path / "outside"
    outside.write_bytes(b"someone else's file")
    (tmp_path / "run" / name).unlink(missing_ok=True)
    (tmp_path / "run" / name).symlink_to(outside)
    one_error(*cli("train", "--resume", tmp_path / "run", "--steps", 8, "--no-progress")[::2],
              f"{name} is a symbolic link")
    assert outside.read_bytes() == b"someone else's file"


def test_metrics_are_never_appended_through_a_link(tmp_path):
    from bptt.runs import RunDir

    run = RunDir.create(tmp_path / "run")
    outside = tmp_path / "outside.jsonl"
    outside.write_text("")
    (tmp_path / "run" / "metrics.jsonl").symlink_to(outside)
    with pytest.raises(ValueError, match="cannot append to .*metrics.jsonl"):
        run.append_metrics({"step": 1})
    assert outside.read_text() == ""
    run.unlock()


def test_diagnose_does_not_write_through_a_diagnose_link(lm, tmp_path):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(lm / "run", run)
    (tmp_path / "elsewhere").mkdir()
    (run / "diagnose").symlink_to(tmp_path / "elsewhere")
    one_error(*cli("diagnose", run)[::2], "diagnose is a symbolic link")
    assert os.listdir(tmp_path / "elsewhere") == []


# ------------------------------------------------------------------ 9. another run's checkpoint
def test_resuming_another_runs_checkpoint_into_a_directory_is_refused(tmp_path):
    import shutil

    (tmp_path / "text.txt").write_text(TEXT)
    charlm_run(tmp_path / "lm", tmp_path / "text.txt")
    train("parity", out=tmp_path / "par", steps=4, eval_every=2, progress=False, plot=False,
          model_options={"hidden_size": 3}, task_options={"test_length": 10, "test_size": 5})
    shutil.copy(tmp_path / "par" / "last.npz", tmp_path / "lm" / "foreign.npz")
    before = {n: (tmp_path / "lm" / n).read_bytes() for n in ("checkpoint.npz", "metrics.jsonl", "last.npz")}
    one_error(*cli("train", "--resume", tmp_path / "lm" / "foreign.npz", "--steps", 8, "--no-progress")[::2],
              "is of another run", "last.npz says task 'charlm'")
    assert {n: (tmp_path / "lm" / n).read_bytes() for n in before} == before
    # without last.npz, the directory's summary.json tells
    (tmp_path / "lm" / "last.npz").unlink()
    one_error(*cli("train", "--resume", tmp_path / "lm" / "foreign.npz", "--steps", 8, "--no-progress")[::2],
              "summary.json says task 'charlm'")
    # its own best checkpoint resumes (the same run)
    shutil.copy(tmp_path / "lm" / "checkpoint.npz", tmp_path / "lm" / "best-copy.npz")
    status, _, err = cli("train", "--resume", tmp_path / "lm" / "best-copy.npz", "--steps", 8, "--no-progress")
    assert status == 0, err


# ------------------------------------------------------------------ 10. killed before the first or after the last checkpoint
def _same_params(a, b):
    pa, pb = checkpoint.load(a)[0], checkpoint.load(b)[0]
    return all(np.array_equal(pa[k], pb[k]) for k in pa if k.startswith("param/"))


def test_a_run_killed_after_its_last_checkpoint_is_finished_by_resume(tmp_path):
    """The window between the final last.npz and summary.json: --resume writes the report and
    summary.json of the uninterrupted run (the same final and best parameters)."""
    (tmp_path / "text.txt").write_text(TEXT)
    whole = charlm_run(tmp_path / "whole", tmp_path / "text.txt", steps=6, eval_every=2)
    charlm_run(tmp_path / "killed", tmp_path / "text.txt", steps=6, eval_every=2)
    (tmp_path / "killed" / "summary.json").unlink()  # the kill came after the final checkpoint
    status, out, err = cli("train", "--resume", tmp_path / "killed", "--no-progress")
    assert status == 0, err
    s = json.loads((tmp_path / "killed" / "summary.json").read_text())
    assert s["status"] == "done" and s["steps"] == 6 and s["final"] == whole.summary["final"]
    assert _same_params(tmp_path / "killed" / "checkpoint.npz", tmp_path / "whole" / "checkpoint.npz")
    one_error(*cli("train", "--resume", tmp_path / "killed", "--no-progress")[::2], "finished at step 6",
              "larger --steps")


def test_a_run_killed_before_its_first_evaluation_resumes_from_step_0(tmp_path):
    """A real run SIGKILLed before its first evaluation (31 of 91 random kills in the red-team
    pass landed there and blocked the directory): the last.npz every run writes at step 0
    lets --resume finish it, with the parameters of the uninterrupted run."""
    import signal

    args = ["train", "addition", "--hidden", "8", "--batch-size", "8", "--test-bits", "8", "--no-progress"]
    first = _start(*args, "--steps", 10**6, "--eval-every", 10**6, "--out", tmp_path / "killed")
    try:
        _wait_for(tmp_path / "killed" / "last.npz", first, timeout=30)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert not (tmp_path / "killed" / "metrics.jsonl").exists()  # no evaluation yet
    status, _, err = bptt("train", "--resume", tmp_path / "killed", "--steps", 30, "--eval-every", 10,
                          "--no-progress")
    assert status == 0, err
    status, _, err = bptt(*args, "--steps", 30, "--eval-every", 10, "--out", tmp_path / "whole")
    assert status == 0, err
    assert _same_params(tmp_path / "killed" / "last.npz", tmp_path / "whole" / "last.npz")
    assert _same_params(tmp_path / "killed" / "checkpoint.npz", tmp_path / "whole" / "checkpoint.npz")


# ------------------------------------------------------------------ 11. extending a finished cosine run
def test_extending_a_finished_cosine_run_warns_with_the_learning_rates(tmp_path):
    train("parity", out=tmp_path / "run", steps=20, eval_every=10, schedule="cosine", lr=0.05, progress=False,
          plot=False, model_options={"hidden_size": 3}, task_options={"test_length": 10, "test_size": 5})
    status, _, err = cli("train", "--resume", tmp_path / "run", "--steps", 40, "--no-progress")
    assert status == 0
    warning = [line for line in err.splitlines() if line.startswith("bptt: warning:")]
    assert warning == ["bptt: warning: steps=40: the run's cosine schedule was laid out over 20 steps and is "
                       "stretched over 40 from step 20 (learning rate 0 -> 0.025); the result differs from a run "
                       "of 40 steps from the start"], err
    # a constant schedule extends exactly: no warning
    train("parity", out=tmp_path / "flat", steps=20, eval_every=10, progress=False, plot=False,
          model_options={"hidden_size": 3}, task_options={"test_length": 10, "test_size": 5})
    status, _, err = cli("train", "--resume", tmp_path / "flat", "--steps", 40, "--no-progress")
    assert status == 0 and "warning" not in err


# the probe of item 12: every bad API call names what it was given
SHAKESPEARE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data", "tinyshakespeare.txt")
AIRLINE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data", "timeseries",
                       "airline-passengers.csv")


def _probe_cases():
    import bptt
    from bptt import recipes

    net = lambda: bptt.RNN(2, 3, 2)  # noqa: E731
    x, y = np.zeros((2, 1, 2)), np.zeros((2, 1), dtype=int)
    return {
        "RNN hidden str": (lambda: bptt.RNN(2, "3", 2), "hidden_size"),
        "RNN cell": (lambda: bptt.RNN(2, 3, 2, cell="foo"), "cell"),
        "RNN dropout str": (lambda: bptt.RNN(2, 3, 2, dropout="0.1"), "dropout"),
        "RNN num_layers float": (lambda: bptt.RNN(2, 3, 2, num_layers=2.0), "num_layers"),
        "loss_and_grad x str": (lambda: net().loss_and_grad([["a"]], [[0]]), "x"),
        "loss_and_grad y str": (lambda: net().loss_and_grad(x, "ab"), "y"),
        "loss_and_grad lengths str": (lambda: net().loss_and_grad(x, y, lengths="2"), "lengths"),
        "fit validation str": (lambda: bptt.fit(net(), np.zeros((2, 4, 2)), np.zeros((2, 4), int), validation="0.2",
                                                progress=False), "validation"),
        "fit x dict": (lambda: bptt.fit(net(), {"a": 1}, np.zeros((2, 4), int), progress=False), "x"),
        "fit y None": (lambda: bptt.fit(net(), np.zeros((2, 4, 2)), None, progress=False), "y"),
        "train hidden str": (lambda: train("addition", save=False, model_options={"hidden_size": "x"}), "hidden_size"),
        "train bits str": (lambda: train("addition", save=False, task_options={"bits": "x"}), "bits"),
        "train test_bits str": (lambda: train("addition", save=False, task_options={"test_bits": "x"}), "test_bits"),
        "train betas str": (lambda: train("addition", save=False, betas="ab"), "betas"),
        "train betas 3": (lambda: train("addition", save=False, betas=(0.9, 0.9, 0.9)), "betas"),
        "train eval_every str": (lambda: train("addition", save=False, eval_every="x"), "eval_every"),
        "charlm seq_len str": (lambda: recipes.make("charlm", text=SHAKESPEARE, seq_len="5"), "seq_len"),
        "sentiment data int": (lambda: recipes.make("sentiment", data=5), "data"),
        "timeseries window str": (lambda: recipes.make("timeseries", data=AIRLINE, window="x"), "window"),
        "timeseries column 99": (lambda: recipes.make("timeseries", data=AIRLINE, column=99).stream(
            4, np.random.default_rng(0)), "airline-passengers.csv, line 2"),
        "dates test_frac str": (lambda: recipes.make("dates", test_frac="x"), "test_frac"),
        "gradcheck eps str": (lambda: bptt.gradcheck(bptt.RNN(2, 3, 2, dtype=np.float64), x, y, eps="x"), "eps"),
        "Seq2Seq vocab str": (lambda: bptt.Seq2Seq("5", 5, 3), "src_vocab_size"),
        "weights.save path int": (lambda: bptt.weights.save(5, net()), "path"),
        "checkpoint.save meta list": (lambda: bptt.checkpoint.save("unused.npz", {}, []), "meta"),
        "set_params missing": (lambda: net().set_params({"U": "x"}), "params"),
        "SGD lr str": (lambda: bptt.optim.SGD(net().params, "x"), "lr"),
        "forward h0 str": (lambda: net().forward(x, h0="x"), "h0"),
    }


@pytest.mark.parametrize("case", list(_probe_cases()))
def test_every_probed_bad_call_names_its_argument(case, tmp_path, monkeypatch):
    if "shared" in case or "charlm" in case or "timeseries" in case:
        if not (os.path.exists(SHAKESPEARE) and os.path.exists(AIRLINE)):
            pytest.skip("the shared data folder is not beside the repository")
    monkeypatch.chdir(tmp_path)
    call, name = _probe_cases()[case]
    with pytest.raises((TypeError, ValueError)) as info:
        call()
    assert name in str(info.value), str(info.value)
