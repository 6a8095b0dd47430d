"""Weights to and from other frameworks.

bptt.interop.torch   ``to_torch(net) -> (nn.RNN | nn.LSTM | nn.GRU, nn.Linear)`` (the model's cell),
                     ``from_torch(rnn, linear)`` (the cell read off the module's type), and the
                     state-dict level ``to_state_dicts`` / ``from_state_dicts`` (torch imported
                     lazily: importing this package never imports torch)

For a framework-free file of named arrays, see ``bptt.weights``.
"""
from . import torch  # the module bptt.interop.torch; it imports torch itself only when called

__all__ = ["torch"]
