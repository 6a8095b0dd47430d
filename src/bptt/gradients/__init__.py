"""The ways to compute the same gradient, by name (``RNN.loss_and_grad(method=...)``).

T steps, B sequences, H hidden units, one layer (time and memory per batch; docs/algorithms.md
has the measured exponents):

| method     | what                                               | time              | memory    |
| ---------- | -------------------------------------------------- | ----------------- | --------- |
| "bptt"     | reverse mode: the delta recursion (elman.py B1)    | O(T·B·H²)         | O(T·B·H)  |
| "unrolled" | Σ_t Σ_{k≤t} ∂L_t/∂h_t (Π Jacobians) ∂h_k/∂θ, as is | O(T²·B·H²)        | O(T·B·H)  |

"bptt" and "unrolled" give the same gradient; "unrolled" takes no options.
"""
from .bptt import loss_and_grad as _bptt
from .unrolled import loss_and_grad as _unrolled

METHODS = {"bptt": _bptt, "unrolled": _unrolled}
