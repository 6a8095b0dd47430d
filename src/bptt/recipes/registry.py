"""The task registry: task name -> its recipe class, filled by ``register`` as the family
modules (bits, text, series, translation) are imported by the package."""
from __future__ import annotations

DEFAULT_TASK = "addition"
REGISTRY: dict[str, type] = {}  # task name -> Recipe subclass


def register(cls):
    """Class decorator: make the recipe ``cls`` trainable as task ``cls.name``."""
    REGISTRY[cls.name] = cls
    return cls


def names() -> list[str]:
    """Every registered task name, in registration order."""
    return list(REGISTRY)


def make(task: str, **options):
    """The recipe of ``task`` with its options (unknown options raise ValueError)."""
    if task not in REGISTRY:
        raise ValueError(f"unknown task {task!r}; choose one of {', '.join(REGISTRY)}")
    return REGISTRY[task](**options)


def from_meta(meta: dict):
    """The recipe saved in a checkpoint's metadata (task, task_options, task_state). A task of
    your own is not rebuilt from a file (that would run code a file names): the error says to
    pass the recipe again."""
    if meta["task"] not in REGISTRY:
        raise ValueError(f"task {meta['task']!r} is not a built-in task ({', '.join(REGISTRY)}): a run of your "
                         "own Recipe continues with bptt.train(YourRecipe(...), resume=RUN) and its model loads "
                         "with bptt.runs.load_state(path, recipe=YourRecipe(...))")
    recipe = make(meta["task"], **meta["task_options"])
    recipe.restore(meta.get("task_state") or {})
    return recipe
