"""Interrupted and diverging training runs, through the real `python -m bptt train` process.

* SIGKILL at random moments of a run that writes last.npz/checkpoint.npz every 5 steps, and
  inside checkpoint writes: every checkpoint left behind loads, and `--resume` finishes
  the run with parameters, optimizer buffers and metrics bitwise equal to an uninterrupted run.
* SIGINT (Ctrl-C): exit status 130 (cli.py), no traceback, last.npz saved, status
  "interrupted"; resuming gives the uninterrupted run's parameters bit for bit.
* A learning rate that makes the states explode: the run stops at the first non-finite loss
  or gradient, names that step, and the checkpoints on disk hold the last good parameters.

One tiny configuration (addition, H = 8, B = 8, 400 steps: ~1 s of training) for all runs;
children get OPENBLAS/OMP/MKL_NUM_THREADS=1 (deterministic and kind to a shared machine).
"""
from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest

from bptt import checkpoint  # noqa: E402
from bptt.runs import load_state  # noqa: E402
from bptt.train import Diverged, Trainer, TrainConfig, train  # noqa: E402

from reliability_helpers import rounds  # noqa: E402

STEPS = 400
ARGS = ["addition", "--steps", str(STEPS), "--eval-every", "5", "--hidden", "8", "--batch-size", "8",
        "--test-bits", "8", "--no-progress", "--seed", "3"]
ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
TIMING = ("elapsed_s", "tokens_per_s", "wall_time_s")


def bptt(*args, **kw):
    return subprocess.run([sys.executable, "-m", "bptt", *args], env=ENV, capture_output=True,
                          text=True, timeout=120, **kw)


def start(*args):
    return subprocess.Popen([sys.executable, "-m", "bptt", *args], env=ENV, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def wait_for(path, proc, timeout=60.0):
    """Poll until ``path`` exists (True) or the process ends (False)."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            return False
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.005)
    return True


def metric_rows(run):
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line]
    return [{k: v for k, v in r.items() if k not in TIMING} for r in rows]


def assert_same_state(run, ref):
    got, got_meta = checkpoint.load(run / "last.npz")
    want, want_meta = checkpoint.load(ref / "last.npz")
    assert got_meta["step"] == want_meta["step"] == STEPS
    assert set(got) == set(want)
    for k in want:  # param/*, optim/* (Adam's m and v), stream/*, state/*
        assert got[k].dtype == want[k].dtype and np.array_equal(got[k], want[k]), k
    for k in ("optim", "stream", "best", "bad_evals", "rng"):
        assert got_meta[k] == want_meta[k], k
    assert metric_rows(run) == metric_rows(ref)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted run, and how long its training took."""
    out = tmp_path_factory.mktemp("reference") / "run"
    r = bptt("train", *ARGS, "--out", str(out))
    assert r.returncode == 0, r.stderr
    return out, json.loads((out / "summary.json").read_text())["wall_time_s"]


def kill_in_a_write(out, proc, timeout=60.0):
    """SIGKILL as soon as a checkpoint's temporary file exists (a write in progress)."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        if any(".npz." in f and f.endswith(".tmp") for f in os.listdir(out)):
            break
    proc.send_signal(signal.SIGKILL)


def test_sigkill_at_random_moments_then_resume_is_bit_for_bit(reference, tmp_path):
    """Even rounds: SIGKILL after a random delay. Odd rounds: after a random delay, at the next
    moment a checkpoint's temporary file exists, i.e. inside checkpoint.save."""
    ref, train_s = reference
    n, rng = rounds(6), np.random.default_rng(2024)
    outcome = {"resumed": 0, "finished before the kill": 0, "no checkpoint yet": 0, "killed in a write": 0,
               "final checkpoint already written": 0}
    for i in range(n):
        out = tmp_path / f"run{i}"
        proc = start("train", *ARGS, "--out", str(out))
        if wait_for(out / "metrics.jsonl", proc):
            time.sleep(rng.uniform(0.0, 0.9 * train_s))
        if i % 2:
            kill_in_a_write(out, proc)
        else:
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        if proc.returncode == 0:
            outcome["finished before the kill"] += 1
            assert_same_state(out, ref)
            continue
        assert proc.returncode == -signal.SIGKILL
        strays = [f for f in os.listdir(out) if f.endswith(".tmp")]
        assert all(re.fullmatch(r"\.(last|checkpoint)\.npz\.\w+\.tmp|\.\w+\.(json|jsonl)\.\w+\.tmp|\.loss\.png\.\w+\.tmp", f)
                   for f in strays), strays
        outcome["killed in a write"] += bool(strays)
        for name in ("last.npz", "checkpoint.npz"):
            if (out / name).exists():
                load_state(out / name)  # loads, verifies, rebuilds the task and the model
        if not (out / "last.npz").exists():  # killed inside the step-0 write: nothing to resume yet
            outcome["no checkpoint yet"] += 1
            continue
        summary = out / "summary.json"
        finished = summary.exists() and json.loads(summary.read_text())["status"] == "done"
        if checkpoint.load(out / "last.npz")[1]["step"] == STEPS and finished:
            outcome["final checkpoint already written"] += 1
        else:  # from step 0 up to a final checkpoint without its summary: resume finishes the run
            r = bptt("train", "--resume", str(out), "--no-progress")
            assert r.returncode == 0, r.stderr
            outcome["resumed"] += 1
            assert not [f for f in os.listdir(out) if f.endswith(".tmp")], "resume left the killed run's temp files"
        assert_same_state(out, ref)
    print(f"\n{n} SIGKILLs: {outcome}")
    assert outcome["resumed"] >= 1


def test_sigint_saves_and_exits_cleanly_then_resumes_bit_for_bit(reference, tmp_path):
    ref, _ = reference
    out = tmp_path / "run"
    proc = start("train", *ARGS, "--out", str(out))
    assert wait_for(out / "metrics.jsonl", proc)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "interrupted" and 0 < summary["steps"] < STEPS
    _, meta = checkpoint.load(out / "last.npz")
    assert meta["step"] == summary["steps"]
    assert f"--resume {out}" in stderr
    r = bptt("train", "--resume", str(out), "--no-progress")
    assert r.returncode == 0, r.stderr
    assert_same_state(out, ref)


DIVERGE = dict(steps=60, optimizer="sgd", lr=50.0, clip=None, batch_size=8, progress=False, seed=0)
EXPLODING = {"activation": "identity", "hidden_size": 8}  # + SGD at lr 50: explodes in a few steps


def test_nan_guard_stops_at_the_first_non_finite_step():
    """The guard itself (no evaluations, no files): the run stops at step s; an identical
    trainer takes s − 1 finite steps and raises Diverged(s) at the next, parameters untouched."""
    from bptt import recipes

    def trainer():
        recipe = recipes.make("addition", test_bits=[8])
        return Trainer(recipe, recipe.build_model(seed=0, **EXPLODING), TrainConfig(eval_every=1000, **DIVERGE))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy's overflow warnings on the way
        result = trainer().run()
        assert result.status == "diverged"
        step = int(re.search(r"at step (\d+)", result.summary["error"]).group(1))
        assert result.summary["steps"] == step - 1 >= 1
        again = trainer()
        for _ in range(step - 1):
            assert math.isfinite(again.train_step())
        before = {k: p.copy() for k, p in again.model.params.items()}
        with pytest.raises(Diverged) as info:
            again.train_step()
    assert info.value.step == step
    assert all(np.isfinite(p).all() for p in before.values())
    for k, p in again.model.params.items():
        assert np.array_equal(p, before[k]) and np.array_equal(p, result.model.params[k]), k


def diverged_run(tmp_path, eval_every):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        # ≤8-bit numbers: one good step and evaluation before the blow-up (on ≤32 it comes at step 1)
        return train("addition", out=tmp_path / "run", task_options={"bits": 8, "test_bits": [8]},
                     model_options=EXPLODING, eval_every=eval_every, **DIVERGE)


@pytest.mark.parametrize("eval_every", [1, 1000])
def test_diverged_run_keeps_the_last_good_parameters_on_disk(tmp_path, eval_every):
    result = diverged_run(tmp_path, eval_every)
    assert result.status == "diverged"
    step = int(re.search(r"at step (\d+)", result.summary["error"]).group(1))
    _, model, _, meta = load_state(tmp_path / "run" / "last.npz")
    assert meta["step"] == step - 1
    assert all(np.isfinite(p).all() for p in model.params.values())
    if eval_every == 1:
        _, best, _, _ = load_state(tmp_path / "run" / "checkpoint.npz")
        assert all(np.isfinite(p).all() for p in best.params.values())


@pytest.mark.parametrize("eval_every", ["1", "1000"])
def test_exploding_run_from_the_command_line(tmp_path, eval_every):
    r = bptt("train", "addition", "--activation", "identity", "--hidden", "8", "--optimizer", "sgd",
             "--lr", "50", "--clip", "0", "--eval-every", eval_every, "--steps", "60", "--batch-size", "8",
             "--no-progress", "--test-bits", "8", "--out", str(tmp_path / "run"))
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr
    assert re.search(r"^bptt: non-finite .* at step \d+", r.stderr, re.M), r.stderr


# ------------------------------------------------------------------ the Python API on bad input
API = {
    "unknown training option": (dict(foo=1), ValueError, "foo"),
    "unknown task option": (dict(task_options={"bitz": 3}), ValueError, "bitz"),
    "unknown model option": (dict(model_options={"hiden": 3}), TypeError, "hiden"),
    "task_options not a dict": (dict(task_options=[1]), TypeError, "task_options"),
    "model_options not a dict": (dict(model_options="big"), TypeError, "model_options"),
    "batch_size 0": (dict(batch_size=0), ValueError, "batch_size"),
    "steps 10.5": (dict(steps=10.5), TypeError, "steps"),
    "lr '0.1'": (dict(lr="0.1"), TypeError, "lr"),
    "lr nan": (dict(lr=float("nan")), ValueError, "lr"),
    "optimizer lbfgs": (dict(optimizer="lbfgs"), ValueError, "optimizer"),
    "betas (1.5, 0.9)": (dict(betas=(1.5, 0.9)), ValueError, "betas"),
    "patience 0": (dict(patience=0), ValueError, "patience"),
    "seed '1'": (dict(seed="1"), TypeError, "seed"),
    "bits 0": (dict(task_options={"bits": 0}), ValueError, "bits"),
    "test_bits []": (dict(task_options={"test_bits": []}), ValueError, "test_bits"),
    "dtype float16": (dict(model_options={"dtype": "float16"}), TypeError, "dtype"),
}


@pytest.mark.parametrize("name", list(API))
def test_train_api_bad_input(name, tmp_path, monkeypatch):
    from reliability_helpers import raise_clearly

    monkeypatch.chdir(tmp_path)
    kwargs, exc, fragment = API[name]
    kwargs = {"save": False, "progress": False, "steps": 2, **kwargs}
    raise_clearly(lambda: train("addition", **kwargs), exc, fragment)
    assert not list(tmp_path.iterdir())


def test_train_api_unknown_task_and_bad_out(tmp_path):
    from reliability_helpers import raise_clearly

    raise_clearly(lambda: train("nosuch", save=False), ValueError, "nosuch")
    raise_clearly(lambda: train("addition", resume=tmp_path), ValueError, "resume")
    (tmp_path / "file").write_text("x")
    raise_clearly(lambda: train("addition", out=tmp_path / "file", steps=2, progress=False), ValueError, "file")
    raise_clearly(lambda: train(resume=tmp_path / "nowhere"), FileNotFoundError, "nowhere")
