"""Recipes of timeseries (one-step-ahead forecasting) and dates (encoder–decoder translation)."""
from __future__ import annotations

import os

import numpy as np

from ..seq2seq import Seq2Seq
from . import dates, timeseries
from .recipes import Batch, EpochStream, Recipe, Stream, _fixed, _pct, register
from .recipes_data import data_dir


# -------------------------------------------------------------------- timeseries
@register
class TimeSeries(Recipe):
    """The series' first ``train_frac`` is the training part (timeseries.OneStepForecast); its
    last ``val_frac`` is held out for validation (early stopping, best model) and the model
    trains on random windows of ``window`` steps inside the rest. Validation and test
    predictions come from one run of the model over the whole series from h_0 = 0.
    ``difference``: model the first differences (for a series with a trend)."""

    name = "timeseries"
    summary = "one-step-ahead forecast of a CSV series (identity + ½ squared error); RMSE vs persistence"
    OPTIONS = {"data": None, "column": 1, "train_frac": 0.67, "val_frac": 0.2, "window": 12, "difference": False}
    train_defaults = {"steps": 3000, "batch_size": 16, "lr": 3e-3, "optimizer": "adam", "clip": 5.0,
                      "eval_every": 100, "patience": 10}
    model_defaults = {"hidden_size": 16}
    monitor = ("val_rmse", "min")

    def setup(self):
        data = self.options["data"]
        if data is None:
            data = str(data_dir() / "timeseries" / "daily-min-temperatures.csv")
        if isinstance(data, (list, tuple)):
            if len(data) != 1:
                raise ValueError(f"timeseries reads one CSV file, got {len(data)}")
            data = data[0]
        self.options["data"] = os.fspath(data)
        self._setup = None

    @property
    def setup_(self) -> timeseries.OneStepForecast:
        if self._setup is None:
            o = self.options
            s = timeseries.OneStepForecast(timeseries.load_csv(o["data"], o["column"]), o["train_frac"],
                                           o["difference"])
            self.fit_end = s.train_size - max(1, int(round(o["val_frac"] * s.train_size)))  # a value index
            if not 1 <= o["window"] < self.fit_end - s.lag:
                raise ValueError(f"window must be in [1, {self.fit_end - s.lag - 1}] for this series, got {o['window']}")
            self._setup = s
        return self._setup

    def io(self):
        return {"input_size": 1, "output_size": 1, "output": "identity"}

    def stream(self, batch_size, rng):
        s = self.setup_  # (sets fit_end)
        n = self.fit_end - s.lag  # the series up to the last fitted value
        z = s.normalised[:n]
        T = self.options["window"]
        steps = np.arange(T)[:, None]

        def fetch(starts):
            return Batch(z[steps + starts][:, :, None], z[steps + starts + 1][:, :, None])

        return EpochStream(n - T, batch_size, rng, fetch)

    def _predict(self, model):
        x, _ = self.setup_.full_sequence()
        return model.forward(x).y_hat.astype(np.float64)  # pred[t] is the forecast of value t+1

    def evaluate(self, model):
        s = self.setup_
        err = s.forecasts(self._predict(model))[self.fit_end: s.train_size] - s.values[self.fit_end: s.train_size]
        return {"val_rmse": float(np.sqrt(np.mean(err ** 2)))}

    def report(self, model):
        s = self.setup_
        n = len(s.values)
        return {"test_rmse": s.test_rmse(self._predict(model)), "persistence_rmse": s.persistence_rmse(),
                **self.evaluate(model), "n": n, "train": int(self.fit_end), "val": int(s.train_size - self.fit_end),
                "test": int(n - s.train_size), "data": os.path.basename(self.options["data"]),
                "difference": s.difference}

    def describe(self, report):
        model = "RNN on first differences" if report.get("difference") else "RNN"
        return [f"{report['data']}: test RMSE on the last {report['test']} of {report['n']} values "
                f"(original units): {model} {report['test_rmse']:.4g}, persistence (previous value) "
                f"{report['persistence_rmse']:.4g}"]

    def diagnostic_batch(self):
        x, y = self.setup_.train_sequence()
        return x, y, None, None


# -------------------------------------------------------------------- dates (seq2seq)
@register
class Dates(Recipe):
    """Training pairs are drawn from the training days; validation pairs (a fixed set) also
    from training days but never used for gradients; test pairs from the held-out test days
    (dates.sample's seeded partition). The metric is exact match of greedy decoding."""

    name = "dates"
    summary = 'encoder–decoder: "3rd of March 1999" -> 1999-03-03; exact match on held-out days'
    OPTIONS = {"split_seed": 0, "test_frac": 0.1, "val_size": 500, "test_size": 2000}
    # Measured (docs/results.md): unidirectional, Adam 3e-3, 4000 steps: 0% exact (the loss
    # plateaus once the format is learnt); unidirectional 1e-3, 8000 steps: 3.2%; bidirectional
    # 1e-3, 8000 steps: 9.6%, 24000 steps (these defaults, ~8 min): 93.2%.
    train_defaults = {"steps": 24000, "batch_size": 64, "lr": 1e-3, "optimizer": "adam", "clip": 5.0,
                      "eval_every": 2000}
    model_defaults = {"hidden_size": 128, "bidirectional": True}
    monitor = ("val_acc", "max")
    MAX_LEN = 12  # an ISO date has 10 characters

    def setup(self):
        self.vocab = dates.vocabulary()
        self.sos, self.eos = self.vocab.id(dates.SOS), self.vocab.id(dates.EOS)

    def _pairs(self, rng, n, split):
        return dates.sample(rng, n, split, split_seed=self.options["split_seed"], test_frac=self.options["test_frac"])

    def build_model(self, hidden_size=128, seed=0, num_layers=1, activation="tanh", init="uniform",
                    bidirectional=False, dtype="float32"):
        V = len(self.vocab)
        return Seq2Seq(V, V, hidden_size, num_layers=num_layers, bidirectional=bidirectional,
                       activation=activation, init=init, seed=seed, dtype=dtype)

    def model_from_config(self, model_class, config):
        if model_class != "Seq2Seq":
            raise ValueError(f"task dates trains a Seq2Seq, the checkpoint holds a {model_class}")
        return Seq2Seq.from_config(config)

    def encode(self, pairs) -> Batch:
        b = dates.encode_pairs(self.vocab, pairs)
        return Batch(b.source, b.decoder_target, lengths=b.source_lengths,
                     extra={"dec_in": b.decoder_input, "dec_len": b.target_lengths})

    def stream(self, batch_size, rng):
        return Stream(lambda r: self.encode(self._pairs(r, batch_size, "train")), rng)

    def loss_and_grad(self, model, batch, h0):
        loss, grads = model.loss_and_grad(batch.x, batch.lengths, batch.extra["dec_in"], batch.y,
                                          batch.extra["dec_len"])
        return loss, grads, None

    def _score(self, model, pairs):
        b = self.encode(pairs)
        loss = model.loss(b.x, b.lengths, b.extra["dec_in"], b.y, b.extra["dec_len"])
        out = model.translate(b.x, b.lengths, self.MAX_LEN, self.sos, self.eos)
        return loss, dates.exact_match([self.vocab.decode(ids) if ids else "" for ids in out], [t for _, t in pairs])

    def evaluate(self, model):
        loss, acc = self._score(model, self._pairs(_fixed(3), self.options["val_size"], "train"))
        return {"val_loss": loss, "val_acc": acc}

    def report(self, model):
        pairs = self._pairs(_fixed(4), self.options["test_size"], "test")
        loss, acc = self._score(model, pairs)
        examples = ["3rd of March 1999", "Sunday, 22 Nov 2026", "1999/3/3"]
        return {"test_acc": acc, "test_loss": loss, "test_size": len(pairs),
                "examples": dict(zip(examples, self.translate(model, examples)))}

    def describe(self, report):
        lines = [f"exact match on {report['test_size']} dates of held-out days: {_pct(report['test_acc'])} "
                 "(greedy decoding; a date is right only if all 10 characters are)"]
        lines += [f"  {src!r} -> {out}" for src, out in report["examples"].items()]
        return lines

    def translate(self, model, texts) -> list[str]:
        """Greedy translations of the strings ``texts`` into ISO dates."""
        if isinstance(texts, str):
            texts = [texts]
        b = dates.encode_pairs(self.vocab, [(t, "0") for t in texts])
        out = model.translate(b.source, b.source_lengths, self.MAX_LEN, self.sos, self.eos)
        return [self.vocab.decode(ids) if ids else "" for ids in out]
