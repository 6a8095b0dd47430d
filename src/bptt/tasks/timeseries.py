"""One-step-ahead forecasting of a univariate series from a CSV file (many-to-many regression).

``load_csv`` reads one numeric column of a CSV file with a header row. ``OneStepForecast``
fixes the classic set-up: the first ``train_size = int(train_frac * N)`` values (default
``train_frac=0.67``) are the training part and the rest the test part; a ``Normaliser``
(z-score) is fitted on the training part only. The model reads the normalised series at step
t and predicts it at t + 1: ``x`` and ``y`` are float (T, B, 1), with identity output +
squared error at every step. The series is the values themselves or, with ``difference=True``
and/or ``season=P``, the values differenced (Box & Jenkins' (1 − B)^d (1 − B^P)^D, d, D ∈ {0, 1};
B the backshift, B v_t = v_{t−1}):

    (S1)  s_t = Σ_{j=0..lag} a_j v_{t−j},   a(B) = (1 − B)^d (1 − B^P)^D,  a_0 = 1,  lag = d + P·D
    (S2)  v̂_{t+1} = k_{t+1} + ŝ_{t+1},      k_{t+1} = v_{t+1} − s_{t+1} = −Σ_{j≥1} a_j v_{t+1−j}

k_{t+1} holds only values up to v_t, so the forecast of each value is made after reading the
value before it. First differences (d = 1: v̂_{t+1} = v_t + d̂_{t+1}) keep a trending series
inside the range the training part showed; the seasonal difference (D = 1) removes a pattern
that repeats every P steps, and with both, ŝ = 0 is the seasonal-naive forecast
v̂_{t+1} = v_t + v_{t+1−P} − v_{t−P} (next step's change = the change P steps earlier),
``seasonal_naive_rmse``. The test score is the RMSE, in the original units, of the forecasts
of the test values; ``persistence_rmse`` is the baseline that predicts the previous value.

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
>>> OneStepForecast(np.array([1.0, 3.0, 2.0, 5.0, 4.0, 8.0]), season=2).series  # v_t − v_{t−2}
array([1., 2., 2., 3.])
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

    ``values`` float (N,) in original units; ``train_size = int(train_frac * N)`` (lag + 2 ..
    N - 1); ``difference`` (d) and ``season`` (P, 0 for none: D = 0) choose the series (S1).
    Attributes: ``values``, ``train_size``, ``difference``, ``season``, ``lag``, ``series``
    float (N - lag,) with ``series[i]`` = s at value ``i + lag``, known once that value is;
    ``normaliser`` (fitted on the part of the series inside the training part) and
    ``normalised``, the normalised series.
    """

    def __init__(self, values: object, train_frac: float = 0.67, difference: bool = False, season: int = 0) -> None:
        self.values = float_array(values, "values", ndim=1)
        train_frac = v.real("train_frac", train_frac, 0.0, 1.0, low_open=True)
        if not isinstance(difference, (bool, np.bool_)):
            raise ValueError(f"difference: expected True or False, got {difference!r}")
        self.difference = bool(difference)
        self.season = v.positive_int("season", season, 0)
        if self.season == 1:
            raise ValueError("season: expected 0 (none) or a period ≥ 2; a period of 1 is the first difference (difference=True, --difference)")
        self.lag = int(self.difference) + self.season
        self.train_size = int(train_frac * len(self.values))
        if not 2 + self.lag <= self.train_size < len(self.values):  # before a(B) is built: a season of 10**9 fails here
            raise ValueError(
                f"values: {len(self.values)} values are too few for train_frac={train_frac}; "
                f"expected at least {2 + self.lag} training values and 1 test value"
            )
        self.a = np.array([1.0])  # a(B)'s coefficients a_0 .. a_lag (S1)
        if self.difference:
            self.a = np.convolve(self.a, [1.0, -1.0])
        if self.season:
            self.a = np.convolve(self.a, np.r_[1.0, np.zeros(self.season - 1), -1.0])
        self.series = self._lagged(self.a)  # (S1)
        inside = self.series[: self.train_size - self.lag]
        if np.ptp(inside) == 0:
            raise ValueError(f"values: {self.describe()} are all equal ({inside[0]:g}) in the training part; "
                             f"expected a series that varies")
        self.normaliser = Normaliser.fit(inside)
        self.normalised = self.normaliser.transform(self.series)

    def describe(self) -> str:
        """(S1)'s series in words: 'the values', 'the first differences of the values', …"""
        ops = ["the first differences"] * self.difference + [f"the differences over {self.season} steps"] * bool(self.season)
        return " of ".join([*ops, "the values"])

    def _lagged(self, a: np.ndarray) -> np.ndarray:
        """Σ_j a_j v_{t−j} for t = lag .. N − 1: float (N - lag,)."""
        n = len(self.values)
        return sum(a_j * self.values[self.lag - j: n - j] for j, a_j in enumerate(a) if a_j)

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
        out[1 + self.lag:] = self.normaliser.inverse(pred[:, 0, 0]) + self._known()  # (S2)
        return out

    def _known(self) -> np.ndarray | float:
        """k of (S2) for values lag + 1 .. N − 1 (0.0 when the series is the values)."""
        if not self.lag:
            return 0.0
        return -self._lagged(np.r_[0.0, self.a[1:]])[1:]

    def test_rmse(self, y_pred: object) -> float:
        """RMSE in original units on the test part of the forecasts (``forecasts``) of the
        model's normalised predictions ``y_pred`` over ``full_sequence()``."""
        return _rmse(self.forecasts(y_pred)[self.train_size:], self.values[self.train_size:])

    def persistence_rmse(self) -> float:
        """RMSE on the test part of predicting each value by the previous one (original units)."""
        return _rmse(self.values[self.train_size - 1 : -1], self.values[self.train_size :])

    def seasonal_naive_rmse(self, period: int) -> float:
        """RMSE on the test part of v̂_{t+1} = v_t + v_{t+1−P} − v_{t−P} (the forecast of (S2)
        with d = 1, D = 1, P = ``period`` and ŝ = 0), original units; needs train_size > P."""
        period = v.positive_int("period", period, 1, self.train_size - 1)
        n, vals = self.train_size, self.values
        forecast = vals[n - 1:-1] + vals[n - period:len(vals) - period] - vals[n - period - 1:len(vals) - period - 1]
        return _rmse(forecast, vals[n:])


def _rmse(predicted: np.ndarray, target: np.ndarray) -> float:
    return float(np.sqrt(np.mean((predicted - target) ** 2)))
