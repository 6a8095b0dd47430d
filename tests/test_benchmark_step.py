"""benchmarks/step.py's gradient agreement check, for every cell (no timing: the check that
runs before any timing). On tiny shapes, float and id inputs, each implementation — bptt,
torch (both id formulations) and JAX if installed — must agree with torch's gradients, and a
wrong gradient must fail the check."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))

pytest.importorskip("torch")
import impl_bptt  # noqa: E402
import impl_torch  # noqa: E402
import step  # noqa: E402
from shapes import CELLS, Shape, make_data, make_weights, param_names, step_flops  # noqa: E402

SHAPES = [Shape("float", T=5, B=3, H=8, D=7, K=6), Shape("ids", T=4, B=2, H=6, D=11, K=5, ids=True)]


def _impls():
    mods = [impl_bptt]
    try:
        import impl_jax
    except ImportError:
        return mods
    return mods + [impl_jax]


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: s.name)
def test_every_implementation_agrees_with_torch(cell, shape):
    w = make_weights(shape, cell=cell)
    x, y = make_data(shape)
    assert set(w) == set(param_names(cell))
    modes = ("loop", "identity") if shape.ids else ("loop",)
    refs = [impl_torch.make(shape, w, x, y, cell=cell, ids_mode=m).loss_and_grads() for m in modes]
    for other in refs[1:]:  # torch's two id formulations agree with each other
        assert step.check_grads(refs[0], other, 1e-4, cell)["ok"]
    for mod in _impls():
        got = mod.make(shape, w, x, y, cell=cell).loss_and_grads()
        chk = step.check_grads(refs[0], got, 1e-4, cell)
        assert chk["ok"], (mod.NAME, chk)
        assert set(chk["grad_rel_err"]) == set(param_names(cell))


@pytest.mark.parametrize("cell", ("lstm", "gru"))
def test_check_fails_on_a_wrong_gradient(cell):
    shape = SHAPES[0]
    w = make_weights(shape, cell=cell)
    x, y = make_data(shape)
    ref = impl_torch.make(shape, w, x, y, cell=cell).loss_and_grads()
    loss, g = impl_bptt.make(shape, w, x, y, cell=cell).loss_and_grads()
    g["W"] = g["W"] * (1 + 1e-3)
    assert not step.check_grads(ref, (loss, g), 1e-4, cell)["ok"]
    del g["b"]  # a missing gradient is a failure, not a KeyError
    assert not step.check_grads(ref, (loss, g), 1e-4, cell)["ok"]


def test_gated_flops_scale_the_recurrent_products():
    s = Shape("x", T=2, B=3, H=4, D=5, K=6)
    T, B, H, D, K = 2, 3, 4, 5, 6
    assert step_flops(s) == 2 * T * B * (2 * D * H + 3 * H * H + 3 * H * K)
    for cell, G in (("lstm", 4), ("gru", 3)):
        assert step_flops(s, cell) == 2 * T * B * (2 * G * D * H + 3 * G * H * H + 3 * H * K)


def test_elman_weights_unchanged_by_the_cell_parameter():
    s = Shape("x", T=2, B=3, H=4, D=5, K=6)
    a, b = make_weights(s), make_weights(s, cell="elman")
    assert all(np.array_equal(a[k], b[k]) for k in a)
