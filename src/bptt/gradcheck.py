"""Finite-difference check of a model's gradient, in float64.

For each parameter θ, central differences  (L(θ + εe_i) − L(θ − εe_i)) / 2ε  for every entry i
(or a seeded random sample of ``max_entries`` entries of large ones) are compared with the
analytic gradient a, and the error is reported relative to the parameter's largest entry:

    err(θ) = max_i |a_i − n_i| / max(max_i |a_i|, max_i |n_i|)

This norm-relative error does not blow up on entries whose true gradient is ~0, where the
elementwise ratio would measure round-off. Central differences in float64 leave an absolute
error of order ε² L''' (truncation) + 1e-16 L/ε (round-off). Relative to the gradient that is
about 1e-16 (L/|∂L/∂θ|)/ε: for a sigmoid net with |∂L/∂W| ≈ 1e-3 L, ε = 1e-6 gives ~1e-7 and
ε = 1e-5 (the default) ~1e-8, while the ε² term stays ~1e-10. Saturated units (f' ≈ 1e-13)
lose digits in any implementation, torch's included; check away from saturation.
"""
from __future__ import annotations

import numpy as np

from . import _validate as v


def gradcheck(net, x, y, mask=None, h0=None, lengths=None, *, eps=1e-5, max_entries=None, seed=0,
              method="bptt", **options) -> dict:
    """{parameter name: err} for ``net`` (float64) on one batch; see the module docstring.

    max_entries: None checks every entry; an int checks at most that many per parameter,
    chosen with ``np.random.default_rng(seed)``. ``method``/``options`` pick the analytic gradient."""
    if not all(hasattr(net, a) for a in ("params", "dtype", "loss", "loss_and_grad")):
        raise TypeError(f"net must be a bptt model such as bptt.RNN, got {type(net).__name__}")
    if np.dtype(net.dtype) != np.float64:
        raise TypeError("gradcheck needs a float64 model; pass net.astype(np.float64)")
    if not (isinstance(eps, float) and 0 < eps < 1):
        raise ValueError(f"eps must be a float in (0, 1), got {eps!r}")
    if max_entries is not None:
        max_entries = v.positive_int("max_entries", max_entries)
    if seed is not None:
        seed = v.positive_int("seed", seed, minimum=0)
    _, grads = net.loss_and_grad(x, y, mask, h0, lengths, method=method, **options)
    rng = np.random.default_rng(seed)
    report = {}
    for name, theta in net.params.items():
        flat = theta.reshape(-1)  # a view: perturbing it perturbs the model
        idx = np.arange(flat.size)
        if max_entries is not None and flat.size > max_entries:
            idx = np.sort(rng.choice(flat.size, size=max_entries, replace=False))
        numeric = np.empty(len(idx))
        for j, i in enumerate(idx):
            saved = flat[i]
            flat[i] = saved + eps
            up = net.loss(x, y, mask, h0, lengths)
            flat[i] = saved - eps
            down = net.loss(x, y, mask, h0, lengths)
            flat[i] = saved
            numeric[j] = (up - down) / (2 * eps)
        analytic = grads[name].reshape(-1)[idx]
        diff = np.max(np.abs(analytic - numeric))
        scale = max(np.max(np.abs(analytic)), np.max(np.abs(numeric)))
        report[name] = 0.0 if diff == 0 else (diff / scale if scale > 0 else float("inf"))
    return report
