"""model.py: parameters and their torch layout, initialisation, configuration, stacking and
bidirectional layers, the semantics of lengths/masks/mappings, the Gradients container, and
float32 against float64."""
import numpy as np
import pytest

import bptt
from bptt import init as inits


def rnn(**kw):
    kw = {"input_size": 3, "hidden_size": 4, "output_size": 2, "seed": 0, "dtype": np.float64, **kw}
    return bptt.RNN(**kw)


# ------------------------------------------------------------------ parameters
@pytest.mark.parametrize("layers", [1, 2, 3])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
def test_parameter_names_and_shapes_are_torch_nn_rnn_s(layers, bidirectional):
    torch = pytest.importorskip("torch")
    D, H, K = 3, 4, 2
    net = rnn(num_layers=layers, bidirectional=bidirectional)
    ref = torch.nn.RNN(D, H, num_layers=layers, bidirectional=bidirectional)
    expected = {}
    for layer in range(layers):
        for d in range(1 + bidirectional):
            sfx = f"l{layer}" + ("_reverse" if d else "")
            expected[bptt.param_name("U", layer, d)] = tuple(getattr(ref, f"weight_ih_{sfx}").shape)
            expected[bptt.param_name("W", layer, d)] = tuple(getattr(ref, f"weight_hh_{sfx}").shape)
            expected[bptt.param_name("b", layer, d)] = tuple(getattr(ref, f"bias_ih_{sfx}").shape)
    expected["V"] = (K, (1 + bidirectional) * H)  # nn.Linear(dirs·H, K).weight
    expected["c"] = (K,)
    assert {k: v.shape for k, v in net.params.items()} == expected == net.param_shapes()
    assert list(net.params) == list(net.param_shapes())  # layers, directions, head
    assert all(p.dtype == np.float64 and p.flags.c_contiguous for p in net.params.values())


def test_param_name():
    assert [bptt.param_name("U", 0, 0), bptt.param_name("W", 1, 0), bptt.param_name("b", 0, 1),
            bptt.param_name("U", 2, 1)] == ["U", "W2", "b_rev", "U3_rev"]


def test_one_layer_has_exactly_U_W_b_V_c():
    assert list(rnn().params) == ["U", "W", "b", "V", "c"]


# ------------------------------------------------------------------ initialisation
def test_seed_makes_initialisation_deterministic():
    a, b, c = rnn(seed=7), rnn(seed=7), rnn(seed=8)
    assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)
    assert not np.array_equal(a.params["W"], c.params["W"])


def test_uniform_init_is_torch_s_default_range():
    net = rnn(hidden_size=16, output_size=5, num_layers=2, bidirectional=True)
    for k, p in net.params.items():
        bound = 1 / np.sqrt(32 if k in ("V", "c") else 16)  # nn.Linear: fan_in = dirs·H; nn.RNN: 1/√H
        assert np.abs(p).max() <= bound and np.abs(p).max() > 0.7 * bound, k


def test_xavier_orthogonal_identity_inits():
    x = rnn(init="xavier", hidden_size=8)
    assert np.abs(x.params["U"]).max() <= np.sqrt(6 / (8 + 3)) and not x.params["b"].any() and not x.params["c"].any()
    o = rnn(init="orthogonal", hidden_size=8)
    np.testing.assert_allclose(o.params["W"] @ o.params["W"].T, np.eye(8), atol=1e-12)
    i = rnn(init="identity", hidden_size=8, activation="relu")
    np.testing.assert_array_equal(i.params["W"], np.eye(8))
    assert np.abs(i.params["U"]).max() < 1e-2 and not i.params["b"].any()
    assert set(inits.SCHEMES) == {"uniform", "xavier", "orthogonal", "identity"}


# ------------------------------------------------------------------ configuration
def test_config_rebuilds_the_same_model():
    net = rnn(activation="relu", output="sigmoid", num_layers=2, bidirectional=True, init="xavier", seed=3)
    cfg = net.config
    assert cfg == {"input_size": 3, "hidden_size": 4, "output_size": 2, "cell": "elman", "activation": "relu",
                   "output": "sigmoid", "loss": "bce", "num_layers": 2, "bidirectional": True,
                   "init": "xavier", "seed": 3, "dtype": "float64"}
    again = bptt.RNN(**cfg)
    assert all(np.array_equal(net.params[k], again.params[k]) for k in net.params)


def test_set_params_copies_and_casts():
    net = rnn()
    new = {k: np.ones(v.shape, dtype=np.float32) for k, v in net.params.items()}
    net.set_params(new)
    new["W"][0, 0] = 5
    assert net.params["W"][0, 0] == 1 and net.params["W"].dtype == np.float64


def test_astype_is_a_cast_copy():
    net = rnn()
    low = net.astype(np.float32)
    assert low.dtype is np.float32 and low.config["dtype"] == "float32"
    assert all(low.params[k].dtype == np.float32 for k in low.params)
    np.testing.assert_allclose(low.params["W"], net.params["W"], rtol=1e-7)
    low.params["W"][0, 0] = 9
    assert net.params["W"][0, 0] != 9 and net.dtype is np.float64


# ------------------------------------------------------------------ forward
def test_forward_shapes_and_h_n_is_the_last_valid_state():
    T, B, H = 5, 3, 4
    net = rnn(num_layers=2, bidirectional=True)
    x = np.random.default_rng(0).standard_normal((T, B, 3))
    lengths = np.array([5, 2, 3])
    out = net.forward(x, lengths=lengths)
    assert out.y_hat.shape == (T, B, 2) and out.h.shape == (T, B, 2 * H) and out.h_n.shape == (4, B, H)
    np.testing.assert_allclose(out.y_hat.sum(-1), 1)
    for b, n in enumerate(lengths):
        np.testing.assert_array_equal(out.h_n[2, b], out.h[n - 1, b, :H])  # top forward: step len − 1
        np.testing.assert_array_equal(out.h_n[3, b], out.h[0, b, H:])  # top reverse: ends at step 0


def test_stacked_layers_feed_each_other():
    """A 2-layer net = a 1-layer net (U, W, b) whose states feed a 1-layer net (U2, W2, b2)."""
    deep = rnn(num_layers=2)
    x = np.random.default_rng(1).standard_normal((4, 2, 3))
    h0 = np.random.default_rng(2).standard_normal((2, 2, 4))
    first, second = rnn(), rnn(input_size=4)
    first.params.update(U=deep.params["U"], W=deep.params["W"], b=deep.params["b"])
    second.params.update(U=deep.params["U2"], W=deep.params["W2"], b=deep.params["b2"],
                         V=deep.params["V"], c=deep.params["c"])
    mid = first.forward(x, h0[:1]).h
    np.testing.assert_allclose(deep.forward(x, h0).y_hat, second.forward(mid, h0[1:]).y_hat, rtol=1e-14)


def test_reverse_direction_is_a_forward_net_on_each_reversed_valid_prefix():
    bi, uni = rnn(bidirectional=True), rnn()
    uni.params.update(U=bi.params["U_rev"], W=bi.params["W_rev"], b=bi.params["b_rev"])
    x = np.random.default_rng(3).standard_normal((5, 2, 3))
    lengths = [5, 3]
    out = bi.forward(x, lengths=lengths)
    for b, n in enumerate(lengths):
        rev = uni.forward(x[:n, b:b + 1][::-1]).h[::-1, 0]  # the valid prefix, reversed
        np.testing.assert_allclose(out.h[:n, b, 4:], rev, rtol=1e-14)


# ------------------------------------------------------------------ loss semantics
def test_padding_is_inert():
    """Past its length a step is never read and carries no loss: changing x and y there changes
    nothing, and ∂L/∂x is 0 there (bidirectional, so the reverse direction is covered too)."""
    net = rnn(num_layers=2, bidirectional=True)
    rng = np.random.default_rng(4)
    x, y, lengths = rng.standard_normal((5, 2, 3)), rng.integers(0, 2, size=(5, 2)), np.array([5, 2])
    loss, g = net.loss_and_grad(x, y, lengths=lengths, input_grad=True)
    x2, y2 = x.copy(), y.copy()
    x2[2:, 1] = 100.0
    y2[2:, 1] = 1 - y2[2:, 1]
    loss2, g2 = net.loss_and_grad(x2, y2, lengths=lengths, input_grad=True)
    assert loss2 == loss
    assert all(np.array_equal(g[k], g2[k]) for k in g) and np.array_equal(g.dh0, g2.dh0)
    assert not g.dx[2:, 1].any()


def test_many_to_one_is_a_last_step_mask():
    net = rnn(output="identity")
    rng = np.random.default_rng(5)
    x, lengths = rng.standard_normal((5, 3, 3)), np.array([5, 1, 3])
    y_last = rng.standard_normal((3, 2))
    y_full = np.zeros((5, 3, 2))
    y_full[lengths - 1, np.arange(3)] = y_last
    a = net.loss_and_grad(x, y_last, mask="last", lengths=lengths)
    b = net.loss_and_grad(x, y_full, mask=bptt.last_step_mask(lengths, 5), lengths=lengths)
    assert a[0] == pytest.approx(b[0], rel=1e-15)
    assert all(np.allclose(a[1][k], b[1][k], rtol=1e-14, atol=0) for k in a[1])


def test_loss_is_summed_over_time_and_averaged_over_sequences():
    net = rnn()
    rng = np.random.default_rng(6)
    x, y = rng.standard_normal((4, 2, 3)), rng.integers(0, 2, size=(4, 2))
    loss, g = net.loss_and_grad(x, y)
    loss2, g2 = net.loss_and_grad(np.concatenate([x, x], 1), np.concatenate([y, y], 1))
    assert loss2 == pytest.approx(loss, rel=1e-14)
    assert all(np.allclose(g[k], g2[k], rtol=1e-13, atol=1e-16) for k in g)
    per_step = [net.loss(x[t:t + 1], y[t:t + 1], h0=net.forward(x[:t]).h_n if t else None) for t in range(4)]
    assert sum(per_step) == pytest.approx(loss, rel=1e-13)  # L = Σ_t L_t, each a mean over b


def test_mask_weights_the_steps_linearly():
    net = rnn()
    rng = np.random.default_rng(7)
    x, y, m = rng.standard_normal((4, 2, 3)), rng.integers(0, 2, size=(4, 2)), rng.uniform(0, 1, (4, 2))
    l1, g1 = net.loss_and_grad(x, y, mask=m)
    l3, g3 = net.loss_and_grad(x, y, mask=3 * m)
    assert l3 == pytest.approx(3 * l1, rel=1e-14)
    assert all(np.allclose(g3[k], 3 * g1[k], rtol=1e-13, atol=1e-16) for k in g1)
    l0, g0 = net.loss_and_grad(x, y, mask=np.zeros((4, 2)))
    assert l0 == 0 and all(not g0[k].any() for k in g0) and not g0.dh0.any()


def test_one_to_many_reads_its_input_once():
    net = rnn(output="identity")
    rng = np.random.default_rng(8)
    x0, y = rng.standard_normal((2, 3)), rng.standard_normal((6, 2, 2))
    x = bptt.one_to_many(x0, 6)
    loss, g = net.loss_and_grad(x, y, input_grad=True)
    assert np.isfinite(loss) and g.dx.shape == (6, 2, 3) and g.dx[1:].any()  # zeros still have a gradient


def test_loss_and_loss_and_grad_agree_and_leave_inputs_alone():
    net = rnn(num_layers=2, bidirectional=True, output="sigmoid")
    rng = np.random.default_rng(9)
    args = dict(x=rng.standard_normal((4, 2, 3)), y=rng.uniform(0, 1, (4, 2, 2)), mask=rng.uniform(0, 1, (4, 2)),
                h0=rng.standard_normal((4, 2, 4)), lengths=np.array([4, 3]))
    saved = {k: v.copy() for k, v in args.items()}
    params = {k: v.copy() for k, v in net.params.items()}
    loss, _ = net.loss_and_grad(**args)
    assert net.loss(**args) == pytest.approx(loss, rel=1e-15)
    assert all(np.array_equal(args[k], saved[k]) for k in args)
    assert all(np.array_equal(net.params[k], params[k]) for k in params)


def test_gradients_container():
    net = rnn(num_layers=2, bidirectional=True)
    x, y = np.zeros((3, 2, 3)), np.zeros((3, 2), dtype=int)
    _, g = net.loss_and_grad(x, y)
    assert isinstance(g, bptt.Gradients) and list(g) == list(net.params)
    assert all(g[k].shape == net.params[k].shape and g[k].dtype == np.float64 for k in g)
    assert g.dh0.shape == (4, 2, 4) and g.dx is None
    _, g = net.loss_and_grad(x, y, input_grad=True)
    assert g.dx.shape == (3, 2, 3)
    _, g = net.loss_and_grad(np.zeros((3, 2), dtype=int), y)
    assert g.dx is None and g["U"].shape == (4, 3)


# ------------------------------------------------------------------ float32
def test_float32_gradients_agree_with_float64():
    """A precision sanity check on a moderate shape (T = 50, B = 8, H = 32): every float32
    gradient within 1e-4 of the float64 one, relative to the array's largest entry (measured:
    ≤ 6.3e-7 for every array, loss 2e-8; torch's float32 was within 5e-7 in the perf notes)."""
    T, B, D, H, K = 50, 8, 16, 32, 10
    net = bptt.RNN(D, H, K, seed=0, dtype=np.float64)
    rng = np.random.default_rng(10)
    x, y = rng.standard_normal((T, B, D)), rng.integers(0, K, size=(T, B))
    h0 = rng.standard_normal((1, B, H)) * 0.5
    l64, g64 = net.loss_and_grad(x, y, h0=h0, input_grad=True)
    l32, g32 = net.astype(np.float32).loss_and_grad(x, y, h0=h0, input_grad=True)
    assert isinstance(l32, float) and abs(l32 - l64) <= 1e-5 * abs(l64)
    pairs = {**{k: (g32[k], g64[k]) for k in g64}, "dh0": (g32.dh0, g64.dh0), "dx": (g32.dx, g64.dx)}
    for k, (a, b) in pairs.items():
        assert a.dtype == np.float32, k
        err = np.max(np.abs(a.astype(np.float64) - b)) / np.max(np.abs(b))
        assert err <= 1e-4, (k, err)
