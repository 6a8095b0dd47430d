"""The embedding layer (embedding.py, E1–E2) and tied weights: finite differences, torch, tbptt.

Every check in float64; torch's nn.Embedding → nn.RNN → nn.Linear is the oracle (≤1e-9)."""
import numpy as np
import pytest
import torch

import bptt

V, D_EMB, H, T, B = 7, 4, 4, 5, 3


def case(seed=0, tie=False, bidirectional=False, num_layers=1, lengths=True):
    rng = np.random.default_rng(seed)
    dirs = 2 if bidirectional else 1
    net = bptt.RNN(V, H, V, seed=seed, dtype=np.float64, num_layers=num_layers, bidirectional=bidirectional,
                   embedding_size=dirs * H if tie else D_EMB, tie_weights=tie)
    x = rng.integers(0, V, size=(T, B))
    y = rng.integers(0, V, size=(T, B))
    lens = np.array([T, 2, 4])[:B] if lengths else None
    return net, x, y, lens


@pytest.mark.parametrize("tie", [False, True], ids=["untied", "tied"])
@pytest.mark.parametrize("bidirectional,num_layers", [(False, 1), (True, 1), (False, 2)],
                         ids=["1-layer", "bidirectional", "2-layer"])
def test_embedding_gradients_match_central_differences(tie, bidirectional, num_layers):
    net, x, y, lens = case(tie=tie, bidirectional=bidirectional, num_layers=num_layers)
    errs = bptt.gradcheck(net, x, y, lengths=lens)
    assert set(errs) == set(net.params) and "E" in errs and ("V" in errs) != tie
    assert max(errs.values()) <= 1e-7, errs


def test_padding_ids_do_not_change_the_embedding_gradient():
    net, x, y, lens = case()
    _, g1 = net.loss_and_grad(x, y, lengths=lens)
    x2 = x.copy()
    x2[2:, 1] = (x2[2:, 1] + 3) % V  # only past sequence 1's length (2)
    _, g2 = net.loss_and_grad(x2, y, lengths=lens)
    assert np.array_equal(g1["E"], g2["E"])


def test_tbptt_with_k2_at_least_T_equals_bptt_with_an_embedding():
    net, x, y, lens = case(tie=True)
    loss, g = net.loss_and_grad(x, y, lengths=lens)
    loss_t, g_t = net.loss_and_grad(x, y, lengths=lens, method="tbptt", k1=2, k2=T)
    assert loss_t == pytest.approx(loss, rel=1e-12)
    for k in g:
        np.testing.assert_allclose(g_t[k], g[k], rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("tie", [False, True], ids=["untied", "tied"])
def test_embedding_matches_torch(tie):
    net, x, y, lens = case(seed=3, tie=tie, lengths=False)
    p = {k: torch.tensor(a, requires_grad=True) for k, a in net.params.items()}
    h = torch.zeros(B, H, dtype=torch.float64)
    emb = p["E"][torch.from_numpy(x)]  # (E1)
    loss = 0
    for t in range(T):
        h = torch.tanh(emb[t] @ p["U"].T + h @ p["W"].T + p["b"])
        o = h @ (p["E"] if tie else p["V"]).T + p["c"]
        loss = loss + torch.nn.functional.cross_entropy(o, torch.from_numpy(y[t]), reduction="sum") / B
    loss.backward()
    ours, grads = net.loss_and_grad(x, y)
    assert abs(ours - loss.item()) <= 1e-9 * abs(loss.item())
    for k, g in grads.items():
        ref = p[k].grad.numpy()
        assert np.max(np.abs(g - ref)) <= 1e-9 * np.max(np.abs(ref)), k


def test_embedding_checks_its_arguments():
    with pytest.raises(ValueError, match="tie_weights=True"):
        bptt.RNN(V, H, V, embedding_size=H + 1, tie_weights=True)
    with pytest.raises(ValueError, match="tie_weights=True"):
        bptt.RNN(V, H, V + 1, embedding_size=H, tie_weights=True)
    with pytest.raises(TypeError, match="embedding_size"):
        bptt.RNN(V, H, V, embedding_size=2.5)
    net = bptt.RNN(V, H, V, embedding_size=D_EMB)
    with pytest.raises(ValueError, match="integer token ids"):
        net.forward(np.zeros((T, B, V)))
    with pytest.raises(ValueError, match="embedding_size"):
        net.loss_and_grad(np.zeros((T, B), dtype=int), np.zeros((T, B), dtype=int), method="rtrl")


def test_config_rebuilds_an_embedding_model():
    net, _, _, _ = case(tie=True)
    other = bptt.RNN(**net.config)
    assert other.config == net.config
    assert all(np.array_equal(other.params[k], net.params[k]) for k in net.params)
