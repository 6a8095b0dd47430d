"""Word-level language modelling of a text file (many-to-many, stateful training).

The words of a text are its whitespace-separated tokens, case and punctuation kept ("ROMEO:" is
one word), and every newline is the token ``EOL`` so that the model learns where lines end
(``tokenize``; ``detokenize`` inverts it up to the spacing). ``WordLMVocabulary.build`` keeps the
``vocab_size − 2`` most frequent words of the training part after ``UNK`` and ``EOL``; every
other word is ``UNK``. The id stream is then split, batched and evaluated as charlm's
characters are (``charlm.split``, ``charlm.StreamBatcher``), and the loss per word in nats
gives the perplexity exp(nats).

Example: a two-line text with a vocabulary of 4 (UNK, EOL and the two most frequent words)

>>> tokens = tokenize("the cat sat\\nthe dog sat\\n")
>>> tokens
['the', 'cat', 'sat', '<eol>', 'the', 'dog', 'sat', '<eol>']
>>> vocab = WordLMVocabulary.build(tokens, vocab_size=4)
>>> vocab.tokens
('<unk>', '<eol>', 'sat', 'the')
>>> vocab.encode(tokens)
array([3, 0, 2, 1, 3, 0, 2, 1])
>>> detokenize(vocab.decode(vocab.encode(tokens)))
'the <unk> sat\\nthe <unk> sat\\n'
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

from .. import _validate as v
from ._vocab import Vocabulary

__all__ = ["EOL", "MAX_VOCAB", "UNK", "WordLMVocabulary", "detokenize", "perplexity", "tokenize"]

UNK, EOL = "<unk>", "<eol>"
MAX_VOCAB = 1_000_000  # a larger vocab_size is refused (the output layer alone would be H × 10⁶)


def tokenize(text: str) -> list[str]:
    """The words of ``text`` (split on whitespace) with ``EOL`` for every newline."""
    if not isinstance(text, str):
        raise TypeError(f"text: expected a str, got {type(text).__name__}")
    lines = text.split("\n")
    tokens = []
    for i, line in enumerate(lines):
        tokens += line.split()
        if i < len(lines) - 1:
            tokens.append(EOL)
    return tokens


def detokenize(words: Sequence[str], after: str = "") -> str:
    """``words`` as text: separated by spaces, ``EOL`` as a newline; ``after``: the text they
    continue (no space is put after a newline or at its start)."""
    out, previous = [], after[-1:] if after else "\n"
    for word in words:
        if word == EOL:
            out.append("\n")
        else:
            out.append(word if previous.isspace() or not previous else " " + word)
        previous = out[-1][-1]
    return "".join(out)


class WordLMVocabulary(Vocabulary):
    """Words with ids: ``UNK`` = 0 (every unknown word), ``EOL`` = 1, then the words, most
    frequent first. ``to_dict()`` / ``from_dict(d)`` round-trip through JSON."""

    def __init__(self, tokens: Sequence[str], unk: str = UNK) -> None:
        super().__init__(tokens, unk)
        if self.tokens[:2] != (UNK, EOL) or unk != UNK:
            raise ValueError(f"tokens: expected {UNK!r} and {EOL!r} as the first two tokens and unk={UNK!r}")

    @classmethod
    def build(cls, tokens: Sequence[str], vocab_size: int) -> "WordLMVocabulary":
        """At most ``vocab_size`` ids: UNK, EOL and the most frequent of ``tokens`` (ties in
        alphabetical order)."""
        vocab_size = v.positive_int("vocab_size", vocab_size, 3, MAX_VOCAB)
        counts = Counter(tokens)
        kept = sorted((w for w in counts if w not in (UNK, EOL)), key=lambda w: (-counts[w], w))
        return cls([UNK, EOL, *kept[: vocab_size - 2]])


def perplexity(nats_per_word: float) -> float:
    """exp(cross-entropy in nats per word); inf past exp's range."""
    return math.exp(nats_per_word) if nats_per_word < 700 else math.inf
