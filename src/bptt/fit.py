"""``bptt.fit``: train an ``RNN`` or a ``Seq2Seq`` on your own NumPy arrays.

    net = bptt.RNN(input_size=D, hidden_size=64, output_size=K, cell="lstm")
    result = bptt.fit(net, x, y, lengths=lengths, validation=0.1, steps=2000, out="runs/mine")
    result.model, result.history[-1]["val_loss"], result.summary["best"]
    result = bptt.fit(net, x, y, lengths=lengths, validation=0.1, steps=4000, resume="runs/mine")

The data, N sequences, in any of the shapes ``RNN.loss_and_grad`` takes:
    x   (T, N, D) floats or (T, N) token ids, padded, with ``lengths`` (N,); or a list of N
        arrays (T_n, D) / (T_n,) of any lengths (padded here, lengths taken from them)
    y   (T, N) class ids or (T, N, K) floats, or a list of N arrays (T_n,) / (T_n, K);
        many-to-one (``mask="last"``): (N,) ids or (N, K) floats, one target per sequence
    mask  None (a loss at every valid step), "last", or a (T, N) array of weights
For a ``Seq2Seq``, x and y are lists of N id sequences (source, target without markers) and
``sos``/``eos`` name the decoder's start and end ids (teacher forcing: seq2seq.teacher_forcing).

``validation``: an (x, y) or (x, y, lengths) tuple in the same shapes, or a fraction in (0, 1)
of the N sequences held out (chosen with ``seed``); None evaluates on the training data. Each
epoch visits the N training sequences in a fresh order drawn from ``seed``; a batch is cut to
its longest sequence. Every ``eval_every`` steps the validation loss (and, for class ids,
accuracy) is logged; the lowest loss picks the best model, ``patience`` stops early.

Everything else is the trainer's (train.py): the progress bar, the NaN guard, clipping, the
optimizer and schedule, the run directory ``out`` (metrics.jsonl, summary.json, checkpoint.npz,
last.npz, loss.png; None: no files) and exact resume: ``resume=RUN`` continues the run with the
same arrays (their sha256 is saved with the run and checked).
"""
from __future__ import annotations

import hashlib

import numpy as np

from . import _validate as v
from . import distributed
from .batch import make_batch
from .model import RNN
from .runs import RunDir
from .seq2seq import Seq2Seq, pad_batch, teacher_forcing
from .recipes import EpochStream, Recipe, TaskBatch
from .train import Result, TrainConfig, Trainer, resume_trainer

EVAL_BATCH = 256  # sequences per evaluation pass (bounds the memory of the validation loss)


class Sequences:
    """N sequences as padded, time-major arrays: x (T, N, …), y, mask (None, "last" or
    (T, N)), lengths (N,) or None; for a Seq2Seq, the five arrays of its loss_and_grad."""

    def __init__(self, arrays: dict, n: int):
        self.arrays, self.n = arrays, n

    def take(self, idx) -> TaskBatch:
        """The sequences ``idx`` as one batch, cut to the longest of them."""
        a = self.arrays
        if "dec_in" in a:  # Seq2Seq: (S, N) source, (T, N) decoder arrays
            S, T = a["src_len"][idx].max(), a["dec_len"][idx].max()
            return TaskBatch(a["src"][:S, idx], a["dec_target"][:T, idx], lengths=a["src_len"][idx],
                         extra={"dec_in": a["dec_in"][:T, idx], "dec_len": a["dec_len"][idx]})
        lengths = None if a["lengths"] is None else a["lengths"][idx]
        T = a["x"].shape[0] if lengths is None else int(lengths.max())
        mask, last = a["mask"], isinstance(a["mask"], str)
        y = a["y"][idx] if last else a["y"][:T, idx]
        return TaskBatch(a["x"][:T, idx], y, mask if mask is None or last else mask[:T, idx], lengths)

    def digest(self) -> str:
        """sha256 over every array (shape, dtype and bytes): a resumed run checks it."""
        h = hashlib.sha256()
        for k in sorted(self.arrays):
            a = self.arrays[k]
            h.update(k.encode())
            if isinstance(a, np.ndarray):
                h.update(f"{a.shape}{a.dtype}".encode())
                h.update(np.ascontiguousarray(a).tobytes())
            else:
                h.update(repr(a).encode())
        return h.hexdigest()

    def split(self, fraction: float, rng) -> tuple["Sequences", "Sequences"]:
        """(train, validation): ⌈fraction·N⌉ sequences chosen by ``rng`` are held out."""
        n_val = int(np.ceil(fraction * self.n))
        if not 1 <= n_val < self.n:
            raise ValueError(f"validation={fraction} holds out {n_val} of {self.n} sequences; "
                             "both parts need at least one")
        perm = rng.permutation(self.n)
        return self._subset(np.sort(perm[n_val:])), self._subset(np.sort(perm[:n_val]))

    def _subset(self, idx) -> "Sequences":
        out = {}
        for k, a in self.arrays.items():
            if not isinstance(a, np.ndarray):
                out[k] = a
            elif a.ndim == 1 or (k == "y" and isinstance(self.arrays.get("mask"), str)):
                out[k] = a[idx]  # (N,)-first arrays
            else:
                out[k] = a[:, idx]
        return Sequences(out, len(idx))


def sequences(model, x, y, lengths=None, mask=None, sos=None, eos=None, what="x") -> Sequences:
    """Validate and pad the user's data for ``model`` (see the module docstring)."""
    if isinstance(model, Seq2Seq):
        if sos is None or eos is None:
            raise ValueError("a Seq2Seq needs sos= and eos=, the decoder's start and end token ids")
        if not isinstance(x, (list, tuple)) or not isinstance(y, (list, tuple)) or len(x) != len(y):
            raise ValueError(f"{what}: a Seq2Seq takes x and y as equally long lists of id sequences "
                             f"(source, target), got {type(x).__name__} and {type(y).__name__}")
        src, src_len = pad_batch(x)
        tgt, tgt_len = pad_batch([list(t) or [eos] for t in y])  # an empty target: eos alone below
        tgt_len[[not len(t) for t in y]] = 0
        dec_in, dec_target, dec_len = teacher_forcing(tgt, tgt_len, sos, eos)
        v.int_array(src, f"{what} (source ids)", src.shape, high=model.src_vocab_size)
        v.int_array(dec_target, "y (target ids, with sos/eos)", dec_target.shape, high=model.tgt_vocab_size)
        v.int_array(dec_in, "y (target ids, with sos/eos)", dec_in.shape, high=model.tgt_vocab_size)
        return Sequences({"src": src, "src_len": src_len, "dec_in": dec_in, "dec_target": dec_target,
                          "dec_len": dec_len}, len(x))
    if isinstance(x, (list, tuple)):
        if lengths is not None:
            raise ValueError(f"{what}: lengths come from the list of sequences; pass lengths=None")
        x, lengths = _pad([v.array(s, f"{what}[{i}]") for i, s in enumerate(x)], what)
        if isinstance(y, (list, tuple)) and mask != "last":
            y, _ = _pad([v.array(s, f"y[{i}]") for i, s in enumerate(y)], "y")
    x = v.array(x, what)
    if x.ndim < 2:
        raise ValueError(f"{what} must be (T, N, D) floats or (T, N) token ids, got shape {x.shape}")
    b = make_batch(model, x, y, mask, None, lengths)  # names any wrong shape, dtype or value
    if mask is not None and not isinstance(mask, str):
        mask = np.asarray(mask, dtype=np.float64)
    y = b.y[b.lengths - 1 if b.lengths is not None else -1, np.arange(b.B)] if isinstance(mask, str) else b.y
    return Sequences({"x": b.x, "y": y, "mask": mask, "lengths": b.lengths},
                     b.B)


def _pad(seqs: list, what: str) -> tuple[np.ndarray, np.ndarray]:
    """N arrays (T_n, …) -> (T, N, …) padded with zeros, lengths (N,)."""
    if not seqs:
        raise ValueError(f"{what} must hold at least one sequence")
    tails = {s.shape[1:] for s in seqs}
    if len(tails) != 1 or any(len(s) == 0 for s in seqs):
        raise ValueError(f"{what}: every sequence needs ≥ 1 step and the same feature shape; got {sorted(tails)}")
    lengths = np.array([len(s) for s in seqs], dtype=np.int64)
    out = np.zeros((int(lengths.max()), len(seqs)) + seqs[0].shape[1:], dtype=np.result_type(*seqs))
    for n, s in enumerate(seqs):
        out[:len(s), n] = s
    return out, lengths


class Arrays(Recipe):
    """The recipe of ``bptt.fit``: the user's sequences instead of a built-in task."""

    name = "arrays"
    summary = "your own arrays (bptt.fit)"

    def __init__(self, model, train: Sequences, validation: Sequences | None):
        self.model_class, self.options = type(model).__name__, {}
        self.train_data, self.validation = train, validation
        self.prefix = "val_" if validation is not None else "data_"  # data_: the training data itself
        self.monitor = (self.prefix + "loss", "min")
        self.classes = isinstance(model, Seq2Seq) or model.head.integer_targets

    def state(self) -> dict:
        return {"train_sha256": self.train_data.digest(),
                "validation_sha256": None if self.validation is None else self.validation.digest()}

    def stream(self, batch_size, rng):
        return EpochStream(self.train_data.n, batch_size, rng, self.train_data.take)

    def loss_and_grad(self, model, batch, h0, dropout_rng=None):
        if "dec_in" in batch.extra:  # a Seq2Seq has no dropout
            loss, grads = model.loss_and_grad(batch.x, batch.lengths, batch.extra["dec_in"], batch.y,
                                              batch.extra["dec_len"])
            return loss, grads, None
        return super().loss_and_grad(model, batch, h0, dropout_rng)

    def evaluate(self, model) -> dict:
        data = self.validation or self.train_data
        total, right, count = 0.0, 0, 0
        for s in range(0, data.n, EVAL_BATCH):
            b = data.take(np.arange(s, min(s + EVAL_BATCH, data.n)))
            n = b.x.shape[1]
            if "dec_in" in b.extra:
                total += n * model.loss(b.x, b.lengths, b.extra["dec_in"], b.y, b.extra["dec_len"])
                continue
            total += n * model.loss(b.x, b.y, b.mask, None, b.lengths)
            if self.classes:
                r, c = _correct(model, b)
                right, count = right + r, count + c
        out = {self.prefix + "loss": total / data.n}
        if count:
            out[self.prefix + "acc"] = right / count
        return out

    def diagnostic_batch(self):
        b = (self.validation or self.train_data).take(np.arange(min(16, self.train_data.n)))
        return b.x, b.y, b.mask, b.lengths


def _correct(model: RNN, b: TaskBatch) -> tuple[int, int]:
    """(argmax hits, steps that carry a loss) of an RNN with class-id targets on batch b."""
    pred = model.forward(b.x, lengths=b.lengths).y_hat.argmax(-1)  # (T, B)
    T, B = pred.shape
    lengths = np.full(B, T) if b.lengths is None else b.lengths
    if isinstance(b.mask, str):  # "last"
        return int((pred[lengths - 1, np.arange(B)] == b.y).sum()), B
    carries = np.arange(T)[:, None] < lengths[None, :]
    if b.mask is not None:
        carries &= b.mask > 0
    return int((pred == b.y)[carries].sum()), int(carries.sum())


def fit(model, x, y, *, lengths=None, mask=None, validation=None, sos=None, eos=None, steps=1000,
        batch_size=32, optimizer="adam", lr=1e-2, clip=5.0, schedule="constant", eval_every=100,
        patience=None, seed=0, minutes=None, out=None, resume=None, progress=True, plot=True,
        **train_options) -> Result:
    """Train ``model`` (an ``RNN`` or ``Seq2Seq``, updated in place) on the arrays x, y; return
    the trainer's ``Result`` (status, summary, the best model, ``history``: the evaluations).
    Arguments: the module docstring; ``train_options``: the other ``TrainConfig`` fields
    (momentum, betas, clip_value, warmup, …)."""
    if not isinstance(model, (RNN, Seq2Seq)):
        raise TypeError(f"model must be a bptt.RNN or bptt.Seq2Seq, got {type(model).__name__}")
    config = TrainConfig.from_dict({"steps": steps, "batch_size": batch_size, "optimizer": optimizer, "lr": lr,
                                    "clip": clip, "schedule": schedule, "eval_every": eval_every,
                                    "patience": patience, "seed": seed, "minutes": minutes,
                                    "progress": progress, **train_options})
    data = sequences(model, x, y, lengths, mask, sos, eos)
    val = None
    if isinstance(validation, float) and not isinstance(validation, bool):
        data, val = data.split(v.real("validation", validation, 0.0, 1.0, low_open=True, high_open=True),
                               np.random.default_rng(seed))
    elif validation is not None:
        if not isinstance(validation, tuple) or len(validation) not in (2, 3):
            raise TypeError("validation must be a fraction in (0, 1), an (x, y) or (x, y, lengths) tuple, or None")
        val = sequences(model, *validation[:2], validation[2] if len(validation) == 3 else None,
                        mask, sos, eos, what="validation x")
    recipe = Arrays(model, data, val)
    if resume is not None:
        run_dir, trainer = resume_trainer(resume, recipe=recipe, model=model, steps=steps, minutes=minutes,
                                          patience=patience, eval_every=eval_every, progress=progress)
    else:
        run_dir = None if out is None or distributed.world().rank else RunDir.create(out)  # MPI: rank 0 writes
        trainer = Trainer(recipe, model, config, run_dir)
    trainer.plot = plot
    return trainer.run()
