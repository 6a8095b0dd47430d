"""Reverse-mode BPTT: the forward pass once, then the delta recursion backwards (elman.py)."""
from __future__ import annotations

from ..outputs import public_state
from ._common import no_options, ordered


def loss_and_grad(net, batch, input_grad=False, **options):
    """(L, Gradients) for a validated ``batch``: every layer's U, W, b (B3–B5), V and c (B8)."""
    no_options("bptt", options)
    trace = net.run(batch)
    loss, head, G = net.head_backward(batch, trace.top)
    grads = net.backprop(trace, G, input_grad=input_grad)
    net.add_head_grads(grads, head)
    out = ordered(net, grads, grads.dh0, grads.dx, batch)
    out.h_n = public_state(trace.state_n)
    return loss, out
