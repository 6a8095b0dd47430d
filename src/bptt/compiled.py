r"""The two time loops of ``elman.py`` compiled with numba, for small batches.

At B = 1 a step of the NumPy loops is a handful of NumPy calls on (1, H) rows, ~1.2 µs each,
so the per-call overhead, not the arithmetic, sets the time (docs/benchmarks.md, "What
dominates"). These kernels run the same equations, (F1)–(F3) forward and (B1)–(B2) backward,
as one compiled call per loop. They are used only where they were measured to win
(``use``: B·H ≤ 128; benchmarks/loops.py) and only when numba is installed (``pip install bptt[fast]``);
otherwise the NumPy loops run, with the same results to rounding.

Choose with the environment variable ``BPTT_LOOPS`` (read at import) or by setting ``MODE``:
"auto" (default: compiled where it wins), "numpy" (never), "numba" (always; an error
without numba).
"""
from __future__ import annotations

import importlib
import os

import numpy as np

MODES = ("auto", "numpy", "numba")
MODE = os.environ.get("BPTT_LOOPS", "auto")
MAX_UNITS = 128  # "auto" compiles the loops when B·H ≤ MAX_UNITS (benchmarks/loops.py)


def use(B: int, H: int) -> bool:
    """Whether ``elman`` should run the compiled loops for B sequences of H hidden units.

    Measured (docs/benchmarks.md, "Compiled loops"): a training step gets faster where the
    NumPy loops are call-bound, B·H ≤ 128 (0.65× at B=1 H=32, 0.83× at B=1 H=100), and slower
    beyond (1.1–2.2×): the compiled tanh is scalar and the small matrix products lose to BLAS."""
    if MODE not in MODES:
        raise ValueError(f"BPTT_LOOPS / bptt.compiled.MODE must be one of {MODES}, got {MODE!r}")
    if MODE == "numpy":
        return False
    if MODE == "numba":
        _load()
        return True
    return B * H <= MAX_UNITS and _load() is not None


def forward(h, WT, activation, active):
    """(F1)–(F3) for t = 1 … T in place: on entry h[t] (t ≥ 1) holds x_t Uᵀ + b, on exit h_t.

    h: (T+1, B, H) C-contiguous, h[0] = h_0; WT: (H, H) = Wᵀ contiguous; active (T, B) bool or None."""
    kernels = _load()
    kernels.forward(h, WT, kernels.ACT[activation], *_mask(active))


def backward(G, h, W, dh, activation, active):
    """(B1)–(B2) for t = T … 1, as ``elman._backward_loop``. dh (B, H): ∂L/∂h_T, overwritten.
    Returns (δ (T, B, H), ∂L/∂h_0 (B, H)).

    G: (T, B, H) ∂L/∂h_t from above; h: (T+1, B, H) from ``forward``; W: (H, H)."""
    delta = np.empty(G.shape, dtype=h.dtype)
    kernels = _load()
    kernels.backward(delta, np.ascontiguousarray(G, dtype=h.dtype), h, np.ascontiguousarray(W), dh,
                     kernels.ACT[activation], *_mask(active))
    return delta, dh


def _mask(active):
    """(active, has_mask) for the kernels: numba needs an array either way."""
    if active is None:
        return np.ones((1, 1), dtype=np.bool_), False
    return np.ascontiguousarray(active), True


_found: list = []  # [the kernels module, or None without numba], once looked up


def _load():
    """The module of numba kernels (compiled on first call, then cached on disk by numba),
    or None when numba is not installed (an ImportError if MODE demands it). The lookup is
    made once: a failed import costs a search of sys.path, too slow to repeat per call."""
    if not _found:
        try:
            _found.append(importlib.import_module("bptt._kernels"))
        except ImportError:
            _found.append(None)
    if _found[0] is None and MODE == "numba":
        raise ImportError("BPTT_LOOPS=numba needs numba: pip install 'bptt[fast]'")
    return _found[0]
