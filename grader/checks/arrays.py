"""Validating what a student's function returned, and comparing it with what it should be."""

from __future__ import annotations

import numpy as np

from grader.checks.context import function_under_test
from grader.checks.mistakes import Mistake, mistake
from grader.i18n import _
from grader.sandbox.channel import Opaque


class CheckFailed(AssertionError):
    """A check failed; the message is the student's feedback, `mistake` the id of the
    catalogued mistake it names (if any)."""

    def __init__(self, message: str, *, mistake: str = ""):
        super().__init__(message)
        self.mistake = mistake


def fail(message: "str | Mistake", *, fn: str | None = None, mistake: "Mistake | None" = None, **params):
    """Fail the running test with `message` (a `Mistake` carries its id into the report;
    `mistake=` names the one a composed message is about, and fills `{mistake}` with its
    text), prefixed with the function under test ("dropout_forward: ...") unless it already
    names it. The message is a msgid: it is shown in the student's language, its `{name}`
    placeholders filled from `params` (and `{fn}` with the function), so pass a plain string
    literal with placeholders, never an f-string (`python -m grader.messages check` says so)."""
    fn = fn or function_under_test()
    if isinstance(message, Mistake):
        text = message.format(**{"fn": fn, **params})
    else:
        if mistake is not None:  # {mistake}: its text, its placeholders filled from the same params
            params["mistake"] = mistake.format(**{"fn": fn, **params})
        template = _(str(message))
        text = template.format(**{"fn": fn, **params}) if params or "{fn}" in template else template
    if not text.startswith(fn):
        text = f"{fn}: {text}"
    mistake = message if isinstance(message, Mistake) else mistake
    raise CheckFailed(text, mistake=mistake.id if mistake else "")


def describe(value) -> str:
    """How a value looks to a student: 'an array of shape (4, 3)', 'a tuple of 3 items'."""
    if type(value) is np.ndarray:
        return _("an array of shape {shape} and dtype {dtype}", shape=value.shape, dtype=value.dtype)
    if isinstance(value, Opaque):
        return _("an object of type {type}", type=value.type_name)
    if isinstance(value, (tuple, list)):
        return _("a {type} of {count} items", type=type(value).__name__, count=len(value))
    if value is None:
        return "None"
    return _("a {type} ({value})", type=type(value).__name__, value=f"{value!r:.60}")


def unpack(value, fn: str, names: tuple[str, ...]):
    """Check that `fn` returned a tuple with one item per name, e.g. ("out", "cache")."""
    if not isinstance(value, (tuple, list)) or len(value) != len(names):
        fail("{fn} must return a tuple ({names}); it returned {value}", fn=fn, names=", ".join(names),
             value=describe(value))
    return tuple(value)


def as_array(value, fn: str | None = None, name: str = "out", *, shape=None, context: str = "") -> np.ndarray:
    """Check that a result is a finite float array of the given shape. `context` names the
    input that produced it (e.g. "for p = 0"), for the message about NaN or inf."""
    fn = fn or function_under_test()
    if isinstance(value, np.generic) and shape == ():
        value = np.asarray(value)
    if type(value) is not np.ndarray:
        fail("{fn} must return {name} as a numpy array; it returned {value}", fn=fn, name=name,
             value=describe(value))
    if value.dtype.kind not in "fiub":
        fail("{name} from {fn} has dtype {dtype}; expected floating-point numbers", fn=fn, name=name,
             dtype=value.dtype)
    if shape is not None and value.shape != tuple(shape):
        fail("{name} from {fn} has shape {shape}; expected {expected}", fn=fn, name=name, shape=value.shape,
             expected=tuple(shape))
    bad = ~np.isfinite(value)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        if context:
            fail("{name} from {fn} {context} contains NaN or inf (first at index {where}): look for a division "
                 "by zero or a square root of a negative number", fn=fn, name=name, where=where, context=context,
                 mistake=NOT_FINITE)
        fail("{name} from {fn} contains NaN or inf (first at index {where}): look for a division by zero or a "
             "square root of a negative number", fn=fn, name=name, where=where, mistake=NOT_FINITE)
    return value.astype(np.float64, copy=False)


def matches(actual, expected, *, rtol: float = 1e-6, atol: float = 1e-9) -> bool:
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    if actual.shape != expected.shape:
        return False
    return bool(np.array_equal(actual, expected)  # the common case, several times cheaper
                or np.allclose(actual, expected, rtol=rtol, atol=atol))


def as_scalar(value, fn: str | None = None, name: str = "the result") -> float:
    """Check that a result is one finite real number (a Python or numpy scalar, or an array
    of one element), and return it as a float."""
    fn = fn or function_under_test()
    if type(value) is np.ndarray and value.size == 1 and value.dtype.kind in "fiub":
        value = value.reshape(())[()]
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        fail("{fn} must return {name} as a number; it returned {value}", fn=fn, name=name, value=describe(value))
    if not np.isfinite(value):
        fail("{name} from {fn} is {value}: look for a division by zero or a logarithm of 0", fn=fn, name=name,
             value=value, mistake=NOT_FINITE)
    return float(value)


def named_mistake(actual, mistakes, *, rtol: float = 1e-6, atol: float = 1e-9, close=None):
    """The first of `mistakes` ({Mistake or message: the value it produces, or a predicate
    of the actual value}) that `actual` matches (by `close(actual, value)`, default
    `matches`), or None."""
    close = close or (lambda a, w: matches(a, w, rtol=rtol, atol=atol))
    for message, wrong in (mistakes or {}).items():
        if callable(wrong) and not isinstance(wrong, np.ndarray):
            if wrong(actual):
                return message
        elif np.shape(wrong) == np.shape(actual) and close(actual, wrong):
            return message
    return None


def assert_close(actual, expected, *, fn: str | None = None, name: str = "out", rtol: float = 1e-6,
                 atol: float = 1e-9, mistakes: dict | None = None, hint: str = "", **params) -> None:
    """Fail unless actual ~ expected. When actual matches a known mistake, name that mistake.

    `mistakes` maps a `Mistake` (or a message) to the value that mistake produces on these
    inputs (or to a predicate of the actual value); the first match is the feedback (its
    placeholders filled from `params`). `hint` (a msgid, its placeholders filled from `params`
    too) ends the message of any other difference.
    """
    fn = fn or function_under_test()
    actual = as_array(actual, fn, name, shape=np.shape(expected))
    if matches(actual, expected, rtol=rtol, atol=atol):
        return
    found = named_mistake(actual, mistakes, rtol=rtol, atol=atol)
    if found is not None:  # its message's placeholders filled from params
        fail(found, fn=fn, **params)
    diff = np.abs(actual - np.asarray(expected, dtype=float))
    where = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.ndim else ()
    where_txt = _(" at index {where}", where=tuple(int(i) for i in where)) if where else ""
    fail("{fn}: {name} is wrong: largest difference {diff}{where} (yours {yours}, expected {expected}){hint}",
         fn=fn, name=name, diff=f"{diff.max():.3g}", where=where_txt, yours=f"{actual[where]:.6g}",
         expected=f"{np.asarray(expected, dtype=float)[where]:.6g}", hint=". " + _(hint, **params) if hint else "")


def expect_value_error(call, *, fn: str | None = None, why: str, **params) -> None:
    """Pass when `call()` makes the student's function raise ValueError (`call` may also be
    the value of a call of `each`'s results, taken lazily: pass `lambda: results[i]`).

    `why` completes "fn must raise ValueError ...", e.g. "for p = 1 (p must be in [0, 1))"; it is
    a msgid too (its `{name}` placeholders filled from `params`).
    """
    from grader.sandbox.proxy import StudentError
    fn = fn or function_under_test()

    try:
        call()
    except StudentError as exc:
        if exc.exc_type == "ValueError":
            return
        if exc.exc_type is None or exc.not_implemented:
            raise
        fail("{fn} must raise ValueError {why}; it raised {error}", fn=fn, why=_(why, **params), error=exc,
             mistake=NO_VALUE_ERROR)
    fail("{fn} must raise ValueError {why}; it returned normally", fn=fn, why=_(why, **params),
         mistake=NO_VALUE_ERROR)


# Mistakes any exercise can make; an exercise's own are catalogued in its tests.
NOT_FINITE = mistake("result.not_finite", "the result holds NaN or inf")
NO_VALUE_ERROR = mistake("args.no_value_error", "invalid arguments must raise ValueError")
