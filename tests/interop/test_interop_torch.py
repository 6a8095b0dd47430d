"""bptt.interop.torch: weights move to and from torch.nn.RNN + nn.Linear by name, exactly."""
import numpy as np
import pytest
import torch

import bptt
from bptt.interop.torch import from_state_dicts, from_torch, to_state_dicts, to_torch, torch_names

ARCHS = {  # (num_layers, bidirectional, activation)
    "1-tanh": (1, False, "tanh"),
    "2-bi-tanh": (2, True, "tanh"),
    "3-relu": (3, False, "relu"),
    "2-bi-relu": (2, True, "relu"),
}


def make_net(arch, dtype=np.float64, D=3, H=4, K=5, seed=0):
    L, bi, act = ARCHS[arch]
    return bptt.RNN(D, H, K, activation=act, num_layers=L, bidirectional=bi, seed=seed, dtype=dtype)


def tdtype(dtype):
    return torch.float64 if np.dtype(dtype) == np.float64 else torch.float32


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("arch", list(ARCHS))
def test_round_trip_is_exact(arch, dtype):
    net = make_net(arch, dtype)
    rnn, linear = to_torch(net)
    assert rnn.nonlinearity == net.activation and rnn.num_layers == net.num_layers
    assert next(rnn.parameters()).dtype == tdtype(dtype)
    for name, p in rnn.named_parameters():
        if name.startswith("bias_hh"):
            assert not p.detach().any()  # b goes to bias_ih, bias_hh is zero
    back = from_torch(rnn, linear)
    assert back.config == {**net.config, "seed": None}
    for k in net.params:
        assert back.params[k].dtype == net.params[k].dtype
        np.testing.assert_array_equal(back.params[k], net.params[k])
    # torch -> ours -> torch: every weight exact, the two biases arrive as their sum in bias_ih
    rnn2, linear2 = to_torch(from_torch(rnn_with_random_biases(rnn), linear))
    for name, p in rnn.named_parameters():
        if name.startswith("weight"):
            assert torch.equal(p, getattr(rnn2, name))
        elif name.startswith("bias_ih"):
            hh = name.replace("bias_ih", "bias_hh")
            assert torch.equal(getattr(rnn2, name), p + getattr(rnn, hh))
    assert torch.equal(linear.weight, linear2.weight) and torch.equal(linear.bias, linear2.bias)


def rnn_with_random_biases(rnn):
    with torch.no_grad():
        for name, p in rnn.named_parameters():
            if name.startswith("bias_hh"):
                p.uniform_(-0.5, 0.5)
    return rnn


@pytest.mark.parametrize("arch", list(ARCHS))
def test_outputs_agree_to_float64_precision(arch):
    torch.manual_seed(0)
    L, bi, act = ARCHS[arch]
    rnn = torch.nn.RNN(3, 6, L, nonlinearity=act, bidirectional=bi, dtype=torch.float64)
    linear = torch.nn.Linear(6 * (2 if bi else 1), 5, dtype=torch.float64)
    net = from_torch(rnn, linear)  # torch's default init: both biases non-zero
    rng = np.random.default_rng(1)
    x = rng.standard_normal((7, 4, 3))
    h0 = rng.standard_normal((L * (2 if bi else 1), 4, 6)) * 0.5
    ours = net.forward(x, h0=h0)
    with torch.no_grad():
        out, h_n = rnn(torch.from_numpy(x), torch.from_numpy(h0))
        y_hat = torch.softmax(linear(out), dim=-1).numpy()
    np.testing.assert_allclose(ours.h, out.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ours.h_n, h_n.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ours.y_hat, y_hat, rtol=1e-12, atol=1e-14)
    # token ids on our side are one-hot rows on torch's
    ids = rng.integers(0, 3, (5, 4))
    with torch.no_grad():
        out_ids, _ = rnn(torch.nn.functional.one_hot(torch.from_numpy(ids), 3).double())
    np.testing.assert_allclose(net.forward(ids).h, out_ids.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("arch", ["2-bi-tanh", "3-relu"])
def test_torch_trained_model_imports_with_the_same_loss_and_gradient(arch, torch_trained):
    torch.manual_seed(1)
    L, bi, act = ARCHS[arch]
    rnn = torch.nn.RNN(4, 5, L, nonlinearity=act, bidirectional=bi, dtype=torch.float64)
    linear = torch.nn.Linear(5 * (2 if bi else 1), 3, dtype=torch.float64)
    opt = torch.optim.SGD(list(rnn.parameters()) + list(linear.parameters()), lr=0.1)
    x, y = torch.randn(6, 8, 4, dtype=torch.float64), torch.randint(0, 3, (6, 8))
    loss, first = torch_trained(rnn, linear, opt, x, y)
    assert loss.item() < first  # it did train
    net = from_torch(rnn, linear)
    ours, grads = net.loss_and_grad(x.numpy(), y.numpy())
    assert ours == pytest.approx(loss.item(), rel=1e-13)
    names = torch_names(net.num_layers, net.bidirectional)
    for k, theirs in names.items():
        t = getattr(rnn, theirs[0] if isinstance(theirs, tuple) else theirs).grad.numpy()
        np.testing.assert_allclose(grads[k], t, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(grads["V"], linear.weight.grad.numpy(), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(grads["c"], linear.bias.grad.numpy(), rtol=1e-10, atol=1e-13)


def test_state_dicts_load_into_torch_modules_and_read_plain_arrays():
    net = make_net("2-bi-tanh")
    rnn_sd, lin_sd = to_state_dicts(net)
    rnn = torch.nn.RNN(3, 4, 2, bidirectional=True, dtype=torch.float64)
    rnn.load_state_dict(rnn_sd)  # strict: exactly torch's names and shapes
    torch.nn.Linear(8, 5, dtype=torch.float64).load_state_dict(lin_sd)
    # plain numpy arrays (no torch objects) work on the way in; bias=False means b = 0
    arrays = {k: t.numpy() for k, t in rnn_sd.items() if not k.startswith("bias")}
    back = from_state_dicts(arrays, {"weight": lin_sd["weight"].numpy()}, output="sigmoid")
    assert back.bidirectional and back.num_layers == 2 and back.head.output == "sigmoid"
    np.testing.assert_array_equal(back.params["W2_rev"], net.params["W2_rev"])
    assert not back.params["b"].any() and not back.params["c"].any()


def test_errors():
    for act in ("sigmoid", "identity"):
        with pytest.raises(ValueError, match=f"activation='{act}', which nn.RNN cannot express"):
            to_torch(bptt.RNN(2, 3, 2, activation=act))
    rnn, linear = to_torch(make_net("2-bi-tanh"))
    with pytest.raises(TypeError, match="rnn must be one of torch.nn.RNN, torch.nn.LSTM"):
        from_torch(torch.nn.Linear(3, 4), linear)  # (nn.LSTM imports: tests/test_lstm.py)
    with pytest.raises(TypeError, match="torch.nn.Linear"):
        from_torch(rnn, rnn)
    with pytest.raises(ValueError, match="in_features must be 8"):
        from_torch(rnn, torch.nn.Linear(4, 5))
    rnn_sd, lin_sd = to_state_dicts(make_net("2-bi-tanh"))
    with pytest.raises(ValueError, match="missing 'weight_hh_l1_reverse'"):
        from_state_dicts({k: t for k, t in rnn_sd.items() if k != "weight_hh_l1_reverse"}, lin_sd)
    with pytest.raises(ValueError, match=r"weight_ih_l1'\] must have shape \(4, 8\), got \(4, 4\)"):
        from_state_dicts({**rnn_sd, "weight_ih_l1": torch.zeros(4, 4)}, lin_sd)
    with pytest.raises(ValueError, match=r"weight_hh_l0'\] must be square"):
        from_state_dicts({**rnn_sd, "weight_hh_l0": torch.zeros(4, 3)}, lin_sd)
    with pytest.raises(ValueError, match="4 stacked gates: an LSTM"):  # a cell named, weights of another
        from_state_dicts(dict(torch.nn.LSTM(3, 4).state_dict()), {"weight": torch.zeros(5, 4)}, cell="elman")
    with pytest.raises(ValueError, match="unexpected keys"):
        from_state_dicts(rnn_sd, {**lin_sd, "extra": torch.zeros(1)})
    with pytest.raises(ValueError, match="must hold weight_ih_l0"):
        from_state_dicts({}, lin_sd)
    with pytest.raises(ValueError, match="nonlinearity"):
        from_state_dicts(rnn_sd, lin_sd, nonlinearity="sigmoid")
