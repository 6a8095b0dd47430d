"""One-step-ahead forecasting of a univariate series from a CSV file (many-to-many regression).

``load_csv`` reads one numeric column of a CSV file with a header row. ``OneStepForecast``
fixes the classic set-up: the first ``train_size = int(train_frac * N)`` values (default
``train_frac=0.67``) are the training part and the rest the test part; a ``Normaliser``
(z-score) is fitted on the training part only. The model reads the normalised series at step
t and predicts it at t + 1: ``x`` and ``y`` are float (T, B, 1), with identity output +
squared error at every step. The series is the values themselves, or with
``difference=True`` their first differences d_t = v_t − v_{t−1}, whose forecast becomes
v̂_{t+1} = v_t + d̂_{t+1} (a trending series leaves the range the training part showed; its
differences do not). The test score is the RMSE, in the original units, of the forecasts of
the test values, each made after reading the value before it; ``persistence_rmse`` is the
baseline that predicts the previous value.

Example: six values, the first four for training (mean 2, std 1)

>>> setup = OneStepForecast(np.array([1.0, 3.0, 1.0, 3.0, 5.0, 7.0]))
>>> setup.train_size, setup.normaliser.to_dict()
(4, {'mean': 2.0, 'std': 1.0})
>>> x, y = setup.train_sequence()
>>> x[:, 0, 0]
array([-1.,  1., -1.])
>>> y[:, 0, 0]
array([ 1., -1.,  1.])
>>> setup.persistence_rmse()  # predicts 3 for 5 and 5 for 7
2.0
>>> OneStepForecast(np.array([1.0, 3.0, 1.0, 3.0, 5.0, 7.0]), difference=True).series
array([ 2., -2.,  2.,  2.,  2.])
"""

from __future__ import annotations

import csv
import math
import numbers

import numpy as np

from .. import _validate as v
from ._checks import float_array
from ._io import as_path, line_error, read_lines

__all__ = ["Normaliser", "OneStepForecast", "load_csv"]


def load_csv(path: object, column: int = 1) -> np.ndarray:
    """The numbers in column ``column`` (0-based) of a CSV file with one header row: float64 (N,).

    Cells may be quoted (``"1949-01",112``). Raises ``ValueError`` naming the file and the
    1-based line for a missing column or a cell that is not a finite number, and for an empty
    file or a file without data rows.
    """
    path = as_path(path)
    column = v.positive_int("column", column, 0)
    lines = read_lines(path)
    if len(lines) < 2:
        raise ValueError(f"{path}: expected a header row and at least one data row, got {len(lines)} line(s)")
    values = []
    for number, line in enumerate(lines[1:], start=2):
        try:
            cells = next(csv.reader([line], strict=True), [])
        except csv.Error as exc:
            raise line_error(path, number, f"expected a CSV row ({exc})") from None
        if column >= len(cells):
            raise line_error(path, number, f"expected at least {column + 1} columns, got {len(cells)}")
        try:
            value = float(cells[column])
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise line_error(path, number, f"expected a finite number in column {column}, got {cells[column]!r}")
        values.append(value)
    return np.array(values)


class Normaliser:
    """z-score normalisation ``(v - mean) / std`` with statistics of the training part."""

    def __init__(self, mean: float, std: float) -> None:
        for name, value in (("mean", mean), ("std", std)):
            if not isinstance(value, numbers.Real) or isinstance(value, bool) or not math.isfinite(value):
                raise ValueError(f"{name}: expected a finite float, got {value!r}")
        if not std > 0:
            raise ValueError(f"std: expected a positive float, got {std!r}")
        self.mean, self.std = float(mean), float(std)

    @classmethod
    def fit(cls, values: object) -> "Normaliser":
        """Mean and (population) standard deviation of ``values`` (N,), N >= 2, not constant."""
        array = float_array(values, "values", ndim=1)
        if array.size < 2 or np.ptp(array) == 0:
            raise ValueError("values: expected at least two values that are not all equal")
        return cls(float(array.mean()), float(array.std()))

    def transform(self, values: object) -> np.ndarray:
        """``(values - mean) / std``, any shape."""
        return (float_array(values, "values") - self.mean) / self.std

    def inverse(self, values: object) -> np.ndarray:
        """``values * std + mean``, any shape: back to the original units."""
        return float_array(values, "values") * self.std + self.mean

    def to_dict(self) -> dict:
        """A JSON-able dict ``{"mean": float, "std": float}`` for ``from_dict``."""
        return {"mean": self.mean, "std": self.std}

    @classmethod
    def from_dict(cls, data: object) -> "Normaliser":
        """The normaliser saved by ``to_dict``."""
        if not isinstance(data, dict) or set(data) != {"mean", "std"}:
            raise ValueError("data: expected a dict with exactly the keys 'mean' and 'std'")
        return cls(data["mean"], data["std"])


class OneStepForecast:
    """The train/test split, normalisation and scoring of one-step-ahead forecasting.

    ``values`` float (N,) in original units; ``train_size = int(train_frac * N)`` (2 .. N-1,
    3 .. N-1 with ``difference``). Attributes: ``values``, ``train_size``, ``difference``,
    ``series`` float (N - lag,), the values or (``difference``, lag 1) their differences, with
    ``series[i]`` known once value ``i + lag`` is; ``normaliser`` (fitted on the part of the
    series inside the training part) and ``normalised``, the normalised series.
    """

    def __init__(self, values: object, train_frac: float = 0.67, difference: bool = False) -> None:
        self.values = float_array(values, "values", ndim=1)
        train_frac = v.real("train_frac", train_frac, 0.0, 1.0, low_open=True)
        if not isinstance(difference, (bool, np.bool_)):
            raise ValueError(f"difference: expected True or False, got {difference!r}")
        self.difference = bool(difference)
        self.lag = int(self.difference)
        self.train_size = int(train_frac * len(self.values))
        if not 2 + self.lag <= self.train_size < len(self.values):
            raise ValueError(
                f"values: {len(self.values)} values are too few for train_frac={train_frac}; "
                f"expected at least {2 + self.lag} training values and 1 test value"
            )
        self.series = np.diff(self.values) if self.difference else self.values
        self.normaliser = Normaliser.fit(self.series[: self.train_size - self.lag])
        self.normalised = self.normaliser.transform(self.series)

    def train_sequence(self) -> tuple[np.ndarray, np.ndarray]:
        """The training part as one sequence: ``x``, ``y`` float (train_size - lag - 1, 1, 1),
        ``y[t] = x[t + 1]``; no test value appears in it."""
        z = self.normalised[: self.train_size - self.lag, None, None]
        return z[:-1].copy(), z[1:].copy()

    def train_windows(self, length: int, holdout: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """All windows of ``length`` steps inside the training part but its last ``holdout``
        values (kept for validation), as one batch: ``x``, ``y`` float (length, n - length, 1),
        n = train_size - lag - holdout; window b reads normalised series b .. b + length - 1
        and predicts b + 1 .. b + length."""
        holdout = v.positive_int("holdout", holdout, 0, self.train_size - self.lag - 2)
        n = self.train_size - self.lag - holdout
        length = v.positive_int("length", length, 1, n - 1)
        z = self.normalised[:n]
        starts = np.arange(n - length)
        steps = np.arange(length)[:, None]
        return z[steps + starts][:, :, None], z[steps + starts + 1][:, :, None]

    def full_sequence(self) -> tuple[np.ndarray, np.ndarray]:
        """The whole series as one sequence, for running the model over train and test
        parts: ``x``, ``y`` float (N - lag - 1, 1, 1), ``y[t] = x[t + 1]``."""
        z = self.normalised[:, None, None]
        return z[:-1].copy(), z[1:].copy()

    def forecasts(self, y_pred: object) -> np.ndarray:
        """Forecasts in original units, float (N,): entry i is the forecast of ``values[i]``
        made from the values before it (NaN for the first 1 + lag, which have none).
        ``y_pred`` float (N - lag - 1, 1, 1): the model's normalised predictions over
        ``full_sequence()``."""
        pred = float_array(y_pred, "y_pred", ndim=3)
        expected = (len(self.series) - 1, 1, 1)
        if pred.shape != expected:
            raise ValueError(f"y_pred: expected shape {expected} (predictions over full_sequence()), got {pred.shape}")
        out = np.full(len(self.values), np.nan)
        out[1 + self.lag:] = self.normaliser.inverse(pred[:, 0, 0])  # series[i + 1] for i = 0 … : value i + 1 + lag
        if self.difference:
            out[2:] += self.values[1:-1]  # v̂_{t+1} = v_t + d̂_{t+1}
        return out

    def test_rmse(self, y_pred: object) -> float:
        """RMSE in original units on the test part of the forecasts (``forecasts``) of the
        model's normalised predictions ``y_pred`` over ``full_sequence()``."""
        return _rmse(self.forecasts(y_pred)[self.train_size:], self.values[self.train_size:])

    def persistence_rmse(self) -> float:
        """RMSE on the test part of predicting each value by the previous one (original units)."""
        return _rmse(self.values[self.train_size - 1 : -1], self.values[self.train_size :])


def _rmse(predicted: np.ndarray, target: np.ndarray) -> float:
    return float(np.sqrt(np.mean((predicted - target) ** 2)))
