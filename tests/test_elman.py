"""elman.py: one layer's forward (F1–F3) and BPTT backward (B1–B7), called directly, and the
seeds' mistakes in the recurrence as named tests (cited by docs/errata.md).

An errata test implements the seed's formula in a few lines next to the correct one and shows
that against central differences ours agrees to 1e-7 while the seed's is off by more than 1e-3.
"""
import numpy as np
import pytest

from bptt import activations
from bptt.cells import elman

pytestmark = pytest.mark.usefixtures("both_loops")  # NumPy and compiled loops

OK, WRONG = 1e-7, 1e-3
ACTIVATIONS = ("tanh", "relu", "sigmoid", "identity")


def equations_forward(x, h0, U, W, b, activation, active=None):
    """(F1)–(F3) step by step, for float inputs; also returns every z_t."""
    T, B = x.shape[:2]
    h, zs = [h0], []
    for t in range(T):
        z = x[t] @ U.T + h[-1] @ W.T + b  # (F1)
        new = activations.apply(activation, z)  # (F2)
        if active is not None:
            new = np.where(active[t][:, None], new, h[-1])  # (F3)
        h.append(new)
        zs.append(z)
    return np.stack(h), np.stack(zs)


def layer(rng, T=5, B=3, D=2, H=4, scale=1.0):
    return dict(x=rng.standard_normal((T, B, D)), h0=rng.standard_normal((B, H)) * 0.5,
                U=rng.standard_normal((H, D)) * scale, W=rng.standard_normal((H, H)) * scale / np.sqrt(H),
                b=rng.standard_normal(H) * 0.1)


def kink_free_layer(activation, active, seed=0, **kw):
    for s in range(seed, seed + 100):
        p = layer(np.random.default_rng(s), **kw)
        _, z = equations_forward(p["x"], p["h0"], p["U"], p["W"], p["b"], activation, active)
        if activation != "relu" or np.abs(z).min() >= 1e-4:
            return p
    raise AssertionError("no kink-free seed")


ACTIVE = np.array([[1, 1, 1], [1, 1, 1], [1, 0, 1], [1, 0, 0], [1, 0, 0]], dtype=bool)  # lengths 5, 2, 3


@pytest.mark.parametrize("active", [None, ACTIVE], ids=["full", "lengths-5-2-3"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_forward_is_F1_to_F3(activation, active):
    p = layer(np.random.default_rng(0))
    h, cache = elman.forward(p["x"], p["h0"], p["U"], p["W"], p["b"], activation, active)
    ref, _ = equations_forward(p["x"], p["h0"], p["U"], p["W"], p["b"], activation, active)
    np.testing.assert_allclose(h, ref, rtol=1e-14, atol=1e-15)
    assert h.shape == (6, 3, 4) and np.array_equal(h[0], p["h0"])
    assert cache.h is h and cache.x is p["x"] and cache.active is active
    if active is not None:  # frozen past the end: h_T is the last valid state
        np.testing.assert_array_equal(h[5, 1], h[2, 1])
        np.testing.assert_array_equal(h[5, 2], h[3, 2])


@pytest.mark.parametrize("active", [None, ACTIVE], ids=["full", "lengths-5-2-3"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_backward_with_outside_dh_T_matches_central_differences(activation, active):
    """L = Σ_t ⟨G_t, h_t⟩ + ⟨dh_T, h_T⟩ for arbitrary G and dh_T: backward must give ∂L/∂U, W,
    b (B3–B5), ∂L/∂x (B6) and ∂L/∂h_0 (B7), including the frozen-row pass-through (B1)."""
    p = kink_free_layer(activation, active)
    rng = np.random.default_rng(9)
    G = rng.standard_normal((5, 3, 4))
    dh_T = rng.standard_normal((3, 4))

    def loss(q):
        h, _ = equations_forward(q["x"], q["h0"], q["U"], q["W"], q["b"], activation, active)
        return float(np.sum(G * h[1:]) + np.sum(dh_T * h[-1]))

    _, cache = elman.forward(p["x"], p["h0"], p["U"], p["W"], p["b"], activation, active)
    grads, dx, dh0 = elman.backward(cache, G, dh_T, p["U"], p["W"], activation, need_dx=True)
    analytic = {**grads, "x": dx, "h0": dh0}
    eps = 1e-5
    for name, a in analytic.items():
        num = np.zeros_like(p[name])
        for idx in np.ndindex(*p[name].shape):
            up = {**p, name: p[name].copy()}
            down = {**p, name: p[name].copy()}
            up[name][idx] += eps
            down[name][idx] -= eps
            num[idx] = (loss(up) - loss(down)) / (2 * eps)
        err = np.max(np.abs(a - num)) / max(np.max(np.abs(a)), np.max(np.abs(num)))
        assert err <= OK, (name, err)
    if active is not None:
        assert np.all(dx[~active] == 0)  # padding is never read


def test_backward_does_not_modify_its_inputs():
    p = layer(np.random.default_rng(1))
    _, cache = elman.forward(p["x"], p["h0"], p["U"], p["W"], p["b"], "tanh", ACTIVE)
    G = np.random.default_rng(2).standard_normal((5, 3, 4))
    dh_T = np.ones((3, 4))
    saved = [a.copy() for a in (G, dh_T, cache.h, cache.x, p["U"], p["W"])]
    elman.backward(cache, G, dh_T, p["U"], p["W"], "tanh", need_dx=True)
    for before, after in zip(saved, (G, dh_T, cache.h, cache.x, p["U"], p["W"])):
        np.testing.assert_array_equal(before, after)


def test_token_ids_equal_one_hot_inputs_including_repeated_ids():
    """ids gather columns of U (B4 as a scatter-add); the same as one-hot float inputs."""
    rng = np.random.default_rng(3)
    V, H, T, B = 4, 3, 6, 2
    ids = rng.integers(0, V, size=(T, B))
    ids[:3, :] = 1  # the same id many times: its column of ∂L/∂U accumulates
    U, W, b = rng.standard_normal((H, V)), rng.standard_normal((H, H)) * 0.5, rng.standard_normal(H)
    h0 = rng.standard_normal((B, H))
    G = rng.standard_normal((T, B, H))
    h_ids, c_ids = elman.forward(ids, h0, U, W, b, "tanh")
    h_hot, c_hot = elman.forward(np.eye(V)[ids], h0, U, W, b, "tanh")
    np.testing.assert_allclose(h_ids, h_hot, rtol=1e-14, atol=1e-15)
    g_ids, dx_ids, dh0_ids = elman.backward(c_ids, G, None, U, W, "tanh", need_dx=False)
    g_hot, _, dh0_hot = elman.backward(c_hot, G, None, U, W, "tanh", need_dx=False)
    assert dx_ids is None
    for k in g_hot:
        np.testing.assert_allclose(g_ids[k], g_hot[k], rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(dh0_ids, dh0_hot, rtol=1e-13)


@pytest.mark.parametrize("ids", [
    pytest.param(np.array([3, 0, 3, 7, 3]), id="few repeats"),
    pytest.param(np.r_[np.full(20, 2), np.arange(10), np.full(11, 9)], id="ids beyond the passes"),
    pytest.param(np.zeros(50, dtype=int), id="one id only"),
])
def test_scatter_add_sums_every_row_of_each_id(ids):
    """The pass-wise scatter of B4 against np.add.at (a row-by-row sum), in float64."""
    rng = np.random.default_rng(7)
    rows = rng.standard_normal((len(ids), 3))
    out, expected = np.zeros((10, 3)), np.zeros((10, 3))
    elman.scatter_add(out, ids, rows, passes=4)
    np.add.at(expected, ids, rows)
    np.testing.assert_allclose(out, expected, rtol=1e-14, atol=1e-14)
    assert not out[np.setdiff1d(np.arange(10), ids)].any()  # ids never seen stay exactly zero


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_preserved(dtype):
    p = {k: v.astype(dtype) for k, v in layer(np.random.default_rng(4)).items()}
    h, cache = elman.forward(p["x"], p["h0"], p["U"], p["W"], p["b"], "tanh")
    grads, dx, dh0 = elman.backward(cache, np.ones_like(h[1:]), None, p["U"], p["W"], "tanh", need_dx=True)
    assert h.dtype == dtype and dx.dtype == dtype and dh0.dtype == dtype
    assert all(g.dtype == dtype for g in grads.values())


# ======================================================= the seeds' recurrence mistakes
def assert_seed_mistake(e, wrong, fd_err, names):
    """ours agrees with central differences; the seed's formula does not, for every name."""
    for k in names:
        assert fd_err(e.ours[k], e.fd[k]) <= OK, k
        err = fd_err(wrong[k], e.fd[k])
        assert err > WRONG, f"{k}: the seed's formula agrees to {err:.2g}"


def output_grad(e):
    """∂L/∂o_t of the case's head (canonical pairs: ŷ − y; softmax + mse: the dense Jᵀ(ŷ − y)),
    weighted by m_{t,b}/B (L1)."""
    P, Y = e.y_hat, e.Y
    if e.net.head.fused:
        d = P - Y
    else:  # softmax + mse
        d = P * ((P - Y) - np.sum(P * (P - Y), axis=-1, keepdims=True))
    return d * e.m[..., None]


def fprime(e):
    return activations.derivative_from_output(e.net.activation, e.h[1:])


def test_seed000_dropping_the_recurrent_term_of_dh_dU_is_wrong(errata_case, reference_bptt, fd_err):
    """Seed 000, ③ ∂L/∂U: "∂(w h_{t−1})/∂U = w·∂h_{t−1}/∂U + h_{t−1}·∂w/∂U = 0". Read as
    written, the whole recurrent term is 0 and ∂h_t/∂U = (1 − tanh²(z_t)) x_t: only the
    direct path of each step (a one-step truncation). The seed's next lines keep
    w·∂h_{t−1}/∂U, which is right; only ∂w/∂U is 0."""
    e = errata_case("tanh", "softmax+ce")
    d_o = output_grad(e)
    right, _ = reference_bptt(e.p, e.x, e.h, d_o, fprime(e))
    assert all(fd_err(right[k], e.fd[k]) <= OK for k in e.fd)
    direct = (d_o @ e.p["V"]) * fprime(e)  # ∂L_t/∂h_t ⊙ (1 − h_t²), nothing from t + 1
    wrong = {"U": np.einsum("tbh,tbd->hd", direct, e.x)}
    assert_seed_mistake(e, wrong, fd_err, ["U"])


def test_seed001_recurrent_weight_gradient_transposed_is_wrong(errata_case, reference_bptt, fd_err):
    """Seed 001, ③ ∇_{W''}L = Σ_t h^{1,t−1} (M×1) ∇_{z^{1,t}}L (1×M): entry (i, j) is
    h_i δ_j, the transpose of the right Σ_t δ_tᵀ h_{t−1} (entry (i, j) = δ_i h_j) (B3)."""
    e = errata_case("tanh", "softmax+ce")
    _, deltas = reference_bptt(e.p, e.x, e.h, output_grad(e), fprime(e))
    np.testing.assert_allclose(np.einsum("tbi,tbj->ij", deltas, e.h[:-1]), e.ours["W"], rtol=1e-12)
    wrong = {"W": np.einsum("tbi,tbj->ij", e.h[:-1], deltas)}  # h_{t−1} ∇_z L
    assert_seed_mistake(e, wrong, fd_err, ["W"])


def test_seed001_input_weight_gradient_transposed_is_wrong(errata_case, reference_bptt, fd_err):
    """Seed 001, ④ ∇_{W⁰}L = Σ_t ∇_{z^{1,t}}L (D×1) ∇_{W⁰}z^{1,t} (1×M): a D × M matrix for
    the M × D weight W⁰ — the transpose of Σ_t δ_tᵀ x_t (B4). It only type-checks when
    D = M, as here, and is then wrong."""
    e = errata_case("tanh", "softmax+ce", D=3, H=3)
    _, deltas = reference_bptt(e.p, e.x, e.h, output_grad(e), fprime(e))
    wrong = {"U": np.einsum("tbd,tbh->dh", e.x, deltas)}
    assert_seed_mistake(e, wrong, fd_err, ["U"])


def test_seed001_output_weight_gradient_transposed_is_wrong(errata_case, fd_err):
    """Seed 001, ① ∇_{W¹}L = Σ_t h^{1,t} (M×1) ∇_{z^{2,t}}L (1×K): M × K for the K × M
    weight W¹ (V here); the transpose of Σ_t (∂L/∂o_t)ᵀ h_t (B8). (The later slide, eq. (1),
    has the right order.) Type-checks only when K = M, as here."""
    e = errata_case("tanh", "softmax+ce", H=3, K=3)
    wrong = {"V": np.einsum("tbh,tbk->hk", e.h[1:], output_grad(e))}
    assert_seed_mistake(e, wrong, fd_err, ["V"])


def test_seed001_dropping_the_hidden_activation_jacobian_is_wrong(errata_case, reference_bptt, fd_err):
    """Seed 001, ③: "∇_{z^{1,t}}L = ∇_{h^{1,t}}L ∇_{z^{1,t}}h^{1,t} = ∇_{h^{1,t}}L" — the
    diagonal Jacobian diag(1 − h²) of tanh (which the same slide draws) replaced by I. (B2)
    needs δ_t = ∂L/∂h_t ⊙ f'(z_t)."""
    e = errata_case("tanh", "softmax+ce")
    wrong, _ = reference_bptt(e.p, e.x, e.h, output_grad(e), np.ones_like(e.h[1:]))
    assert_seed_mistake(e, wrong, fd_err, ["U", "W", "b"])


def test_seed002_eq12_dU_uses_h_prev_instead_of_x_is_wrong(errata_case, reference_bptt, fd_err):
    """Seed 002, eq. (12): derived from eq. (11) for ∂L/∂U, listed with ∂h_k/∂U = (1 − h_k²) x_k,
    but written as "∂L/∂W = … (1 − h_k²) h_{k−1}" — eq. (10) again, with h_{k−1} where x_k
    belongs. (Its sign error is that of eq. (10), tested separately; corrected here.) Taken
    as ∂L/∂U it is Σ_k δ_kᵀ h_{k−1}, which only type-checks when D = H, as here."""
    e = errata_case("tanh", "softmax+ce", D=3, H=3)
    _, deltas = reference_bptt(e.p, e.x, e.h, output_grad(e), fprime(e))
    wrong = {"U": np.einsum("tbh,tbj->hj", deltas, e.h[:-1])}
    np.testing.assert_allclose(wrong["U"], e.ours["W"], rtol=1e-12)  # it IS ∂L/∂W
    assert_seed_mistake(e, wrong, fd_err, ["U"])


def test_seed003_state_equation_without_F_is_wrong(errata_case, reference_bptt, fd_err):
    """Seed 003 declares "F at hidden layer" but writes s^t = W s^{t−1} + U x^t, and its
    recursions (6) and (8) carry no F'. That is the exact gradient of a LINEAR recurrence
    (checked on an identity-activation network) and wrong for the tanh network declared.
    The seed's head: output nonlinearity f = softmax with the quadratic loss (1)."""
    lin = errata_case("identity", "softmax+mse")
    g_lin, _ = reference_bptt(lin.p, lin.x, lin.h, output_grad(lin), np.ones_like(lin.h[1:]))
    assert all(fd_err(g_lin[k], lin.fd[k]) <= OK for k in lin.fd)
    e = errata_case("tanh", "softmax+mse")
    wrong, _ = reference_bptt(e.p, e.x, e.h, output_grad(e), np.ones_like(e.h[1:]))
    assert_seed_mistake(e, wrong, fd_err, ["U", "W", "b"])


def test_seed003_eq6_keeps_only_unit_i_is_wrong(errata_case, fd_err):
    """Seed 003, eq. (6): Σ_s Σ_r ∂o_k/∂g_s V_sr ∂s_r^t/∂W_ij is replaced by the r = i term
    alone. Only the DIRECT part of ∂s_r^t/∂W_ij vanishes for r ≠ i; through s^{t−1} every
    unit depends on W_ij. Forward-mode sensitivities P_t[r, i, j] = ∂s_r^t/∂W_ij on the seed's
    own linear recurrence (identity activation, so the missing F of the previous test plays
    no part): summing over every r agrees with finite differences, r = i alone does not."""
    e = errata_case("identity", "softmax+mse")
    T, B, H = e.h[1:].shape
    G = output_grad(e) @ e.p["V"]  # ∂L/∂s_t through o_t only: (T, B, H)
    P = np.zeros((B, H, H, H))  # ∂s^0/∂W = 0
    right, wrong = np.zeros((H, H)), np.zeros((H, H))
    for t in range(T):
        direct = np.einsum("ri,bj->brij", np.eye(H), e.h[t])  # δ_ri s_j^{t−1}
        P = direct + np.einsum("rp,bpij->brij", e.p["W"], P)  # + Σ_p W_rp ∂s_p^{t−1}/∂W_ij
        right += np.einsum("br,brij->ij", G[t], P)
        wrong += np.einsum("bi,biij->ij", G[t], P)  # r = i only
    assert fd_err(right, e.fd["W"]) <= OK
    assert_seed_mistake(e, {"W": wrong}, fd_err, ["W"])


def test_seed004_jacobian_product_over_wrong_steps_is_wrong(errata_case, fd_err):
    """Seed 004: "∂o_t/∂o_{t−1} = Π_{t=2}^{j} f'(x_{it} w_inp + o_{t−1} w_h) w_h" — a product
    over the steps BEFORE j (that is ∂o_j/∂o_1), where ∂ŷ/∂o_j needs the steps after it,
    ∂o_T/∂o_j = Π_{t=j+1}^{T} f'(z_t) w_h. The seed's scalar many-to-one network
    o_t = f(x_t w_i + o_{t−1} w_h), ŷ = σ(o_T w_o), binary cross-entropy, f = tanh."""
    T = 4
    e = errata_case("tanh", "sigmoid+bce", D=1, H=1, K=1, T=T, B=2, last=True, set_params={"b": 0.0, "c": 0.0})
    o = e.h[..., 0]  # (T+1, B): o_0 = 0, o_1 … o_T
    fp = 1 - o ** 2  # f'(z_t) at index t
    w_h, w_o = e.p["W"][0, 0], e.p["V"][0, 0]
    g_T = e.m[-1] * (e.y_hat[-1, :, 0] - e.Y[-1, :, 0]) * w_o  # ∂L/∂o_T
    right = wrong = 0.0
    for j in range(1, T + 1):
        direct = fp[j] * o[j - 1]  # ∂o_j/∂w_h, immediate
        right += g_T * np.prod([fp[t] * w_h for t in range(j + 1, T + 1)], axis=0) * direct
        wrong += g_T * np.prod([fp[t] * w_h for t in range(2, j + 1)], axis=0) * direct
    right, wrong = np.sum(right).reshape(1, 1), np.sum(wrong).reshape(1, 1)
    assert fd_err(right, e.fd["W"]) <= OK
    assert_seed_mistake(e, {"W": wrong}, fd_err, ["W"])
