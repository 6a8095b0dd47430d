"""Training recipes: how ``bptt train TASK`` builds a model and its batches for each task.

    recipe = make("addition", bits=8)          # or make("charlm", text="input.txt")
    net = recipe.build_model(hidden_size=16, seed=0)
    stream = recipe.stream(batch_size=32, rng=np.random.default_rng(0))
    loss, grads, h_n = recipe.loss_and_grad(net, stream.next(), h0=None)
    recipe.evaluate(net)  ->  {"val_loss": …, "val_acc": …}
    recipe.report(net)    ->  {"acc_1000bit": 1.0, …}; recipe.describe(report) -> printable lines

Modules: ``registry`` (task name -> recipe class; ``register``, ``make``, ``names``,
``from_meta``), ``base`` (the ``Recipe`` base class and the data folder), ``streams``
(``TaskBatch`` and the streams that yield it), then one module per family of tasks:
``bits`` (addition, parity, digits), ``text`` (charlm, sentiment), ``series`` (timeseries),
``translation`` (dates). Importing this package registers every built-in task. A task of your
own is a ``Recipe`` subclass, trained with ``bptt.train(MyRecipe(...))`` and resumed with
``bptt.train(MyRecipe(...), resume=RUN)``: nothing to register (docs/training.md).
"""
# the families register their tasks as they are imported, in the order names() lists them
from . import bits  # addition, parity, digits
from . import text  # charlm, sentiment
from . import series  # timeseries
from . import translation  # dates
from .base import Recipe
from .registry import DEFAULT_TASK, REGISTRY, from_meta, make, names, register
from .streams import ChunkStream, EpochStream, Stream, TaskBatch

__all__ = ["DEFAULT_TASK", "REGISTRY", "ChunkStream", "EpochStream", "Recipe", "Stream", "TaskBatch",
           "bits", "from_meta", "make", "names", "register", "series", "text", "translation"]
