"""The ways to compute the same gradient, by name (``RNN.loss_and_grad(method=...)``).

bptt   reverse-mode BPTT, the delta recursion of elman.py (B1–B7): O(T·H²) time, O(T·H) memory
"""
from .bptt import loss_and_grad as _bptt

METHODS = {"bptt": _bptt}
