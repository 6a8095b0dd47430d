import json

import numpy as np
import pytest

from bptt.tasks import timeseries


@pytest.fixture(scope="module")
def airline(data_dir):
    return timeseries.load_csv(data_dir / "timeseries" / "airline-passengers.csv")


def test_airline_file_and_persistence_rmse(airline):
    assert airline.shape == (144,) and airline.dtype == np.float64
    assert airline[0] == 112 and airline[-1] == 432 and airline.sum() == 40363
    setup = timeseries.OneStepForecast(airline)
    assert setup.train_size == 96 and len(airline) - setup.train_size == 48
    assert round(setup.persistence_rmse(), 2) == 48.04  # the data README's number


@pytest.mark.parametrize("name, rmse", [("monthly-sunspots.csv", 18.40), ("daily-min-temperatures.csv", 2.624)])
def test_other_series_persistence_rmse(data_dir, name, rmse):
    setup = timeseries.OneStepForecast(timeseries.load_csv(data_dir / "timeseries" / name))
    assert setup.persistence_rmse() == pytest.approx(rmse, abs=0.005)


def test_test_rmse_scores_only_test_predictions_in_original_units(airline):
    setup = timeseries.OneStepForecast(airline)
    x, y = setup.full_sequence()
    assert x.shape == y.shape == (143, 1, 1)
    assert setup.test_rmse(y) == pytest.approx(0.0, abs=1e-9)
    assert setup.test_rmse(x) == pytest.approx(setup.persistence_rmse(), rel=1e-12)  # x[t] = previous value
    off = y.copy()
    off[:95] += 100.0  # wrong training-part predictions do not count
    off[95:] += 1.0 / setup.normaliser.std  # one passenger too many on every test point
    assert setup.test_rmse(off) == pytest.approx(1.0, rel=1e-9)


def test_normaliser_is_fitted_on_the_training_part_only(airline):
    setup = timeseries.OneStepForecast(airline)
    train = airline[:96]
    assert setup.normaliser.mean == pytest.approx(train.mean()) and setup.normaliser.std == pytest.approx(train.std())
    assert np.allclose(setup.normalised[:96].mean(), 0) and np.allclose(setup.normalised[:96].std(), 1)
    assert np.allclose(setup.normaliser.inverse(setup.normalised), airline)
    again = timeseries.Normaliser.from_dict(json.loads(json.dumps(setup.normaliser.to_dict())))
    assert np.array_equal(again.transform(airline), setup.normalised)


def test_train_sequence_and_windows_stay_in_the_training_part(airline):
    setup = timeseries.OneStepForecast(airline)
    x, y = setup.train_sequence()
    assert x.shape == y.shape == (95, 1, 1)
    assert np.array_equal(x[1:], y[:-1]) and np.array_equal(y[-1, 0], setup.normalised[95:96])
    wx, wy = setup.train_windows(12)
    assert wx.shape == wy.shape == (12, 84, 1)
    assert np.array_equal(wx[:, 0, 0], setup.normalised[:12])
    assert np.array_equal(wy[:, 83, 0], setup.normalised[84:96])
    hx, hy = setup.train_windows(12, holdout=20)  # the last 20 training values held out
    assert hx.shape == hy.shape == (12, 64, 1)
    assert np.array_equal(hx, wx[:, :64]) and np.array_equal(hy[:, 63, 0], setup.normalised[64:76])


def test_differences_forecast_the_previous_value_plus_the_predicted_change(airline):
    setup = timeseries.OneStepForecast(airline, difference=True)
    d = np.diff(airline)
    assert setup.lag == 1 and np.array_equal(setup.series, d) and setup.train_size == 96
    assert setup.normaliser.mean == pytest.approx(d[:95].mean())  # differences inside the training part only
    x, y = setup.full_sequence()
    assert x.shape == y.shape == (142, 1, 1)
    f = setup.forecasts(y)  # the true next differences give the values themselves
    assert np.isnan(f[:2]).all() and np.allclose(f[2:], airline[2:], rtol=0, atol=1e-9)
    assert setup.test_rmse(y) == pytest.approx(0.0, abs=1e-9)
    zero = np.full_like(y, -setup.normaliser.mean / setup.normaliser.std)  # a predicted change of 0
    assert setup.test_rmse(zero) == pytest.approx(setup.persistence_rmse(), rel=1e-12)
    tx, ty = setup.train_sequence()
    assert tx.shape == (94, 1, 1) and np.array_equal(ty[-1, 0], setup.normalised[94:95])  # d_95 = v_95 − v_94
    wx, wy = setup.train_windows(12)
    assert wx.shape == (12, 83, 1) and np.array_equal(wy[:, 82, 0], setup.normalised[83:95])


def test_recipe_with_differences_scores_forecasts_of_values(data_dir):
    from bptt import recipes

    recipe = recipes.make("timeseries", data=str(data_dir / "timeseries" / "airline-passengers.csv"), difference=True)

    class Oracle:  # predicts every next difference exactly
        def forward(self, x):
            return type("Out", (), {"y_hat": np.concatenate([x[1:], recipe.setup_.full_sequence()[1][-1:]])})

    assert recipe.evaluate(Oracle())["val_rmse"] == pytest.approx(0.0, abs=1e-9)
    report = recipe.report(Oracle())
    assert report["difference"] is True and report["test_rmse"] == pytest.approx(0.0, abs=1e-9)
    assert "RNN on first differences" in recipe.describe(report)[0]


def test_seasonal_differences_forecast_with_the_change_a_season_earlier(airline):
    setup = timeseries.OneStepForecast(airline, difference=True, season=12)
    d = np.diff(airline)
    assert setup.lag == 13 and np.array_equal(setup.series, d[12:] - d[:-12])  # (S1), exact on integers
    assert setup.describe() == "the first differences of the differences over 12 steps of the values"
    x, y = setup.full_sequence()
    assert x.shape == (130, 1, 1)
    f = setup.forecasts(y)  # the true series gives the values themselves
    assert np.isnan(f[:14]).all() and np.allclose(f[14:], airline[14:], rtol=0, atol=1e-9)
    zero = np.full_like(y, -setup.normaliser.mean / setup.normaliser.std)  # ŝ = 0 (S2): the seasonal-naive forecast
    assert setup.test_rmse(zero) == pytest.approx(setup.seasonal_naive_rmse(12), rel=1e-12)
    assert setup.seasonal_naive_rmse(12) == pytest.approx(15.3616, abs=1e-4)  # docs/results.md
    only = timeseries.OneStepForecast(airline, season=12)  # D = 1, d = 0: v̂_{t+1} = v_{t+1−12} + ŝ
    assert only.lag == 12 and np.array_equal(only.series, airline[12:] - airline[:-12])
    assert np.allclose(only.forecasts(only.full_sequence()[1])[13:], airline[13:], rtol=0, atol=1e-9)


def test_seasonal_naive_is_exact_on_a_trend_plus_a_yearly_pattern():
    t = np.arange(120)
    values = 3.0 * t + np.random.default_rng(0).integers(-9, 10, size=12)[t % 12]  # integers: exact differences
    setup = timeseries.OneStepForecast(values)
    assert setup.seasonal_naive_rmse(12) == pytest.approx(0.0, abs=1e-12)
    assert setup.seasonal_naive_rmse(5) > 0.1  # the wrong period misses the pattern
    with pytest.raises(ValueError, match="all equal"):  # nothing left to learn once both differences are taken
        timeseries.OneStepForecast(values, difference=True, season=12)


def test_recipe_with_a_season_reports_the_seasonal_naive_baseline(data_dir):
    from bptt import recipes

    recipe = recipes.make("timeseries", data=str(data_dir / "timeseries" / "airline-passengers.csv"),
                          difference=True, season=12)

    class Oracle:  # predicts the series exactly
        def forward(self, x):
            return type("Out", (), {"y_hat": np.concatenate([x[1:], recipe.setup_.full_sequence()[1][-1:]])})

    report = recipe.report(Oracle())
    assert report["test_rmse"] == pytest.approx(0.0, abs=1e-9) and report["season"] == 12
    assert report["seasonal_naive_rmse"] == pytest.approx(15.3616, abs=1e-4)
    line = recipe.describe(report)[0]
    assert "RNN on first differences of the differences over 12 steps" in line and "seasonal naive" in line
    assert "seasonal_naive_rmse" not in recipes.make("timeseries", data=recipe.options["data"]).report(Oracle())


def _csv(tmp_path, content: bytes):
    path = tmp_path / "series.csv"
    path.write_bytes(content)
    return path


def test_load_csv_reads_quoted_cells_crlf_and_other_columns(tmp_path):
    path = _csv(tmp_path, b'"Month","A","B"\r\n"1949-01",1.5,-2\r\n"1949-02","2e1",3')
    assert timeseries.load_csv(path).tolist() == [1.5, 20.0]
    assert timeseries.load_csv(path, column=2).tolist() == [-2.0, 3.0]


@pytest.mark.parametrize(
    "content, words",
    [
        (b'"Month","P"\n"1949-01",112\n"1949-02",abc\n', "series.csv, line 3: expected a finite number in column 1, got 'abc'"),
        (b'"Month","P"\n"1949-01",112\n"1949-02",\n', "line 3: expected a finite number in column 1, got ''"),
        (b'"Month","P"\n"1949-01",nan\n', "line 2: expected a finite number"),
        (b'"Month","P"\n"1949-01",112\n"1949-02"\n', "series.csv, line 3: expected at least 2 columns, got 1"),
        (b'"Month","P"\n"1949-01",112\n\n"1949-03",1\n', "line 3: expected at least 2 columns, got 0"),
        (b'"Month","P"\n"1949-01,112\n', "line 2: expected a CSV row"),
        (b'"Month","P"\n', "series.csv: expected a header row and at least one data row"),
        (b"", "series.csv: the file is empty"),
        (b'"Month","P"\n"1949-01",\xff\n', "series.csv, line 2: not valid UTF-8 at byte offset 22"),
    ],
)
def test_load_csv_rejects_malformed_files_naming_file_and_line(tmp_path, content, words):
    with pytest.raises(ValueError) as info:
        timeseries.load_csv(_csv(tmp_path, content))
    assert words in str(info.value)


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: timeseries.load_csv("x.csv", column=-1), ValueError, "column"),
        (lambda: timeseries.load_csv(1.0), TypeError, "path"),
        (lambda: timeseries.OneStepForecast([1.0, 2.0]), ValueError, "too few"),
        (lambda: timeseries.OneStepForecast(np.ones((5, 1))), ValueError, "values"),
        (lambda: timeseries.OneStepForecast([1.0, np.nan, 2, 3, 4]), ValueError, "finite"),
        (lambda: timeseries.OneStepForecast([1.0, 2, 3, 4], train_frac=1.5), ValueError, "train_frac"),
        (lambda: timeseries.OneStepForecast([5.0, 5, 5, 5, 6, 7]), ValueError, "the values are all equal"),
        (lambda: timeseries.OneStepForecast(np.arange(10.0)).test_rmse(np.zeros((9, 1))), ValueError, "y_pred"),
        (lambda: timeseries.OneStepForecast(np.arange(10.0)).test_rmse(np.zeros((8, 1, 1))), ValueError, "(9, 1, 1)"),
        (lambda: timeseries.OneStepForecast(np.arange(10.0)).train_windows(6), ValueError, "length"),
        (lambda: timeseries.OneStepForecast(np.arange(10.0)).train_windows(1, holdout=5), ValueError, "holdout"),
        (lambda: timeseries.OneStepForecast(np.arange(10.0)).train_windows(5, holdout=1), ValueError, "length"),
        (lambda: timeseries.OneStepForecast(np.arange(10.0), difference="yes"), ValueError, "difference"),
        (lambda: timeseries.OneStepForecast([1.0, 2, 4], train_frac=0.67, difference=True), ValueError, "too few"),
        (lambda: timeseries.OneStepForecast(np.arange(10.0), season=1), ValueError, "--difference"),
        (lambda: timeseries.OneStepForecast(np.arange(10.0), season=-2), ValueError, "season"),
        (lambda: timeseries.OneStepForecast(np.arange(10.0), season=2.0), TypeError, "season"),
        (lambda: timeseries.OneStepForecast(np.arange(20.0), season=12), ValueError, "at least 14 training values"),
        (lambda: timeseries.OneStepForecast(np.arange(20.0), season=10**12), ValueError, "too few"),  # no allocation
        (lambda: timeseries.OneStepForecast(np.arange(30.0)).seasonal_naive_rmse(20), ValueError, "period"),
        (lambda: timeseries.Normaliser(0.0, 0.0), ValueError, "std"),
        (lambda: timeseries.Normaliser("0", 1.0), ValueError, "mean"),
        (lambda: timeseries.Normaliser.from_dict({"mean": 1.0}), ValueError, "'std'"),
    ],
)
def test_bad_input_raises_a_clear_error(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value)
