"""Tasks: data generators and loaders with their metrics, pure NumPy, independent of the model.

Arrays are time-major: ``x`` float (T, B, D) or int64 ids (T, B); targets int64 ids (T, B)
for softmax + cross-entropy, float (T, B, K) for sigmoid + BCE or squared error, or one per
sequence (B,) / (B, K) for many-to-one. Every random generator takes an explicit
``np.random.Generator`` or an int seed. Each module's docstring shows one encoded example.

``TASKS`` maps a name to its module:

* ``addition``: n-bit binary addition, least-significant bit first (many-to-many)
* ``parity``: running parity of a bit stream (many-to-many)
* ``digits``: a number given once, its binary digits emitted (one-to-many)
* ``charlm``: character language model of a text file, stateful streams (many-to-many)
* ``wordlm``: word language model of a text file (words, end-of-line, a capped vocabulary)
* ``sentiment``: sentence<TAB>label classification, bag-of-words baseline (many-to-one)
* ``timeseries``: one-step-ahead forecasting of a CSV series, persistence baseline
* ``dates``: human-written dates to ISO dates (encoder-decoder)

Shared with ``bptt.seq2seq``: ``pad`` (id sequences -> a padded time-major batch and its
lengths) and ``exact_match`` (the fraction of sequences predicted whole).
"""

from . import addition, charlm, dates, digits, parity, sentiment, timeseries, wordlm
from ._batching import pad
from ._metrics import exact_match

TASKS = {
    "addition": addition,
    "parity": parity,
    "digits": digits,
    "charlm": charlm,
    "wordlm": wordlm,
    "sentiment": sentiment,
    "timeseries": timeseries,
    "dates": dates,
}

__all__ = ["TASKS", *TASKS, "exact_match", "pad"]
