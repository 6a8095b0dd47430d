"""losses.py: output activations and losses, their ∂L/∂o (L2–L4), large logits, and the seeds'
mistakes on the output side (named tests cited by docs/errata.md).

An errata test implements the seed's formula in a few lines, next to the correct one, and shows
that against central differences ours agrees to 1e-7 while the seed's is off by more than 1e-3.
"""
import warnings

import numpy as np
import pytest

import bptt
from bptt import losses
from bptt.losses import Head, log_softmax, softmax, softmax_jacobian, softplus

OK, WRONG = 1e-7, 1e-3
HEADS = {
    "softmax+ce": ("softmax", "cross_entropy"), "sigmoid+bce": ("sigmoid", "bce"),
    "identity+mse": ("identity", "mse"), "softmax+mse": ("softmax", "mse"),
    "sigmoid+mse": ("sigmoid", "mse"), "tanh+mse": ("tanh", "mse"), "relu+mse": ("relu", "mse"),
}


def strict():
    """Overflow, division by zero and invalid operations raise; underflow to 0 is allowed
    (exp(−1e4) = 0 is the correct limit, not an error)."""
    return np.errstate(over="raise", divide="raise", invalid="raise", under="ignore")


def rows(rng, N=5, K=4, scale=2.0):
    return rng.standard_normal((N, K)) * scale


def targets(head, rng, N, K):
    if head.loss == "cross_entropy":
        return rng.integers(0, K, size=N)
    if head.loss == "bce":
        return rng.uniform(0, 1, size=(N, K))
    return rng.standard_normal((N, K))


# ================================================================ ∂L/∂o of every head
@pytest.mark.parametrize("name", list(HEADS))
def test_value_and_grad_matches_central_differences_in_o(name):
    """(L2)/(L3) row by row: d_o = ∂(Σ_n w_n L_n)/∂o, with weights w (one of them 0)."""
    head = Head.make(*HEADS[name])
    rng = np.random.default_rng(1)
    o = rows(rng)
    if head.output == "relu":
        o[np.abs(o) < 1e-3] = 0.5  # away from the kink
    y = targets(head, rng, *o.shape)
    w = np.array([0.5, 0.0, 1.0, 2.0, 0.25])
    loss, d_o = head.value_and_grad(o, y, w)
    assert loss == pytest.approx(float(w @ head.per_row(o, y)), rel=1e-14)
    eps, num = 1e-6, np.zeros_like(o)
    for idx in np.ndindex(*o.shape):
        up, down = o.copy(), o.copy()
        up[idx] += eps
        down[idx] -= eps
        num[idx] = (head.value(up, y, w) - head.value(down, y, w)) / (2 * eps)
    assert np.max(np.abs(d_o - num)) <= 1e-8 * np.max(np.abs(num))
    assert np.all(d_o[1] == 0)  # a row of weight 0 carries no gradient


@pytest.mark.parametrize("name", ["softmax+ce", "sigmoid+bce", "identity+mse"])
def test_fused_pairs_give_y_hat_minus_y(name):
    """(L2): the canonical pairs' ∂L_t/∂o_t is exactly ŷ − y (one-hot y for cross-entropy)."""
    head = Head.make(*HEADS[name])
    rng = np.random.default_rng(2)
    o = rows(rng)
    y = targets(head, rng, *o.shape)
    Y = np.eye(o.shape[1])[y] if head.integer_targets else y
    _, d_o = head.value_and_grad(o, y, np.ones(len(o)))
    np.testing.assert_allclose(d_o, head.predict(o) - Y, rtol=0, atol=1e-15)


@pytest.mark.parametrize("output,loss", [("identity", "cross_entropy"), ("sigmoid", "cross_entropy"),
                                         ("softmax", "bce"), ("tanh", "bce"), ("relu", "cross_entropy")])
def test_pairs_that_would_take_log_of_non_probabilities_are_rejected(output, loss):
    with pytest.raises(ValueError, match=f"loss='{loss}' needs output in"):
        Head.make(output, loss)


def test_default_losses():
    assert [Head.make(o, None).loss for o in losses.OUTPUTS] == [
        "cross_entropy", "bce", "mse", "mse", "mse"]


# ============================================================== the softmax Jacobian
def test_softmax_jacobian_is_the_numerical_jacobian_of_softmax():
    rng = np.random.default_rng(3)
    o = rows(rng, N=3, K=5)
    J = softmax_jacobian(softmax(o))
    eps = 1e-6
    for j in range(5):
        e = np.zeros(5)
        e[j] = eps
        col = (softmax(o + e) - softmax(o - e)) / (2 * eps)  # ∂ŷ/∂o_j
        np.testing.assert_allclose(J[:, :, j], col, rtol=0, atol=1e-9)
    np.testing.assert_allclose(J, np.swapaxes(J, 1, 2), atol=0)  # symmetric
    np.testing.assert_allclose(J.sum(axis=1), 0, atol=1e-15)  # Σ_i ŷ_i = 1 for every o
    assert np.all(np.linalg.eigvalsh(J) > -1e-16)  # positive semi-definite


def test_head_vjp_applies_the_dense_softmax_jacobian():
    """Head.vjp never forms J; it must equal the explicit (L4) product Jᵀ v."""
    rng = np.random.default_rng(4)
    y_hat = softmax(rows(rng, N=6, K=5))
    v = rng.standard_normal((6, 5))
    dense = np.einsum("nij,ni->nj", softmax_jacobian(y_hat), v)
    np.testing.assert_allclose(Head.make("softmax", "mse").vjp(y_hat, v), dense, rtol=1e-13, atol=1e-16)


@pytest.mark.parametrize("output", ["sigmoid", "tanh", "relu", "identity"])
def test_head_vjp_of_elementwise_outputs_is_diagonal(output):
    rng = np.random.default_rng(5)
    o = rows(rng)
    o[np.abs(o) < 1e-3] = 0.5
    head = Head.make(output, "mse")
    v = rng.standard_normal(o.shape)
    eps = 1e-6
    diag = (head.predict(o + eps) - head.predict(o - eps)) / (2 * eps)
    np.testing.assert_allclose(head.vjp(head.predict(o), v), diag * v, rtol=1e-8, atol=1e-12)


# ======================================================================= large logits
def test_cross_entropy_is_finite_for_logits_of_1e4_with_the_right_limits():
    head = Head.make("softmax", "cross_entropy")
    o = np.array([[1e4, -1e4, 0.0], [1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]])
    y = np.array([0, 1, 2])
    with strict():
        per = head.per_row(o, y)
        _, d_o = head.value_and_grad(o, y, np.ones(3))
        lp = log_softmax(o)
    assert per[0] == 0.0  # the right class with certainty: no loss
    assert per[1] == pytest.approx(2e4, rel=1e-15)  # −log softmax = logsumexp(o) − o_y → 2e4
    assert per[2] == pytest.approx(np.log(3), rel=1e-15)  # equal logits: log K
    assert np.all(np.isfinite(lp)) and np.all(np.isfinite(d_o))
    np.testing.assert_array_equal(d_o[:2], [[0, 0, 0], [1, -1, 0]])  # ŷ − onehot at the limits
    np.testing.assert_allclose(d_o[2], [1 / 3, 1 / 3, -2 / 3], rtol=1e-15)


def test_bce_with_logits_is_finite_for_logits_of_1e4_with_the_right_limits():
    head = Head.make("sigmoid", "bce")
    o = np.array([[1e4, -1e4, 1e4, -1e4, 0.0]])
    y = np.array([[1.0, 0.0, 0.0, 1.0, 0.5]])
    with strict():
        per = head.per_row(o, y)
        _, d_o = head.value_and_grad(o, y, np.ones(1))
        sp = softplus(np.array([1e4, -1e4, 800.0, -800.0]))
    # per column: 0 (right, certain), 0, 1e4 (wrong, certain), 1e4, log 2 (o = 0, y = ½)
    assert per[0] == pytest.approx(2e4 + np.log(2), rel=1e-15)
    np.testing.assert_array_equal(sp, [1e4, 0.0, 800.0, 0.0])
    np.testing.assert_array_equal(d_o, [[0.0, 0.0, 1.0, -1.0, 0.0]])


def test_softmax_and_log_softmax_are_finite_for_huge_logits():
    o = np.array([[1e300, -1e300, 0.0], [700.0, 710.0, 720.0]])
    with strict():
        p, lp = softmax(o), log_softmax(o)
    assert np.all(np.isfinite(p)) and np.all(np.isfinite(lp[1]))
    np.testing.assert_allclose(p.sum(axis=1), 1)
    np.testing.assert_array_equal(p[0], [1.0, 0.0, 0.0])


def test_no_warning_escapes_the_heads_on_ordinary_inputs():
    rng = np.random.default_rng(6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name, pair in HEADS.items():
            head = Head.make(*pair)
            o = rows(rng, scale=30)
            y = targets(head, rng, *o.shape)
            with strict():
                loss, d_o = head.value_and_grad(o, y, np.ones(len(o)))
            assert np.isfinite(loss) and np.all(np.isfinite(d_o)), name


# ======================================================= the seeds' output-side mistakes
def assert_seed_mistake(e, wrong, fd_err, names):
    """ours agrees with central differences; the seed's formula does not, for every name."""
    for k in names:
        assert fd_err(e.ours[k], e.fd[k]) <= OK, k
        err = fd_err(wrong[k], e.fd[k])
        assert err > WRONG, f"{k}: the seed's formula agrees to {err:.2g}"


def backprop(e, reference_bptt, d_o_rows, fprime=None):
    """Gradients of every parameter from ∂L/∂o_t given per row (unweighted), through the
    plain reference BPTT; fprime defaults to tanh's 1 − h²."""
    d_o = d_o_rows * e.m[..., None]  # (L1): weight m_{t,b}/B
    fprime = 1 - e.h[1:] ** 2 if fprime is None else fprime
    return reference_bptt(e.p, e.x, e.h, d_o, fprime)[0]


def test_seed000_AxB_off_diagonal_without_A_is_wrong(errata_case, reference_bptt, fd_err):
    """Seed 000, the "A × B ∼" line of the softmax/cross-entropy derivation lists two values
    for the off-diagonal t ≠ k: −ŷ_t ŷ_k (the bare Jacobian entry ∂ŷ_t/∂z_k, with the factor
    A = −y_t/ŷ_t left out) and y_t ŷ_k (= A · ∂ŷ_t/∂z_k, right). Summing over t with the first
    gives a wrong ∂L/∂z; the seed's final sum uses the second and reaches ŷ − y."""
    e = errata_case("tanh", "softmax+ce")
    Y, P = e.Y, e.y_hat
    K = P.shape[-1]
    eye = np.eye(K)
    diag = P * Y - Y  # t = k: A·ŷ_t(1 − ŷ_t) = ŷ_t y_t − y_t
    right = diag + np.einsum("tbi,tbk,ik->tbk", Y, P, 1 - eye)  # Σ_{t≠k} y_t ŷ_k
    wrong = diag + np.einsum("tbi,tbk,ik->tbk", -P, P, 1 - eye)  # Σ_{t≠k} −ŷ_t ŷ_k
    np.testing.assert_allclose(right, P - Y, atol=1e-15)  # the seed's final ŷ − y
    g_right = backprop(e, reference_bptt, right)
    assert all(fd_err(g_right[k], e.fd[k]) <= OK for k in e.fd)
    assert_seed_mistake(e, backprop(e, reference_bptt, wrong), fd_err, ["U", "W", "b", "V", "c"])


def test_seed001_dropping_the_output_jacobian_is_wrong(errata_case, reference_bptt, fd_err):
    """Seed 001, ① ∇_{W¹}: "∇_{z²,t}L = ∇_{h²,t}L ∇_{z²,t}h² = ∇_{h²,t}L" drops the output
    Jacobian (K × K, which the same slide says is diagonal for σ and full for softmax). With
    a sigmoid output and squared error the right ∂L/∂o is ŷ(1 − ŷ)(ŷ − y), not ŷ − y."""
    e = errata_case("tanh", "sigmoid+mse")
    P, Y = e.y_hat, e.Y
    g_right = backprop(e, reference_bptt, P * (1 - P) * (P - Y))
    assert all(fd_err(g_right[k], e.fd[k]) <= OK for k in e.fd)
    assert_seed_mistake(e, backprop(e, reference_bptt, P - Y), fd_err, ["U", "W", "b", "V", "c"])


def test_seed002_softmax_diagonal_only_is_wrong(errata_case, reference_bptt, fd_err):
    """Seed 002, eq. (5) and the remark before it ("only meaningful derivatives is obtained
    for i = j"): keeping only the diagonal ŷ(1 − ŷ) of the softmax Jacobian. Through softmax +
    squared error the right ∂L/∂o is Jᵀ(ŷ − y) with the dense J = diag(ŷ) − ŷŷᵀ (L4)."""
    e = errata_case("tanh", "softmax+mse")
    P, Y = e.y_hat, e.Y
    dense = np.einsum("nij,ni->nj", softmax_jacobian(P.reshape(-1, P.shape[-1])), (P - Y).reshape(-1, P.shape[-1]))
    g_right = backprop(e, reference_bptt, dense.reshape(P.shape))
    assert all(fd_err(g_right[k], e.fd[k]) <= OK for k in e.fd)
    diagonal_only = P * (1 - P) * (P - Y)
    assert_seed_mistake(e, backprop(e, reference_bptt, diagonal_only), fd_err, ["U", "W", "b", "V", "c"])


def test_seed002_softmax_diagonal_only_fails_gradcheck(make_case, monkeypatch):
    """The same mistake inside the library: with Head.vjp replaced by the diagonal ŷ(1 − ŷ) ⊙ v,
    bptt.gradcheck reports every parameter off by more than 1e-3 (the loss itself is
    unchanged, so the finite differences stay right); with the dense vjp, ≤ 1e-7."""
    case = make_case("tanh", "softmax+mse", T=4, B=2, H=3, h0=True)
    assert max(bptt.gradcheck(case.net, *case.args, eps=1e-5).values()) <= OK
    monkeypatch.setattr(Head, "vjp", lambda self, y_hat, v: y_hat * (1 - y_hat) * v)
    report = bptt.gradcheck(case.net, *case.args, eps=1e-5)
    assert min(report.values()) > WRONG, report


def test_seed002_eq5_softmax_derivative_off_the_diagonal_is_wrong(errata_case, reference_bptt, fd_err):
    """Seed 002, eq. (5) as written for every i, j: ∂ŷ_i/∂Ω_j = ŷ_i(1 − ŷ_j). The quotient rule
    took ∂e^{Ω_i}/∂Ω_j = e^{Ω_i} even for i ≠ j; the right entry there is −ŷ_i ŷ_j."""
    e = errata_case("tanh", "softmax+mse")
    P, Y = e.y_hat, e.Y
    J_seed = np.einsum("tbi,tbj->tbij", P, 1 - P)  # ŷ_i (1 − ŷ_j)
    wrong = np.einsum("tbij,tbi->tbj", J_seed, P - Y)
    assert_seed_mistake(e, backprop(e, reference_bptt, wrong), fd_err, ["U", "W", "b", "V", "c"])


def test_seed002_eq6_derivation_steps_are_wrong(errata_case, reference_bptt, fd_err):
    """Seed 002, the derivation of eq. (6): multiplying −y/ŷ by eq. (5) gives
    "−(1 − ŷ_{t,j}) y_t", i.e. ∂L/∂Ω = (ŷ − 1) ⊙ y (only the target class moves); the result
    ŷ − y is then written down with a "(?)". The intermediate line is not the gradient."""
    e = errata_case("tanh", "softmax+ce")
    P, Y = e.y_hat, e.Y
    assert_seed_mistake(e, backprop(e, reference_bptt, -(1 - P) * Y), fd_err, ["U", "W", "b", "V", "c"])


def test_seed002_sign_of_dL_dy_is_wrong(errata_case, reference_bptt, fd_err):
    """Seed 002, §2.5–2.7 (eqs. 10, 12, 14): ∂L_t/∂ŷ_t = (y_t − ŷ_t), "from eq. (6)"; eq. (6)
    itself says ŷ_t − y_t. With it, ∂L/∂W, ∂L/∂U and ∂L/∂b all have the wrong sign (V and c,
    eqs. 7–8, use ŷ − y and are right)."""
    e = errata_case("tanh", "softmax+ce")
    P, Y = e.y_hat, e.Y
    right = backprop(e, reference_bptt, P - Y)
    seed = backprop(e, reference_bptt, Y - P)  # (y − ŷ) V … through the recursion
    wrong = {**right, "W": seed["W"], "U": seed["U"], "b": seed["b"]}
    assert all(fd_err(right[k], e.fd[k]) <= OK for k in e.fd)
    np.testing.assert_allclose(wrong["W"], -e.ours["W"], rtol=1e-12)
    assert_seed_mistake(e, wrong, fd_err, ["U", "W", "b"])
    assert all(fd_err(wrong[k], e.fd[k]) <= OK for k in ("V", "c"))


def test_seed004_dropping_the_output_sigmoid_is_wrong(errata_case, reference_bptt, fd_err):
    """Seed 004 defines ŷ = σ(o_3 w_o) with binary cross-entropy, then backpropagates through
    "ŷ = o_3 w_o" (σ dropped): ∂L/∂ŷ · ∂ŷ/∂o_3 = (ŷ − y)/(ŷ(1 − ŷ)) · w_o instead of
    (ŷ − y) · w_o. The scalar many-to-one network of the seed (D = H = K = 1, no biases)."""
    e = errata_case("tanh", "sigmoid+bce", D=1, H=1, K=1, T=3, B=2, last=True,
                    set_params={"b": 0.0, "c": 0.0})
    P, Y = e.y_hat, e.Y
    right = backprop(e, reference_bptt, P - Y)
    assert all(fd_err(right[k], e.fd[k]) <= OK for k in e.fd)
    wrong = backprop(e, reference_bptt, (P - Y) / (P * (1 - P)))
    assert_seed_mistake(e, wrong, fd_err, ["U", "W", "V"])
