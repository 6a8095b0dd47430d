"""The cells' one-step vector–Jacobian product ``step_back`` (bptt.cells interface) against
central differences of the cell's own forward, and chained, against its full ``backward``."""
import numpy as np
import pytest

from bptt import cells

CASES = {
    **{f"elman-{a}": ("elman", {"activation": a}) for a in ("tanh", "sigmoid", "relu", "identity")},
    "lstm": ("lstm", {}),
    "lstm-proj": ("lstm", {"proj_size": 3}),
    "gru": ("gru", {"reset_after": True}),
    "gru-cho": ("gru", {"reset_after": False}),
}


def setup(case, T=5, B=3, D=2, H=4, seed=0, rmask=False):
    """(cell, p, x, active, cache): a random layer in float64 run over x, the sequences of
    lengths T, 3, 1 (frozen past their ends), from a random state; rmask: with a recurrent
    dropout mask (dropout.py DR3)."""
    name, opts = CASES[case]
    cell = cells.make(name, **opts)
    rng = np.random.default_rng(seed)
    p = cell.init("uniform", rng, H, D)
    p["W"] = 2 * p["W"]  # away from tiny Jacobians, so the comparison means something
    if "bn" in p:
        p["bn"] = rng.standard_normal(H)
    x = rng.standard_normal((T, B, D))
    state0 = tuple(0.5 * rng.standard_normal((B, size)) for size in cell.state_sizes(H))
    active = np.arange(T)[:, None] < np.array([T, 3, 1])[None, :]
    rho = (rng.random((B, cell.output_size(H))) < 0.7) / 0.7 if rmask else None
    _, cache, _ = cell.forward(x, state0, p, active, rmask=rho)
    return cell, p, x, active, cache


def rel(a, b):
    return np.abs(a - b).max() / np.abs(b).max()


@pytest.mark.parametrize("case", CASES)
def test_step_back_is_the_jacobian_of_one_forward_step(case):
    """Perturb state_{t−1}, run step t of the forward, read state_t: the central differences of
    Σ dstate_t · state_t for two gradients at once (a leading dim of 2), every t, frozen rows."""
    cell, p, x, active, cache = setup(case)
    T = x.shape[0]
    rng = np.random.default_rng(1)
    eps = 1e-6
    for t in range(1, T + 1):
        prev = cell.state_at(cache, t - 1)
        dstate = tuple(rng.standard_normal((2,) + s.shape) for s in prev)

        def project(state):
            out = cell.forward(x[t - 1:t], state, p, active[t - 1:t])[2]
            return np.array([sum(np.sum(d[j] * s) for d, s in zip(dstate, out)) for j in range(2)])

        got = cell.step_back(cache, t, dstate, p)
        assert len(got) == len(prev)
        for part, s in enumerate(prev):
            fd = np.empty((2,) + s.shape)
            for idx in np.ndindex(s.shape):
                up = [q.copy() for q in prev]
                down = [q.copy() for q in prev]
                up[part][idx] += eps
                down[part][idx] -= eps
                fd[(slice(None),) + idx] = (project(tuple(up)) - project(tuple(down))) / (2 * eps)
            assert got[part].shape == fd.shape
            assert rel(got[part], fd) <= 1e-7, (case, t, part)
            frozen = ~active[t - 1]
            if frozen.any():  # a frozen row passes its gradient through unchanged
                np.testing.assert_array_equal(got[part][:, frozen], dstate[part][:, frozen])


@pytest.mark.parametrize("rmask", [False, True], ids=["", "recurrent-dropout"])
@pytest.mark.parametrize("case", CASES)
def test_step_back_chained_is_the_backward_without_G(case, rmask):
    cell, p, x, _, cache = setup(case, T=7, B=3, H=5, seed=2, rmask=rmask)
    rng = np.random.default_rng(3)
    dstate_T = tuple(rng.standard_normal(s.shape) for s in cell.state_at(cache, 0))
    G = np.zeros((x.shape[0],) + dstate_T[0].shape)
    _, _, want = cell.backward(cache, G, dstate_T, p, False)
    d = dstate_T
    for t in range(x.shape[0], 0, -1):
        d = cell.step_back(cache, t, d, p)
    for got, w in zip(d, want, strict=True):
        assert rel(got, w) <= 1e-12
