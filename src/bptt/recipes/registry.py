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
    """The recipe saved in a checkpoint's metadata (task, task_options, task_state)."""
    recipe = make(meta["task"], **meta["task_options"])
    recipe.restore(meta.get("task_state") or {})
    return recipe
