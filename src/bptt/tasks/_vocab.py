"""Token <-> id tables shared by the text tasks, saved as JSON-able dicts.

The id of a token is its position in ``tokens``. A vocabulary with an ``unk`` token maps
unknown tokens to it; one without raises ``ValueError`` naming the unknown token.

``Vocabulary`` (any string tokens) and ``CharVocabulary`` (characters plus named special
tokens, e.g. ``dates.vocabulary()``) are the two kinds; the tasks' own are
``charlm.TextVocabulary`` (the characters of one text) and ``sentiment.WordVocabulary``
(words after ``<pad>`` and ``<unk>``). ``to_dict`` holds the tokens only, no class name.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ._checks import int_array


class Vocabulary:
    """An ordered list of distinct string tokens; ``len(vocab)`` ids, 0 .. len - 1."""

    def __init__(self, tokens: Iterable[str], unk: str | None = None) -> None:
        if isinstance(tokens, str):
            raise TypeError("tokens: expected a list of strings, got one str")
        self.tokens: tuple[str, ...] = tuple(tokens)
        if not self.tokens:
            raise ValueError("tokens: expected at least one token")
        for i, token in enumerate(self.tokens):
            if not isinstance(token, str) or not token:
                raise TypeError(f"tokens[{i}]: expected a non-empty str, got {token!r}")
        self._ids = {token: i for i, token in enumerate(self.tokens)}
        if len(self._ids) != len(self.tokens):
            raise ValueError("tokens: expected distinct tokens, found duplicates")
        if unk is not None and unk not in self._ids:
            raise ValueError(f"unk: expected one of the tokens, got {unk!r}")
        self.unk = unk

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: object) -> bool:
        return token in self._ids

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and (self.tokens, self.unk) == (other.tokens, other.unk)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self)} tokens, unk={self.unk!r})"

    def id(self, token: str, name: str = "token") -> int:
        """The id of one token (``unk``'s id if it is unknown and there is an ``unk``)."""
        if not isinstance(token, str):
            raise TypeError(f"{name}: expected a str, got {type(token).__name__}")
        found = self._ids.get(token)
        if found is not None:
            return found
        if self.unk is None:
            raise ValueError(f"{name}: {token!r} is not in the vocabulary (which has no unknown token)")
        return self._ids[self.unk]

    def encode(self, tokens: Iterable[str]) -> np.ndarray:
        """The ids of ``tokens`` (a str is a sequence of characters): int64 (N,)."""
        if isinstance(tokens, (bytes, np.ndarray)) or not isinstance(tokens, Iterable):
            raise TypeError(f"tokens: expected a str or an iterable of str, got {type(tokens).__name__}")
        return np.array([self.id(token, f"tokens[{i}]") for i, token in enumerate(tokens)], dtype=np.int64)

    def decode(self, ids: object) -> list[str]:
        """The tokens of ``ids`` (N,)."""
        array = int_array(ids, "ids", ndim=1)
        bad = (array < 0) | (array >= len(self))
        if np.any(bad):
            raise ValueError(f"ids: expected ids in [0, {len(self)}), got {array[bad][0]}")
        return [self.tokens[i] for i in array]

    def to_dict(self) -> dict:
        """A JSON-able dict ``{"tokens": [...], "unk": str or None}`` for ``from_dict``."""
        return {"tokens": list(self.tokens), "unk": self.unk}

    @classmethod
    def from_dict(cls, data: object):
        """The vocabulary saved by ``to_dict``."""
        if not isinstance(data, dict) or set(data) != {"tokens", "unk"}:
            raise ValueError("data: expected a dict with exactly the keys 'tokens' and 'unk'")
        if not isinstance(data["tokens"], list):
            raise TypeError(f"data['tokens']: expected a list, got {type(data['tokens']).__name__}")
        return cls(data["tokens"], unk=data["unk"])


class CharVocabulary(Vocabulary):
    """A vocabulary whose ordinary tokens are single characters; ``decode`` joins them."""

    def __init__(self, tokens: Iterable[str], unk: str | None = None) -> None:
        super().__init__(tokens, unk)
        chars = sorted((ord(token), i) for i, token in enumerate(self.tokens) if len(token) == 1)
        self._codes = np.array([code for code, _ in chars], dtype=np.int64)  # sorted code points
        self._code_ids = np.array([i for _, i in chars], dtype=np.int64)

    def encode(self, tokens: Iterable[str]) -> np.ndarray:
        """The ids of ``tokens``, int64 (N,); a str is encoded character by character."""
        if not isinstance(tokens, str) or not self._codes.size:
            return super().encode(tokens)
        # vectorised: look the code points up among the single-character tokens
        codes = np.frombuffer(tokens.encode("utf-32-le", "surrogatepass"), dtype="<u4").astype(np.int64)
        pos = np.minimum(np.searchsorted(self._codes, codes), self._codes.size - 1)
        known = self._codes[pos] == codes
        ids = self._code_ids[pos]
        if not np.all(known):
            first = int(np.argmin(known))
            ids[~known] = self.id(tokens[first], f"tokens[{first}]")  # raises unless there is an unk
        return ids

    def decode(self, ids: object) -> str:  # type: ignore[override]
        """The text of ``ids`` (N,), the tokens joined without separator."""
        return "".join(super().decode(ids))
