"""The ways to compute the same gradient, by name (``RNN.loss_and_grad(method=...)``).

T steps, B sequences, H hidden units, one layer (time and memory per batch; docs/algorithms.md
has the measured exponents):

| method     | what                                               | time              | memory          |
| ---------- | -------------------------------------------------- | ----------------- | --------------- |
| "bptt"     | reverse mode: the delta recursion (elman.py B1)    | O(T·B·H²)         | O(T·B·H)        |
| "unrolled" | Σ_t Σ_{k≤t} ∂L_t/∂h_t (Π Jacobians) ∂h_k/∂θ, as is | O(T²·B·H²)        | O(T·B·H + B·H²) |
| "rtrl"     | forward mode: ∂h_t/∂θ carried forward; online      | O(T·B·H⁴)         | O(B·H³)         |
| "tbptt"    | BPTT(k1, k2): every k1 steps, k2 steps back        | O(T·(k2/k1)·B·H²) | O(k2·B·H)       |

Options: "tbptt" takes k1 ≥ 1 and k2 ≥ k1 (k2 defaults to k1); the others take none.
"bptt", "unrolled", "rtrl" and "tbptt" with k2 ≥ T give the same gradient; "tbptt" with k2 < T
drops the terms listed in truncated.py (T1–T2). Not supported, with a ValueError naming the
option: bidirectional=True for "rtrl" and "tbptt"; input_grad=True for "rtrl".
Online RTRL, a gradient at every step: ``bptt.gradients.rtrl.Online``.
"""
from .bptt import loss_and_grad as _bptt
from .rtrl import loss_and_grad as _rtrl
from .truncated import loss_and_grad as _tbptt
from .unrolled import loss_and_grad as _unrolled

METHODS = {"bptt": _bptt, "unrolled": _unrolled, "rtrl": _rtrl, "tbptt": _tbptt}
