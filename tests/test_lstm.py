"""The LSTM cell (cells/lstm.py): central differences ≤ 1e-7 (the cell alone and the model),
torch.nn.LSTM + nn.Linear autograd ≤ 1e-9 in float64, truncation, float32, config, checkpoints."""
import pathlib
import re

import numpy as np
import pytest
import torch

import bptt
from bptt import cells
from bptt.cells import lstm
from bptt.interop.torch import from_torch

FD_TOL = 1e-7
TOL = 1e-9


def state_pair(rng, n, B, Hh, H):
    return rng.standard_normal((n, B, Hh)) * 0.5, rng.standard_normal((n, B, H)) * 0.5


# ============================================================ the cell alone, central differences
CELL_CASES = {  # (proj_size, frozen steps, ids, need_dx)
    "plain": (None, False, False, True),
    "frozen": (None, True, False, True),
    "proj-frozen": (2, True, False, True),
    "ids-frozen": (None, True, True, False),
    "proj-ids": (2, False, True, False),
}


@pytest.mark.parametrize("case", list(CELL_CASES))
def test_cell_backward_matches_central_differences(case, fd_array, fd_err):
    """L = Σ_t ⟨G_t, h_t⟩ + ⟨dh_T, h_T⟩ + ⟨dc_T, c_T⟩ with random G, dh_T, dc_T: the cell's
    backward against central differences for every parameter, x, h_0 and c_0."""
    P, frozen, ids, need_dx = CELL_CASES[case]
    T, B, D, H = 5, 3, 4, 3
    rng = np.random.default_rng(7)
    cell = cells.make("lstm", proj_size=P)
    p = cell.init("uniform", rng, H, D)
    p = {k: v * 1.5 for k, v in p.items()}  # gates away from ½: the nonlinearities work
    Hh = cell.output_size(H)
    x = rng.integers(0, D, (T, B)) if ids else rng.standard_normal((T, B, D))
    h0, c0 = (a[0].copy() for a in state_pair(rng, 1, B, Hh, H))
    active = None
    if frozen:
        active = np.arange(T)[:, None] < np.array([T, 2, 4])[None, :]
    G = rng.standard_normal((T, B, Hh))
    dh_T, dc_T = rng.standard_normal((B, Hh)), rng.standard_normal((B, H))

    def L():
        h, _, (hT, cT) = cell.forward(x, (h0, c0), p, active)
        return np.sum(G * h) + np.sum(dh_T * hT) + np.sum(dc_T * cT)

    _, cache, _ = cell.forward(x, (h0, c0), p, active)
    grads, dx, (dh0, dc0) = cell.backward(cache, G, (dh_T, dc_T), p, need_dx)
    assert set(grads) == set(cell.param_shapes(H, D))
    for k in p:
        assert fd_err(grads[k], fd_array(L, p[k])) <= FD_TOL, k
    assert fd_err(dh0, fd_array(L, h0)) <= FD_TOL
    assert fd_err(dc0, fd_array(L, c0)) <= FD_TOL
    if need_dx:
        assert fd_err(dx, fd_array(L, x)) <= FD_TOL
    else:
        assert dx is None
    if frozen:  # past its end a row's state is the last valid one, h and c alike
        h, cache, (hT, cT) = cell.forward(x, (h0, c0), p, active)
        np.testing.assert_array_equal(hT[1], cache.h[2, 1])
        np.testing.assert_array_equal(cT[1], cache.c[2, 1])
        np.testing.assert_array_equal(cell.state_at(cache, 0)[1], c0)


# ============================================================ the model, bptt.gradcheck
HEADS = ("softmax+ce", "sigmoid+bce", "identity+mse", "softmax+mse")  # three fused, one Jacobian
MAPPINGS = ("many-to-many", "many-to-one", "one-to-many", "variable-lengths")


def check(net, case, **kw):
    report = bptt.gradcheck(net, *case.args, **kw)
    assert set(report) == set(net.params)
    worst = max(report, key=report.get)
    assert report[worst] <= FD_TOL, (worst, report[worst])


@pytest.mark.parametrize("mapping", MAPPINGS)
@pytest.mark.parametrize("head", HEADS)
def test_gradcheck_every_head_and_mapping(head, mapping, make_case):
    case = make_case(head=head, mapping=mapping, cell="lstm", h0=True, T=4, B=3, H=3, seed=1)
    check(case.net, case)


ARCHS = {  # make_case options beyond cell="lstm", h0=True
    "ids-lengths": dict(ids=True, lengths=True),
    "float-mask": dict(mask="float"),
    "2-layers-bi-lengths": dict(layers=2, bidirectional=True, lengths=True),
    "3-layers-proj-lengths": dict(layers=3, proj_size=2, lengths=True),
    "2-layers-bi-proj-ids": dict(layers=2, bidirectional=True, proj_size=2, ids=True, mask="float"),
    "one-to-many-bi-proj": dict(mapping="one-to-many", bidirectional=True, proj_size=2),
    "many-to-one-2-layers-lengths": dict(mapping="many-to-one", layers=2, lengths=True),
    "forget-bias-xavier": dict(forget_bias=1.0, init="xavier"),
}


@pytest.mark.parametrize("arch", list(ARCHS))
def test_gradcheck_architectures(arch, make_case):
    """scale=2: with torch's default scale a 3-layer LSTMP's bottom gradients are ~1e-5 of L, and
    the central differences' own round-off (~1e-16 L/ε, ε = 1e-5) is then ~1e-6 of them (seen:
    2.9e-6 at scale 1, 1.3e-8 at scale 2; the analytic gradient equals torch's to 1e-9 either way)."""
    case = make_case(cell="lstm", h0=True, T=4, B=3, H=3, seed=2, scale=2.0, **ARCHS[arch])
    check(case.net, case)


@pytest.mark.parametrize("proj_size", [None, 2])
def test_state_and_input_gradients_match_central_differences(proj_size, make_case, fd_array, fd_err):
    case = make_case(cell="lstm", h0=True, lengths=True, layers=2, bidirectional=True, T=4, B=3, H=3,
                     proj_size=proj_size, head="sigmoid+bce", seed=3)
    net, (h0, c0) = case.net, case.h0
    _, g = net.loss_and_grad(*case.args, input_grad=True)
    assert isinstance(g.dh0, tuple) and g.dh0[0].shape == h0.shape and g.dh0[1].shape == c0.shape
    L = lambda: net.loss(*case.args)  # noqa: E731  (reads h0, c0, x as they are perturbed)
    assert fd_err(g.dh0[0], fd_array(L, h0)) <= FD_TOL
    assert fd_err(g.dh0[1], fd_array(L, c0)) <= FD_TOL
    assert fd_err(g.dx, fd_array(L, case.x)) <= FD_TOL


# ============================================================ torch.nn.LSTM, float64, ≤ 1e-9
ORACLE = {  # (num_layers, bidirectional, proj_size, variable lengths)
    "1": (1, False, 0, False),
    "2-bi-lengths": (2, True, 0, True),
    "3-proj-lengths": (3, False, 2, True),
    "2-bi-proj": (2, True, 2, False),
    "1-bi-proj-lengths": (1, True, 2, True),
}


def torch_lstm_reference(lstm, linear, x, y, h0, c0, lengths):
    """Softmax + cross-entropy over the valid steps (L1) through torch.nn.LSTM + nn.Linear,
    variable lengths by pack_padded_sequence(enforce_sorted=False)."""
    T, B, _ = x.shape
    xt = torch.tensor(x, requires_grad=True)
    h0t, c0t = torch.tensor(h0, requires_grad=True), torch.tensor(c0, requires_grad=True)
    lens = np.full(B, T) if lengths is None else lengths
    if lengths is None:
        out, (h_n, c_n) = lstm(xt, (h0t, c0t))
    else:
        packed = torch.nn.utils.rnn.pack_padded_sequence(xt, torch.tensor(lens), enforce_sorted=False)
        out_p, (h_n, c_n) = lstm(packed, (h0t, c0t))
        out, _ = torch.nn.utils.rnn.pad_packed_sequence(out_p, total_length=T)
    o = linear(out)
    valid = torch.tensor(np.arange(T)[:, None] < lens[None, :])
    per = -torch.log_softmax(o, dim=-1).gather(-1, torch.tensor(y)[..., None])[..., 0]
    loss = (per * valid).sum() / B
    loss.backward()
    return dict(loss=loss.item(), dx=xt.grad.numpy(), dh0=h0t.grad.numpy(), dc0=c0t.grad.numpy(),
                y_hat=torch.softmax(o, -1).detach().numpy(), h=out.detach().numpy(),
                h_n=h_n.detach().numpy(), c_n=c_n.detach().numpy())


@pytest.mark.parametrize("arch", list(ORACLE))
def test_equals_torch_nn_lstm(arch, rel_err):
    L, bi, P, var = ORACLE[arch]
    T, B, D, H, K = 5, 4, 3, 4, 3
    dirs = 2 if bi else 1
    torch.manual_seed(5)
    lstm_t = torch.nn.LSTM(D, H, L, bidirectional=bi, proj_size=P, dtype=torch.float64)
    linear = torch.nn.Linear(dirs * (P or H), K, dtype=torch.float64)
    with torch.no_grad():  # torch's default init draws the two biases independently: make sure
        for name, t in lstm_t.named_parameters():
            if name.startswith("bias"):
                t.uniform_(-0.6, 0.6)
    assert not torch.allclose(lstm_t.bias_ih_l0, lstm_t.bias_hh_l0)
    net = from_torch(lstm_t, linear)
    rng = np.random.default_rng(11)
    x = rng.standard_normal((T, B, D))
    y = rng.integers(0, K, (T, B))
    h0, c0 = state_pair(rng, L * dirs, B, P or H, H)
    lengths = np.array([5, 2, 4, 1]) if var else None
    ref = torch_lstm_reference(lstm_t, linear, x, y, h0, c0, lengths)

    loss, g = net.loss_and_grad(x, y, h0=(h0, c0), lengths=lengths, input_grad=True)
    out = net.forward(x, h0=(h0, c0), lengths=lengths)
    assert abs(loss - ref["loss"]) <= TOL * abs(ref["loss"])
    for layer in range(L):
        for d in range(dirs):
            sfx = f"_l{layer}" + ("_reverse" if d else "")
            name = lambda base: bptt.param_name(base, layer, d)  # noqa: E731
            theirs = {"U": "weight_ih", "W": "weight_hh", "R": "weight_hr"}
            for base, t in theirs.items():
                if base in net.cell.param_shapes(H, D):
                    assert rel_err(g[name(base)], getattr(lstm_t, t + sfx).grad.numpy()) <= TOL, name(base)
            # one bias in our model, two in torch's: each receives ∂L/∂(their sum)
            assert rel_err(g[name("b")], getattr(lstm_t, "bias_ih" + sfx).grad.numpy()) <= TOL
            assert rel_err(g[name("b")], getattr(lstm_t, "bias_hh" + sfx).grad.numpy()) <= TOL
    assert rel_err(g["V"], linear.weight.grad.numpy()) <= TOL
    assert rel_err(g["c"], linear.bias.grad.numpy()) <= TOL
    assert rel_err(g.dh0[0], ref["dh0"]) <= TOL and rel_err(g.dh0[1], ref["dc0"]) <= TOL
    assert rel_err(g.dx, ref["dx"]) <= TOL
    valid = (np.arange(T)[:, None] < (lengths if var else np.full(B, T))[None, :])[..., None]
    assert rel_err(out.y_hat * valid, ref["y_hat"] * valid) <= TOL  # torch pads with zeros
    assert rel_err(out.h * valid, ref["h"]) <= TOL
    assert rel_err(out.h_n[0], ref["h_n"]) <= TOL and rel_err(out.h_n[1], ref["c_n"]) <= TOL
    assert rel_err(g.h_n[1], ref["c_n"]) <= TOL


# ============================================================ other methods
def test_tbptt_with_k2_at_least_T_is_bptt(make_case):
    case = make_case(cell="lstm", h0=True, lengths=True, layers=2, proj_size=2, T=6, B=3, H=3,
                     seed=4)
    net = case.net
    _, ref = net.loss_and_grad(*case.args, input_grad=True)
    for k1, k2 in ((2, 6), (6, 6), (4, 9)):
        _, g = net.loss_and_grad(*case.args, method="tbptt", k1=k1, k2=k2, input_grad=True)
        for k in net.params:
            np.testing.assert_allclose(g[k], ref[k], rtol=1e-12, atol=1e-14 * np.abs(ref[k]).max())
        for got, want in zip(g.dh0, ref.dh0):
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(g.dx, ref.dx, rtol=1e-12, atol=1e-14)
    _, short = net.loss_and_grad(*case.args, method="tbptt", k1=2, k2=2)  # truncation does cut
    assert not np.allclose(short["W"], ref["W"])


@pytest.mark.parametrize("method", ["unrolled", "rtrl"])
def test_elman_only_methods_name_the_cell(method, make_case):
    case = make_case(cell="lstm", T=3)
    with pytest.raises(ValueError, match=f"method='{method}'.*cell='lstm'"):
        case.net.loss_and_grad(*case.args, method=method)


def test_float32_agrees_with_float64_and_stays_float32(make_case, rel_err):
    case = make_case(cell="lstm", h0=True, lengths=True, layers=2, bidirectional=True, proj_size=6,
                     T=12, B=4, D=5, H=8, K=4, seed=6)
    net64 = case.net
    net32 = net64.astype(np.float32)
    h0_32 = tuple(a.astype(np.float32) for a in case.h0)
    x32 = case.x.astype(np.float32)
    l64, g64 = net64.loss_and_grad(*case.args, input_grad=True)
    l32, g32 = net32.loss_and_grad(x32, case.y, None, h0_32, case.lengths, input_grad=True)
    assert abs(l32 - l64) <= 1e-5 * abs(l64)
    for k in net64.params:
        assert g32[k].dtype == np.float32, k
        assert rel_err(g32[k], g64[k]) <= 1e-5, k
    for got, want in zip(g32.dh0 + (g32.dx,), g64.dh0 + (g64.dx,)):
        assert got.dtype == np.float32 and rel_err(got, want) <= 1e-5
    out = net32.forward(x32, h0_32, case.lengths)
    assert out.y_hat.dtype == out.h.dtype == out.h_n[0].dtype == out.h_n[1].dtype == np.float32


# ============================================================ options, init, config, checkpoint
def test_options_are_validated():
    with pytest.raises(ValueError, match="activation"):
        bptt.RNN(3, 4, 2, cell="lstm", activation="relu")
    with pytest.raises(ValueError, match="reset_after"):
        bptt.RNN(3, 4, 2, cell="lstm", reset_after=True)
    with pytest.raises(ValueError, match="proj_size must be smaller than hidden_size"):
        bptt.RNN(3, 4, 2, cell="lstm", proj_size=4)
    with pytest.raises(ValueError, match="proj_size"):
        bptt.RNN(3, 4, 2, cell="lstm", proj_size=-1)
    with pytest.raises(ValueError, match="forget_bias"):
        bptt.RNN(3, 4, 2, cell="lstm", forget_bias=float("nan"))
    with pytest.raises(ValueError, match="cell='elman' takes no option forget_bias, proj_size"):
        bptt.RNN(3, 4, 2, proj_size=2, forget_bias=1.0)
    net = bptt.RNN(3, 4, 2, cell="lstm", proj_size=0)  # torch's "no projection"
    assert net.cell.options == {"proj_size": None, "forget_bias": None} and net.state_width == 4


def test_init_schemes_per_gate_block():
    H, D, P = 16, 5, 6
    rng = np.random.default_rng(0)
    p = cells.make("lstm").init("uniform", rng, H, D)
    k = 1 / np.sqrt(H)
    assert np.abs(p["U"]).max() <= k and np.abs(p["W"]).max() <= k
    # b is the sum of torch's two U(−k, k) biases: within 2k, and often beyond k (P = 1/4 each)
    assert np.abs(p["b"]).max() <= 2 * k and (np.abs(p["b"]) > k).sum() >= 4
    ortho = cells.make("lstm", proj_size=P).init("orthogonal", rng, H, D)
    for j in range(4):  # each (H, P) block of W has orthonormal columns
        blk = ortho["W"][j * H:(j + 1) * H]
        np.testing.assert_allclose(blk.T @ blk, np.eye(P), atol=1e-12)
    np.testing.assert_allclose(ortho["R"] @ ortho["R"].T, np.eye(P), atol=1e-12)
    ident = cells.make("lstm").init("identity", rng, H, D)
    np.testing.assert_array_equal(ident["W"], np.vstack([np.eye(H)] * 4))
    fb = cells.make("lstm", forget_bias=1.0).init("xavier", rng, H, D)
    np.testing.assert_array_equal(fb["b"][H:2 * H], 1.0)
    assert not fb["b"][:H].any() and not fb["b"][2 * H:].any()


def test_config_rebuilds_and_checkpoint_round_trips(tmp_path):
    net = bptt.RNN(3, 5, 2, cell="lstm", proj_size=3, forget_bias=1.0, num_layers=2, bidirectional=True,
                   seed=3, dtype=np.float64)
    assert net.config["cell"] == "lstm" and net.config["proj_size"] == 3 and net.config["forget_bias"] == 1.0
    again = bptt.RNN(**net.config)
    for k in net.params:
        np.testing.assert_array_equal(again.params[k], net.params[k])
    assert again.config == net.config
    np.testing.assert_array_equal(again.params["b"][5:10], 1.0)
    path = tmp_path / "lstm.npz"
    bptt.checkpoint.save(path, bptt.checkpoint.with_prefix("param/", net.params), {"model": net.config})
    arrays, meta = bptt.checkpoint.load(path)
    loaded = bptt.RNN(**meta["model"])
    loaded.set_params(bptt.checkpoint.take_prefix("param/", arrays))
    x = np.random.default_rng(0).standard_normal((4, 2, 3))
    np.testing.assert_array_equal(loaded.forward(x).h, net.forward(x).h)
    old = {k: v for k, v in bptt.RNN(3, 5, 2, seed=1).config.items() if k != "cell"}
    assert bptt.RNN(**old).cell.name == "elman"  # a config from before the gated cells


def test_derivation_doc_quotes_code_that_exists():
    """Every `…` excerpt in the code column of docs/derivation.md's LSTM section occurs in src/
    (a `lstm.name` is a function of cells/lstm.py)."""
    root = pathlib.Path(__file__).resolve().parents[1]
    doc = (root / "docs" / "derivation.md").read_text()
    section = doc[doc.index("## LSTM (cells/lstm.py)"):]
    section = section[:section.find("\n## ", 1)] if "\n## " in section[1:] else section
    src = "".join(p.read_text() for p in (root / "src" / "bptt").rglob("*.py"))
    rows = [line for line in section.splitlines() if line.startswith("| (")]
    assert len(rows) >= 15
    quoted = [q for row in rows for q in re.findall(r"`([^`]+)`", row.rsplit(" | ", 1)[-1])]
    assert quoted
    defined = set(re.findall(r"^def (\w+)", (root / "src/bptt/cells/lstm.py").read_text(), re.M))
    missing = [q for q in quoted if q not in src
               and not (q.startswith("lstm.") and q[len("lstm."):] in defined)]  # `lstm.forward`
    assert not missing, missing


def test_module_docstring_labels_are_cited_in_the_code():
    text = pathlib.Path(lstm.__file__).read_text()
    doc, code = text.split('"""', 2)[1], text.split('"""', 2)[2]
    labels = set(re.findall(r"\((F\d'?|B\d+)\)", doc))
    assert {f"F{i}" for i in range(1, 7)} | {f"B{i}" for i in range(1, 14)} | {"F2'"} <= labels
    assert all(f"({label})" in code for label in labels), sorted(l for l in labels if f"({l})" not in code)
