"""Every plot function writes a non-empty PNG; bptt.plots imports matplotlib only when drawing."""
import subprocess
import sys

import numpy as np
import pytest

import bptt
from bptt import diagnose_report as report
from bptt import diagnostics as dg

pytest.importorskip("matplotlib")
from bptt import plots  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


def is_png(path):
    with open(path, "rb") as f:
        data = f.read()
    return data[:8] == PNG and len(data) > 5000


@pytest.fixture(scope="module")
def lag_and_sv():
    net, x, y = report.random_setup("uniform", "tanh", 8, steps=10, batch=3)
    return dg.lag_norms(net, x, y), dg.jacobian_singular_values(net, x)


def test_training_curves(tmp_path):
    rows = [{"step": s, "elapsed_s": 0.1 * s, "lr": 0.01, "tokens_per_s": 1e5,  # ignored
             "train_loss": 2.0 / (1 + s), "grad_norm": 1.0 + s % 3} for s in range(0, 50, 5)]
    for r in rows[::3]:
        r.update(val_loss=2.2 / (1 + r["step"]), val_accuracy=min(1.0, r["step"] / 40))
    rows.append({"step": 50, "train_loss": None, "note": "done"})  # missing / non-numeric: skipped
    assert plots.training_curves(rows, tmp_path / "loss.png") == tmp_path / "loss.png"
    assert is_png(tmp_path / "loss.png")
    assert is_png(plots.training_curves([{"step": 1, "loss": 1.0}, {"step": 2, "loss": 0.5}], tmp_path / "b.png"))
    with pytest.raises(ValueError, match="no loss"):
        plots.training_curves([{"step": 1, "lr": 0.1}], tmp_path / "c.png")


def test_diagnostic_figures(tmp_path, lag_and_sv):
    lag, sv = lag_and_sv
    assert is_png(plots.lag_heatmap(lag, tmp_path / "heat.png", title="t"))
    assert is_png(plots.gradient_decay(lag, tmp_path / "decay.png"))
    assert is_png(plots.gradient_decay({"a": lag, "b": lag}, tmp_path / "decay2.png"))
    assert is_png(plots.jacobian_spectrum(sv, tmp_path / "sv.png"))
    assert is_png(plots.jacobian_spectrum(sv[:, :, :1], tmp_path / "sv1.png"))  # H = 1
    W = np.random.default_rng(0).standard_normal((6, 6)) / 2
    assert is_png(plots.weight_spectrum(W, tmp_path / "spec.png"))


def test_experiment_figures(tmp_path):
    rows = [{"activation": a, "radius": r, "rate": r * s} for a, s in (("tanh", 0.8), ("sigmoid", 0.2))
            for r in (0.5, 1.0, 2.0)]
    assert is_png(plots.rate_vs_radius(rows, tmp_path / "rate.png"))
    assert is_png(plots.rate_vs_radius(rows, tmp_path / "rate2.png", references={"ρ": 1.0, "ρ/4": 0.25}))
    runs = {"plain": [{"step": 0, "loss": 1.0, "grad_norm": 3.0}, {"step": 1, "loss": float("nan"), "grad_norm": 1e300}],
            "clipped": [{"step": 0, "loss": 1.0, "grad_norm": 3.0}, {"step": 1, "loss": 0.5, "grad_norm": 2.0}]}
    assert is_png(plots.compare_runs(runs, tmp_path / "runs.png"))
    seeds = {"two seeds": [[{"step": s, "loss": 1 / (s + 1)} for s in range(50)],
                           [{"step": 0, "loss": 1.0}, {"step": 1, "loss": 150.0, "diverged": True}]]}
    assert is_png(plots.compare_runs(seeds, tmp_path / "seeds.png", keys=("loss",), xscale="symlog"))


def test_matplotlib_is_imported_only_when_plotting():
    code = "import sys, bptt.plots, bptt.diagnostics; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_jacobian_spectrum_of_a_long_sequence_draws_without_warnings(tmp_path):
    """T = 2444 with singular values that vanish after a few hundred lags (zeros, then columns of
    zeros): no RuntimeWarning reaches the user (an all-zero lag has no mean, min or max)."""
    import warnings

    T, B, H = 2444, 2, 5
    sv = 0.8 ** np.arange(T)[:, None, None] * np.linspace(1.0, 0.1, H) * np.ones((T, B, H))
    sv[300:] = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert is_png(plots.jacobian_spectrum(sv, tmp_path / "long.png"))


def test_loss_png_names_the_task_and_run_its_metric_and_labels_a_short_log_axis(tmp_path, monkeypatch):
    figures = []
    real = plots._save
    monkeypatch.setattr(plots, "_save", lambda fig, path, title: figures.append((fig, title)) or real(fig, path, title))
    r = bptt.train("addition", steps=40, eval_every=10, out=tmp_path / "myrun", progress=False,
                   model_options={"hidden_size": 4}, task_options={"test_bits": [8]})
    assert r.status == "done"
    (fig, title), = figures
    assert title == "addition: myrun"
    loss_ax, metric_ax, _ = fig.axes
    assert metric_ax.get_ylabel() == "val_acc"
    fig.canvas.draw()
    lo, hi = loss_ax.get_ylim()
    labels = [t.get_text() for t in loss_ax.get_yticklabels() if t.get_text() and lo <= t.get_position()[1] <= hi]
    assert hi / lo < 10 and len(labels) >= 3, (lo, hi, labels)  # a loss within one decade, labelled


def test_figures_are_written_atomically_never_through_a_link(tmp_path):
    outside = tmp_path / "outside.png"
    outside.write_bytes(b"keep")
    run = tmp_path / "run"
    run.mkdir()
    (run / "loss.png").symlink_to(outside)
    plots.training_curves([{"step": 1, "loss": 1.0}, {"step": 2, "loss": 0.5}], run / "loss.png")
    assert outside.read_bytes() == b"keep" and not (run / "loss.png").is_symlink() and is_png(run / "loss.png")


def test_the_spectrum_of_an_orthogonal_W_is_flat_not_a_staircase_of_rounding(tmp_path, monkeypatch):
    figures = []
    real = plots._save
    monkeypatch.setattr(plots, "_save", lambda fig, path, title: figures.append(fig) or real(fig, path, title))
    W = np.linalg.qr(np.random.default_rng(0).standard_normal((32, 32)))[0]
    s = np.linalg.svd(W, compute_uv=False)
    assert s[0] - s[-1] < 1e-13  # equal up to rounding
    plots.weight_spectrum(W, tmp_path / "spec.png")
    lo, hi = figures[0].axes[1].get_ylim()
    assert lo <= 1 / 3 + 1e-12 and hi >= 3 - 1e-12  # the axis spans decades, not 1e-15
