"""Small pieces the gradient methods share: option checks and the returned Gradients dict."""
from __future__ import annotations

import numpy as np

from ..outputs import Gradients, public_state


def no_options(method: str, options: dict) -> None:
    """Raise if a method that takes no options was given some (e.g. k1 for method='rtrl')."""
    if options:
        names = ", ".join(sorted(options))
        raise ValueError(f"method={method!r} takes no options; got {names} (k1/k2 belong to method='tbptt')")


def no_bidirectional(net, method: str, why: str) -> None:
    """Raise a ValueError naming the option when ``method`` cannot run a bidirectional net."""
    if net.bidirectional:
        raise ValueError(f"method={method!r} does not support bidirectional=True: {why}; "
                         "use method='bptt' or method='unrolled'")


def ordered(net, grads: dict, dstate0: tuple, dx, batch) -> Gradients:
    """A Gradients dict with the keys (and order) of ``net.params``, carrying dx and dh0, the
    public form of the state tuple ∂L/∂state_0 (an array, or LSTM's pair (∂L/∂h_0, ∂L/∂c_0)).
    A trainable initial state (``net.state0_names``) gets Σ_b ∂L/∂state_0 when ``batch``
    started from it, and zero when the caller passed its own h0."""
    for name, part in zip(net.state0_names, dstate0):
        grads[name] = part.sum(axis=1) if batch.learned_state0 else np.zeros_like(net.params[name])
    out = Gradients((k, grads[k]) for k in net.params)
    out.dh0, out.dx = public_state(dstate0), dx
    return out


def elman_only(net, method: str, why: str) -> None:
    """Raise a ValueError naming the cell when ``method`` is written for the Elman cell alone."""
    if net.cell.name != "elman":
        raise ValueError(f"method={method!r} is written for the Elman cell ({why}); got cell="
                         f"{net.cell.name!r}: use method='bptt' or method='tbptt'")


def no_recurrent_dropout(net, batch, method: str, why: str) -> None:
    """Raise a ValueError naming recurrent_dropout when ``batch`` carries recurrent masks
    (dropout.py DR3) and ``method`` runs its own Elman recursion, which does not apply them."""
    if batch.masks is not None and net.recurrent_dropout:
        raise ValueError(f"method={method!r} does not support recurrent_dropout (dropout_rng with "
                         f"recurrent_dropout > 0): {why}; use method='bptt' or method='tbptt'")
