"""The ways to compute the same gradient, by name (``RNN.loss_and_grad(method=...)``).

T steps, B sequences, H hidden units, one layer (time and memory per batch; docs/algorithms.md
has the measured exponents):

| method     | what                                               | time              | memory    |
| ---------- | -------------------------------------------------- | ----------------- | --------- |
| "bptt"     | reverse mode: the delta recursion (elman.py B1)    | O(T·B·H²)         | O(T·B·H)  |
| "unrolled" | Σ_t Σ_{k≤t} ∂L_t/∂h_t (Π Jacobians) ∂h_k/∂θ, as is | O(T²·B·H²)        | O(T·B·H)  |
| "rtrl"     | forward mode: ∂h_t/∂θ carried forward; online      | O(T·B·H⁴)         | O(B·H³)   |

"bptt", "unrolled" and "rtrl" give the same gradient and take no options. Not supported, with
a ValueError naming the option: bidirectional=True and input_grad=True for "rtrl".
Online RTRL, a gradient at every step: ``bptt.gradients.rtrl.Online``.
"""
from .bptt import loss_and_grad as _bptt
from .rtrl import loss_and_grad as _rtrl
from .unrolled import loss_and_grad as _unrolled

METHODS = {"bptt": _bptt, "unrolled": _unrolled, "rtrl": _rtrl}
