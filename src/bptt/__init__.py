"""bptt: recurrent networks trained with explicit, hand-derived Backpropagation Through Time.

    net = bptt.RNN(D, H, K)                       # h_t = tanh(x_t Uᵀ + h_{t−1} Wᵀ + b), ŷ_t = softmax(h_t Vᵀ + c)
    loss, grads = net.loss_and_grad(x, y)         # grads: the keys and shapes of net.params
    bptt.gradcheck(net.astype("float64"), x, y)   # per-parameter max relative error vs finite differences
"""
from . import checkpoint, optim, weights
from .fit import fit
from .gradcheck import gradcheck
from .model import RNN
from .outputs import Gradients, Output, param_name
from .seq2seq import Seq2Seq
from .sequences import last_step_mask, length_mask, one_to_many
from .session import set_blas_threads
from .train import TrainConfig, Trainer, train  # the function shadows the module name, as documented

__version__ = "0.1.0"


def __getattr__(name):
    """``bptt.interop`` (and its ``torch`` module) on first use: ``import bptt`` never imports torch."""
    if name == "interop":
        import importlib

        return importlib.import_module(".interop", __name__)
    raise AttributeError(f"module 'bptt' has no attribute {name!r}")
__all__ = ["RNN", "Seq2Seq", "fit", "Gradients", "Output", "gradcheck", "param_name", "length_mask", "last_step_mask",
           "one_to_many", "optim", "checkpoint", "weights", "train", "Trainer", "TrainConfig", "set_blas_threads"]
