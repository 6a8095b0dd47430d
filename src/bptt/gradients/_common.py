"""Small pieces the gradient methods share: option checks and the returned Gradients dict."""
from __future__ import annotations

from ..outputs import Gradients


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


def ordered(net, grads: dict, dh0, dx) -> Gradients:
    """A Gradients dict with the keys (and order) of ``net.params``, carrying dh0 and dx."""
    out = Gradients((k, grads[k]) for k in net.params)
    out.dh0, out.dx = dh0, dx
    return out
