"""Notes on a passing test: what the grader found that costs no points here.

A test calls `note(text)`; the grading plugin clears the notes before each test and, when
the test passes, reports them as its `message` (a failing test reports its failure instead).
"""

from __future__ import annotations

_notes: dict = {}  # key -> text, in the order first noted


def note(text: str, *, key=None, **params) -> None:
    """Record `text` for the running test; shown with the test when it passes. A later note
    with the same `key` replaces the earlier one (in its place); the same text is said once.
    `text` is a msgid (shown in the student's language, `{name}` placeholders filled from
    `params`): a plain string literal, never an f-string."""
    from grader.i18n import _

    text = _(text, **params) if text else text
    if text:
        _notes[text if key is None else key] = text


def noted(key):
    """The text noted under `key` in the running test, or None."""
    return _notes.get(key)


def clear_notes() -> None:
    _notes.clear()


def take_notes() -> str:
    """The running test's notes as one message (and forget them)."""
    text = " ".join(dict.fromkeys(_notes.values()))
    _notes.clear()
    return text
