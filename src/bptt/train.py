"""The training loop: minibatches, progress bar, periodic evaluation, early stopping, stateful
chunked training, a NaN guard, Ctrl-C, checkpoints and exact resume.

    from bptt.train import train
    result = train("addition", steps=2000, out="runs/add")   # a task name from bptt.recipes
    result.summary["final"]                                  # the task's report (see summary.json)
    result = train(resume="runs/add", steps=4000)            # continue the same run to step 4000

``Trainer(recipe, model, config, run_dir)`` is the loop itself, for any model with ``params``,
``config`` and whatever ``recipe.loss_and_grad`` calls (an ``RNN``, a ``Seq2Seq``).

One step. The recipe's stream yields a batch; ``recipe.loss_and_grad`` gives (L, ∂L/∂θ, h_n);
if L or any gradient is not finite the run stops (``Diverged``) *before* the update, so the
parameters are still the last good ones; gradients are clipped (``clip``: global L2 norm,
``clip_value``: elementwise), the optimizer steps, the schedule steps.

Stateful chunked training (``recipe.stateful``, e.g. charlm): a long stream is cut into B
parallel tracks and read in chunks of T steps. The final hidden state of a chunk is the h_0 of
the next one, so the model sees context across chunks in the FORWARD pass, but the gradient is
TRUNCATED at chunk boundaries: h_0 enters ``loss_and_grad`` as a constant and ``grads.dh0`` is
dropped, so ∂L/∂θ only flows back through the T steps of the current chunk (truncated BPTT with
k1 = k2 = T). The state starts from zeros at the start of the stream (each epoch).

Evaluation every ``eval_every`` steps appends one line to ``metrics.jsonl`` (step, wall time,
mean train loss and pre-clip gradient norm since the last evaluation, throughput, learning rate,
the recipe's validation metrics). The recipe's ``monitor`` metric (e.g. ``val_loss``, min) picks
the best model, saved to ``checkpoint.npz``; with ``patience`` the run stops after that many
evaluations without improvement. ``last.npz`` is written at every evaluation and at the end.

Exact resume: a checkpoint holds the parameters, the optimizer's buffers and step count, the
schedule, the data stream's position and RNG state, the carried hidden state, the early-stopping
bookkeeping and the elapsed time. Resuming from ``last.npz`` and training to step N gives
parameters bitwise equal to an uninterrupted run of N steps (same machine, same BLAS threads).

Ctrl-C (SIGINT) finishes the current step, writes ``last.npz`` and ``summary.json`` (status
"interrupted") and returns; a second Ctrl-C aborts at once. Run directory files: runs.py;
progress bar, throughput, Ctrl-C handler, BLAS threads: session.py. More in docs/training.md.
"""
from __future__ import annotations

import math
import signal
import time
import warnings
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from . import _validate as v
from . import distributed, memory, optim, recipes
from . import checkpoint
from .checkpoint import rng_from_meta
from .runs import RunDir, check_same_run, check_stream, default_run_dir, load_state, save_state
from .session import Bar, Window, catch_sigint, set_blas_threads

__all__ = ["TrainConfig", "Trainer", "Result", "Diverged", "train", "resume_trainer", "make_optimizer",
           "set_blas_threads", "OPTIMIZERS"]

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw")
WEIGHT_DECAY = ("sgd", "momentum", "nesterov", "adam", "adamw")  # the optimizers that take weight_decay
SCHEDULES = ("constant", "cosine", "step")


@dataclass
class TrainConfig:
    """Everything about HOW to train (the recipe says WHAT). JSON-able; saved in summary.json.

    steps: optimizer steps in total (a resumed run counts from its checkpoint's step);
    minutes: stop after this much wall time (training + evaluation), None for no limit;
    optimizer ∈ OPTIMIZERS with lr, momentum (momentum/nesterov; rmsprop runs without momentum), betas (adam);
    weight_decay: on the model's weights, not its biases or initial state (``weight_names``):
    L2 added to the gradient (sgd, momentum, nesterov, adam) or decoupled (adamw, Loshchilov &
    Hutter 2019);
    clip: max global L2 norm of the gradient (None: off); clip_value: elementwise clamp;
    schedule: constant, cosine (to 0 at ``steps``, after ``warmup`` steps) or step (×0.1 every
    steps/3); with ``minutes``, by whichever budget is nearer its end (Trainer.schedule_position, LR1); eval_every: steps between evaluations; patience: evaluations without
    improvement of the monitored metric before stopping (None: never); seed: the data stream's
    RNG (the model's init seed is in the model config); progress: show a tqdm bar."""

    steps: int = 2000
    minutes: float | None = None
    batch_size: int = 32
    optimizer: str = "adam"
    lr: float = 1e-2
    momentum: float = 0.9
    betas: tuple = (0.9, 0.999)
    weight_decay: float = 0.0
    clip: float | None = 5.0
    clip_value: float | None = None
    schedule: str = "constant"
    warmup: int = 0
    eval_every: int = 200
    patience: int | None = None
    seed: int = 0
    progress: bool = True

    def __post_init__(self):
        for name in ("steps", "batch_size", "eval_every"):
            v.positive_int(name, getattr(self, name))
        v.positive_int("warmup", self.warmup, 0)
        v.positive_int("seed", self.seed, 0)
        if self.patience is not None:
            v.positive_int("patience", self.patience)
        v.choice("optimizer", self.optimizer, OPTIMIZERS)
        v.choice("schedule", self.schedule, SCHEDULES)
        for name in ("lr", "minutes", "clip", "clip_value"):
            if name == "lr" or getattr(self, name) is not None:
                v.real(name, getattr(self, name), 0.0, low_open=True)
        if self.warmup and self.warmup >= self.steps:
            raise ValueError(f"warmup must be < steps={self.steps}, got {self.warmup}")
        if self.warmup and self.schedule != "cosine":
            raise ValueError(f"warmup={self.warmup} needs schedule 'cosine' (the one that warms up); got "
                             f"schedule={self.schedule!r}")
        self.betas = tuple(self.betas)
        v.real("weight_decay", self.weight_decay, 0.0)
        if self.weight_decay and self.optimizer not in WEIGHT_DECAY:
            raise ValueError(f"weight_decay={self.weight_decay} needs optimizer {', '.join(WEIGHT_DECAY)}; "
                             f"got optimizer={self.optimizer!r}")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["betas"] = list(self.betas)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"unknown training options {unknown}; known: {sorted(names)}")
        return cls(**d)


class Diverged(RuntimeError):
    """The loss or a gradient stopped being finite (``in_eval=False``: the update of step
    ``step`` is not applied), or the parameters after step ``step`` give non-finite validation
    results (``in_eval=True``). ``step`` is 1-based."""

    def __init__(self, step: int, what: str, in_eval: bool = False):
        self.step, self.in_eval = step, in_eval
        done = ("the parameters after it give non-finite outputs on the validation data" if in_eval else
                "training stopped before the update")
        super().__init__(f"non-finite {what} at step {step}; {done}. "
                         "Try gradient clipping (--clip 1) or a smaller learning rate (--lr).")


@dataclass
class Result:
    """What ``train`` returns: status ('done', 'early_stop', 'time_limit', 'interrupted',
    'diverged'), the summary (also in summary.json), the model (best parameters when there is
    a best checkpoint), the recipe, the run directory and the history (the rows of
    metrics.jsonl: one per evaluation)."""

    status: str
    summary: dict
    model: Any
    recipe: Any
    run_dir: RunDir | None
    history: list = field(default_factory=list)


def make_optimizer(config: TrainConfig, params: dict, decay=None) -> optim.Optimizer:
    """The optimizer named by ``config.optimizer`` over ``params`` (updated in place); weight
    decay applies to the names in ``decay`` (None: every parameter)."""
    name, lr = config.optimizer, config.lr
    wd = dict(weight_decay=config.weight_decay, decay=decay)
    if name == "sgd":
        return optim.SGD(params, lr, **wd)
    if name in ("momentum", "nesterov"):
        return optim.SGD(params, lr, momentum=config.momentum, nesterov=name == "nesterov", **wd)
    if name == "adagrad":
        return optim.Adagrad(params, lr)
    if name == "rmsprop":
        return optim.RMSprop(params, lr, momentum=0.0)
    return optim.Adam(params, lr, betas=config.betas, decoupled_weight_decay=name == "adamw", **wd)


def make_schedule(config: TrainConfig, opt: optim.Optimizer):
    if config.schedule == "cosine":
        return optim.CosineLR(opt, total_steps=config.steps, warmup=config.warmup)
    if config.schedule == "step":
        return optim.StepLR(opt, step_size=max(1, config.steps // 3), gamma=0.1)
    return None


class Trainer:
    """The loop over one recipe and one model; ``run()`` trains and returns a ``Result``.

    recipe: a ``bptt.recipes.Recipe`` (data stream, loss, evaluation, final report);
    model: built by ``recipe.build_model``; config: ``TrainConfig``; run_dir: a ``RunDir`` or
    None (no files: nothing is saved, useful in tests and notebooks); plot: write loss.png at the
    end (needs matplotlib; about a second)."""

    def __init__(self, recipe, model, config: TrainConfig, run_dir: RunDir | None = None, plot: bool = True,
                 world=None):
        self.world = distributed.world() if world is None else world
        self.shard = distributed.shard_slices(config.batch_size, self.world.size)[self.world.rank]
        if self.world.rank:  # rank 0 alone prints and writes the run directory
            run_dir, config = None, TrainConfig.from_dict({**config.to_dict(), "progress": False})
        self.recipe, self.model, self.config, self.run_dir = recipe, model, config, run_dir
        self.plot = plot
        for k, a in self.world.broadcast(model.params).items():  # every rank starts from rank 0's θ
            np.copyto(model.params[k], a)
        self.opt = make_optimizer(config, model.params, decay=model.weight_names)
        self.schedule = make_schedule(config, self.opt)
        self.rng = np.random.default_rng(config.seed)
        self.stream = recipe.stream(config.batch_size, self.rng)
        self.step = 0
        self.h = None  # the carried hidden state (stateful recipes)
        self.elapsed = 0.0  # wall seconds of training and evaluation, over every session
        self.best = {"metric": recipe.monitor[0], "mode": recipe.monitor[1], "value": None, "step": None}
        self.bad_evals = 0
        self.history: list[dict] = []
        self._window = Window()
        self._interrupted = False
        self._best_params = None  # a copy of the best parameters of this session
        self.data_sha256 = None  # of the data files, hashed once (data_digests), saved in checkpoints

    def data_digests(self) -> dict:
        """The sha256 of the task's data files, computed once per run (a resumed run keeps its
        checkpoint's): moving or deleting the file mid-run changes nothing."""
        if self.data_sha256 is None:
            from .runs import _data_digests
            self.data_sha256 = _data_digests(self.recipe.options, self.recipe.data_options)
        return self.data_sha256

    # ---------------------------------------------------------------- state (runs.py saves it)
    def state(self) -> tuple[dict, dict]:
        """(arrays, meta) for a checkpoint: everything needed to continue bit for bit."""
        arrays, opt_scalars = {}, {}
        for k, a in self.opt.state_dict().items():  # buffers go to the .npz, step and lr to JSON
            if isinstance(a, np.ndarray):
                arrays[k] = a
            else:
                opt_scalars[k] = a
        stream_arrays, stream_meta = self.stream.state_dict()
        meta = {
            "step": self.step, "elapsed": self.elapsed, "optim": opt_scalars,
            "schedule": None if self.schedule is None else self.schedule.state_dict(),
            "stream": stream_meta, "best": self.best, "bad_evals": self.bad_evals,
            "window": self._window.state(),
            "train": self.config.to_dict(),
        }
        # the carried state: h, and an LSTM's c beside it (the public pair (h, c)); under MPI every
        # rank's shard of the tracks, gathered on rank 0 (a collective)
        h = self.h if self.world.size == 1 else distributed.gather_shards(self.world, self.h)
        extra = {} if h is None else dict(zip(("h", "c"), h if isinstance(h, tuple) else (h,)))
        return {"optim": arrays, "stream": stream_arrays, "state": extra}, meta

    def load_state(self, groups: dict, meta: dict) -> None:
        """Inverse of ``state`` (the parameters are loaded by runs.load_state)."""
        self.opt.load_state_dict({**groups["optim"], **meta["optim"]})
        if self.schedule is not None and meta["schedule"] is not None:
            self.schedule.load_state_dict(meta["schedule"])
        self.rng.bit_generator.state = rng_from_meta(meta["rng"]).bit_generator.state
        self.stream.load_state_dict(groups["stream"], meta["stream"])
        state = groups["state"]
        h = (state["h"], state["c"]) if "c" in state else state.get("h")
        self.h = h if self.world.size == 1 else distributed.take_shard(h, self.shard)
        self.step, self.elapsed = int(meta["step"]), float(meta["elapsed"])
        self.best, self.bad_evals = dict(meta["best"]), int(meta["bad_evals"])
        self._window.load(meta["window"])

    # ---------------------------------------------------------------- one step
    def train_step(self) -> float:
        """One minibatch: loss, gradient, NaN guard, clipping, update. Returns the loss."""
        before = (self.rng.bit_generator.state, self.stream.state_dict())  # to undo the draw
        batch = self.stream.next()  # the global batch: the same draw on every rank
        h0 = None if (not self.recipe.stateful or batch.reset) else self.h
        if self.world.size == 1:
            loss, grads, h_n = self.recipe.loss_and_grad(self.model, batch, h0, dropout_rng=self.rng)
        else:  # this rank's shard, then the mean over the global batch in rank order (P1)
            mine = batch.shard(self.shard)
            loss, grads, h_n = self.recipe.loss_and_grad(self.model, mine, h0, dropout_rng=self.rng)
            loss, grads = distributed.fused_mean(self.world, loss, grads, mine.n_sequences, batch.n_sequences)
        step = self.step + 1
        bad = None if math.isfinite(loss) else f"loss ({loss})"
        norm = optim.global_norm(grads)  # finite unless a gradient holds NaN or inf
        if bad is None and not math.isfinite(norm):
            bad = next((f"gradient of {k}" for k, g in grads.items() if not np.isfinite(g).all()),
                       f"gradient norm ({norm})")
        if bad is not None:  # rewind the data so that the state is exactly that after step − 1
            self.rng.bit_generator.state = before[0]
            self.stream.load_state_dict(*before[1])
            raise Diverged(step, bad)
        c = self.config
        if c.clip:
            optim.clip_grad_norm(grads, c.clip)
        if c.clip_value:
            optim.clip_grad_value(grads, c.clip_value)
        self.opt.step(grads)
        if self.schedule is not None:
            self.schedule.step(self.schedule_position(step))
        if self.recipe.stateful:
            self.h = h_n  # carried forward; its gradient is truncated here (module docstring)
        self.step = step
        self._window.add(self.recipe.train_loss(loss, batch), norm, batch.n_tokens)
        return loss

    def out_of_patience(self) -> bool:
        """``patience`` evaluations in a row without improvement: stop early."""
        return self.config.patience is not None and self.bad_evals >= self.config.patience

    def schedule_position(self, step: int) -> int:
        """Where the learning-rate schedule is after ``step`` steps (LR1): the step itself; with a
        time budget (``minutes``), after the warm-up, the same share of ``steps`` as the share
        of the minutes used if that is further, so that a run ended by its minutes decays over
        the time it has instead of over steps it never reaches:

            position = max(step, W + ⌊(steps − W) · min(1, elapsed / (60 · minutes))⌋)   step ≥ W

        (the elapsed time is rank 0's under MPI; a run ended by its minutes is not reproducible
        to the bit, as its number of steps is not)."""
        c = self.config
        if c.minutes is None or step < c.warmup:
            return step
        return max(step, c.warmup + int((c.steps - c.warmup) * min(1.0, self.elapsed / (60 * c.minutes))))

    # ---------------------------------------------------------------- evaluation
    def evaluate(self) -> dict:
        """Validation metrics now; updates best/patience, writes metrics.jsonl and checkpoints.
        Raises Diverged if the evaluation meets non-finite values (exploding states)."""
        outcome = None
        if self.world.rank == 0:  # rank 0 evaluates; every rank takes its numbers (the same decisions)
            with np.errstate(over="ignore", invalid="ignore"):
                try:
                    outcome = {k: float(v) for k, v in self.recipe.evaluate(self.model).items()}
                except (ValueError, FloatingPointError) as exc:
                    if all(np.isfinite(a).all() for a in self.model.params.values()) and "finite" not in str(exc):
                        raise  # a genuine error, not a symptom of exploding states
                    outcome = f"validation values ({exc})"
        outcome = self.world.broadcast(outcome)
        if isinstance(outcome, str):
            raise Diverged(self.step, outcome, in_eval=True)
        metrics = outcome
        bad = [k for k, v in metrics.items() if not math.isfinite(v)]
        if bad:
            raise Diverged(self.step, f"validation metrics ({', '.join(bad)})", in_eval=True)
        row = {"step": self.step, "elapsed_s": round(self.elapsed, 3), "lr": self.opt.lr,
               **self._window.flush(), **metrics}
        self.history.append(row)
        name, mode = self.recipe.monitor
        value = metrics.get(name)
        improved = value is not None and math.isfinite(value) and (
            self.best["value"] is None or (value < self.best["value"] if mode == "min" else value > self.best["value"]))
        if improved:
            self.best.update(value=value, step=self.step)
            self.bad_evals = 0
            self._best_params = {k: a.copy() for k, a in self.model.params.items()}
        else:
            self.bad_evals += 1
        if self.run_dir is not None:
            self.run_dir.append_metrics(row)
        if improved:
            self.save("checkpoint.npz")
        self.save("last.npz")
        self._window.restart()  # evaluation time does not count against throughput
        return row

    def _restore_best(self) -> None:
        """Put the best parameters back into the model (from memory, else checkpoint.npz)."""
        if self._best_params is not None:
            self.model.set_params(self._best_params)
        elif self.run_dir is not None and (self.run_dir.path / "checkpoint.npz").exists():
            load_state(self.run_dir.path / "checkpoint.npz", model=self.model)

    def save(self, name: str) -> None:
        """Write a checkpoint into the run directory (rank 0; under MPI every rank takes part in
        gathering the carried state, and waits until the file is complete)."""
        if self.run_dir is None and self.world.size == 1:
            return
        state = self.state()
        if self.run_dir is not None:
            save_state(self.run_dir.path / name, self, state)
        self.world.barrier()

    # ---------------------------------------------------------------- the loop
    def run(self, until: int | None = None) -> Result:
        """Train to ``config.steps`` (or stop early); ``until``: pause after that step as if
        interrupted (status 'interrupted', last.npz written), e.g. to test resuming. Under MPI
        an error on any rank stops every rank (distributed.abort_on_error)."""
        # numpy's overflow warnings stay quiet: the NaN guard stops the run and names the step
        with distributed.abort_on_error(self.world), np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            if self.run_dir is not None:
                self.run_dir.lock()
            try:
                if self.run_dir is not None:
                    self.data_digests()  # hashed once, at the start (a resumed run has its checkpoint's)
                return self._run(until)
            finally:
                if self.run_dir is not None:
                    self.run_dir.unlock()

    def _run(self, until: int | None) -> Result:
        c, status = self.config, "done"
        bar = Bar(c, self.step, self.elapsed, self.recipe.name)
        previous = catch_sigint(self)
        start = time.perf_counter() - self.elapsed
        self._window.restart()
        last_eval = self.history[-1]["step"] if self.history else -1
        error = None
        if self.step == 0:  # a run killed before its first evaluation resumes from here
            self.save("last.npz")
        try:
            while self.step < c.steps:
                if self.world.size > 1:  # rank 0's clock and Ctrl-C decide for every rank
                    self._interrupted, self.elapsed = self.world.broadcast((self._interrupted, self.elapsed))
                if self._interrupted or (until is not None and self.step >= until):
                    status = "interrupted"
                    break
                if c.minutes is not None and self.elapsed >= 60 * c.minutes:
                    status = "time_limit"
                    break
                if self.out_of_patience():  # resumed after its early stop, before its summary
                    status = "early_stop"
                    break
                self.train_step()
                self.elapsed = time.perf_counter() - start
                bar.update(self.step, self.elapsed, self._window, self.opt.lr)
                if self.step % c.eval_every == 0:
                    row = self.evaluate()
                    last_eval = self.step
                    self.elapsed = time.perf_counter() - start
                    bar.show_eval(row)
                    if self.out_of_patience():
                        status = "early_stop"
                        break
        except Diverged as exc:
            status = "diverged"
            if not exc.in_eval:
                self.save("last.npz")  # the state after the last good step (the draw is undone)
            error = f"{exc} {self._saved_note(exc)}".strip()
        finally:
            bar.close()
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
        if status in ("done", "time_limit") and last_eval != self.step and self.step > 0:
            self.evaluate()  # the final state is always evaluated (a paused run is not: resuming
            #                  it must keep the bookkeeping of the uninterrupted run)
        self.elapsed = time.perf_counter() - start
        return self._finish(status, error)

    def _saved_note(self, exc: Diverged) -> str:
        """Which checkpoints a diverged run left, and of which step: only files that exist."""
        if self.run_dir is None:
            return ""
        saved = []
        if (self.run_dir.path / "last.npz").exists():
            step = self.step if not exc.in_eval else checkpoint.load(self.run_dir.path / "last.npz")[1]["step"]
            saved.append(f"last.npz (the state after step {step})")
        if self.best["step"] is not None:
            saved.append(f"checkpoint.npz (the best, step {self.best['step']})")
        return f"Saved: {', '.join(saved)}." if saved else "No checkpoint was written before it."

    def _finish(self, status: str, error: str | None) -> Result:
        """Load the best parameters, run the recipe's final report, write summary.json + loss.png."""
        if status not in ("interrupted", "diverged"):
            self.save("last.npz")
            if self.best["step"] is not None and self.best["step"] != self.step:
                self._restore_best()
        elif status == "interrupted":
            self.save("last.npz")
        report = {}
        if status not in ("interrupted", "diverged"):  # rank 0 reports; every rank returns it
            report = self.world.broadcast(self.recipe.report(self.model) if self.world.rank == 0 else None)
        summary = {
            "task": self.recipe.name, "status": status, "error": error, "steps": self.step,
            "wall_time_s": round(self.elapsed, 2), "best": self.best,
            "last_eval": self.history[-1] if self.history else None, "final": report,
            "config": {"task": self.recipe.options, "model": self.model.config,
                       "train": self.world.broadcast(self.config.to_dict())},
            "schedule": None if self.schedule is None else {
                "kind": self.config.schedule, "position": self.schedule.last_step, "of": self.config.steps,
                "followed": "steps" if self.schedule.last_step == self.step else "minutes",
                "final_lr": self.opt.lr},
            "world_size": self.world.size,
            "shards": [s.stop - s.start for s in distributed.shard_slices(self.config.batch_size, self.world.size)],
        }
        if self.run_dir is not None:
            self.run_dir.write_summary(summary)
            if self.plot:
                self.run_dir.plot(self.recipe.name)
        return Result(status, summary, self.model, self.recipe, self.run_dir, list(self.history))


# -------------------------------------------------------------------- the one-call API
def train(task=None, *, out=None, resume=None, task_options: dict | None = None,
          model_options: dict | None = None, save: bool = True, plot: bool = True, **train_options) -> Result:
    """Train ``task`` (default: addition) and return a ``Result``.

    task: a built-in task's name, or a ``bptt.recipes.Recipe`` of your own (its options are its
    own: no task_options), also with ``resume`` (the recipe is checked against the run's).
    task_options: the recipe's own options (e.g. ``{"text": "input.txt", "seq_len": 100}``);
    model_options: ``hidden_size``, ``num_layers``, ``activation``, ``init``, ``bidirectional``,
    ``dtype``, ``seed``; train_options: ``TrainConfig`` fields, over the recipe's defaults.
    out: the run directory (default ``runs/<task>-<time>``; ``save=False``: no files at all;
    ``plot=False``: no loss.png).
    resume: a run directory or a checkpoint file: continue that run; ``train_options`` may
    change ``steps``, ``minutes``, ``patience``, ``eval_every`` and ``progress`` only."""
    for name, value in (("task_options", task_options), ("model_options", model_options)):
        if value is not None and not isinstance(value, dict):
            raise TypeError(f"{name} must be a dict or None, got {type(value).__name__}")
    custom = task if isinstance(task, recipes.Recipe) else None
    if not (task is None or custom is not None or isinstance(task, str)):
        raise TypeError(f"task must be a task name or a bptt.recipes.Recipe, got {type(task).__name__}")
    if custom is not None and task_options:
        raise ValueError("task_options: a Recipe holds its own options; pass them to its constructor")
    if resume is not None:
        if (task is not None and custom is None) or set(task_options or {}) - {"text", "data"} or model_options:
            raise ValueError("resume continues a run with its saved task and model; give only steps, minutes, "
                             "patience, eval_every, progress, or the same data again (task_options text/data), "
                             "or your own Recipe again")
        run_dir, trainer = resume_trainer(resume, recipe=custom, data=task_options, **train_options)
        trainer.plot = plot
        return trainer.run()
    task = custom.name if custom is not None else task or recipes.DEFAULT_TASK
    if custom is None and task in recipes.names():  # sizes before the recipe draws its validation data
        cls = recipes.REGISTRY[task]
        memory.check_task(task, {**cls.OPTIONS, **(task_options or {})},
                          train_options.get("batch_size", cls.train_defaults.get("batch_size")),
                          {**cls.model_defaults, **(model_options or {})})
    recipe = custom if custom is not None else recipes.make(task, **(task_options or {}))
    config = TrainConfig.from_dict({**recipe.train_defaults, **train_options})
    for name, users in (("momentum", ("momentum", "nesterov")), ("betas", ("adam", "adamw"))):
        if name in train_options and config.optimizer not in users:  # set, but nothing would read it
            raise ValueError(f"{name} is an option of optimizer {' or '.join(users)}; the optimizer is "
                             f"{config.optimizer!r} (set optimizer too)")
    model = recipe.build_model(**{"seed": config.seed, **recipe.model_defaults, **(model_options or {})})
    distributed.shard_slices(config.batch_size, distributed.world().size)  # refused before any file is made
    run_dir = None
    if save:
        if distributed.world().rank == 0:  # under MPI rank 0 alone holds and writes the run directory
            run_dir = RunDir.create(out if out is not None else default_run_dir(recipe.name))
    return Trainer(recipe, model, config, run_dir, plot=plot).run()


RESUME_OVERRIDES = ("steps", "minutes", "patience", "eval_every", "progress")


def resume_trainer(path, recipe=None, model=None, data=None, **overrides) -> tuple[RunDir, Trainer]:
    """A Trainer in the state saved at ``path`` (a run directory: its last.npz; or a file).
    ``recipe``/``model``: the caller's own (bptt.fit's arrays and model), checked against the
    checkpoint instead of rebuilt from it."""
    unknown = sorted(set(overrides) - set(RESUME_OVERRIDES))
    if unknown:
        raise ValueError(f"a resumed run keeps its configuration; only {', '.join(RESUME_OVERRIDES)} "
                         f"may change, got {unknown}")
    world = distributed.world()
    run_dir, ckpt = RunDir.for_resume(path, writer=world.rank == 0)
    recipe, model, groups, meta = load_state(ckpt, recipe=recipe, into=model, options=data or None, resume=True)
    if world.rank == 0:
        check_same_run(run_dir, ckpt, meta)
    config = TrainConfig.from_dict({**meta["train"], **overrides})
    trainer = Trainer(recipe, model, config, run_dir)
    if isinstance(meta.get("data_sha256"), dict):
        trainer.data_sha256 = meta["data_sha256"]
    check_stream(ckpt, trainer.stream, groups["stream"], meta["stream"])
    trainer.load_state(groups, meta)
    if trainer.schedule is not None and config.steps != meta["train"]["steps"]:  # extending (docs/training.md)
        before = meta["optim"].get("lr")
        warnings.warn(f"steps={config.steps}: the run's {config.schedule} schedule was laid out over "
                      f"{meta['train']['steps']} steps and is stretched over {config.steps} from step {trainer.step} "
                      f"(learning rate {before:.3g} -> {trainer.opt.lr:.3g}); the result differs from a run of "
                      f"{config.steps} steps from the start", UserWarning, stacklevel=2)
    # rank 0 reads (and trims) metrics.jsonl; under MPI the other ranks take its rows
    trainer.history = world.broadcast(run_dir.read_metrics(upto=trainer.step) if world.rank == 0 else None)
    if trainer.step > config.steps:
        raise ValueError(f"the checkpoint is at step {trainer.step}; steps={config.steps} must be at least that")
    finished = world.broadcast(run_dir.finished_step() if world.rank == 0 else None)
    if trainer.step == config.steps and finished == trainer.step:
        raise ValueError(f"the run finished at step {trainer.step} (summary.json); pass a larger --steps to train "
                         "further")
    return run_dir, trainer  # a run killed after its last checkpoint but before its summary: run() finishes it
