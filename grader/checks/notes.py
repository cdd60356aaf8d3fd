"""Notes on a passing test: what the grader found that costs no points here.

A test calls `note(text)`; the grading plugin clears the notes before each test and, when
the test passes, reports them as its `message` (a failing test reports its failure instead).
"""

from __future__ import annotations

_notes: list[str] = []


def note(text: str) -> None:
    """Record `text` for the running test; shown with the test when it passes."""
    if text and text not in _notes:
        _notes.append(text)


def clear_notes() -> None:
    _notes.clear()


def take_notes() -> str:
    """The running test's notes as one message (and forget them)."""
    text = " ".join(_notes)
    _notes.clear()
    return text
