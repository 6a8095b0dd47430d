"""Dropout (dropout.py, DR1–DR2): exact gradients through fixed masks, off without a Generator,
the same masks for every gradient method, and the same draws after a resume (seeded Generator).
Recurrent dropout (DR3–DR4): the same for every cell, and the mask on the recurrent product only."""
import numpy as np
import pytest

import bptt
from bptt.sequences import length_mask

T, B, D, H, K, V = 5, 3, 2, 3, 4, 6


def case(seed=0, ids=False, **kwargs):
    rng = np.random.default_rng(seed)
    net = bptt.RNN(V if ids else D, H, K, seed=seed, dtype=np.float64, dropout=0.4, **kwargs)
    x = rng.integers(0, V, (T, B)) if ids else rng.standard_normal((T, B, D))
    return net, x, rng.integers(0, K, (T, B)), np.array([T, 2, 4])


CASES = {
    "per-step": dict(),
    "variational": dict(variational=True),
    "2-layer-bidirectional": dict(num_layers=2, bidirectional=True),
    "embedding": dict(ids=True, embedding_size=3),
    "ids-no-embedding": dict(ids=True, num_layers=2),
}


@pytest.mark.parametrize("kwargs", CASES.values(), ids=CASES.keys())
def test_gradients_through_fixed_masks_match_central_differences(kwargs, fd_grad, fd_err):
    net, x, y, lengths = case(**kwargs)
    _, grads = net.loss_and_grad(x, y, lengths=lengths, dropout_rng=np.random.default_rng(7))
    for name in net.params:
        numeric = fd_grad(net, name, x, y, lengths=lengths, dropout_seed=7)
        assert fd_err(grads[name], numeric) <= 1e-7, name


def test_input_gradient_goes_through_the_input_mask(fd_err):
    net, x, y, lengths = case(variational=True)
    _, grads = net.loss_and_grad(x, y, lengths=lengths, input_grad=True, dropout_rng=np.random.default_rng(3))
    eps, numeric = 1e-5, np.empty_like(x)
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += eps
        down[i] -= eps
        losses = [net.loss(a, y, lengths=lengths, dropout_rng=np.random.default_rng(3)) for a in (up, down)]
        numeric[i] = (losses[0] - losses[1]) / (2 * eps)
    assert fd_err(grads.dx, numeric) <= 1e-7


def test_without_a_generator_nothing_is_dropped():
    net, x, y, lengths = case()
    plain = bptt.RNN(**{**net.config, "dropout": 0.0})
    plain.params = net.params
    assert net.loss(x, y, lengths=lengths) == plain.loss(x, y, lengths=lengths)
    assert net.loss(x, y, lengths=lengths, dropout_rng=np.random.default_rng(0)) != plain.loss(x, y, lengths=lengths)


def test_masks_are_kept_at_one_minus_p_and_scaled():
    net = bptt.RNN(D, 200, K, dropout=0.25, seed=0)
    m = net.dropout_masks(np.random.default_rng(0), 50, 20, ids=False)
    kept = np.concatenate([a.ravel() for a in m])
    assert set(np.unique(kept)) == {0.0, np.float32(1 / 0.75)}
    assert abs((kept > 0).mean() - 0.75) < 0.01
    variational = bptt.RNN(D, 8, K, dropout=0.25, variational=True).dropout_masks(np.random.default_rng(0), 50, 20, ids=False)
    assert all(a.shape == (20, a.shape[-1]) for a in variational)


@pytest.mark.parametrize("method,options", [("unrolled", {}), ("tbptt", {"k1": 2, "k2": T})])
def test_every_method_sees_the_same_masks(method, options):
    net, x, y, lengths = case(num_layers=2)
    loss, ref = net.loss_and_grad(x, y, lengths=lengths, dropout_rng=np.random.default_rng(5))
    loss_m, got = net.loss_and_grad(x, y, lengths=lengths, method=method, dropout_rng=np.random.default_rng(5),
                                    **options)
    assert loss_m == pytest.approx(loss, rel=1e-12)
    for k in ref:
        np.testing.assert_allclose(got[k], ref[k], rtol=1e-10, atol=1e-13)


def test_dropout_checks_its_arguments():
    with pytest.raises(ValueError, match="dropout"):
        bptt.RNN(D, H, K, dropout=1.0)
    with pytest.raises(TypeError, match="variational"):
        bptt.RNN(D, H, K, dropout=0.1, variational="yes")
    net, x, y, _ = case()
    with pytest.raises(TypeError, match="dropout_rng"):
        net.loss(x, y, dropout_rng=3)
    with pytest.raises(ValueError, match="dropout"):
        net.loss_and_grad(x, y, method="rtrl", dropout_rng=np.random.default_rng(0))


# ---------------------------------------------------------------- recurrent dropout (DR3–DR4)
RCELLS = {
    "elman": dict(),
    "lstm": dict(cell="lstm"),
    "lstm-proj": dict(cell="lstm", proj_size=2),
    "gru": dict(cell="gru"),
    "gru-reset-before": dict(cell="gru", reset_after=False),
}
LAYOUTS = {"1-layer": dict(), "2-layer-bidirectional": dict(num_layers=2, bidirectional=True)}


def rcase(seed=0, **kwargs):
    """A float64 case with recurrent dropout, a trained initial state (so ∂L/∂h_0, ∂L/∂c_0 are
    the parameters h0, c0), set away from zero, and lengths with frozen steps. xavier: with
    torch's uniform init the first W of a projected bidirectional LSTM has gradients ~1e-4, where
    the round-off of central differences alone is 2–6e-7 of them (with or without dropout)."""
    rng = np.random.default_rng(seed)
    net = bptt.RNN(D, H, K, seed=seed, dtype=np.float64, init="xavier", learn_h0=True,
                   **{"recurrent_dropout": 0.4, **kwargs})
    for name in net.state0_names:
        net.params[name] = 0.5 * rng.standard_normal(net.params[name].shape)
    return net, rng.standard_normal((T, B, D)), rng.integers(0, K, (T, B)), np.array([T, 2, 4])


def recurrent_masks(net, seed):
    """The recurrent masks (DR3) a Generator of ``seed`` draws for a batch of shape (T, B)."""
    masks = net.dropout_masks(np.random.default_rng(seed), T, B, ids=False)[net.num_layers + 1:]
    kept = np.concatenate([m.ravel() for m in masks])
    assert (kept == 0).any() and (kept > 0).any()  # the case drops some units and keeps some
    return masks


@pytest.mark.parametrize("layout", LAYOUTS.values(), ids=LAYOUTS.keys())
@pytest.mark.parametrize("kwargs", RCELLS.values(), ids=RCELLS.keys())
def test_recurrent_dropout_gradients_match_central_differences(kwargs, layout, fd_grad, fd_err):
    net, x, y, lengths = rcase(**kwargs, **layout)
    assert len(recurrent_masks(net, 7)) == net.num_layers * net.num_directions
    _, grads = net.loss_and_grad(x, y, lengths=lengths, dropout_rng=np.random.default_rng(7))
    assert set(net.state0_names) <= set(net.params)  # h0 (and c0): ∂L/∂state_0 is checked too
    for name in net.params:
        numeric = fd_grad(net, name, x, y, lengths=lengths, dropout_seed=7)
        assert fd_err(grads[name], numeric) <= 1e-7, name


def test_recurrent_and_input_dropout_together(fd_grad, fd_err):
    """Both kinds at once: the gradient is exact, and the non-recurrent masks are the same draws
    as without recurrent_dropout (the recurrent ones come after them)."""
    net, x, y, lengths = rcase(cell="lstm", num_layers=2, dropout=0.3)
    before = bptt.RNN(**{**net.config, "recurrent_dropout": 0.0}).dropout_masks(np.random.default_rng(4), T, B, False)
    after = net.dropout_masks(np.random.default_rng(4), T, B, False)
    assert len(after) == len(before) + 2
    for a, b in zip(before, after):
        np.testing.assert_array_equal(a, b)
    _, grads = net.loss_and_grad(x, y, lengths=lengths, dropout_rng=np.random.default_rng(4))
    for name in net.params:
        assert fd_err(grads[name], fd_grad(net, name, x, y, lengths=lengths, dropout_seed=4)) <= 1e-7, name


@pytest.mark.parametrize("kwargs", RCELLS.values(), ids=RCELLS.keys())
def test_the_mask_sits_on_the_recurrent_product_only(kwargs):
    """Per sequence b, (h_{t−1} ⊙ ρ_b) Wᵀ = h_{t−1} (W diag ρ_b)ᵀ: the layer with the mask is the
    layer without one whose W has its columns scaled by ρ_b (DR3) — so an LSTM's c, a GRU's
    direct z ⊙ h_{t−1} and a frozen row's state are not dropped — and its ∂L/∂W is ρ_b times
    that layer's (DR4); every other result is the same."""
    net, x, _, lengths = rcase(**kwargs)
    rng = np.random.default_rng(1)
    cell, p, (rmask,) = net.cell, net.layer_params(0, 0), recurrent_masks(net, 1)
    state0 = tuple(rng.standard_normal((B, size)) for size in cell.state_sizes(H))
    active = length_mask(lengths, T)
    G = rng.standard_normal((T, B, net.state_width))
    dstate_T = tuple(rng.standard_normal((B, size)) for size in cell.state_sizes(H))
    h, cache, state_T = cell.forward(x, state0, p, active, rmask)
    grads, dx, dstate0 = cell.backward(cache, G, dstate_T, p, True)
    summed = {k: np.zeros_like(g) for k, g in grads.items()}
    for b in range(B):
        one = slice(b, b + 1)
        pb = {**p, "W": p["W"] * rmask[b]}
        hb, cb, state_Tb = cell.forward(x[:, one], tuple(s[one] for s in state0), pb, active[:, one])
        gb, dxb, dstate0b = cell.backward(cb, G[:, one], tuple(s[one] for s in dstate_T), pb, True)
        close = dict(rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(h[:, one], hb, **close)
        np.testing.assert_allclose(dx[:, one], dxb, **close)
        for part, part_b in zip(state_T + dstate0, state_Tb + dstate0b):
            np.testing.assert_allclose(part[one], part_b, **close)
        for k, g in gb.items():
            summed[k] += g * rmask[b] if k == "W" else g
    for k in grads:
        np.testing.assert_allclose(grads[k], summed[k], rtol=1e-12, atol=1e-13, err_msg=k)


@pytest.mark.parametrize("kwargs", RCELLS.values(), ids=RCELLS.keys())
def test_tbptt_with_a_full_window_equals_bptt_with_the_same_recurrent_masks(kwargs):
    net, x, y, lengths = rcase(**kwargs, num_layers=2)
    loss, ref = net.loss_and_grad(x, y, lengths=lengths, dropout_rng=np.random.default_rng(5))
    loss_t, got = net.loss_and_grad(x, y, lengths=lengths, method="tbptt", k1=2, k2=T,
                                    dropout_rng=np.random.default_rng(5))
    assert loss_t == pytest.approx(loss, rel=1e-12)
    for k in ref:
        np.testing.assert_allclose(got[k], ref[k], rtol=1e-10, atol=1e-13, err_msg=k)


@pytest.mark.parametrize("kwargs", RCELLS.values(), ids=RCELLS.keys())
def test_without_a_generator_no_recurrent_unit_is_dropped(kwargs):
    net, x, y, lengths = rcase(**kwargs, num_layers=2, bidirectional=True)
    plain = bptt.RNN(**{**net.config, "recurrent_dropout": 0.0})
    plain.params = net.params
    loss, grads = net.loss_and_grad(x, y, lengths=lengths)
    loss0, grads0 = plain.loss_and_grad(x, y, lengths=lengths)
    assert loss == loss0
    for k in grads0:
        np.testing.assert_array_equal(grads[k], grads0[k])
    np.testing.assert_array_equal(net.forward(x, lengths=lengths).h, plain.forward(x, lengths=lengths).h)
    assert net.loss(x, y, lengths=lengths, dropout_rng=np.random.default_rng(0)) != loss0


def test_recurrent_dropout_masks_and_config():
    net = bptt.RNN(D, 200, K, recurrent_dropout=0.25, num_layers=2, bidirectional=True, seed=0)
    masks = net.dropout_masks(np.random.default_rng(0), 50, 20, ids=False)
    assert masks[:3] == [None, None, None]  # dropout = 0: nothing else is drawn
    assert [m.shape for m in masks[3:]] == [(20, 200)] * 4  # one per sequence and row l·dirs + d
    kept = np.concatenate([m.ravel() for m in masks[3:]])
    assert set(np.unique(kept)) == {0.0, np.float32(1 / 0.75)}
    assert abs((kept > 0).mean() - 0.75) < 0.01
    assert net.config["recurrent_dropout"] == 0.25 and bptt.RNN(**net.config).recurrent_dropout == 0.25
    assert "recurrent_dropout" not in bptt.RNN(D, H, K).config


def test_recurrent_dropout_checks_its_arguments():
    for p in (1.0, -0.1, 1.5):
        with pytest.raises(ValueError, match="recurrent_dropout"):
            bptt.RNN(D, H, K, recurrent_dropout=p)
    with pytest.raises(TypeError, match="recurrent_dropout"):
        bptt.RNN(D, H, K, recurrent_dropout="0.1")
    net, x, y, _ = rcase()
    for method in ("rtrl", "unrolled"):
        with pytest.raises(ValueError, match="recurrent_dropout"):
            net.loss_and_grad(x, y, method=method, dropout_rng=np.random.default_rng(0))
        net.loss_and_grad(x, y, method=method)  # without masks nothing is dropped: allowed
