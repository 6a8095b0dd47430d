"""The GRU cell (cells/gru.py): its BPTT against central differences (float64, ≤ 1e-7) and
against torch.nn.GRU's autograd (float64, ≤ 1e-9 relative), both variants where they exist.

- the cell alone: F1–F6 forward, B1–B12 backward with a random G, a non-zero ∂L/∂h_T, frozen
  steps, ids, need_dx, for reset_after True and False;
- the model: bptt.gradcheck for every (head, mapping) pair × reset_after, the structure
  (layers 1–3, bidirectional, ids, float masks) rotating with the case; ∂L/∂h0 and ∂L/∂x too;
- torch.nn.GRU + nn.Linear with different non-zero bias_ih/bias_hh, h0, 1–3 layers,
  bidirectional, pack_padded_sequence(enforce_sorted=False); weights moved both ways through
  GRU.from_torch_weights / GRU.torch_weights;
- tbptt with k2 ≥ T is bptt; unrolled and rtrl name the cell; float32; config, checkpoint, init.
Sizes stay tiny (T ≤ 6, B ≤ 3, H ≤ 4).
"""
import re
from pathlib import Path

import numpy as np
import pytest
import torch

import bptt
from bptt import cells
from bptt.cells import gru
from bptt.checkpoint import load, save, take_prefix, with_prefix

FD_TOL = 1e-7
TORCH_TOL = 1e-9
EPS = 1e-5  # central-difference step of the cell test, as test_gradcheck.py (≈ (3u)^(1/3))
# The model tests' step. In a 2–3-layer GRU the bottom layer's gradients are ~1e-4·L (the z
# gates damp what goes down), so the round-off of central differences, ~u·L/(ε·|∂L/∂θ|), is
# ~1e-7 of the gradient at ε = 1e-5. Measured over GRADCHECK_CASES (max / median error):
# ε = 1e-5: 1.2e-7 / 6e-9; 3e-5: 3.8e-8 / 1.7e-9; 1e-4: 2.2e-8 / 8e-9 (truncation, ∝ ε², rising);
# 3e-4: 2.0e-7 / 7e-8. 3e-5 balances the two; the tolerance stays 1e-7.
EPS_MODEL = 3e-5
HEADS = ("softmax+ce", "sigmoid+bce", "identity+mse", "softmax+mse")  # three fused, one via the Jacobian
MAPPINGS = ("many-to-many", "many-to-one", "one-to-many", "variable-lengths")


def gru_case(make_case, reset_after, *args, **kwargs):
    """conftest's make_case (data, h0, lengths, masks), with the model swapped for a GRU of the
    same configuration (make_case draws the data from its own seed, not from the model)."""
    case = make_case("tanh", *args, **kwargs)
    case.net = bptt.RNN(**{**case.net.config, "cell": "gru", "reset_after": reset_after})
    if "dtype" in kwargs:
        case.net = case.net.astype(kwargs["dtype"])
    return case


def assert_fd(fd_err, analytic, numeric, what):
    err = fd_err(analytic, numeric)
    assert err <= FD_TOL, f"{what}: finite-difference error {err:.3g} > {FD_TOL}"


# ============================================================================ the cell alone
@pytest.mark.parametrize("frozen", [False, True], ids=["all-active", "frozen"])
@pytest.mark.parametrize("inputs", ["float", "ids"])
@pytest.mark.parametrize("reset_after", [True, False], ids=["after", "before"])
def test_cell_forward_backward_against_central_differences(reset_after, inputs, frozen, fd_err, fd_array):
    """L = Σ_t ⟨G_t, h_t⟩ + ⟨dh_T, h_T⟩: its gradient is what GRU.backward returns for (G, dh_T)."""
    T, B, D, H = 5, 3, 4, 3
    rng = np.random.default_rng(7 + 2 * reset_after + frozen)
    cell = cells.make("gru", reset_after=reset_after)
    p = cell.init("uniform", rng, H, D)
    p = {k: v * 1.5 for k, v in p.items()}  # larger weights: the gates work harder
    assert set(p) == set(cell.param_shapes(H, D)) and all(p[k].shape == s for k, s in cell.param_shapes(H, D).items())
    x = rng.integers(0, D, size=(T, B)) if inputs == "ids" else rng.standard_normal((T, B, D))
    if inputs == "ids":
        x[:, 0] = 1  # a repeated id: its gradient is a scatter-add
    h0 = rng.standard_normal((B, H))
    G = rng.standard_normal((T, B, H))
    dh_T = rng.standard_normal((B, H))
    active = None
    if frozen:
        active = np.arange(T)[:, None] < np.array([5, 2, 4])[None, :]  # steps past each length frozen

    def loss():
        h, _, (h_T,) = cell.forward(x, (h0,), p, active)
        return float(np.sum(G * h) + np.sum(dh_T * h_T))

    h, cache, (h_T,) = cell.forward(x, (h0,), p, active)
    assert h.shape == (T, B, H) and h_T.shape == (B, H)
    if frozen:  # F6: past its end a sequence's state is its last valid one
        np.testing.assert_array_equal(h_T[1], h[1, 1])
        np.testing.assert_array_equal(h[4, 2], h[3, 2])
    for t in range(T + 1):
        np.testing.assert_array_equal(cell.state_at(cache, t)[0], h0 if t == 0 else h[t - 1])
    need_dx = inputs == "float"
    grads, dx, (dh0,) = cell.backward(cache, G, (dh_T,), p, need_dx)
    assert set(grads) == set(p)
    for k in p:
        assert_fd(fd_err, grads[k], fd_array(loss, p[k], EPS), f"d{k}")
    assert_fd(fd_err, dh0, fd_array(loss, h0, EPS), "dh0")
    if need_dx:
        assert_fd(fd_err, dx, fd_array(loss, x, EPS), "dx")
        assert cell.backward(cache, G, (dh_T,), p, False)[1] is None
    else:
        assert dx is None


def test_cell_backward_leaves_its_cache_and_G_intact():
    """The backward is repeatable: it scales its own buffers, not the cache's or G."""
    rng = np.random.default_rng(3)
    for reset_after in (True, False):
        cell = cells.make("gru", reset_after=reset_after)
        p = cell.init("uniform", rng, 3, 2)
        x, h0, G = rng.standard_normal((4, 2, 2)), rng.standard_normal((2, 3)), rng.standard_normal((4, 2, 3))
        _, cache, _ = cell.forward(x, (h0,), p, None)
        G0 = G.copy()
        first = cell.backward(cache, G, None, p, True)
        second = cell.backward(cache, G, None, p, True)
        np.testing.assert_array_equal(G, G0)
        for k in p:
            np.testing.assert_array_equal(first[0][k], second[0][k])
        np.testing.assert_array_equal(first[2][0], second[2][0])


# ============================================================================ the model
GRADCHECK_CASES = []
for _i, (_ra, _head, _mapping) in enumerate(
        [(ra, hd, mp) for ra in (True, False) for hd in HEADS for mp in MAPPINGS]):
    _layers = 1 + _i % 3
    _bi = _i % 2 == 1
    _ids = _mapping in ("many-to-many", "variable-lengths") and _i % 4 < 2  # one-to-many needs floats
    _mask = "float" if _mapping in ("many-to-many", "variable-lengths") and _i % 3 != 1 else None
    GRADCHECK_CASES.append(pytest.param(
        _ra, _head, _mapping, _layers, _bi, _ids, _mask,
        id=f"{'after' if _ra else 'before'}-{_head}-{_mapping}-L{_layers}-{'bi' if _bi else 'uni'}"
           f"{'-ids' if _ids else ''}{'-fmask' if _mask else ''}"))


@pytest.mark.parametrize("reset_after,head,mapping,layers,bidirectional,ids,mask", GRADCHECK_CASES)
def test_gradcheck(reset_after, head, mapping, layers, bidirectional, ids, mask, make_case, fd_err, fd_array):
    H = 3 if layers == 1 else 2
    case = gru_case(make_case, reset_after, head, mapping, T=4, B=2, D=3, H=H, K=3, layers=layers,
                    bidirectional=bidirectional, ids=ids, h0=True, mask=mask,
                    lengths=mapping == "many-to-one", seed=len(head) + layers)
    net = case.net
    assert net.cell.name == "gru" and net.cell.reset_after is reset_after
    assert ("bn" in net.params) is reset_after
    report = bptt.gradcheck(net, *case.args, eps=EPS_MODEL)
    assert set(report) == set(net.params)
    bad = {k: e for k, e in report.items() if not e <= FD_TOL}
    assert not bad, f"gradcheck errors above {FD_TOL}: {bad}"

    x, y, m, h0, lengths = case.args
    input_grad = not ids
    _, g = net.loss_and_grad(x, y, m, h0, lengths, input_grad=input_grad)
    h0 = np.array(h0)
    assert_fd(fd_err, g.dh0, fd_array(lambda: net.loss(x, y, m, h0, lengths), h0, EPS_MODEL), "dh0")
    if input_grad:
        xf = np.array(x, dtype=np.float64)
        assert_fd(fd_err, g.dx, fd_array(lambda: net.loss(xf, y, m, h0, lengths), xf, EPS_MODEL), "dx")
    else:
        assert g.dx is None


# ============================================================================ torch.nn.GRU
def torch_gru_names(layer, d):
    return f"_l{layer}" + ("_reverse" if d else "")


def torch_pair(net, gru_module=None, linear=None):
    """Move weights between ``net`` and (nn.GRU, nn.Linear). With modules given, theirs go into
    ``net`` through GRU.from_torch_weights; without, new modules are built from ``net``'s weights
    through GRU.torch_weights. Returns the modules."""
    H, L, dirs = net.hidden_size, net.num_layers, net.num_directions
    build = gru_module is None
    if build:
        gru_module = torch.nn.GRU(net.input_size, H, num_layers=L, bidirectional=net.bidirectional,
                                  dtype=torch.float64)
        linear = torch.nn.Linear(dirs * H, net.output_size, dtype=torch.float64)
    params = dict(net.params)
    with torch.no_grad():
        for layer in range(L):
            for d in range(dirs):
                sfx = torch_gru_names(layer, d)
                if build:
                    for name, value in net.cell.torch_weights(net.layer_params(layer, d)).items():
                        getattr(gru_module, name + sfx).copy_(torch.from_numpy(value))
                else:
                    w = {name: getattr(gru_module, name + sfx).detach().numpy()
                         for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
                    for base, value in net.cell.from_torch_weights(w).items():
                        params[bptt.param_name(base, layer, d)] = value
        if build:
            linear.weight.copy_(torch.from_numpy(net.params["V"]))
            linear.bias.copy_(torch.from_numpy(net.params["c"]))
        else:
            params["V"], params["c"] = linear.weight.detach().numpy(), linear.bias.detach().numpy()
            net.set_params(params)
    return gru_module, linear


def nn_gru_reference(net, gru_module, linear, x, y, h0, lengths):
    """Loss (softmax + cross-entropy over the valid steps), gradients in our names, dh0, dx and
    the outputs, from torch autograd through nn.GRU + nn.Linear."""
    T, B = x.shape[:2]
    H, L, dirs = net.hidden_size, net.num_layers, net.num_directions
    xt = torch.tensor(x, requires_grad=True)
    h0t = torch.tensor(h0, requires_grad=True)
    if lengths is None:
        out, h_n = gru_module(xt, h0t)
    else:
        packed = torch.nn.utils.rnn.pack_padded_sequence(xt, torch.tensor(lengths), enforce_sorted=False)
        out_p, h_n = gru_module(packed, h0t)
        out, _ = torch.nn.utils.rnn.pad_packed_sequence(out_p, total_length=T)
    o = linear(out)
    lens = np.full(B, T) if lengths is None else np.asarray(lengths)
    valid = torch.tensor(np.arange(T)[:, None] < lens[None, :])
    per = -torch.log_softmax(o, dim=-1).gather(-1, torch.tensor(y)[..., None])[..., 0]
    loss = (per * valid).sum() / B
    loss.backward()
    grads = {"V": linear.weight.grad.numpy(), "c": linear.bias.grad.numpy()}
    for layer in range(L):
        for d in range(dirs):
            sfx = torch_gru_names(layer, d)
            name = lambda base: bptt.param_name(base, layer, d)  # noqa: E731
            g_ih, g_hh = (getattr(gru_module, k + sfx).grad.numpy() for k in ("bias_ih", "bias_hh"))
            # r and z: the two torch biases are one sum in b, and receive the same gradient
            assert np.max(np.abs(g_ih[:2 * H] - g_hh[:2 * H])) <= 1e-12 * np.max(np.abs(g_ih[:2 * H]))
            grads[name("U")] = getattr(gru_module, "weight_ih" + sfx).grad.numpy()
            grads[name("W")] = getattr(gru_module, "weight_hh" + sfx).grad.numpy()
            grads[name("b")] = g_ih  # b_r, b_z (= bias_hh's too) and b_n = bias_ih's n block
            grads[name("bn")] = g_hh[2 * H:]  # bn = bias_hh's n block
    return dict(loss=loss.item(), grads=grads, dh0=h0t.grad.numpy(), dx=xt.grad.numpy(),
                y_hat=torch.softmax(o, -1).detach().numpy(), h=out.detach().numpy(),
                h_n=h_n.detach().numpy(), valid=valid.numpy())


SHAPES = [(5, 3, 4, 3, 3), (4, 2, 3, 2, 4), (6, 3, 2, 3, 2)]  # (T, B, H, D, K)
TORCH_CASES = []
for _i, (_layers, _bi, _packed) in enumerate(
        [(layer, bi, pk) for layer in (1, 2, 3) for bi in (False, True) for pk in (False, True)]):
    _source = "torch-init" if _i % 2 == 0 else "our-init"
    TORCH_CASES.append(pytest.param(
        _layers, _bi, _packed, _source, SHAPES[_i % len(SHAPES)], _i,
        id=f"L{_layers}-{'bi' if _bi else 'uni'}-{'packed' if _packed else 'full'}-{_source}"))


@pytest.mark.parametrize("layers,bidirectional,packed,source,shape,seed", TORCH_CASES)
def test_against_torch_nn_gru(layers, bidirectional, packed, source, shape, seed, rel_err):
    T, B, H, D, K = shape
    rng = np.random.default_rng(100 + seed)
    net = bptt.RNN(D, H, K, cell="gru", num_layers=layers, bidirectional=bidirectional, seed=seed,
                   dtype=np.float64)
    if source == "torch-init":  # torch's own init: bias_ih and bias_hh non-zero and different
        torch.manual_seed(seed)
        gru_module = torch.nn.GRU(D, H, num_layers=layers, bidirectional=bidirectional, dtype=torch.float64)
        linear = torch.nn.Linear(net.num_directions * H, K, dtype=torch.float64)
        torch_pair(net, gru_module, linear)
    else:  # ours, exported: bias_hh = [0, 0, bn]
        gru_module, linear = torch_pair(net)
    for name, prm in gru_module.named_parameters():
        if name.startswith("bias"):
            assert prm.detach().abs().min() > 0 or (source == "our-init" and name.startswith("bias_hh"))
    x = rng.standard_normal((T, B, D))
    y = rng.integers(0, K, size=(T, B))
    h0 = rng.standard_normal((layers * net.num_directions, B, H))
    lengths = None
    if packed:
        lengths = rng.integers(1, T + 1, size=B)
        lengths[0], lengths[-1] = T, rng.integers(1, T)  # one full sequence, one short one
    ref = nn_gru_reference(net, gru_module, linear, x, y, h0, lengths)
    loss, g = net.loss_and_grad(x, y, h0=h0, lengths=lengths, input_grad=True)
    out = net.forward(x, h0, lengths)

    assert abs(loss - ref["loss"]) <= TORCH_TOL * abs(ref["loss"])
    assert list(g) == list(net.params) and set(ref["grads"]) == set(g)
    for k in g:
        assert rel_err(g[k], ref["grads"][k]) <= TORCH_TOL, k
    assert rel_err(g.dh0, ref["dh0"]) <= TORCH_TOL
    assert rel_err(g.dx, ref["dx"]) <= TORCH_TOL
    valid = ref["valid"]  # torch pads its outputs with zeros past each length; ours are frozen
    assert rel_err(out.h[valid], ref["h"][valid]) <= TORCH_TOL
    assert rel_err(out.y_hat[valid], ref["y_hat"][valid]) <= TORCH_TOL
    assert rel_err(out.h_n, ref["h_n"]) <= TORCH_TOL


def test_token_ids_against_torch_nn_gru_on_one_hot_inputs(rel_err):
    rng = np.random.default_rng(5)
    T, B, D, H, K = 5, 3, 4, 3, 3
    net = bptt.RNN(D, H, K, cell="gru", num_layers=2, bidirectional=True, seed=5, dtype=np.float64)
    gru_module, linear = torch_pair(net)
    ids = rng.integers(0, D, size=(T, B))
    ids[:, 0] = 2  # a repeated id: its gradient is a scatter-add
    y = rng.integers(0, K, size=(T, B))
    lengths, h0 = np.array([5, 2, 4]), rng.standard_normal((4, B, H))
    ref = nn_gru_reference(net, gru_module, linear, np.eye(D)[ids], y, h0, lengths)
    loss, g = net.loss_and_grad(ids, y, h0=h0, lengths=lengths)
    assert abs(loss - ref["loss"]) <= TORCH_TOL * abs(ref["loss"])
    for k in g:
        assert rel_err(g[k], ref["grads"][k]) <= TORCH_TOL, k
    assert rel_err(g.dh0, ref["dh0"]) <= TORCH_TOL


def test_torch_layout_round_trips():
    """ours -> torch -> ours is exact; torch -> ours -> torch keeps every weight and the n biases
    exactly and the r, z biases as their sum (which is all nn.GRU ever uses of them)."""
    rng = np.random.default_rng(0)
    cell = gru.GRU()
    H, D = 3, 2
    p = cell.init("uniform", rng, H, D)
    w = cell.torch_weights(p)
    assert set(w) == {"weight_ih", "weight_hh", "bias_ih", "bias_hh"}
    assert not w["bias_hh"][:2 * H].any()
    back = cell.from_torch_weights(w)
    assert set(back) == set(p)
    for k in p:
        np.testing.assert_array_equal(back[k], p[k])
    theirs = {"weight_ih": rng.uniform(-1, 1, (3 * H, D)), "weight_hh": rng.uniform(-1, 1, (3 * H, H)),
              "bias_ih": rng.uniform(-1, 1, 3 * H), "bias_hh": rng.uniform(-1, 1, 3 * H)}
    again = cell.torch_weights(cell.from_torch_weights(theirs))
    for k in ("weight_ih", "weight_hh"):
        np.testing.assert_array_equal(again[k], theirs[k])
    np.testing.assert_array_equal(again["bias_ih"][2 * H:], theirs["bias_ih"][2 * H:])
    np.testing.assert_array_equal(again["bias_hh"][2 * H:], theirs["bias_hh"][2 * H:])
    np.testing.assert_allclose(again["bias_ih"][:2 * H] + again["bias_hh"][:2 * H],
                               theirs["bias_ih"][:2 * H] + theirs["bias_hh"][:2 * H], rtol=0, atol=1e-15)
    assert cell.torch_module == "GRU"
    before = gru.GRU(reset_after=False)
    with pytest.raises(ValueError, match="reset_after=False.*no torch.nn.GRU equivalent"):
        before.torch_weights(before.init("uniform", rng, H, D))
    with pytest.raises(ValueError, match="reset_after=False"):
        before.from_torch_weights(theirs)


# ============================================================================ gradient methods
@pytest.mark.parametrize("reset_after", [True, False], ids=["after", "before"])
@pytest.mark.parametrize("ids", [False, True], ids=["float", "ids"])
def test_tbptt_with_k2_at_least_T_is_bptt(reset_after, ids, make_case, rel_err):
    case = gru_case(make_case, reset_after, "softmax+ce", T=6, B=3, D=3, H=3, layers=2, ids=ids, h0=True,
                    lengths=True, mask="float", seed=2)
    input_grad = not ids
    loss, g = case.net.loss_and_grad(*case.args, input_grad=input_grad)
    for k1, k2 in ((2, 6), (4, 9), (6, 6)):
        loss_t, gt = case.net.loss_and_grad(*case.args, method="tbptt", k1=k1, k2=k2, input_grad=input_grad)
        assert abs(loss_t - loss) <= 1e-12 * abs(loss)
        assert list(gt) == list(g)
        for k in g:
            assert rel_err(gt[k], g[k]) <= 1e-12, (k1, k2, k)
        assert rel_err(gt.dh0, g.dh0) <= 1e-12
        if input_grad:
            assert rel_err(gt.dx, g.dx) <= 1e-12


@pytest.mark.parametrize("method", ["unrolled", "rtrl"])
def test_elman_only_methods_name_the_cell(method, make_case):
    case = gru_case(make_case, True, "softmax+ce", T=3, B=2)
    with pytest.raises(ValueError, match=f"method='{method}'.*cell='gru'"):
        case.net.loss_and_grad(*case.args, method=method)


# ============================================================================ float32
@pytest.mark.parametrize("reset_after", [True, False], ids=["after", "before"])
def test_float32_agrees_with_float64_and_stays_float32(reset_after, make_case, rel_err):
    case = gru_case(make_case, reset_after, "softmax+ce", "variable-lengths", T=6, B=3, D=3, H=4, layers=2,
                    bidirectional=True, h0=True, mask="float")
    net64 = case.net
    net32 = net64.astype(np.float32)
    loss64, g64 = net64.loss_and_grad(*case.args, input_grad=True)
    loss32, g32 = net32.loss_and_grad(*case.args, input_grad=True)
    assert isinstance(loss32, float) and abs(loss32 - loss64) <= 1e-5 * abs(loss64)
    for k in g64:
        assert g32[k].dtype == np.float32, k
        assert rel_err(g32[k], g64[k]) <= 1e-5, k
    for a, b in ((g32.dh0, g64.dh0), (g32.dx, g64.dx)):
        assert a.dtype == np.float32 and rel_err(a, b) <= 1e-5
    out32, out64 = net32.forward(case.x, case.h0, case.lengths), net64.forward(case.x, case.h0, case.lengths)
    for a, b in ((out32.y_hat, out64.y_hat), (out32.h, out64.h), (out32.h_n, out64.h_n)):
        assert a.dtype == np.float32 and rel_err(a, b) <= 1e-5


# ============================================================================ config, checkpoint
def test_config_rebuilds_a_gru_with_its_variant():
    for reset_after in (True, False):
        net = bptt.RNN(3, 4, 2, cell="gru", reset_after=reset_after, num_layers=2, bidirectional=True,
                       seed=3, dtype=np.float64)
        assert net.config["cell"] == "gru" and net.config["reset_after"] is reset_after
        again = bptt.RNN(**net.config)
        assert again.config == net.config and list(again.params) == list(net.params)
        for k in net.params:
            np.testing.assert_array_equal(again.params[k], net.params[k])
    assert bptt.RNN(3, 4, 2, cell="gru").config["reset_after"] is True  # torch's default


def test_checkpoint_round_trips_a_gru(tmp_path):
    net = bptt.RNN(3, 4, 2, cell="gru", reset_after=False, num_layers=2, seed=4)
    path = tmp_path / "gru.npz"
    save(path, with_prefix("param/", net.params), {"model": net.config})
    arrays, meta = load(path)
    again = bptt.RNN(**{**meta["model"], "seed": None})
    again.set_params(take_prefix("param/", arrays))
    assert again.config == {**net.config, "seed": None}
    for k in net.params:
        assert again.params[k].dtype == np.float32
        np.testing.assert_array_equal(again.params[k], net.params[k])
    x = np.random.default_rng(0).standard_normal((4, 2, 3))
    np.testing.assert_array_equal(again.forward(x).y_hat, net.forward(x).y_hat)


# ============================================================================ the interface
def test_options_shapes_and_rejected_options():
    after, before = cells.make("gru"), cells.make("gru", reset_after=False)
    assert after.name == "gru" and after.options == {"reset_after": True}
    assert before.options == {"reset_after": False}
    assert after.output_size(5) == 5 and after.state_sizes(5) == (5,)
    assert after.param_shapes(5, 2) == {"U": (15, 2), "W": (15, 5), "b": (15,), "bn": (5,)}
    assert before.param_shapes(5, 2) == {"U": (15, 2), "W": (15, 5), "b": (15,)}
    names = bptt.RNN(2, 5, 3, cell="gru", num_layers=2, bidirectional=True).param_shapes()
    assert names["bn2_rev"] == (5,) and names["U2"] == (15, 10)
    with pytest.raises(ValueError, match="activation"):
        bptt.RNN(2, 3, 2, cell="gru", activation="relu")
    with pytest.raises(ValueError, match="proj_size"):
        bptt.RNN(2, 3, 2, cell="gru", proj_size=2)
    with pytest.raises(ValueError, match="forget_bias"):
        bptt.RNN(2, 3, 2, cell="gru", forget_bias=1.0)
    with pytest.raises(ValueError, match="reset_after"):
        bptt.RNN(2, 3, 2, reset_after=True)  # an Elman option? no: the GRU's
    with pytest.raises(TypeError, match="reset_after"):
        cells.make("gru", reset_after="yes")


def test_uniform_init_is_torchs():
    """Every torch weight and bias ~ U(−k, k), k = 1/√H: b's r, z blocks are the sum of two draws."""
    H, D = 64, 5
    k = 1 / np.sqrt(H)
    p = gru.GRU().init("uniform", np.random.default_rng(0), H, D)
    for name in ("U", "W", "bn"):
        assert np.abs(p[name]).max() <= k and np.abs(p[name]).max() > 0.9 * k, name
    assert np.abs(p["b"][2 * H:]).max() <= k  # b_n: bias_ih's draw alone
    rz = np.abs(p["b"][:2 * H])
    assert rz.max() <= 2 * k and np.mean(rz > k) > 0.1  # a sum of two draws exceeds k a quarter of the time
    q = gru.GRU(reset_after=False).init("uniform", np.random.default_rng(0), H, D)
    assert set(q) == {"U", "W", "b"} and np.abs(q["b"]).max() <= 2 * k and np.mean(np.abs(q["b"][2 * H:]) > k) > 0.1


@pytest.mark.parametrize("scheme", ["xavier", "orthogonal", "identity"])
def test_other_inits_are_per_gate_block(scheme):
    H, D = 4, 3
    p = gru.GRU().init(scheme, np.random.default_rng(1), H, D)
    assert not p["b"].any() and not p["bn"].any()
    for g in range(3):
        Wg = p["W"][g * H:(g + 1) * H]
        if scheme == "orthogonal":
            np.testing.assert_allclose(Wg @ Wg.T, np.eye(H), atol=1e-12)
        elif scheme == "identity":
            np.testing.assert_array_equal(Wg, np.eye(H))
            assert np.abs(p["U"]).max() < 0.01
        else:
            a = np.sqrt(6 / (2 * H))
            assert np.abs(Wg).max() <= a and np.abs(p["U"][g * H:(g + 1) * H]).max() <= np.sqrt(6 / (H + D))


# ============================================================================ the docs
def test_derivation_docs_quote_code_that_exists():
    """Every `code` quote in the code column of docs/derivation.md's GRU section occurs in cells/gru.py."""
    root = Path(__file__).resolve().parents[1]
    text = (root / "docs" / "derivation.md").read_text()
    section = text.split("## GRU (cells/gru.py)", 1)[1].split("\n## ", 1)[0]
    source = (root / "src" / "bptt" / "cells" / "gru.py").read_text()
    quotes = []
    for line in section.splitlines():
        if line.startswith("|") and not line.startswith("| ---") and not line.startswith("| equation"):
            quotes += re.findall(r"`([^`]+)`", line.rstrip(" |").rsplit(" | ", 1)[-1])
    assert len(quotes) >= 15
    missing = [q for q in quotes if q not in source]
    assert not missing, missing
