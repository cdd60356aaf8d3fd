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


# ------------------------------------------------------------------------------ figures
# A test may attach figures to its result: {"title", "kind", "data"} with plain numbers
# (histogram counts and edges, values per epoch), drawn by the grader's renderers
# (grader/figures.py), never by the student's process. Kept like the notes: cleared before
# each test, taken when its call ends (passed or not).

_figures: list = []
FIGURE_KINDS = ("histograms", "curves")


def figure(title: str, kind: str, data: dict) -> None:
    """Attach a figure to the running test. `kind` "histograms": data {"edges": [...],
    "series": [{"label", "counts": [...]}]} (one panel per series, sharing the edges);
    "curves": data {"x_label", "y_label", "series": [{"label", "values": [...]}]}."""
    import json
    import math

    if kind not in FIGURE_KINDS:
        raise ValueError(f"figure kind {kind!r} is not one of {FIGURE_KINDS}")

    def plain(value):
        if isinstance(value, bool) or value is None:
            raise ValueError("figure data holds numbers, strings, lists and dicts only")
        if isinstance(value, (int, float)) or hasattr(value, "dtype"):
            number = float(value)
            return round(number, 6) if math.isfinite(number) else None
        if isinstance(value, str):
            return value
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        raise ValueError(f"figure data cannot hold {type(value).__name__}")

    fig = {"title": str(title), "kind": kind, "data": plain(data)}
    json.dumps(fig)  # plain data, or this raises
    _figures.append(fig)


def clear_figures() -> None:
    _figures.clear()


def take_figures() -> tuple:
    """The running test's figures (and forget them)."""
    out = tuple(_figures)
    _figures.clear()
    return out
