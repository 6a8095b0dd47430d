"""The trainer (bptt.train), its run directory (bptt.runs) and every task recipe, on tiny settings."""
from __future__ import annotations

import json
import os
import signal

import numpy as np
import pytest

import bptt
from bptt import checkpoint
from bptt.tasks import digits
from bptt.model import RNN
from bptt.runs import load_state
from bptt import recipes
from bptt.runs import RunDir
from bptt.train import Diverged, TrainConfig, Trainer, resume_trainer, train

QUIET = {"progress": False}  # and plot=False where a run directory is written (matplotlib is slow)


@pytest.fixture
def csv_file(tmp_path):
    t = np.arange(200)
    values = 10 + 5 * np.sin(2 * np.pi * t / 12) + np.random.default_rng(2).normal(0, 0.3, t.size)
    path = tmp_path / "series.csv"
    path.write_text('"t","v"\n' + "\n".join(f'"{i}",{v:.4f}' for i, v in zip(t, values)), encoding="utf-8")
    return str(path)


def _assert_same(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert np.array_equal(a[k], b[k]), k


# ---------------------------------------------------------------- the default task learns the rule
def test_addition_generalises_to_1000_bits():
    r = train("addition", save=False, task_options={"test_bits": [16, 1000], "test_size": 100}, **QUIET)
    assert r.status == "done"
    assert r.summary["final"]["acc_16bit"] == 1.0
    assert r.summary["final"]["acc_1000bit"] == 1.0
    assert any("1000 bits: 100.0%" in line for line in r.recipe.describe(r.summary["final"]))


# ---------------------------------------------------------------- exact resume
RESUME_CASES = {
    "addition": ({"test_bits": [16], "test_size": 20}, {"steps": 40, "eval_every": 15, "schedule": "cosine"}, {"hidden_size": 8}),
    "charlm": ({"seq_len": 7}, {"steps": 40, "eval_every": 15, "batch_size": 4, "minutes": None}, {"hidden_size": 12}),
    "sentiment": ({}, {"steps": 40, "eval_every": 15, "batch_size": 8, "patience": None, "optimizer": "momentum",
                       "lr": 0.05}, {"hidden_size": 8}),
    # an LSTM carries (h, c) between chunks; dropout draws masks from the saved Generator
    "charlm-lstm": ({"seq_len": 7}, {"steps": 40, "eval_every": 15, "batch_size": 4, "minutes": None,
                                     "optimizer": "adamw", "weight_decay": 0.01},
                    {"hidden_size": 12, "cell": "lstm", "dropout": 0.2, "embedding_size": 6}),
    "sentiment-gru": ({}, {"steps": 40, "eval_every": 15, "batch_size": 8, "patience": None},
                      {"hidden_size": 8, "cell": "gru", "dropout": 0.3, "variational": True, "learn_h0": True}),
    "wordlm": ({"seq_len": 5, "vocab_size": 6}, {"steps": 40, "eval_every": 15, "batch_size": 4, "minutes": None},
               {"hidden_size": 8, "embedding_size": 4}),
}


@pytest.mark.parametrize("task", list(RESUME_CASES))
def test_resume_reproduces_the_uninterrupted_run_bit_for_bit(task, tmp_path, text_file, sentiment_file):
    opts, cfg, model_opts = RESUME_CASES[task]
    task = task.split("-")[0]
    opts = {**opts, **({"text": text_file} if task in ("charlm", "wordlm") else {}),
            **({"data": [sentiment_file]} if task == "sentiment" else {})}

    def fresh(out):
        recipe = recipes.make(task, **opts)
        config = TrainConfig.from_dict({**recipe.train_defaults, **cfg, **QUIET})
        model = recipe.build_model(**{**recipe.model_defaults, **model_opts, "seed": 3})
        return Trainer(recipe, model, config, RunDir.create(out), plot=False)

    straight = fresh(tmp_path / "straight")
    r1 = straight.run()
    assert r1.status == "done" and straight.step == 40

    paused = fresh(tmp_path / "split")
    r2 = paused.run(until=23)  # not an evaluation step: the checkpoint is taken mid-window
    assert r2.status == "interrupted" and paused.step == 23
    assert r2.summary["status"] == "interrupted"
    del paused
    _, resumed = resume_trainer(tmp_path / "split")
    assert resumed.step == 23
    r3 = resumed.run()
    assert r3.status == "done" and resumed.step == 40

    for k, a in straight.opt.state_dict().items():
        b = resumed.opt.state_dict()[k]
        assert np.array_equal(a, b), k
    # the final parameters (last.npz) and the best ones (checkpoint.npz) are identical
    for name in ("last.npz", "checkpoint.npz"):
        a, _ = checkpoint.load(tmp_path / "straight" / name)
        b, _ = checkpoint.load(tmp_path / "split" / name)
        _assert_same({k: v for k, v in a.items() if k.startswith("param/")},
                     {k: v for k, v in b.items() if k.startswith("param/")})
    if task in ("charlm", "wordlm"):  # the carried state too (an LSTM's pair (h, c))
        for a, b in zip(*(s.h if isinstance(s.h, tuple) else (s.h,) for s in (straight, resumed))):
            assert np.array_equal(a, b)
    rows = lambda d: [(r["step"], r.get("val_loss"), r.get("train_loss")) for r in RunDir(d).read_metrics()]  # noqa: E731
    assert rows(tmp_path / "straight") == rows(tmp_path / "split")
    assert r1.summary["final"] == r3.summary["final"]


def test_train_api_resume_extends_a_finished_run(tmp_path):
    r = train("parity", out=tmp_path / "run", steps=30, eval_every=10, model_options={"hidden_size": 4}, plot=False,
              task_options={"test_length": 20, "test_size": 10}, **QUIET)
    assert r.status == "done"
    with pytest.raises(ValueError, match="larger --steps"):
        train(resume=tmp_path / "run", steps=30)
    r = train(resume=tmp_path / "run", steps=50, plot=False)
    assert r.summary["steps"] == 50
    assert [row["step"] for row in RunDir(tmp_path / "run").read_metrics()] == [10, 20, 30, 40, 50]
    with pytest.raises(ValueError, match="only steps"):
        train(resume=tmp_path / "run", lr=0.1)


# ---------------------------------------------------------------- run directory
def test_run_directory_holds_every_file(tmp_path):
    out = tmp_path / "run"
    r = train("addition", out=out, steps=60, eval_every=20, model_options={"hidden_size": 6},
              task_options={"test_bits": [16], "test_size": 20}, **QUIET)
    assert sorted(os.listdir(out)) == [".lock", "checkpoint.npz", "last.npz", "loss.png", "metrics.jsonl", "summary.json"]
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [row["step"] for row in rows] == [20, 40, 60]
    assert {"train_loss", "grad_norm", "val_loss", "val_acc", "lr", "tokens_per_s"} <= set(rows[0])
    summary = json.loads((out / "summary.json").read_text())
    assert summary["config"]["train"]["steps"] == 60 and summary["task"] == "addition"
    net = RNN(**summary["config"]["model"])  # the exact config rebuilds the model
    with np.load(out / "last.npz", allow_pickle=False) as f:
        assert "__meta__" in f.files and "param/W" in f.files
    net.set_params(checkpoint.take_prefix("param/", checkpoint.load(out / "checkpoint.npz")[0]))
    _assert_same(net.params, r.model.params)  # the returned model holds the best parameters
    with pytest.raises(ValueError, match="already holds a run"):
        train("addition", out=out, steps=10, **QUIET)


def test_a_run_killed_before_its_first_checkpoint_keeps_its_log_and_says_what_to_do(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "metrics.jsonl").write_text('{"step": 20}\n')  # as left by a run killed before last.npz
    with pytest.raises(ValueError, match="stopped before its first checkpoint.*another --out"):
        train("addition", out=out, steps=10, **QUIET)
    with pytest.raises(FileNotFoundError, match="nothing to resume.*start it again with a new --out"):
        train(resume=out, **QUIET)
    assert (out / "metrics.jsonl").read_text() == '{"step": 20}\n'


def test_checkpoint_rebuilds_task_and_model_without_the_data(tmp_path, text_file):
    r = train("charlm", out=tmp_path / "run", steps=20, plot=False, eval_every=10, batch_size=4, minutes=None,
              task_options={"text": text_file, "seq_len": 8, "sample_length": 5}, model_options={"hidden_size": 8}, **QUIET)
    os.rename(text_file, text_file + ".moved")  # sampling needs only the checkpoint (vocabulary inside)
    recipe, model, _, meta = load_state(tmp_path / "run" / "checkpoint.npz")
    assert meta["task"] == "charlm" and meta["step"] == r.summary["best"]["step"]
    text = recipe.sample(model, primer="the ", length=30, temperature=0.5, seed=0)
    assert len(text) == 30 and set(text) <= set(recipe.vocab.tokens)
    assert text == recipe.sample(model, primer="the ", length=30, temperature=0.5, seed=0)


def test_a_checkpoint_cannot_make_eval_read_another_file(tmp_path, text_file):
    """The checksum proves integrity, not authorship: anyone can write a valid checkpoint whose
    --text names another file. The data files' sha256, saved with the run, must match before a
    stored path is read again; the same path given on the command line is the user's own."""
    train("charlm", out=tmp_path / "run", steps=10, plot=False, eval_every=10, batch_size=4, minutes=None,
          task_options={"text": text_file, "seq_len": 8, "sample_length": 5}, model_options={"hidden_size": 8}, **QUIET)
    secret = tmp_path / "secret.txt"
    secret.write_text("Somebody else's file.\n")
    arrays, meta = checkpoint.load(tmp_path / "run" / "checkpoint.npz")
    meta = {k: v for k, v in meta.items() if k not in ("format_version", "created", "sha256")}
    meta["task_options"] = {**meta["task_options"], "text": str(secret)}
    forged = tmp_path / "forged.npz"
    checkpoint.save(forged, arrays, meta)
    with pytest.raises(ValueError, match="not the ones it was trained on"):
        load_state(forged)
    recipe, *_ = load_state(forged, options={"text": text_file})  # named anew by the user: read
    assert recipe.options["text"] == text_file


# ---------------------------------------------------------------- NaN guard, Ctrl-C, early stopping
def test_non_finite_loss_stops_with_the_step_and_keeps_good_parameters(tmp_path):
    recipe = recipes.make("addition")
    model = recipe.build_model(hidden_size=4, seed=0)
    config = TrainConfig(steps=50, eval_every=5, progress=False)
    trainer = Trainer(recipe, model, config, RunDir.create(tmp_path / "run"), plot=False)
    real = recipe.loss_and_grad

    def poisoned(model, batch, h0, dropout_rng=None):
        loss, grads, h = real(model, batch, h0, dropout_rng)
        if trainer.step + 1 == 13:
            grads["W"][0, 0] = np.nan
        return loss, grads, h

    recipe.loss_and_grad = poisoned
    result = trainer.run()
    assert result.status == "diverged"
    assert "step 13" in result.summary["error"] and "clipping" in result.summary["error"]
    assert "learning rate" in result.summary["error"]
    assert trainer.step == 12 and all(np.isfinite(a).all() for a in model.params.values())
    arrays, meta = checkpoint.load(tmp_path / "run" / "last.npz")
    assert meta["step"] == 12  # the state after the last good step, with the failed draw undone
    _assert_same(checkpoint.take_prefix("param/", arrays), model.params)
    _, ckpt_meta = checkpoint.load(tmp_path / "run" / "checkpoint.npz")
    assert ckpt_meta["step"] in (5, 10)  # the best evaluation before the failure
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["status"] == "diverged"
    other = recipes.make("addition")
    other.loss_and_grad = lambda m, b, h, dropout_rng=None: (float("inf"), {}, None)
    with pytest.raises(Diverged, match="non-finite loss .* at step 1;"):
        Trainer(other, other.build_model(hidden_size=4), config).train_step()


def test_huge_finite_gradients_are_clipped_and_infinite_ones_stop_the_run():
    """A gradient near the dtype's largest value (Σ g² overflows) takes a clipped step, not a zero one; a
    gradient holding inf stops the run before the update with the one-line message (issue 15.4)."""
    recipe = recipes.make("addition")
    model = recipe.build_model(hidden_size=4, seed=0)
    trainer = Trainer(recipe, model, TrainConfig(steps=5, optimizer="sgd", lr=0.1, clip=1.0, **QUIET))
    real = recipe.loss_and_grad
    huge = float(np.finfo(model.params["W"].dtype).max) / 10
    poison = {"value": huge}

    def exploded(model, batch, h0, dropout_rng=None):
        loss, grads, h = real(model, batch, h0, dropout_rng)
        grads["W"][0, 0] = poison["value"]
        return loss, grads, h

    recipe.loss_and_grad = exploded
    before = model.params["W"].copy()
    trainer.train_step()
    assert model.params["W"][0, 0] == pytest.approx(before[0, 0] - 0.1, rel=1e-6)  # lr · clipped
    assert trainer._window.norm == pytest.approx(huge, rel=1e-6)
    poison["value"] = np.inf
    result = trainer.run()
    assert result.status == "diverged" and trainer.step == 1
    assert result.summary["error"].startswith("non-finite gradient of W at step 2;")
    assert "\n" not in result.summary["error"]


def test_sigint_saves_last_and_stops_cleanly(tmp_path):
    recipe = recipes.make("parity")
    trainer = Trainer(recipe, recipe.build_model(hidden_size=4), TrainConfig(steps=100, eval_every=50, progress=False),
                      RunDir.create(tmp_path / "run"), plot=False)
    draw = trainer.stream.draw

    def interrupt_at_7(rng):
        if trainer.step == 7:
            os.kill(os.getpid(), signal.SIGINT)
        return draw(rng)

    trainer.stream.draw = interrupt_at_7
    previous = signal.getsignal(signal.SIGINT)
    result = trainer.run()
    assert signal.getsignal(signal.SIGINT) is previous  # the handler is restored
    assert result.status == "interrupted" and trainer.step == 8  # the step in flight finishes
    _, meta = checkpoint.load(tmp_path / "run" / "last.npz")
    assert meta["step"] == 8


def test_early_stopping_on_the_monitored_metric():
    recipe = recipes.make("parity")
    scores = iter([0.5, 0.4, 0.45, 0.41, 0.42, 0.1])
    recipe.evaluate = lambda m: {"val_loss": next(scores)}
    model = recipe.build_model(hidden_size=4)
    result = Trainer(recipe, model, TrainConfig(steps=100, eval_every=5, patience=3, progress=False)).run()
    assert result.status == "early_stop" and result.summary["steps"] == 25
    assert result.summary["best"] == {"metric": "val_loss", "mode": "min", "value": 0.4, "step": 10}


def test_time_budget_stops_the_run():
    r = train("parity", save=False, steps=10**6, minutes=0.002, eval_every=10**5, model_options={"hidden_size": 4}, **QUIET)
    assert r.status == "time_limit" and 0 < r.summary["steps"] < 10**6


# ---------------------------------------------------------------- stateful chunked training
def test_stateful_stream_carries_the_state_and_resets_each_epoch(text_file):
    recipe = recipes.make("charlm", text=text_file, seq_len=50)
    model = recipe.build_model(hidden_size=6)
    trainer = Trainer(recipe, model, TrainConfig(steps=1000, batch_size=4, progress=False))
    seen = []
    real = recipe.loss_and_grad

    def spy(model, batch, h0, dropout_rng=None):
        out = real(model, batch, h0, dropout_rng)
        seen.append((batch.reset, None if h0 is None else h0.copy(), out[2].copy()))
        return out

    recipe.loss_and_grad = spy
    per_epoch = len(trainer.stream.batcher)
    assert per_epoch >= 3
    for _ in range(per_epoch + 2):
        trainer.train_step()
    assert seen[0][0] and seen[0][1] is None
    for k in range(1, per_epoch):  # chunk k starts from the final state of chunk k - 1
        assert not seen[k][0]
        assert np.array_equal(seen[k][1], seen[k - 1][2])
    assert seen[per_epoch][0] and seen[per_epoch][1] is None  # new epoch: zeros again
    assert np.array_equal(seen[per_epoch + 1][1], seen[per_epoch][2])


def test_truncation_at_chunk_boundaries_drops_dh0(text_file):
    """The gradient of a chunk does not depend on how h_0 was produced: it equals the gradient
    of the same chunk with the carried state given as a constant."""
    recipe = recipes.make("charlm", text=text_file, seq_len=5)
    net = recipe.build_model(hidden_size=5, dtype="float64")
    stream = recipe.stream(3, np.random.default_rng(0))
    b1, b2 = stream.next(), stream.next()
    _, _, h1 = recipe.loss_and_grad(net, b1, None)
    loss, grads, _ = recipe.loss_and_grad(net, b2, h1)
    loss_ref, grads_ref = net.loss_and_grad(b2.x, b2.y, h0=h1.copy())
    assert loss == loss_ref
    _assert_same(dict(grads), dict(grads_ref))


# ---------------------------------------------------------------- every task on tiny settings
def test_parity_and_digits_tiny():
    r = train("parity", save=False, steps=30, model_options={"hidden_size": 4},
              task_options={"test_length": 50, "test_size": 10}, **QUIET)
    assert set(r.summary["final"]) == {"train_length", "test_length", "seq_acc", "step_acc"}
    r = train("digits", save=False, steps=30, task_options={"bits": 3}, model_options={"hidden_size": 4}, **QUIET)
    assert r.summary["final"]["numbers"] == 8
    # the report's accuracies, recomputed from the returned model's outputs on the 8 numbers:
    # number n is written out as its 3 binary digits, most significant first, one per step
    n = np.arange(8)
    digits_of_n = np.array([[(v >> (2 - k)) & 1 for v in n] for k in range(3)], dtype=bool)
    x, y = digits.encode(n, 3)
    assert np.array_equal(y[..., 0], digits_of_n)
    right = (r.model.forward(x).y_hat[..., 0] > 0.5) == digits_of_n
    assert r.summary["final"]["exact_acc"] == right.all(axis=0).mean()
    assert r.summary["final"]["digit_acc"] == right.mean()


def test_charlm_tiny(text_file):
    r = train("charlm", save=False, steps=40, batch_size=4, minutes=None, eval_every=20,
              task_options={"text": text_file, "seq_len": 10, "sample_length": 20}, model_options={"hidden_size": 16}, **QUIET)
    f = r.summary["final"]
    assert f["val_loss"] < f["uniform_nats"]  # it learned something in 40 steps
    assert f["val_bpc"] == pytest.approx(f["val_loss"] / np.log(2))
    assert len(f["sample"]) == 20
    with pytest.raises(ValueError, match="--text"):
        recipes.make("charlm")


def test_sentiment_tiny_reports_the_baseline(sentiment_file):
    r = train("sentiment", save=False, steps=60, batch_size=8, eval_every=20, task_options={"data": [sentiment_file]},
              model_options={"hidden_size": 8}, **QUIET)
    f = r.summary["final"]
    assert f["train"] + f["val"] + f["test"] == 120
    assert f["baseline_bow_logreg_acc"] > 0.8  # the words decide it
    # the RNN's held-out accuracy, recomputed: the prediction after each test sentence's last word
    # against its label, counted here
    tokens, labels, _, _, test = r.recipe.load()
    batch = r.recipe.encode(test)
    y_hat = r.model.forward(batch.x, lengths=batch.lengths).y_hat
    after_last_word = y_hat[batch.lengths - 1, np.arange(len(test)), 0]
    assert batch.lengths.tolist() == [len(tokens[i]) for i in test]
    assert f["test_acc"] == np.mean((after_last_word > 0.5) == (labels[test] == 1))
    assert r.summary["best"]["metric"] == "val_acc"


def test_timeseries_tiny_reports_persistence(csv_file):
    r = train("timeseries", save=False, steps=60, eval_every=20, task_options={"data": csv_file}, **QUIET)
    f = r.summary["final"]
    assert f["test"] == 200 - int(0.67 * 200)
    # both RMSEs recomputed from the CSV: the last 66 of 200 values, z-scored with the statistics
    # of the first 134, forecast from one run of the model over the whole series
    v = np.array([float(line.split(",")[1]) for line in open(csv_file).read().splitlines()[1:]])
    n = int(0.67 * len(v))
    mean, std = v[:n].mean(), v[:n].std()
    pred = r.model.forward(((v[:-1] - mean) / std)[:, None, None]).y_hat[:, 0, 0] * std + mean  # of v[1:]
    assert f["test_rmse"] == pytest.approx(np.sqrt(np.mean((pred[n - 1:] - v[n:]) ** 2)), rel=1e-6)
    assert f["persistence_rmse"] == pytest.approx(np.sqrt(np.mean((v[n - 1:-1] - v[n:]) ** 2)), rel=1e-12)


def test_dates_tiny_translates():
    r = train("dates", save=False, steps=3, batch_size=4, eval_every=3, model_options={"hidden_size": 8},
              task_options={"val_size": 4, "test_size": 4}, **QUIET)
    assert set(r.summary["final"]["examples"]) == {"3rd of March 1999", "Sunday, 22 Nov 2026", "1999/3/3"}
    assert len(r.recipe.translate(r.model, ["1999/3/3", "3rd of March 1999"])) == 2


def test_bad_options_are_value_errors():
    with pytest.raises(ValueError, match="unknown task"):
        recipes.make("poetry")
    with pytest.raises(ValueError, match="has no option text"):
        recipes.make("addition", text="x")
    with pytest.raises(ValueError, match="lr must be"):
        TrainConfig(lr=-1)
    with pytest.raises(ValueError, match="optimizer must be"):
        TrainConfig(optimizer="lbfgs")
    with pytest.raises(FileNotFoundError):
        train(resume="/nonexistent/run")


class _Folder(bptt.recipes.Recipe):
    """A tiny task with an option named ``data`` (many-to-one parity of 4 bits)."""
    name = "folder-task"
    OPTIONS = {"data": None}
    train_defaults = {"steps": 4, "batch_size": 8, "eval_every": 2}
    model_defaults = {"hidden_size": 3}

    def setup(self):
        self.x = np.random.default_rng(0).integers(0, 2, (4, 64))
        self.y = self.x.sum(0) % 2

    def io(self):
        return {"input_size": 2, "output_size": 2}

    def stream(self, batch_size, rng):
        return bptt.recipes.EpochStream(64, batch_size, rng,
                                        lambda i: bptt.recipes.TaskBatch(self.x[:, i], self.y[i], mask="last"))

    def evaluate(self, model):
        return {"val_loss": model.loss(self.x, self.y, mask="last")}


def test_an_option_named_data_is_hashed_only_when_the_recipe_declares_it(tmp_path):
    r = bptt.train(_Folder(data=str(tmp_path)), out=tmp_path / "a", progress=False)  # not a data file: not read
    assert r.status == "done" and r.summary["steps"] == 4

    class Declared(_Folder):
        data_options = ("data",)

    with pytest.raises(ValueError, match=f"cannot read data file {tmp_path}"):
        bptt.train(Declared(data=str(tmp_path)), out=tmp_path / "b", progress=False)
    assert not (tmp_path / "b" / "metrics.jsonl").exists()  # refused at the start, not at a checkpoint


def test_a_trainer_given_a_run_directory_that_was_never_made_says_how(tmp_path):
    from bptt.runs import RunDir

    recipe = _Folder()
    trainer = bptt.Trainer(recipe, recipe.build_model(hidden_size=3), bptt.TrainConfig(steps=2, progress=False),
                           RunDir(tmp_path / "never"))
    with pytest.raises(ValueError, match=r"RunDir\.create\(path\)"):
        trainer.run()


class _Clock:
    """A stand-in for train.py's ``time``: each perf_counter() call is ``tick`` seconds later."""

    def __init__(self, tick):
        self.now, self.tick = 0.0, tick

    def perf_counter(self):
        self.now += self.tick
        return self.now


@pytest.mark.parametrize("schedule", ["cosine", "step"])
def test_a_run_budgeted_in_minutes_decays_over_its_minutes(monkeypatch, schedule):
    """steps=10**6 never reached, minutes=1 with a clock of 1 s per reading: the schedule
    follows the minutes (LR1) and ends at its last learning rate; summary.json says so."""
    import sys

    monkeypatch.setattr(sys.modules["bptt.train"], "time", _Clock(1.0))
    r = bptt.train(_Folder(), save=False, progress=False, steps=10**6, minutes=1.0, schedule=schedule,
                   lr=0.1, eval_every=10)
    s = r.summary
    assert r.status == "time_limit" and s["steps"] < 100
    assert s["schedule"]["followed"] == "minutes" and s["schedule"]["of"] == 10**6
    assert s["schedule"]["position"] >= 0.9 * 10**6  # ~all of the budget used
    assert s["schedule"]["final_lr"] == pytest.approx(0.0 if schedule == "cosine" else 0.1 * 0.1 ** 2, abs=2e-4)


def test_schedule_position_is_the_further_of_steps_and_minutes():
    recipe = _Folder()
    config = bptt.TrainConfig(steps=1000, minutes=10.0, warmup=100, schedule="cosine", progress=False)
    t = bptt.Trainer(recipe, recipe.build_model(hidden_size=3), config)
    t.elapsed = 300.0  # half the budget
    assert t.schedule_position(50) == 50  # warm-up: by steps
    assert t.schedule_position(200) == 100 + 450  # half of the 900 decay steps
    assert t.schedule_position(700) == 700  # steps ahead of the clock
    t.elapsed = 9999.0
    assert t.schedule_position(200) == 1000
    no_budget = bptt.Trainer(recipe, recipe.build_model(hidden_size=3), bptt.TrainConfig(steps=1000, progress=False))
    no_budget.elapsed = 9999.0
    assert no_budget.schedule_position(200) == 200


def test_a_steps_run_schedules_by_steps_and_records_it():
    r = bptt.train(_Folder(), save=False, progress=False, steps=30, eval_every=10, schedule="cosine", lr=0.1)
    assert r.summary["schedule"] == {"kind": "cosine", "position": 30, "of": 30, "followed": "steps", "final_lr": 0.0}
