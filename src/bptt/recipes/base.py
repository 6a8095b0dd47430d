"""The base recipe: the glue between a task module (data + metric) and the trainer (train.py).

A recipe says WHAT to train: the model's input/output sizes and head, a stream of minibatches,
the loss call, the validation metrics (and which one picks the best model), a final report
with the task's own test metric next to its baseline, and the defaults that work. Every recipe
is rebuilt from a checkpoint's metadata (``registry.from_meta``), so a checkpoint alone is
enough to sample, evaluate or translate.

Data files default to ``$BPTT_DATA`` or, in a source checkout, the ``shared/data`` folder beside
the repository (sentiment/*.txt, timeseries/*.csv); pass your own with the task options
(``--text``, ``--data``).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..model import RNN
from .streams import Stream, TaskBatch


class Recipe:
    """A task: what to train. A subclass of your own is trained by ``bptt.train(MyRecipe(...))``
    and resumed by ``bptt.train(MyRecipe(...), resume=RUN)`` (docs/training.md, "Your own task").

    Set ``name``, ``OPTIONS`` (the task's options and their defaults, JSON values: saved with
    the run and compared on resume), and implement

        io()                      the RNN's input_size, output_size, output (and loss)
        stream(batch_size, rng)   a Stream of TaskBatch (EpochStream over N examples is the usual)
        evaluate(model)           {metric: value}, with the ``monitor`` metric ("val_loss" by default)

    and, when needed, setup() (read the options; load data), state()/restore() (JSON a rebuilt
    recipe needs beyond its options), report()/describe() (the final test metrics and their
    lines), diagnostic_batch() (for ``bptt diagnose``), ``data_options`` (the options that
    name data files: hashed once at the start and checked on resume) and the defaults below."""

    name = ""
    summary = ""
    OPTIONS: dict = {}
    data_options: tuple = ()  # options naming data files (their sha256 is saved with the run)
    train_defaults: dict = {}  # TrainConfig fields
    model_defaults: dict = {"hidden_size": 32}
    monitor = ("val_loss", "min")  # the validation metric that picks the best model
    stateful = False  # carry h_n into the next batch (truncating the gradient there)

    def __init__(self, **options):
        unknown = sorted(set(options) - set(self.OPTIONS))
        if unknown:
            known = ", ".join(self.OPTIONS) or "none"
            raise ValueError(f"task {self.name} has no option {', '.join(unknown)} (its options: {known})")
        self.options = {**self.OPTIONS, **{k: v for k, v in options.items() if v is not None}}
        for k, value in options.items():
            if value is not None:
                _check_type(self.name, k, value, self.OPTIONS[k], k in self.data_options)
        self.setup()

    def setup(self):
        """Validate options; load light data. Heavy data may wait for ``data()``."""

    def state(self) -> dict:
        """JSON state beyond the options that a rebuilt recipe needs (e.g. a vocabulary)."""
        return {}

    def restore(self, state: dict) -> None:
        pass

    # -------------------------------------------------------------- model
    def io(self) -> dict:
        """input_size, output_size, output (and loss) of the RNN for this task."""
        raise NotImplementedError

    def build_model(self, hidden_size=32, seed=0, num_layers=1, activation="tanh", init="uniform",
                    bidirectional=False, dtype="float32", **options):
        """The task's RNN; ``options``: RNN's other keywords (cell, proj_size, forget_bias,
        reset_after, embedding_size, tie_weights, learn_h0, dropout, variational, …)."""
        return RNN(hidden_size=hidden_size, seed=seed, num_layers=num_layers, activation=activation,
                   init=init, bidirectional=bidirectional, dtype=dtype, **options, **self.io())

    def model_from_config(self, model_class: str, config: dict):
        if model_class != "RNN":
            raise ValueError(f"task {self.name} trains an RNN, the checkpoint holds a {model_class}")
        return RNN(**config)

    # -------------------------------------------------------------- training
    def stream(self, batch_size: int, rng: np.random.Generator) -> Stream:
        raise NotImplementedError

    def loss_and_grad(self, model, batch: TaskBatch, h0, dropout_rng=None):
        """(L, ∂L/∂θ, h_n or None). Stateful recipes take h_n from ``grads.h_n``. The trainer
        passes its Generator as ``dropout_rng`` (dropout masks, when the model has dropout)."""
        loss, grads = model.loss_and_grad(batch.x, batch.y, batch.mask, h0, batch.lengths,
                                          dropout_rng=dropout_rng)
        return loss, grads, None

    def train_loss(self, loss: float, batch: TaskBatch) -> float:
        """The training loss as logged (the same scale as val_loss)."""
        return loss

    def evaluate(self, model) -> dict:
        raise NotImplementedError

    def report(self, model) -> dict:
        """Final test metrics and baselines (summary.json "final"); default: evaluate()."""
        return self.evaluate(model)

    def describe(self, report: dict) -> list[str]:
        """Human-readable lines for the end of ``bptt train`` / ``bptt eval``."""
        return [f"{k}: {_fmt(v)}" for k, v in report.items()]

    def diagnostic_batch(self):
        """(x, y, mask, lengths) of a validation batch for ``bptt diagnose CHECKPOINT``."""
        raise NotImplementedError



def _check_type(task: str, name: str, value, default, is_data: bool) -> None:
    """A TypeError naming the task and the option when ``value`` is not of its default's kind:
    bool, int, real, str, a list of ints (e.g. addition's test_bits: an int or a list of them),
    or for a data option a path or a list of paths. The ranges are the recipe's own checks."""
    paths = (str, os.PathLike)
    if is_data:
        ok = isinstance(value, paths) or (isinstance(value, (list, tuple)) and bool(value)
                                          and all(isinstance(p, paths) for p in value))
        want = "a file path or a list of file paths"
    elif isinstance(default, bool):
        ok, want = isinstance(value, (bool, np.bool_)), "true or false"
    elif isinstance(default, int):
        ok, want = isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)), "an integer"
    elif isinstance(default, float):
        ok, want = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool), "a number"
    elif isinstance(default, str):
        ok, want = isinstance(value, str), "a string"
    elif isinstance(default, list):
        ints = value if isinstance(value, (list, tuple)) else [value]
        ok = all(isinstance(b, (int, np.integer)) and not isinstance(b, bool) for b in ints)
        want = "an integer or a list of integers"
    else:
        return
    if not ok:
        raise TypeError(f"task {task}: option {name} must be {want}, got {type(value).__name__} {value!r}")


def default_data(option: str, *parts: str) -> str:
    """The path of a task's default data file ``parts`` (e.g. "timeseries", "airline.csv"): under
    ``$BPTT_DATA`` if set, else, in a source checkout (an editable install), under the
    ``shared/data`` folder beside the repository. A FileNotFoundError names the task ``option``
    (``--data``) and ``$BPTT_DATA`` when it is in neither place (an installed package has no
    repository beside it)."""
    env = os.environ.get("BPTT_DATA")
    checkout = Path(__file__).resolve().parents[3]  # src/bptt/recipes/base.py -> the repository
    if env:
        root, where = Path(env), "$BPTT_DATA"
    elif (checkout / "pyproject.toml").is_file():
        root, where = checkout.parent / "shared" / "data", "the shared/data folder beside the repository"
    else:
        root, where = None, "no $BPTT_DATA set"
    path = None if root is None else root.joinpath(*parts)
    if path is None or not path.is_file():
        shown = "/".join(parts) if path is None else str(path)
        raise FileNotFoundError(f"no data file {shown} ({where}): pass --{option} PATH, or set $BPTT_DATA "
                                f"to the folder that holds {parts[0]}/")
    return str(path)


def percent(v) -> str:
    """A fraction as a percentage with one decimal: 0.932 -> "93.2%"."""
    return f"{100 * v:.1f}%"


def fixed_rng(seed: int) -> np.random.Generator:
    """The Generator of a fixed evaluation set (independent of the training seed)."""
    return np.random.default_rng(seed)


def _fmt(v):
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)
