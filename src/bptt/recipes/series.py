"""Recipe of one-step-ahead forecasting of a CSV series (timeseries), many-to-many regression."""
from __future__ import annotations

import os

import numpy as np

from ..tasks import timeseries
from .base import Recipe, default_data
from .registry import register
from .streams import EpochStream, TaskBatch


@register
class TimeSeries(Recipe):
    """The series' first ``train_frac`` is the training part (timeseries.OneStepForecast); its
    last ``val_frac`` is held out for validation (early stopping, best model) and the model
    trains on random windows of ``window`` steps inside the rest. Validation and test
    predictions come from one run of the model over the whole series from h_0 = 0.
    ``difference``: model the first differences (for a series with a trend); ``season`` P:
    model the differences over P steps (a pattern that repeats every P steps; timeseries (S1)).
    With a season the report adds the seasonal-naive forecast's RMSE, a baseline such a model
    must beat."""

    name = "timeseries"
    data_options = ("data",)
    summary = "one-step-ahead forecast of a CSV series (identity + ½ squared error); RMSE vs persistence"
    OPTIONS = {"data": None, "column": 1, "train_frac": 0.67, "val_frac": 0.2, "window": 12, "difference": False,
               "season": 0}
    train_defaults = {"steps": 3000, "batch_size": 16, "lr": 3e-3, "optimizer": "adam", "clip": 5.0,
                      "eval_every": 100, "patience": 10}
    model_defaults = {"hidden_size": 16}
    monitor = ("val_rmse", "min")

    def setup(self):
        data = self.options["data"]
        if data is None:
            data = default_data("data", "timeseries", "daily-min-temperatures.csv")
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
                                           o["difference"], o["season"])
            self.fit_end = s.train_size - max(1, int(round(o["val_frac"] * s.train_size)))  # a value index
            if not 1 <= o["window"] < self.fit_end - s.lag:
                raise ValueError(f"window must be in [1, {self.fit_end - s.lag - 1}] for this series, got {o['window']}")
            self._setup = s
        return self._setup

    def io(self):
        return {"input_size": 1, "output_size": 1, "output": "identity"}

    def stream(self, batch_size, rng):
        s = self.setup_  # (sets fit_end)
        x, y = s.train_windows(self.options["window"], holdout=s.train_size - self.fit_end)
        return EpochStream(x.shape[1], batch_size, rng, lambda starts: TaskBatch(x[:, starts], y[:, starts]))

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
                "difference": s.difference, "season": s.season, "series": s.describe(),
                **({"seasonal_naive_rmse": s.seasonal_naive_rmse(s.season)} if s.season else {})}

    def describe(self, report):
        series = report.get("series", "the values")
        model = "RNN" if series == "the values" else f"RNN on {series.removeprefix('the ')}"
        seasonal = (f", seasonal naive (the change {report['season']} steps earlier) {report['seasonal_naive_rmse']:.4g}"
                    if "seasonal_naive_rmse" in report else "")
        return [f"{report['data']}: test RMSE on the last {report['test']} of {report['n']} values "
                f"(original units): {model} {report['test_rmse']:.4g}, persistence (previous value) "
                f"{report['persistence_rmse']:.4g}{seasonal}"]

    def diagnostic_batch(self):
        x, y = self.setup_.train_sequence()
        return x, y, None, None

