"""Shared by the reliability tests (issue 8): what a "clear error" is, checked one way.

A clear error is ONE ``ValueError`` or ``TypeError`` (the type the case expects) whose message
names the argument (and the file and line where one applies) and says what was expected; it
is raised the same way whatever ``np.seterr`` says, with no warning on the way.

``rounds(default)``: how many times a SIGKILL loop kills its child; env ``BPTT_KILL_ROUNDS``
overrides every default (docs/reliability.md gives the counts actually run).
"""
from __future__ import annotations

import os
import warnings

import numpy as np
import pytest


def raise_clearly(fn, exc_type, *fragments):
    """Call ``fn`` twice, with warnings recorded (default ``np.errstate``) and under
    ``np.errstate(all="raise")``; both times it must raise exactly ``exc_type`` whose message
    holds every fragment, and no warning may be emitted. Returns the message."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(Exception) as info:
            fn()
    msgs = [str(w.message) for w in caught]
    assert not msgs, f"warnings before the error: {msgs}"
    assert type(info.value) is exc_type, f"{type(info.value).__name__}: {info.value}"
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert "\n" not in message.strip(), f"not one line: {message!r}"
    with np.errstate(all="raise"), pytest.raises(Exception) as strict:
        fn()
    assert type(strict.value) is exc_type, \
        f"under np.errstate(all='raise'): {type(strict.value).__name__}: {strict.value}"
    return message


def rounds(default: int) -> int:
    """How many kill rounds a test runs: ``default``, or env ``BPTT_KILL_ROUNDS`` when set."""
    return int(os.environ.get("BPTT_KILL_ROUNDS", default))
