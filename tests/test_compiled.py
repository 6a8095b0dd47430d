"""compiled.py: the numba time loops give the NumPy loops' results, and are chosen by rule.

The gradient tests (test_gradcheck, test_torch_oracle, test_elman) run under both loops via
the ``both_loops`` fixture; here the two are compared with each other directly, on the same
batch, in float64 (to rounding: ≤ 1e-12) and float32 (≤ 1e-5), over every activation and the
structures that reach the loops differently (frozen steps, h0, stacked, reversed, ids).
"""
import numpy as np
import pytest

import bptt
from bptt import compiled

pytest.importorskip("numba")

ACTIVATIONS = ("tanh", "relu", "sigmoid", "identity")
STRUCTURES = {
    "plain": dict(),
    "lengths+h0": dict(lengths=True, h0=True),
    "2 layers bidirectional": dict(layers=2, bidirectional=True, lengths=True),
    "ids": dict(ids=True, lengths=True),
}


@pytest.fixture
def mode(monkeypatch):
    def set_mode(m):
        monkeypatch.setattr(compiled, "MODE", m)
    return set_mode


def both(case, mode, dtype):
    """loss_and_grad under the NumPy loops and under the compiled ones, same net and batch."""
    net = case.net
    if dtype != np.float64:
        net = bptt.RNN(net.input_size, net.hidden_size, net.output_size, activation=net.activation,
                       output=net.head.output, loss=net.head.loss, num_layers=net.num_layers,
                       bidirectional=net.bidirectional, dtype=dtype)
        net.params.update({k: v.astype(dtype) for k, v in case.net.params.items()})
    float_x = np.asarray(case.x).ndim == 3
    out = []
    for m in ("numpy", "numba"):
        mode(m)
        out.append(net.loss_and_grad(*case.args, input_grad=float_x))
    return out, float_x


def rel(a, b):
    return np.abs(a - b).max() / max(np.abs(b).max(), 1e-300)


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 1e-5)], ids=["f64", "f32"])
@pytest.mark.parametrize("structure", STRUCTURES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("B", [1, 3])
def test_compiled_loops_equal_numpy_loops(B, activation, structure, dtype, tol, make_case, mode):
    case = make_case(activation, B=B, T=6, H=4, seed=B, **STRUCTURES[structure])
    ((loss_np, g_np), (loss_nb, g_nb)), float_x = both(case, mode, dtype)
    assert abs(loss_nb - loss_np) <= tol * abs(loss_np)
    for k in g_np:
        assert rel(g_nb[k], g_np[k]) <= tol, k
    assert rel(g_nb.dh0, g_np.dh0) <= tol
    assert rel(g_nb.h_n, g_np.h_n) <= tol
    if float_x:
        assert rel(g_nb.dx, g_np.dx) <= tol


def test_frozen_rows_are_copied_exactly(make_case, mode):
    """Past its length a sequence's state is h_{t−1} itself (F3), bit for bit, in both loops."""
    case = make_case("tanh", B=3, T=6, lengths=True)
    for m in ("numpy", "numba"):
        mode(m)
        _, h, h_n = case.net.forward(case.x, lengths=case.lengths)
        assert min(case.lengths) < len(h)  # some sequence has frozen steps
        for b, n in enumerate(case.lengths):
            assert all(np.array_equal(h[t, b], h[n - 1, b]) for t in range(n, len(h)))
            assert np.array_equal(h_n[0, b], h[n - 1, b])


@pytest.mark.parametrize("B, H, expected", [(1, 100, True), (2, 64, True), (4, 32, True),
                                             (1, 129, False), (2, 100, False), (32, 128, False)])
def test_auto_compiles_only_where_it_was_measured_to_win(B, H, expected, mode):
    mode("auto")
    assert compiled.use(B, H) is expected
    mode("numpy")
    assert compiled.use(B, H) is False
    mode("numba")
    assert compiled.use(B, H) is True


def test_unknown_mode_is_named(mode):
    mode("fast")
    with pytest.raises(ValueError, match=r"BPTT_LOOPS.*one of \('auto', 'numpy', 'numba'\), got 'fast'"):
        compiled.use(1, 10)


def test_without_numba_auto_falls_back_and_numba_mode_says_what_to_install(mode, monkeypatch, make_case):
    import sys

    case = make_case("tanh", B=1)
    mode("numpy")
    expected = case.net.loss_and_grad(*case.args)[1]
    monkeypatch.setitem(sys.modules, "bptt._kernels", None)  # as if numba were missing
    monkeypatch.setattr(compiled, "_found", [])  # forget the lookup made so far
    mode("auto")
    assert compiled.use(1, 10) is False
    got = case.net.loss_and_grad(*case.args)[1]
    assert all(np.array_equal(got[k], expected[k]) for k in expected)  # the NumPy loops, bit for bit
    mode("numba")
    with pytest.raises(ImportError, match=r"pip install 'bptt\[fast\]'"):
        compiled.use(1, 10)
