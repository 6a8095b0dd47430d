"""bptt.interop.torch for every cell: weights move to and from nn.RNN / nn.LSTM / nn.GRU by the
cell's own torch_weights / from_torch_weights, exactly. Adding a cell is one word in CELLS."""
import numpy as np
import pytest
import torch

import bptt
from bptt import cells
from bptt.interop.torch import from_state_dicts, from_torch, to_state_dicts, to_torch

CELLS = ["elman", "lstm", "gru"]
OPTIONS = {"lstm": [{}, {"proj_size": 2}]}  # a cell's option sets worth a case of their own
CASES = [(cell, opts) for cell in CELLS for opts in OPTIONS.get(cell, [{}])]
IDS = [cell + "".join(f"-{k}={v}" for k, v in opts.items()) for cell, opts in CASES]


def make_net(cell, opts, dtype=np.float64, layers=2, bidirectional=True, seed=0):
    return bptt.RNN(3, 4, 5, cell=cell, num_layers=layers, bidirectional=bidirectional, seed=seed,
                    dtype=dtype, **opts)


def torch_module(cell, opts, layers, bidirectional, D=3, H=4, dtype=torch.float64):
    kwargs = dict(cells.make(cell, **opts).torch_options)
    return getattr(torch.nn, cells.CELLS[cell].torch_module)(D, H, layers, bidirectional=bidirectional,
                                                             dtype=dtype, **kwargs)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cell,opts", CASES, ids=IDS)
def test_round_trip_is_exact(cell, opts, dtype):
    net = make_net(cell, opts, dtype)
    rnn, linear = to_torch(net)
    assert type(rnn).__name__ == net.cell.torch_module and rnn.num_layers == 2 and rnn.bidirectional
    assert getattr(rnn, "proj_size", 0) == (opts.get("proj_size") or 0)
    assert next(rnn.parameters()).dtype == (torch.float64 if dtype == np.float64 else torch.float32)
    for layer, d, _, _ in net._layers():  # b goes to bias_ih; bias_hh is what the cell keeps apart (GRU: bn)
        sfx = f"_l{layer}" + ("_reverse" if d else "")
        kept = net.cell.torch_weights(net.layer_params(layer, d))["bias_hh"]
        np.testing.assert_array_equal(getattr(rnn, "bias_hh" + sfx).detach().numpy(), kept)
        assert not kept[:len(kept) - (net.hidden_size if cell == "gru" else 0)].any()
    back = from_torch(rnn, linear)
    assert back.config == {**net.config, "seed": None}
    for k in net.params:
        assert back.params[k].dtype == net.params[k].dtype
        np.testing.assert_array_equal(back.params[k], net.params[k])
    # torch -> ours -> torch: every weight exact, the two biases arrive as their sum (GRU: bn apart)
    with torch.no_grad():
        for name, p in rnn.named_parameters():
            if name.startswith("bias_hh"):
                p.uniform_(-0.5, 0.5)
    rnn2, linear2 = to_torch(from_torch(rnn, linear))
    for name, p in rnn.named_parameters():
        if name.startswith("bias_ih"):  # the sum the equations see is kept exactly
            hh = name.replace("bias_ih", "bias_hh")
            assert torch.equal(getattr(rnn2, name) + getattr(rnn2, hh), p + getattr(rnn, hh))
            if cell == "gru":  # b_hn sits inside r ⊙ (…): a parameter of its own, kept apart
                assert torch.equal(getattr(rnn2, hh)[-rnn.hidden_size:], getattr(rnn, hh)[-rnn.hidden_size:])
        elif not name.startswith("bias_hh"):
            assert torch.equal(p, getattr(rnn2, name)), name
    assert torch.equal(linear.weight, linear2.weight) and torch.equal(linear.bias, linear2.bias)


@pytest.mark.parametrize("cell,opts", CASES, ids=IDS)
def test_state_dicts_name_the_cell_or_let_it_be_inferred(cell, opts):
    net = make_net(cell, opts)
    rnn_sd, lin_sd = to_state_dicts(net)
    torch_module(cell, opts, 2, True).load_state_dict(rnn_sd)  # strict: exactly torch's names and shapes
    for named in (cell, None):  # named, or read off weight_hh's gate count (and weight_hr)
        back = from_state_dicts(rnn_sd, lin_sd, cell=named)
        assert back.config == {**net.config, "seed": None}
        for k in net.params:
            np.testing.assert_array_equal(back.params[k], net.params[k])
    # plain arrays without biases (bias=False): b = 0
    arrays = {k: t.numpy() for k, t in rnn_sd.items() if not k.startswith("bias")}
    back = from_state_dicts(arrays, {"weight": lin_sd["weight"].numpy()}, output="sigmoid")
    assert back.cell.name == cell and not back.params["b2_rev"].any() and not back.params["c"].any()


def adjoint_of_import(cell, ours: dict, like: dict) -> dict:
    """{torch name: ∂L/∂w} from our {base: ∂L/∂p}, entry by entry: ∂L/∂w_i = ⟨∂L/∂p,
    from_torch_weights(e_i)⟩ (e_i the i-th unit weight; the import map is linear), so a sum of
    torch's biases in b, or any other linear map of a cell, needs no case of its own."""
    out = {}
    for name, w in like.items():
        g = np.empty(w.size)
        for i in range(w.size):
            unit = {n: np.zeros(a.shape) for n, a in like.items()}
            unit[name].reshape(-1)[i] = 1.0
            g[i] = sum(np.vdot(ours[base], part) for base, part in cell.from_torch_weights(unit).items())
        out[name] = g.reshape(w.shape)
    return out


@pytest.mark.parametrize("cell,opts", CASES, ids=IDS)
def test_torch_trained_model_imports_with_the_same_loss_and_gradient(cell, opts, torch_trained):
    torch.manual_seed(1)
    rnn = torch_module(cell, opts, 2, True, D=4, H=5)
    width = getattr(rnn, "proj_size", 0) or 5
    linear = torch.nn.Linear(2 * width, 3, dtype=torch.float64)
    opt = torch.optim.Adam(list(rnn.parameters()) + list(linear.parameters()), lr=0.05)
    x, y = torch.randn(6, 8, 4, dtype=torch.float64), torch.randint(0, 3, (6, 8))
    loss, first = torch_trained(rnn, linear, opt, x, y)
    assert loss.item() < first  # it did train
    net = from_torch(rnn, linear)
    ours, grads = net.loss_and_grad(x.numpy(), y.numpy())
    assert abs(ours - loss.item()) <= 1e-9 * abs(loss.item())
    # every torch gradient: ∂L/∂w = (∂p/∂w)ᵀ ∂L/∂p through the cell's own (linear) import map
    for layer, d, _, _ in net._layers():
        sfx = f"_l{layer}" + ("_reverse" if d else "")
        ours = {base: grads[bptt.param_name(base, layer, d)] for base in net.layer_params(layer, d)}
        like = net.cell.torch_weights(net.layer_params(layer, d))
        for name, g in adjoint_of_import(net.cell, ours, like).items():
            t = getattr(rnn, name + sfx).grad.numpy()
            np.testing.assert_allclose(g, t, rtol=1e-9, atol=1e-12 * np.abs(t).max(), err_msg=name + sfx)
    np.testing.assert_allclose(grads["V"], linear.weight.grad.numpy(), rtol=1e-9, atol=1e-13)
    np.testing.assert_allclose(grads["c"], linear.bias.grad.numpy(), rtol=1e-9, atol=1e-13)


def test_gate_counts_and_errors():
    rnn_sd, lin_sd = to_state_dicts(make_net("lstm", {}))
    with pytest.raises(ValueError, match=r"must be \(1·H, H\) for cell='elman'.*4 stacked gates: an LSTM"):
        from_state_dicts(rnn_sd, lin_sd, cell="elman")
    with pytest.raises(ValueError, match="cell must be one of"):
        from_state_dicts(rnn_sd, lin_sd, cell="transformer")
    with pytest.raises(ValueError, match="nonlinearity|activation"):
        from_state_dicts(rnn_sd, lin_sd, nonlinearity="relu")  # an LSTM has no relu
    with pytest.raises(ValueError, match=r"weight_hh_l0'\] must be square \(H, H\) .* got \(10, 4\)"):
        from_state_dicts({"weight_ih_l0": torch.zeros(10, 3), "weight_hh_l0": torch.zeros(10, 4)}, lin_sd)
    with pytest.raises(ValueError, match="in_features must be 2"):  # LSTMP: h_t has width P
        from_torch(torch.nn.LSTM(3, 4, proj_size=2), torch.nn.Linear(4, 5))
    with pytest.raises(ValueError, match="weight_hr_l0.*must be"):
        from_state_dicts({**rnn_sd, "weight_hr_l0": torch.zeros(3, 4)}, lin_sd)
