"""bptt.weights: the plain .npz format round-trips, and its documented keys suffice to run the
model with numpy alone."""
import json

import numpy as np
import pytest

import bptt
from bptt import weights
from bptt.seq2seq import Seq2Seq


@pytest.mark.parametrize("kw", [
    dict(),
    dict(num_layers=2, bidirectional=True, activation="relu", dtype=np.float64),
    dict(activation="sigmoid", output="sigmoid", init="orthogonal"),
    dict(output="identity", num_layers=3, seed=5),
])
def test_rnn_round_trip(tmp_path, kw):
    net = bptt.RNN(4, 5, 3, **kw)
    path = tmp_path / "w.npz"
    weights.save(path, net)
    back = weights.load(path)
    assert type(back) is bptt.RNN and back.config == net.config
    assert list(back.params) == list(net.params)
    for k in net.params:
        assert back.params[k].dtype == net.params[k].dtype
        np.testing.assert_array_equal(back.params[k], net.params[k])
    with np.load(path, allow_pickle=False) as f:  # the documented keys, nothing else
        assert sorted(f.files) == sorted(["format", "model", "config"] + list(net.params))
        assert f["format"].item() == "bptt.weights/1" and f["model"].item() == "RNN"
        assert json.loads(f["config"].item()) == net.config


def test_seq2seq_round_trip(tmp_path):
    m = Seq2Seq(7, 6, 5, num_layers=2, bidirectional=True, seed=0)
    weights.save(tmp_path / "s2s.npz", m)
    back = weights.load(tmp_path / "s2s.npz")
    assert type(back) is Seq2Seq and back.config == m.config
    for k in m.params:
        np.testing.assert_array_equal(back.params[k], m.params[k])
    src = np.random.default_rng(0).integers(0, 7, (5, 3))
    assert back.translate(src, None, 6, 1, 2) == m.translate(src, None, 6, 1, 2)


# --- the module docstring's recipe, written from the file alone (no bptt calls) -------------
F = {"tanh": np.tanh, "relu": lambda z: np.maximum(z, 0), "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
     "identity": lambda z: z}
G = {**F, "softmax": lambda o: np.exp(o - o.max(-1, keepdims=True))
     / np.exp(o - o.max(-1, keepdims=True)).sum(-1, keepdims=True)}


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def step(cfg, f, sfx, x_t, state):
    """One step of the cell named in the config, as the docstring of bptt.weights writes it."""
    cell = cfg.get("cell", "elman")
    U, W, b = f["U" + sfx], f["W" + sfx], f["b" + sfx]
    if cell == "elman":
        h = F[cfg["activation"]](x_t @ U.T + state[0] @ W.T + b)
        return h, (h,)
    if cell == "lstm":
        i, fg, g, o = np.split(x_t @ U.T + state[0] @ W.T + b, 4)
        c = sigmoid(fg) * state[1] + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        h = h @ f["R" + sfx].T if cfg.get("proj_size") else h
        return h, (h, c)
    p_r, p_z, p_n = np.split(x_t @ U.T + b, 3)
    H = cfg["hidden_size"]
    q_r, q_z, q_n = np.split(state[0] @ W.T, 3)
    r, z = sigmoid(p_r + q_r), sigmoid(p_z + q_z)
    if cfg.get("reset_after", True):
        n = np.tanh(p_n + r * (q_n + f["bn" + sfx]))
    else:
        n = np.tanh(p_n + (r * state[0]) @ W[2 * H:].T)
    h = (1 - z) * n + z * state[0]
    return h, (h,)


def run_from_file(path, x):
    """x: (T, D) floats or (T,) token ids -> y (T, K), per the docstring of bptt.weights."""
    f = np.load(path, allow_pickle=False)
    cfg = json.loads(f["config"].item())
    dirs = 2 if cfg["bidirectional"] else 1
    H, P = cfg["hidden_size"], cfg.get("proj_size") or cfg["hidden_size"]
    if x.ndim == 1:  # token ids: the row of E, or the one-hot row
        x = f["E"][x] if cfg.get("embedding_size") else np.eye(cfg["input_size"])[x]
    for layer in range(1, cfg["num_layers"] + 1):
        outs = []
        for d in range(dirs):
            sfx = (str(layer) if layer > 1 else "") + ("_rev" if d else "")
            row = (layer - 1) * dirs + d
            state = (f["h0"][row] if cfg.get("learn_h0") else np.zeros(P),)
            if cfg.get("cell") == "lstm":
                state += (f["c0"][row] if cfg.get("learn_h0") else np.zeros(H),)
            hs = []
            for x_t in (x[::-1] if d else x):
                h, state = step(cfg, f, sfx, x_t, state)
                hs.append(h)
            outs.append(np.array(hs[::-1] if d else hs))
        x = np.concatenate(outs, axis=1)
    V = f["E"] if cfg.get("tie_weights") else f["V"]
    return G[cfg["output"]](x @ V.T + f["c"])


@pytest.mark.parametrize("kw", [
    dict(cell="lstm", num_layers=2, bidirectional=True),
    dict(cell="lstm", proj_size=3, learn_h0=True),
    dict(cell="gru", num_layers=2),
    dict(cell="gru", reset_after=False, bidirectional=True),
    dict(cell="gru", embedding_size=4, learn_h0=True),
    dict(cell="lstm", embedding_size=3, proj_size=3, tie_weights=True),
], ids=["lstm-2-bi", "lstmp-h0", "gru-2", "gru-cho-bi", "gru-embedding-h0", "lstmp-tied"])
def test_gated_weights_run_without_the_library(tmp_path, kw):
    net = bptt.RNN(4, 5, 4, seed=1, dtype=np.float64, **kw)
    rng = np.random.default_rng(0)
    for k in ("h0", "c0"):
        if k in net.params:
            net.params[k][:] = rng.normal(0, 0.5, net.params[k].shape)
    weights.save(tmp_path / "w.npz", net)
    assert weights.load(tmp_path / "w.npz").config == net.config
    ids = rng.integers(0, 4, (6, 1))
    np.testing.assert_allclose(run_from_file(tmp_path / "w.npz", ids[:, 0]), net.forward(ids).y_hat[:, 0],
                               rtol=1e-12, atol=1e-14)
    if not kw.get("embedding_size"):
        x = rng.standard_normal((6, 1, 4))
        np.testing.assert_allclose(run_from_file(tmp_path / "w.npz", x[:, 0]), net.forward(x).y_hat[:, 0],
                                   rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kw", [
    dict(),
    dict(num_layers=2, bidirectional=True, activation="relu"),
    dict(activation="sigmoid", output="sigmoid", num_layers=2),
])
def test_weights_run_without_the_library(tmp_path, kw):
    net = bptt.RNN(4, 5, 3, seed=1, dtype=np.float64, **kw)
    weights.save(tmp_path / "w.npz", net)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 1, 4))
    np.testing.assert_allclose(run_from_file(tmp_path / "w.npz", x[:, 0]), net.forward(x).y_hat[:, 0],
                               rtol=1e-12, atol=1e-14)
    ids = rng.integers(0, 4, (6, 1))
    np.testing.assert_allclose(run_from_file(tmp_path / "w.npz", ids[:, 0]), net.forward(ids).y_hat[:, 0],
                               rtol=1e-12, atol=1e-14)


def write(path, **arrays):
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)


def test_errors(tmp_path):
    net = bptt.RNN(3, 4, 2, num_layers=2)
    good = {"format": np.array("bptt.weights/1"), "model": np.array("RNN"),
            "config": np.array(json.dumps(net.config)), **net.params}
    p = tmp_path / "bad.npz"
    cases = [
        ({k: a for k, a in good.items() if k != "W2"}, r"missing parameters \['W2'\]"),
        ({**good, "U2": np.zeros((4, 3))}, r"'U2' must have shape \(4, 4\) for this config, got \(4, 3\)"),
        ({**good, "W_rev": np.zeros((4, 4))}, r"unexpected arrays \['W_rev'\]"),
        ({k: a for k, a in good.items() if k != "config"}, r"missing \['config'\]"),
        ({**good, "config": np.array("{not json")}, "config is not valid JSON"),
        ({**good, "config": np.frombuffer(b"{}", np.uint8)}, "'config' must be a 0-d str array"),
        ({**good, "config": np.array(json.dumps({**net.config, "colour": 1}))}, "does not describe a RNN"),
        ({**good, "format": np.array("other/2")}, "format is 'other/2'"),
        ({**good, "model": np.array("LSTM")}, "model must be one of"),
        ({**good, "b": np.full(4, np.nan)}, "NaN or inf"),
        ({**good, "b": np.arange(4)}, "'b' must be a float array"),
    ]
    for arrays, match in cases:
        write(p, **arrays)
        with pytest.raises(ValueError, match=match):
            weights.load(p)
    p.write_bytes(b"not a zip at all")
    with pytest.raises(ValueError, match="not a readable .npz"):
        weights.load(p)
    np.save(tmp_path / "single.npy", np.zeros(3))
    with pytest.raises(ValueError, match="not an .npz archive"):
        weights.load(tmp_path / "single.npy")
    with pytest.raises(FileNotFoundError):
        weights.load(tmp_path / "absent.npz")
    with pytest.raises(TypeError, match="net must be"):
        weights.save(p, {"U": np.zeros(2)})
    write(p, **good)  # and the untouched dict loads
    assert weights.load(p).config == net.config


def test_a_training_checkpoint_names_its_loader(tmp_path):
    """bptt.weights.load on a run's checkpoint.npz says which loader reads it, and that loader does."""
    r = bptt.train("addition", steps=4, eval_every=2, out=tmp_path / "run", progress=False,
                   model_options={"hidden_size": 3}, task_options={"test_bits": [8]})
    ckpt = tmp_path / "run" / "checkpoint.npz"
    with pytest.raises(ValueError, match=r"a training checkpoint .*bptt\.runs\.load_state\(path\)"):
        weights.load(ckpt)
    _, net, _, _ = bptt.runs.load_state(ckpt)
    weights.save(tmp_path / "w.npz", net)
    assert weights.load(tmp_path / "w.npz").config == r.model.config


def test_interop_is_an_attribute_of_bptt_without_importing_torch():
    import subprocess
    import sys

    code = ("import sys, bptt; assert 'torch' not in sys.modules; m = bptt.interop.torch; "
            "assert m.__name__ == 'bptt.interop.torch' and 'torch' not in sys.modules")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
