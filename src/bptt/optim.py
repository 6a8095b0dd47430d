"""First-order optimizers, gradient clipping and learning-rate schedules over flat parameter dicts.

Parameters are a ``dict[str, np.ndarray]`` (e.g. ``U`` (H, D), ``W`` (H, H), ``b`` (H,),
``V`` (K, H), ``c`` (K,)) that the model holds by reference; gradients are a dict with the
same keys and shapes. Every optimizer updates the parameter arrays IN PLACE and keeps their
dtype (float32 or float64). Each parameter gets its state buffers and scratch arrays once, at
construction, so a step allocates nothing the size of a parameter.

The update rules are those of ``torch.optim`` (default ``foreach=False`` CPU path, same order
of operations where it is free to follow), so float64 results agree with torch to rounding.

Typical loop::

    opt = Adam(net.params, lr=2e-3)
    sched = CosineLR(opt, total_steps=10_000, warmup=200)
    for x, y in batches:
        loss, grads = net.loss_and_grad(x, y)
        clip_grad_norm(grads, 5.0)
        opt.step(grads)
        sched.step()
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from . import _validate as v

__all__ = [
    "Optimizer",
    "SGD",
    "Adagrad",
    "RMSprop",
    "Adam",
    "global_norm",
    "clip_grad_norm",
    "clip_grad_value",
    "Schedule",
    "StepLR",
    "CosineLR",
]

Params = dict[str, np.ndarray]
StateDict = dict[str, "np.ndarray | float | int"]


# ----------------------------------------------------------------------------- validation


def _check_finite(name: str, a: np.ndarray) -> None:
    """ValueError if ``a`` holds NaN or ±inf (min/max propagate both; no temporary array)."""
    if a.size and not (np.isfinite(a.min()) and np.isfinite(a.max())):
        raise ValueError(f"{name} contains NaN or inf")


def _check_array(name: str, a, shape: tuple[int, ...] | None = None) -> None:
    """TypeError unless ``a`` is a floating ndarray; ValueError unless it is finite (and of
    ``shape``, when given)."""
    if not isinstance(a, np.ndarray) or a.dtype.kind != "f":
        what = f"a {a.dtype} array" if isinstance(a, np.ndarray) else type(a).__name__
        raise TypeError(f"{name} must be a floating-point numpy array, got {what}")
    if shape is not None and a.shape != shape:
        raise ValueError(f"{name} has shape {a.shape}, expected {shape}")
    _check_finite(name, a)


def _check_keys(name: str, got: Mapping, expected) -> None:
    """ValueError listing the missing and unknown keys of ``got`` with respect to ``expected``
    (TypeError if ``got`` is not a dict)."""
    if not isinstance(got, Mapping):
        raise TypeError(f"{name} must be a dict, got {type(got).__name__}")
    missing = sorted(set(expected) - set(got))
    unknown = sorted(set(got) - set(expected), key=str)
    if missing or unknown:
        raise ValueError(f"{name}: missing keys {missing}, unknown keys {unknown}; "
                         f"expected exactly {sorted(expected)}")


def _l2(weight_decay: float, p: np.ndarray, g: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Coupled (L2) weight decay as torch applies it: ``g + weight_decay·p``, written to ``out``
    (``g`` itself when weight_decay = 0)."""
    if weight_decay == 0:
        return g
    np.multiply(p, weight_decay, out=out)
    out += g
    return out


# ----------------------------------------------------------------------------- optimizers


class Optimizer:
    """Shared machinery: validation, per-parameter state buffers, ``step`` loop, state_dict.

    Args:
        params: ``dict[str, np.ndarray]`` of floating, writable, finite arrays; updated in place.
        lr: learning rate > 0. ``lr`` stays a plain attribute that a schedule may overwrite
            (with any value >= 0).
        buffers: names of the per-parameter state arrays, zero-initialised like the params and
            saved in ``state_dict`` as ``"<buffer>.<param key>"`` (e.g. ``"m.U"``).
        n_scratch: number of scratch arrays per parameter that ``_update`` may overwrite.
        decay: the names weight decay applies to (optimizers that have it); None: every
            parameter, as torch. A model's ``weight_names`` leaves out biases and initial states.

    Subclasses implement ``_update(key, p, g, tmp)``; ``p`` is the parameter (update it in
    place), ``g`` the validated gradient (read only: it belongs to the caller), ``tmp`` a tuple
    of ``n_scratch`` arrays shaped and typed like ``p``, and ``self.step_count`` is already the
    1-based index of the current step.
    """

    def __init__(self, params: Params, lr: float, *, buffers: tuple[str, ...] = (),
                 n_scratch: int = 1, decay=None):
        if not isinstance(params, Mapping):
            raise TypeError(f"params must be a non-empty dict of numpy arrays, got {type(params).__name__}")
        if not params:
            raise ValueError("params must be a non-empty dict of numpy arrays, got an empty dict")
        for k, p in params.items():
            if not isinstance(k, str):
                raise TypeError(f"params keys must be strings, got {k!r}")
            _check_array(f"params[{k!r}]", p)
            if not p.flags.writeable:
                raise ValueError(f"params[{k!r}] is read-only; optimizers update it in place")
        self.params: Params = params
        self.lr = v.real("lr", lr, 0.0, low_open=True)
        self.step_count = 0
        self.state: dict[str, Params] = {
            b: {k: np.zeros_like(p) for k, p in params.items()} for b in buffers}
        self._scratch = {k: tuple(np.empty_like(p) for _ in range(n_scratch))
                         for k, p in params.items()}
        if decay is not None and not isinstance(decay, (list, tuple, set, frozenset)):
            raise TypeError(f"decay must be None or a collection of parameter names, got {type(decay).__name__}")
        unknown = sorted(set(decay or ()) - set(params))
        if unknown:
            raise ValueError(f"decay names parameters that params does not hold: {unknown}")
        self.decay = frozenset(params if decay is None else decay)

    def _decay_of(self, key: str, weight_decay: float) -> float:
        """The weight decay of parameter ``key``: ``weight_decay``, or 0 outside ``decay``."""
        return weight_decay if key in self.decay else 0.0

    def step(self, grads: Params) -> None:
        """Apply one update. ``grads``: same keys and shapes as ``params``, finite floats.

        Every gradient is validated before any parameter changes, so a ValueError or TypeError
        leaves the parameters and the optimizer state untouched.
        """
        _check_keys("grads", grads, self.params.keys())
        for k, p in self.params.items():
            _check_array(f"grads[{k!r}]", grads[k], p.shape)
        self.step_count += 1
        for k, p in self.params.items():
            self._update(k, p, grads[k], self._scratch[k])

    def _update(self, key: str, p: np.ndarray, g: np.ndarray, tmp: tuple[np.ndarray, ...]) -> None:
        """Update ``p`` (params[key]) in place from its gradient ``g``; see the class docstring."""
        raise NotImplementedError

    def state_dict(self) -> StateDict:
        """Training state as a flat dict that ``np.savez`` stores without pickle.

        Keys: ``"step"`` (int, steps taken), ``"lr"`` (float, current learning rate) and one
        copied array ``"<buffer>.<param key>"`` per state buffer and parameter. Hyper-parameters
        are not included: they come from the constructor.
        """
        d: StateDict = {"step": self.step_count, "lr": self.lr}
        for b, arrays in self.state.items():
            for k, a in arrays.items():
                d[f"{b}.{k}"] = a.copy()
        return d

    def load_state_dict(self, d: Mapping) -> None:
        """Restore a ``state_dict`` (scalars may be 0-d arrays, as ``np.load`` returns them).

        Everything is validated (exact key set, shapes, finiteness) before anything is copied;
        buffers are copied into the existing arrays, cast to the parameters' dtype.
        """
        _check_keys("state_dict", d, ["step", "lr"] + [
            f"{b}.{k}" for b, arrays in self.state.items() for k in arrays])
        step = v.positive_int("state_dict['step']", d["step"], 0)
        lr = v.real("state_dict['lr']", d["lr"], 0.0)
        for b, arrays in self.state.items():
            for k, a in arrays.items():
                _check_array(f"state_dict['{b}.{k}']", d[f"{b}.{k}"], a.shape)
        for b, arrays in self.state.items():
            for k, a in arrays.items():
                np.copyto(a, d[f"{b}.{k}"], casting="same_kind")
        self.step_count, self.lr = step, lr


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum and L2 weight decay.

    As ``torch.optim.SGD`` (dampening 0)::

        g ← g + weight_decay·θ
        buf ← momentum·buf + g                       (buf starts at 0, so buf_1 = g_1)
        d ← g + momentum·buf if nesterov else buf    (d = g when momentum = 0)
        θ ← θ − lr·d

    State buffers: ``"buf"`` (only when momentum > 0).
    """

    def __init__(self, params: Params, lr: float, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0, decay=None):
        self.momentum = v.real("momentum", momentum, 0.0, 1.0)
        self.weight_decay = v.real("weight_decay", weight_decay, 0.0)
        if not isinstance(nesterov, (bool, np.bool_)):
            raise TypeError(f"nesterov must be a bool, got {nesterov!r}")
        if nesterov and self.momentum == 0:
            raise ValueError("nesterov=True requires momentum > 0")
        self.nesterov = bool(nesterov)
        super().__init__(params, lr, buffers=("buf",) if self.momentum else (),
                         n_scratch=2 if self.weight_decay else 1, decay=decay)

    def _update(self, key, p, g, tmp):
        g = _l2(self._decay_of(key, self.weight_decay), p, g, tmp[-1])
        d = g
        if self.momentum:
            buf = self.state["buf"][key]
            buf *= self.momentum
            buf += g
            if self.nesterov:
                d = np.multiply(buf, self.momentum, out=tmp[0])
                d += g
            else:
                d = buf
        np.multiply(d, self.lr, out=tmp[0])
        p -= tmp[0]


class Adagrad(Optimizer):
    """Adagrad, as ``torch.optim.Adagrad`` (lr_decay = weight_decay = 0, accumulator from 0)::

        sum ← sum + g²
        θ ← θ − lr·g / (√sum + eps)

    min-char-rnn (Karpathy) writes ``θ -= lr·g / √(mem + 1e-8)``: eps *inside* the square root.
    The two differ only while ``sum`` is tiny (√1e-8 = 1e-4 acts like eps = 1e-4 there); this
    class follows torch. State buffers: ``"sum"``.
    """

    def __init__(self, params: Params, lr: float = 0.1, eps: float = 1e-8):
        self.eps = v.real("eps", eps, 0.0, low_open=True)
        super().__init__(params, lr, buffers=("sum",))

    def _update(self, key, p, g, tmp):
        s, t = self.state["sum"][key], tmp[0]
        np.multiply(g, g, out=t)
        s += t
        np.sqrt(s, out=t)
        t += self.eps
        np.divide(g, t, out=t)
        t *= self.lr
        p -= t


class RMSprop(Optimizer):
    """RMSprop, as ``torch.optim.RMSprop`` (not centered, no weight decay)::

        sq ← alpha·sq + (1 − alpha)·g²
        d ← g / (√sq + eps)
        buf ← momentum·buf + d ;  θ ← θ − lr·buf     (momentum > 0)
        θ ← θ − lr·d                                 (momentum = 0)

    State buffers: ``"sq"``, and ``"buf"`` when momentum > 0.
    """

    def __init__(self, params: Params, lr: float, alpha: float = 0.99, eps: float = 1e-8,
                 momentum: float = 0.0):
        self.alpha = v.real("alpha", alpha, 0.0, 1.0)
        self.eps = v.real("eps", eps, 0.0, low_open=True)
        self.momentum = v.real("momentum", momentum, 0.0, 1.0)
        super().__init__(params, lr, buffers=("sq", "buf") if self.momentum else ("sq",))

    def _update(self, key, p, g, tmp):
        sq, t = self.state["sq"][key], tmp[0]
        sq *= self.alpha
        np.multiply(g, g, out=t)
        t *= 1.0 - self.alpha
        sq += t
        np.sqrt(sq, out=t)
        t += self.eps
        np.divide(g, t, out=t)
        if self.momentum:
            buf = self.state["buf"][key]
            buf *= self.momentum
            buf += t
            np.multiply(buf, self.lr, out=t)
        else:
            t *= self.lr
        p -= t


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), and AdamW with ``decoupled_weight_decay=True``.

    As ``torch.optim.Adam`` / ``torch.optim.AdamW`` (amsgrad off), at step t = 1, 2, ...::

        θ ← θ·(1 − lr·weight_decay)                  (decoupled, AdamW)
        g ← g + weight_decay·θ                       (coupled L2, the default)
        m ← m + (1 − β1)·(g − m)                     (= β1·m + (1 − β1)·g, torch's lerp)
        v ← β2·v + (1 − β2)·g²
        θ ← θ − lr/(1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + eps)

    The last line is the bias-corrected update m̂ / (√v̂ + eps) with m̂ = m / (1 − β1ᵗ),
    v̂ = v / (1 − β2ᵗ), folded into scalars as torch does. State buffers: ``"m"``, ``"v"``.
    """

    def __init__(self, params: Params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, decoupled_weight_decay: bool = False,
                 decay=None):
        try:
            beta1, beta2 = betas
        except (TypeError, ValueError):
            raise TypeError(f"betas must be a pair of floats, got {betas!r}") from None
        self.betas = (v.real("betas[0]", beta1, 0.0, 1.0), v.real("betas[1]", beta2, 0.0, 1.0))
        self.eps = v.real("eps", eps, 0.0, low_open=True)
        self.weight_decay = v.real("weight_decay", weight_decay, 0.0)
        self.decoupled_weight_decay = bool(decoupled_weight_decay)
        coupled = self.weight_decay and not self.decoupled_weight_decay
        super().__init__(params, lr, buffers=("m", "v"), n_scratch=2 if coupled else 1, decay=decay)

    def _update(self, key, p, g, tmp):
        beta1, beta2 = self.betas
        m, v, t = self.state["m"][key], self.state["v"][key], tmp[0]
        weight_decay = self._decay_of(key, self.weight_decay)
        if self.decoupled_weight_decay:
            if weight_decay:
                p *= 1.0 - self.lr * weight_decay
        else:
            g = _l2(weight_decay, p, g, tmp[-1])
        np.subtract(g, m, out=t)
        t *= 1.0 - beta1
        m += t
        v *= beta2
        np.multiply(g, g, out=t)
        t *= 1.0 - beta2
        v += t
        bias_correction1 = 1.0 - beta1 ** self.step_count
        bias_correction2 = 1.0 - beta2 ** self.step_count
        np.sqrt(v, out=t)
        t /= math.sqrt(bias_correction2)
        t += self.eps
        np.divide(m, t, out=t)
        t *= self.lr / bias_correction1
        p -= t


# ----------------------------------------------------------------------------- clipping


def global_norm(grads: Mapping[str, np.ndarray]) -> float:
    """The global L2 norm ``√(Σ_k ‖g_k‖²)`` of every array in ``grads`` (any shapes, float dtypes).

    Computed in float64 after dividing by ``m = max_k max|g_k|``, so it does not overflow where
    the sum of squares would: float32 gradients near 1e19 or float64 ones near 1e200 give their
    finite norm. Returns 0.0 for all-zero gradients, inf when a gradient holds inf, nan when one
    holds NaN (the trainer's guard reads this), and inf for a float64 norm beyond 1.8e308.
    """
    peak, root = _norm_parts(grads)
    return peak * root


def _norm_parts(grads: Mapping[str, np.ndarray]) -> tuple[float, float]:
    """(m, r) with the global norm = m·r: m = max|g| over every array (0, inf or nan as it comes),
    r = √(Σ (g/m)²) ∈ [1, √n] for a finite m > 0, else 1."""
    ends = [e for g in grads.values() if g.size for e in (g.min(), g.max())]  # no |g| temporary
    peak = float(np.max(np.abs(ends))) if ends else 0.0  # np.max: a NaN anywhere gives NaN
    if not (0.0 < peak < math.inf):
        return peak, 1.0
    squares = 0.0
    for g in grads.values():
        s = np.divide(g, peak, dtype=np.float64)
        squares += float(np.vdot(s, s))
    return peak, math.sqrt(squares)


def clip_grad_norm(grads: Params, max_norm: float) -> float:
    """Scale all gradients in place so that their global L2 norm is at most ``max_norm``.

    As ``torch.nn.utils.clip_grad_norm_``: ``total = √(Σ_k ‖g_k‖²)`` (``global_norm``); when
    ``c = max_norm / (total + 1e-6) < 1`` every ``g_k ← c·g_k``, the product taken in float64.
    A norm beyond the float64 range is scaled in two factors, never to c = 0.

    Args:
        grads: ``dict[str, np.ndarray]`` of finite floating arrays, any shapes; modified in place.
        max_norm: > 0.
    Returns:
        The global norm before clipping (Python float).
    """
    max_norm = v.real("max_norm", max_norm, 0.0, low_open=True)
    for k, g in grads.items():
        _check_array(f"grads[{k!r}]", g)
    peak, root = _norm_parts(grads)
    total = peak * root
    coef = max_norm / (total + 1e-6) if total < math.inf else max_norm / peak / root
    if coef < 1.0:
        for g in grads.values():
            np.multiply(g, coef, out=g, dtype=np.float64, casting="same_kind")
    return total


def clip_grad_value(grads: Params, clip: float) -> None:
    """Clamp every gradient element into ``[-clip, clip]`` in place (as ``clip_grad_value_``).

    Args:
        grads: ``dict[str, np.ndarray]`` of finite floating arrays, any shapes; modified in place.
        clip: > 0 (min-char-rnn uses 5).
    """
    clip = v.real("clip", clip, 0.0, low_open=True)
    for k, g in grads.items():
        _check_array(f"grads[{k!r}]", g)
    for g in grads.values():
        np.clip(g, -clip, clip, out=g)


# ----------------------------------------------------------------------------- schedules


class Schedule:
    """Base learning-rate schedule: sets ``optimizer.lr = lr_at(t)`` for t = 0, 1, 2, ...

    The constructor records ``base_lr = optimizer.lr`` and applies ``lr_at(0)``; each
    ``step()`` (call it after ``optimizer.step``) advances t by one. Subclasses implement
    ``lr_at(t) -> float`` in closed form, so a restored schedule reproduces the exact sequence.
    """

    def __init__(self, optimizer: Optimizer):
        self.optimizer = optimizer
        self.base_lr = float(optimizer.lr)
        self.last_step = 0
        optimizer.lr = self.lr_at(0)

    def lr_at(self, t: int) -> float:
        """Learning rate after ``t`` calls of ``step`` (t >= 0)."""
        raise NotImplementedError

    def step(self, position: int | None = None) -> None:
        """Advance one step, or to ``position`` if it is further (a caller that schedules by
        another budget, e.g. the trainer's wall time), and set the optimizer's ``lr``."""
        self.last_step += 1
        if position is not None:
            self.last_step = max(self.last_step, v.positive_int("position", position, 0))
        self.optimizer.lr = self.lr_at(self.last_step)

    def state_dict(self) -> StateDict:
        """``{"last_step": int, "base_lr": float}``; the other settings come from the constructor."""
        return {"last_step": self.last_step, "base_lr": self.base_lr}

    def load_state_dict(self, d: Mapping) -> None:
        """Restore a ``state_dict`` (scalars may be 0-d arrays) and set the optimizer's ``lr``."""
        _check_keys("state_dict", d, ["last_step", "base_lr"])
        self.last_step = v.positive_int("state_dict['last_step']", d["last_step"], 0)
        self.base_lr = v.real("state_dict['base_lr']", d["base_lr"], 0.0, low_open=True)
        self.optimizer.lr = self.lr_at(self.last_step)


class StepLR(Schedule):
    """``lr_t = base_lr · gamma^⌊t / step_size⌋`` (``torch.optim.lr_scheduler.StepLR``).

    Args:
        optimizer: an ``Optimizer``; its current ``lr`` is the base.
        step_size: int >= 1, steps between decays.
        gamma: > 0, multiplicative factor.
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1):
        self.step_size = v.positive_int("step_size", step_size, 1)
        self.gamma = v.real("gamma", gamma, 0.0, low_open=True)
        super().__init__(optimizer)

    def lr_at(self, t: int) -> float:
        """``base_lr · gamma^⌊t / step_size⌋``."""
        return self.base_lr * self.gamma ** (t // self.step_size)


class CosineLR(Schedule):
    """Linear warm-up then cosine decay from ``base_lr`` to ``min_lr``, then constant.

    With W = warmup and T = total_steps::

        lr_t = base_lr · (t + 1) / W                                          t < W
        lr_t = min_lr + (base_lr − min_lr) · (1 + cos(π (t − W) / (T − W))) / 2  W <= t <= T
        lr_t = min_lr                                                          t > T

    With W = 0 this is ``torch.optim.lr_scheduler.CosineAnnealingLR(T_max=T, eta_min=min_lr)``
    up to t = T (torch then rises again; this stays at ``min_lr``). The warm-up equals torch's
    ``LinearLR(start_factor=1/W, total_iters=W-1)``, reaching ``base_lr`` at t = W − 1.

    Args:
        optimizer: an ``Optimizer``; its current ``lr`` is ``base_lr``.
        total_steps: int >= 1.
        min_lr: in [0, base_lr].
        warmup: int in [0, total_steps).
    """

    def __init__(self, optimizer: Optimizer, total_steps: int, min_lr: float = 0.0,
                 warmup: int = 0):
        self.total_steps = v.positive_int("total_steps", total_steps, 1)
        self.min_lr = v.real("min_lr", min_lr, 0.0, float(optimizer.lr), high_open=False)
        self.warmup = v.positive_int("warmup", warmup, 0)
        if self.warmup >= self.total_steps:
            raise ValueError(f"warmup must be < total_steps={self.total_steps}, got {warmup!r}")
        super().__init__(optimizer)

    def lr_at(self, t: int) -> float:
        """Warm-up, cosine or ``min_lr`` as in the class docstring."""
        if t < self.warmup:
            return self.base_lr * (t + 1) / self.warmup
        if t >= self.total_steps:
            return self.min_lr
        progress = (t - self.warmup) / (self.total_steps - self.warmup)
        return self.min_lr + (self.base_lr - self.min_lr) * (1 + math.cos(math.pi * progress)) / 2
