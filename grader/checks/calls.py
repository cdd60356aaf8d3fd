"""Calling the student's functions from a test: many calls in one round trip, each result
validated as it is taken.

`student.f.each(calls, returns=...)` sends every call to the sandbox at once and gives a
`Results`: `results[i]` (or iterating) is the i-th call's value, checked against `returns`,
or raises that call's own error (the student's exception, an input changed in place, a
malformed result) only when the test reaches it; the worker goes on past a failing call. So
a test reads as if it made the calls one by one, and its feedback is exactly that of
separate calls, for the price of one round trip.

    out, cache = student.dropout_forward(x, p, True, rng)          # one call
    for out, cache in student.dropout_forward.each(
            [(x1, p, True, rng), (x2, p, True, rng)],                # rng advances from
            returns=(array("out", like="x"), "cache")):              # call to call
        ...
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from grader.checks.arrays import as_array, describe, fail
from grader.checks.context import function_under_test
from grader.i18n import _


@dataclass(frozen=True)
class array:  # noqa: N801 - reads as a type in `returns=(array("out", like="x"), "cache")`
    """A returned value that must be a finite float array: shaped like the call's argument
    named `like`, or of a given `shape` (or either, unchecked)."""

    name: str
    like: str | None = None
    shape: tuple | None = None


def expect(value, returns, fn: str, bound: dict | None = None, *, context: str = ""):
    """`value` checked against `returns`: None (anything), a name (anything), an `array`, or a
    tuple of these (then `value` must be a tuple of that many items, checked one by one).
    `bound`: the call's arguments by parameter name (for `array(like=...)`)."""
    if returns is None or isinstance(returns, str):
        return value
    if isinstance(returns, array):
        shape = returns.shape
        if returns.like is not None:
            shape = np.shape((bound or {})[returns.like])
        return as_array(value, fn, returns.name, shape=shape, context=context)
    names = tuple(r if isinstance(r, str) else r.name for r in returns)
    if not isinstance(value, (tuple, list)) or len(value) != len(names):
        fail("{fn} must return a tuple ({names}); it returned {value}", fn=fn, names=", ".join(names),
             value=describe(value))
    return tuple(expect(v, r, fn, bound, context=context) for v, r in zip(value, returns))


def inputs_context(bound: dict) -> str:
    """'for p = 0.2, train = True': the call's scalar arguments, naming the case in a message."""
    parts = [f"{k} = {v:g}" if isinstance(v, float) else f"{k} = {v}" for k, v in bound.items()
             if isinstance(v, (bool, int, float, np.integer, np.floating)) and not isinstance(v, np.ndarray)]
    return _("for {arguments}", arguments=", ".join(parts)) if parts else ""


class InputModified(AssertionError):
    """The student's function changed an argument it must leave alone, or did not update in
    place one it must (a failed check); `mistake` is the catalogued mistake's id."""

    CHANGED, NOT_UPDATED = "inputs.changed_in_place", "inputs.not_updated_in_place"

    def __init__(self, message: str, *, mistake: str = ""):
        super().__init__(message)
        self.mistake = mistake


def settle(submission, name: str, outcome):
    """The arguments a call changed, judged by the course's rule (`mutates` in course.yml):
    an array the function may update is copied back into the caller's array (batch norm's
    running statistics), so is a dict of arrays (`update_dict`: a network's params and
    state), any other change makes the call's outcome an `InputModified`."""
    if outcome.error is not None or not outcome.changed:
        return outcome
    allowed = submission.exercise.mutates.get(name, ())
    params = submission.signatures[name].params
    try:
        for index, now in outcome.changed.items():
            param, before = params[index], outcome.sent[index]
            if param.name in allowed and type(before) is dict:
                update_dict(name, param.name, before, now)
            elif param.name in allowed and type(before) is np.ndarray:
                if type(now) is not np.ndarray or now.shape != before.shape:
                    raise InputModified(_("{name} must update {param} in place, keeping its shape {shape}; "
                                          "afterwards it was {now}", name=name, param=param.name,
                                          shape=before.shape, now=describe(now)), mistake=InputModified.NOT_UPDATED)
                np.copyto(before, now, casting="unsafe")
            else:  # the worker reports only arguments the call changed
                raise InputModified(_(
                    "{name} changed its argument '{param}' in place; it must leave its inputs unchanged "
                    "(compute a new array, e.g. out = x * mask rather than x *= mask)", name=name, param=param.name),
                    mistake=InputModified.CHANGED)
    except InputModified as exc:
        outcome.error = exc
    return outcome


def update_dict(function: str, param: str, before: dict, now) -> None:
    """A dict of arrays the function may change (a network's parameters, batch norm's running
    statistics): its arrays keep their shapes and are updated in place; new arrays may be
    added under new string keys; nothing may be removed."""
    if type(now) is not dict or not all(type(k) is str and type(v) is np.ndarray for k, v in now.items()):
        raise InputModified(f"{function} must keep {param} a dict of numpy arrays; afterwards it "
                            f"was {describe(now) if type(now) is not dict else 'a dict holding other things'}")
    for key, old in before.items():
        if key not in now:
            raise InputModified(f"{function} removed {param}[{key!r}]; keep every entry (update it instead)")
        if type(old) is np.ndarray and now[key].shape != old.shape:
            raise InputModified(f"{function} must keep the shape {old.shape} of {param}[{key!r}]; "
                                f"afterwards it was {describe(now[key])}")
    for key, value in now.items():
        if type(before.get(key)) is np.ndarray:
            np.copyto(before[key], value, casting="unsafe")
        else:
            before[key] = value


class Results:
    """The results of `student.f.each(calls, returns)`, one per call, in order (see the module
    docstring). Sent when the first result is taken; each result is checked once."""

    def __init__(self, function, calls, returns=None):
        self.function = function
        self.name = function.__name__
        self.calls = [c if isinstance(c, Call) else Call(tuple(c), {}) for c in calls]
        self.returns = returns
        self._outcomes = None
        self._values: dict[int, object] = {}

    def __len__(self) -> int:
        return len(self.calls)

    def __iter__(self):
        return (self[i] for i in range(len(self.calls)))

    def __getitem__(self, i: int):
        if i in self._values:
            return self._values[i]
        if self._outcomes is None:  # every call's changes judged at once, in order, as they were made
            submission = self.function.submission
            self._outcomes = [settle(submission, self.name, o) for o in
                              submission.outcomes(self.name, [(c.args, c.kwargs) for c in self.calls])]
        value = self._outcomes[i].value()
        if self.returns is not None:
            bound = self.bound(i)
            value = expect(value, self.returns, self.name, bound, context=inputs_context(bound))
        self._values[i] = value
        return value

    def bound(self, i: int) -> dict:
        """The i-th call's arguments by parameter name."""
        return bound_arguments(self.function, self.calls[i])


@dataclass(frozen=True)
class Call:
    """A call with keyword arguments, for `each`: `call(x, gamma, beta, eps=1e-3)`."""

    args: tuple
    kwargs: dict


def call(*args, **kwargs) -> Call:
    return Call(args, kwargs)


def bound_arguments(function, call: Call) -> dict:
    """`call`'s arguments of the student's `function` (`student.f`) by parameter name, as the
    course's signature binds them (defaults filled in)."""
    signature = function.submission.signatures[function.__name__]
    return {p.name: v for p, v in zip(signature.params, signature.bind(call.args, call.kwargs))}


def returned(value, returns, *, fn: str | None = None):
    """A single call's result checked against `returns` (see `expect`); for results of
    `student.f(...)` called directly, and of the reference."""
    return expect(value, returns, fn or function_under_test())
