"""bptt.diagnostics against direct computation: explicit Jacobian products, W = αI, hand-made
states, numpy's eigenvalues."""
import math

import numpy as np
import pytest

import bptt
from bptt import diagnose_report
from bptt import diagnose_report as report
from bptt import diagnostics as dg

ACTS = ("tanh", "sigmoid", "relu", "identity")


def small(activation="tanh", T=6, B=3, D=2, H=4, K=3, seed=0, scale=1.5):
    net = bptt.RNN(D, H, K, activation=activation, seed=seed, dtype=np.float64)
    net.params["W"] *= scale  # away from tiny gradients, so the comparison means something
    rng = np.random.default_rng(seed + 10)
    return net, rng.standard_normal((T, B, D)), rng.integers(0, K, size=(T, B))


def explicit_lag_norms(net, x, y):
    """[t, k, b] = ‖∂L_t(b)/∂h_k(b)‖, with ∂L_t/∂h_t written out for softmax + cross-entropy and
    the Jacobian product ∂h_t/∂h_k = J_t J_{t−1} ⋯ J_{k+1}, J_j = diag(f'(z_j)) W, built as H × H
    matrices (f' from z, recomputed here, not from the library)."""
    p = net.params
    T, B, _ = x.shape
    H = p["W"].shape[0]
    f = {"tanh": np.tanh, "sigmoid": lambda z: 1 / (1 + np.exp(-z)), "relu": lambda z: np.maximum(z, 0),
         "identity": lambda z: z}[net.activation]
    eps = 1e-6
    h, z = np.zeros((T + 1, B, H)), np.zeros((T, B, H))
    for t in range(T):
        z[t] = x[t] @ p["U"].T + h[t] @ p["W"].T + p["b"]
        h[t + 1] = f(z[t])
    fprime = (f(z + eps) - f(z - eps)) / (2 * eps) if net.activation != "relu" else (z > 0).astype(float)
    out = np.full((T, T, B), np.nan)
    for b in range(B):
        for t in range(T):
            o = p["V"] @ h[t + 1, b] + p["c"]
            e = np.exp(o - o.max())
            g = (e / e.sum() - np.eye(len(o))[y[t, b]]) @ p["V"]  # ∂L_t/∂h_t
            P = np.eye(H)
            for k in range(t, -1, -1):  # P = ∂h_t/∂h_k (0-based state indices)
                out[t, k, b] = np.linalg.norm(g @ P)
                P = P @ (np.diag(fprime[k, b]) @ p["W"])
    return out


@pytest.mark.parametrize("activation", ACTS)
def test_lag_norms_equal_explicit_jacobian_products(activation):
    net, x, y = small(activation)
    lag = dg.lag_norms(net, x, y)
    want = explicit_lag_norms(net, x, y)
    np.testing.assert_allclose(lag.per_sequence, want, rtol=1e-8, atol=1e-14)
    np.testing.assert_allclose(lag.norms, np.mean(want, axis=-1), rtol=1e-8, atol=1e-14)
    T = x.shape[0]
    for lag_ in range(T):  # pooled over every (t, k = t − lag, b)
        pairs = np.stack([want[t, t - lag_] for t in range(lag_, T)])
        rel = np.stack([want[t, t - lag_] / want[t, t] for t in range(lag_, T)])
        assert lag.by_lag[lag_] == pytest.approx(pairs.mean(), rel=1e-8)
        assert lag.relative_by_lag[lag_] == pytest.approx(rel.mean(), rel=1e-8)
    assert np.isnan(lag.norms[np.triu_indices(T, 1)]).all()


def test_mask_and_lengths_only_choose_which_steps_count():
    net, x, y = small("tanh", T=5, B=3)
    full = dg.lag_norms(net, x, y).per_sequence
    mask = np.ones((5, 3))
    mask[1, 0] = 0
    mask[3, 2] = 2.5  # a weight does not change ∂L_t/∂h_k: L_t is the unweighted step loss
    masked = dg.lag_norms(net, x, y, mask=mask).per_sequence
    assert np.isnan(masked[1, :, 0]).all()
    keep = ~np.isnan(masked)
    np.testing.assert_allclose(masked[keep], full[keep], rtol=1e-12)
    lengths = np.array([5, 3, 2])
    short = dg.lag_norms(net, x, y, lengths=lengths).per_sequence
    for b, n in enumerate(lengths):
        assert np.isnan(short[n:, :, b]).all()
        np.testing.assert_allclose(short[:n, :n, b], full[:n, :n, b], rtol=1e-12)
    last = dg.lag_norms(net, x, y[-1], mask="last")  # many-to-one: only t = T − 1 counts
    assert np.isnan(last.norms[:-1]).all() and np.isfinite(last.norms[-1]).all()


@pytest.mark.parametrize("alpha", [0.7, 1.0, 1.3])
def test_linear_rnn_with_W_alpha_I_decays_at_exactly_alpha(alpha):
    net = bptt.RNN(3, 5, 2, activation="identity", output="identity", seed=1, dtype=np.float64)
    net.params["W"] = alpha * np.eye(5)
    rng = np.random.default_rng(0)
    T = 12
    lag = dg.lag_norms(net, rng.standard_normal((T, 4, 3)), rng.standard_normal((T, 4, 2)))
    np.testing.assert_allclose(lag.relative_by_lag, alpha ** np.arange(T), rtol=1e-12)
    assert lag.rate == pytest.approx(alpha, rel=1e-12)
    assert lag.scale == pytest.approx(1.0, rel=1e-10)


def test_summary_states_the_rate_in_words():
    net = bptt.RNN(3, 5, 2, activation="identity", output="identity", seed=1, dtype=np.float64)
    net.params["W"] = 0.5 * np.eye(5)
    rng = np.random.default_rng(0)
    rep = report.analyse(net, rng.standard_normal((25, 2, 3)), rng.standard_normal((25, 2, 2)), horizon=10)
    first = rep.text.splitlines()[1]
    assert first == "gradient shrinks ×0.5 per step; after 10 steps it is 9.8e-4 of its size (measured: 9.8e-4)"
    assert "spectral radius ρ = 0.5" in rep.text and "must vanish" in rep.text
    net.params["W"] = 1.5 * np.eye(5)
    rep = report.analyse(net, rng.standard_normal((25, 2, 3)), rng.standard_normal((25, 2, 2)), horizon=10)
    assert "gradient grows ×1.5 per step; after 10 steps it is 58× its size" in rep.text


def test_fit_rate():
    lags = np.arange(10)
    assert dg.fit_rate(3 * 0.8 ** lags) == pytest.approx((0.8, 3.0), rel=1e-12)
    with_gaps = 0.5 ** lags
    with_gaps[[2, 5]] = [np.nan, 0.0]  # skipped
    assert dg.fit_rate(with_gaps)[0] == pytest.approx(0.5, rel=1e-12)
    assert all(math.isnan(v) for v in dg.fit_rate([1.0, np.nan, 0.0]))


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_jacobian_singular_values_equal_explicit_products(activation):
    net, x, _ = small(activation, T=5, B=2)
    sv = dg.jacobian_singular_values(net, x)
    h = net.forward(x).h  # (T, B, H)
    fp = 1 - h ** 2 if activation == "tanh" else (h > 0).astype(float)
    T, B, H = h.shape
    assert sv.shape == (T, B, H)
    for b in range(B):
        P = np.eye(H)
        for lag in range(T):
            np.testing.assert_allclose(sv[lag, b], np.linalg.svd(P, compute_uv=False), rtol=1e-10, atol=1e-15)
            P = P @ (np.diag(fp[T - 1 - lag, b]) @ net.params["W"])
    assert dg.jacobian_singular_values(net, x, max_sequences=1).shape == (T, 1, H)


def test_spectral_radius_and_largest_singular_value():
    rng = np.random.default_rng(3)
    for n in (1, 2, 7, 30):
        W = rng.standard_normal((n, n))
        assert dg.spectral_radius(W) == pytest.approx(np.abs(np.linalg.eigvals(W)).max(), rel=1e-12)
        assert dg.max_singular_value(W) == pytest.approx(np.linalg.svd(W, compute_uv=False)[0], rel=1e-12)
    R = np.array([[0.0, -2.0], [2.0, 0.0]])  # rotation × 2: eigenvalues ±2i
    assert dg.spectral_radius(R) == pytest.approx(2.0)
    N = np.array([[0.0, 5.0], [0.0, 0.0]])  # nilpotent: ρ = 0 but σ_max = 5
    assert dg.spectral_radius(N) == 0.0 and dg.max_singular_value(N) == pytest.approx(5.0)
    with pytest.raises(ValueError, match="square"):
        dg.spectral_radius(np.ones((2, 3)))


def test_saturation_fraction_on_hand_made_states():
    assert dg.saturation_fraction([0.99, 0.5, -0.97, 0.0], "tanh") == 0.5
    assert dg.saturation_fraction([0.94, -0.94], "tanh") == 0.0  # 1 − 0.94² = 0.116 > 0.1
    assert dg.saturation_fraction([0.01, 0.5, 0.99, 0.9], "sigmoid") == 0.5
    assert dg.saturation_fraction([0.0, 0.0, 1.0, 2.0], "relu") == 0.5
    assert dg.saturation_fraction([0.0, 5.0, -7.0], "identity") == 0.0
    h = np.array([[[0.999, 0.0]], [[0.999, 0.999]]])  # (T=2, B=1, H=2)
    assert dg.saturation_fraction(h, "tanh") == 0.75
    assert dg.saturation_fraction(h, "tanh", active=[[True], [False]]) == 0.5
    assert dg.saturation_fraction([0.5, 0.9], "tanh", threshold=0.5) == 0.5  # 1 − 0.81 < 0.5
    with pytest.raises(ValueError, match="activation"):
        dg.saturation_fraction([0.5], "gelu")


def test_global_grad_norm_and_update_ratios():
    grads = {"W": np.full((2, 2), 1.0), "b": np.array([3.0, 4.0])}
    assert dg.global_grad_norm(grads) == pytest.approx(math.sqrt(4 + 25))
    params = {"W": np.full((2, 2), 2.0), "b": np.zeros(2)}
    r = dg.update_ratios(params, grads, lr=0.1)
    assert r["W"] == pytest.approx(0.1 * 2 / 4) and r["b"] == math.inf
    before = {k: p.copy() for k, p in params.items()}
    params["W"] -= 0.01 * grads["W"]  # the step an optimizer applied
    r = dg.update_ratios(params, before=before)
    assert r["W"] == pytest.approx(0.02 / np.linalg.norm(params["W"])) and r["b"] == 0.0
    assert dg.update_ratios(params, {"W": grads["W"]}) == {"W": pytest.approx(2 / np.linalg.norm(params["W"]))}
    with pytest.raises(ValueError, match="exactly one"):
        dg.update_ratios(params)
    with pytest.raises(ValueError, match="shape"):
        dg.update_ratios(params, {"W": np.ones(3)})
    net, x, y = small()
    _, g = net.loss_and_grad(x, y)
    assert dg.global_grad_norm(g) == pytest.approx(math.sqrt(sum(np.sum(a ** 2) for a in g.values())))


def test_only_single_layer_unidirectional_models():
    x, y = np.zeros((3, 2, 2)), np.zeros((3, 2), dtype=int)
    for kw in ({"num_layers": 2}, {"bidirectional": True}):
        net = bptt.RNN(2, 3, 2, **kw)
        with pytest.raises(ValueError, match="single-layer unidirectional"):
            dg.lag_norms(net, x, y)
        with pytest.raises(ValueError, match="single-layer unidirectional"):
            dg.jacobian_singular_values(net, x)


def test_float32_model_is_measured_in_float64():
    net, x, y = small("tanh")
    a = dg.lag_norms(net.astype(np.float32), x, y)
    b = dg.lag_norms(net.astype(np.float32).astype(np.float64), x, y)
    np.testing.assert_array_equal(a.per_sequence, b.per_sequence)
    assert a.per_sequence.dtype == np.float64


def test_random_setup_sets_the_spectral_radius():
    net, x, y = report.random_setup("orthogonal", "relu", 16, steps=7, batch=3, radius=1.7, seed=4)
    assert dg.spectral_radius(net.params["W"]) == pytest.approx(1.7)
    assert x.shape == (7, 3, 8) and y.shape == (7, 3) and net.activation == "relu"
    with pytest.raises(ValueError, match="radius"):
        report.random_setup(radius=-1.0)


def test_diagnose_writes_figures_and_summary(tmp_path):
    pytest.importorskip("matplotlib")
    net, x, y = small("tanh", T=8, B=4)
    out = tmp_path / "diag"
    text = report.diagnose(net, x, y, out, horizon=5)
    for name in report.FIGURES:
        data = (out / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    assert (out / "summary.txt").read_text(encoding="utf-8") == text
    assert "per step" in text and "spectral radius" in text
    text = report.run_diagnose(tmp_path / "cli", init="identity", activation="relu", hidden=8, steps=10, batch=3)
    assert text.startswith("relu RNN, H=8, init=identity; T=10, B=3 (random batch)")
    assert (tmp_path / "cli" / "gradient_decay.png").stat().st_size > 0


# ----------------------------------------------------------------------------- gated cells
GATED = {"lstm": {"cell": "lstm"}, "lstm-proj": {"cell": "lstm", "proj_size": 3}, "gru": {"cell": "gru"},
         "gru-cho": {"cell": "gru", "reset_after": False}}


def gated(case, T=6, B=3, D=2, H=4, K=3, seed=0):
    net = bptt.RNN(D, H, K, seed=seed, dtype=np.float64, **GATED[case])
    net.params["W"] *= 2.0  # away from tiny gradients
    rng = np.random.default_rng(seed + 10)
    return net, rng.standard_normal((T, B, D)), rng.integers(0, K, size=(T, B))


def gated_lag_norms_by_backward(net, x, y, lengths=None):
    """[t, k, b] = ‖∂L_t(b)/∂h_k(b)‖ from the cell's full ``backward`` (not step_back): the layer
    rerun from the state after k + 1 steps over x[k+1:], G nonzero at the source step alone
    (∂L_t/∂h_t written out for softmax + cross-entropy); its dstate0 is ∂L_t/∂state_k."""
    from bptt.batch import make_inputs

    p, cell = net.layer_params(0, 0), net.cell
    inp = make_inputs(net, x, None, lengths)
    cache = net.run(inp).caches[0]
    h = cache.h  # (T+1, B, P|H)
    T, B = x.shape[:2]
    out = np.full((T, T, B), np.nan)
    for b in range(B):
        for t in range(T):
            if inp.active is not None and not inp.active[t, b]:
                continue
            o = p_head = net.params["V"] @ h[t + 1, b] + net.params["c"]
            e = np.exp(o - o.max())
            g = (e / e.sum() - np.eye(len(p_head))[y[t, b]]) @ net.params["V"]  # ∂L_t/∂h_t
            out[t, t, b] = np.linalg.norm(g)
            for k in range(t):  # state index k = h_{k+1}
                state = tuple(s[b:b + 1] for s in cell.state_at(cache, k + 1))
                act = None if inp.active is None else inp.active[k + 1:t + 1, b:b + 1]
                _, sub, _ = cell.forward(x[k + 1:t + 1, b:b + 1], state, p, act)
                G = np.zeros((t - k, 1, len(g)))
                G[-1, 0] = g
                _, _, d0 = cell.backward(sub, G, None, p, False)
                out[t, k, b] = np.linalg.norm(d0[0])
    return out


@pytest.mark.parametrize("case", GATED)
def test_gated_lag_norms_equal_the_cells_backward(case):
    net, x, y = gated(case)
    lengths = np.array([6, 4, 2])
    for ln in (None, lengths):
        lag = dg.lag_norms(net, x, y, lengths=ln)
        want = gated_lag_norms_by_backward(net, x, y, ln)
        np.testing.assert_allclose(lag.per_sequence, want, rtol=1e-10, atol=1e-15)
    assert np.isfinite(lag.rate) and lag.relative_by_lag[0] == 1.0


@pytest.mark.parametrize("case", GATED)
def test_gated_jacobian_singular_values_equal_central_differences(case):
    """sv[l, b] against the singular values of ∂h_T/∂h_{T−l} by central differences of the cell's
    forward from the state after T − l steps (h perturbed, an LSTM's c held fixed)."""
    from bptt.batch import make_inputs

    net, x, _ = gated(case, T=5, B=2)
    sv = dg.jacobian_singular_values(net, x)
    p, cell = net.layer_params(0, 0), net.cell
    cache = net.run(make_inputs(net, x, None, None)).caches[0]
    T, B, Hh = sv.shape
    assert (T, B, Hh) == (5, 2, net.state_width)
    eps = 1e-6
    for b in range(B):
        for lag in range(1, T):
            start = tuple(s[b:b + 1] for s in cell.state_at(cache, T - lag))
            J = np.empty((Hh, Hh))
            for j in range(Hh):
                ends = []
                for sign in (1, -1):
                    s0 = tuple(s.copy() for s in start)
                    s0[0][0, j] += sign * eps
                    ends.append(cell.forward(x[T - lag:, b:b + 1], s0, p, None)[2][0][0])
                J[:, j] = (ends[0] - ends[1]) / (2 * eps)
            np.testing.assert_allclose(sv[lag, b], np.linalg.svd(J, compute_uv=False), rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(sv[0], 1.0)


def test_carry_gate_and_its_saturation():
    net, x, _ = gated("lstm", T=4, B=2)
    H = net.hidden_size
    h = net.forward(x).h
    p = net.params
    h_prev = np.concatenate([np.zeros((1, 2, H)), h[:-1]])
    a_f = x @ p["U"][H:2 * H].T + h_prev @ p["W"][H:2 * H].T + p["b"][H:2 * H]
    np.testing.assert_allclose(dg.carry_gate(net, x), 1 / (1 + np.exp(-a_f)), rtol=1e-12)
    net, x, _ = gated("gru", T=4, B=2)
    h = net.forward(x).h
    p = net.params
    h_prev = np.concatenate([np.zeros((1, 2, H)), h[:-1]])
    a_z = x @ p["U"][H:2 * H].T + h_prev @ p["W"][H:2 * H].T + p["b"][H:2 * H]
    z = dg.carry_gate(net, x, lengths=np.array([4, 2]))
    np.testing.assert_allclose(z[:, 0], 1 / (1 + np.exp(-a_z[:, 0])), rtol=1e-12)
    assert np.isnan(z[2:, 1]).all() and np.isfinite(z[:2, 1]).all()
    assert dg.gate_saturation([0.01, 0.5, 0.99, 0.98, np.nan]) == (0.25, 0.5)  # NaN not counted
    assert dg.gate_saturation([0.03, 0.97]) == (0.0, 0.0)  # 0.03·0.97 = 0.029 > 0.025
    with pytest.raises(ValueError, match="carry_gate needs a gated cell"):
        dg.carry_gate(small()[0], np.zeros((2, 1, 2)))


def test_max_lag_windows_the_lags():
    net, x, y = gated("lstm", T=8)
    full = dg.lag_norms(net, x, y)
    win = dg.lag_norms(net, x, y, max_lag=3)
    assert len(win.by_lag) == 4 and len(full.by_lag) == 8
    t, k = np.tril_indices(8)
    near = t - k <= 3
    np.testing.assert_array_equal(win.per_sequence[t[near], k[near]], full.per_sequence[t[near], k[near]])
    assert np.isnan(win.per_sequence[t[~near], k[~near]]).all()
    np.testing.assert_array_equal(win.relative_by_lag, full.relative_by_lag[:4])


def test_summary_extrapolates_from_the_fitted_rate():
    """The first line's two numbers agree (rate^horizon), whatever the fit's intercept; a decay
    that is not geometric is said to be so (issue 13: '×0.742 per step … 3.5× its size')."""
    net = bptt.RNN(3, 5, 2, activation="identity", output="identity", seed=1, dtype=np.float64)
    net.params["W"] = 0.5 * np.eye(5)
    rng = np.random.default_rng(0)
    rep = report.analyse(net, rng.standard_normal((25, 2, 3)), rng.standard_normal((25, 2, 2)), horizon=10)
    lags = np.arange(25.0)
    bent = np.where(lags < 5, 1.0, 0.742 ** (lags - 5) * 3.0)  # a plateau, then a decay: scale ≫ 1
    bent[0] = 1.0
    rate, scale = dg.fit_rate(bent)
    assert scale > 2
    rep.lag = dg.LagNorms(rep.lag.per_sequence, rep.lag.norms, rep.lag.relative, bent, bent, rate, scale)
    text = report.summary_text(rep, horizon=20, title="")
    first = text.splitlines()[0]
    assert first.startswith(f"gradient shrinks ×{rate:.3g} per step; after 20 steps it is "
                            f"{diagnose_report._sci(rate ** 20)} of its size")
    assert "not geometric" not in text  # measured 0.742^15·3 = 0.034 against rate^20: within 10×
    rep.lag.relative_by_lag = np.where(lags < 15, 1.0, 1e-3)
    text = report.summary_text(rep, horizon=20, title="")
    assert "the decay is not geometric" in text


@pytest.mark.parametrize("case", ["lstm-proj", "gru"])
def test_diagnose_a_gated_model(tmp_path, case):
    pytest.importorskip("matplotlib")
    net, x, y = gated(case, T=8, B=4)
    text = report.diagnose(net, x, y, tmp_path, horizon=5)
    for name in report.GATED_FIGURES:
        data = (tmp_path / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    gate = "forget gate f" if case.startswith("lstm") else "update gate z"
    rep = report.analyse(net, x, y, horizon=5)
    assert rep.W is None and rep.spectral_radius is None and rep.saturation is None
    near0, near1 = rep.gate_saturation
    assert f"{gate}: mean {np.nanmean(rep.gate):.3g}; saturated {100 * (near0 + near1):.1f}%" in text
    assert "spectral radius" not in text and "not reported for cell=" in text
    assert text.startswith(("LSTM (proj_size=3), H=4", "GRU, H=4"))
    with pytest.raises(ValueError, match="radius"):
        report.random_setup(cell="gru", radius=1.0)


def test_bptt_diagnose_a_gated_checkpoint(tmp_path, capsys):
    """A parity LSTM trained 20 steps by `bptt train --cell lstm`, its checkpoint diagnosed by the
    CLI; and a random GRU through ``bptt diagnose --cell gru``."""
    from bptt import cli

    assert cli.main(["train", "parity", "--cell", "lstm", "--hidden", "6", "--steps", "20", "--eval-every", "10",
                     "--no-progress", "--out", str(tmp_path / "run")]) == 0
    capsys.readouterr()
    assert cli.main(["diagnose", str(tmp_path / "run" / "checkpoint.npz"), "--out", str(tmp_path / "d")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("parity checkpoint, step 20: LSTM, H=6") and "forget gate f: mean" in out
    assert (tmp_path / "d" / "gates.png").exists()
    assert cli.main(["diagnose", "--cell", "gru", "--hidden", "5", "--steps", "9", "--batch", "2",
                     "--out", str(tmp_path / "g")]) == 0
    assert "update gate z: mean" in capsys.readouterr().out
