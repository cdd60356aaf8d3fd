"""Which function the running test grades: the first word of its docstring ("dropout_forward:
..."), set by the grading plugin before each test, so that checks name it without being told."""

from __future__ import annotations

_current = ""


def function_under_test() -> str:
    """The function the running test grades ("your function" outside a grading)."""
    return _current or "your function"


def set_function_under_test(name: str) -> None:
    global _current
    _current = name
