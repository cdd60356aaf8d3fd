"""Checks that any exercise's tests repeat: the student's calls against the same calls of the
reference solution, a sample's result that must not depend on the rest of its batch, several
independent findings reported together, and a hidden test file's access to the public one."""

from __future__ import annotations

import copy
import importlib.util
from pathlib import Path

import numpy as np

from grader.checks.arrays import CheckFailed, assert_close, fail
from grader.checks.calls import Call, bound_arguments
from grader.i18n import N_, _


def against_reference(function, reference, calls, *, returns, mistakes=None, hint: str = "", unchanged=(),
                      changed=N_("{name} changed; this call must leave it as it was"), **params):
    """Each call of the student's `function` (`student.f`) against the same call of the
    reference solution (`reference`, the fixture), in order: the student's calls go in one
    round trip (`function.each(calls, returns=returns)`), and the first item of each result
    (the whole result where `returns` is not a tuple) must be close to the reference's
    (`assert_close`, its name taken from `returns`). `mistakes(*args, **kwargs)` gives the
    named mistakes of one call, as `assert_close` takes them; `hint` and `params` complete
    its message.

    The reference and `mistakes` get copies of the arguments made before the student's
    calls, so the test still sees what those calls updated in place (an argument listed
    under `mutates` in course.yml, such as running statistics). `unchanged`: the names of
    arguments that each call must nevertheless leave as they were (batch norm's running
    statistics in test mode): after each call's result, they are compared with the copies made
    before the calls; one that changed fails with `changed` (a Mistake or a msgid, its `{name}`
    the argument's name). Returns the student's results."""
    calls = _calls(calls)
    pristine = copy.deepcopy(calls)
    results = function.each(calls, returns=returns)
    name = _name(returns)
    for i, (given, result) in enumerate(zip(pristine, results)):
        _against(function, reference, given, _first(result, returns), returns, mistakes, name=name, hint=hint,
                 **params)
        if unchanged:
            before, after = bound_arguments(function, given), results.bound(i)
            for arg in unchanged:
                if not np.array_equal(after[arg], before[arg]):
                    fail(changed, name=arg)
    return results


def check_per_sample(function, reference, make_call, x, rows, *, returns, mistakes=None, hint: str,
                     name: str = N_("{out} for a batch of {n} sample(s)"), raises: str = "") -> None:
    """A sample's result must not depend on the rest of its batch. `function(*make_call(part))`
    for each part x[r], r in `rows` (slices of the first axis), sent in one round trip after
    the whole batch `make_call(x)`, must match the reference's on that part (naming the first
    of `mistakes(*args, **kwargs)` that matches, see `against_reference`), and those rows of
    the whole batch's result (`hint` ends that message). `name` (a msgid: mark it with N_)
    names a part's result in messages, its `{n}` the number of samples and `{out}` the
    result's name. `raises` (a msgid, with `{n}` and `{error}`): the message for a part on
    which the function raised ValueError (its error, as any other, otherwise)."""
    from grader.sandbox.proxy import StudentError
    calls = _calls([make_call(x.copy())] + [make_call(x[r].copy()) for r in rows])
    pristine = copy.deepcopy(calls)
    results = function.each(calls, returns=returns)
    whole = _first(results[0], returns)
    for i, r in enumerate(rows, 1):
        n = len(x[r])
        label = _(name, out=_name(returns), n=n)
        try:
            result = _first(results[i], returns)
        except StudentError as exc:
            if not raises or exc.exc_type != "ValueError":
                raise
            fail(raises, n=n, error=exc)
        _against(function, reference, pristine[i], result, returns, mistakes, name=label)
        assert_close(result, whole[r], name=label, hint=hint)


def _calls(calls) -> list:
    return [c if isinstance(c, Call) else Call(tuple(c), {}) for c in calls]


def _name(returns) -> str:
    """The name of the result a check compares (see `_first`)."""
    spec = returns[0] if isinstance(returns, tuple) else returns
    return spec if isinstance(spec, str) else getattr(spec, "name", "out")


def _first(result, returns):
    """The result a check compares: the first item of a tuple (`returns` a tuple), else all of it."""
    return result[0] if isinstance(returns, tuple) else result


def _against(function, reference, given, result, returns, mistakes, **options) -> None:
    """`result` of the student's call `given` against the reference's on copies of its arguments."""
    expected = getattr(reference, function.__name__)(*copy.deepcopy(given.args), **copy.deepcopy(given.kwargs))
    assert_close(result, _first(expected, returns), **options,
                 mistakes=mistakes(*given.args, **given.kwargs) if mistakes else None)


class Failures:
    """Independent checks whose failures are all reported, not only the first: each runs in
    `with failures:` (a `CheckFailed` inside is kept and the test goes on), then
    `failures.raise_all()` fails with every kept message, one per line, naming the first
    catalogued mistake among them.

        failures = Failures()
        for name, actual, expected in ...:
            with failures:
                assert_close(actual, expected, name=name, mistakes=...)
        failures.raise_all()
    """

    def __init__(self):
        self.failed: list[CheckFailed] = []

    def __enter__(self) -> "Failures":
        return self

    def __exit__(self, kind, exc, traceback) -> bool:
        if isinstance(exc, CheckFailed):
            self.failed.append(exc)
            return True
        return False

    def raise_all(self) -> None:
        if self.failed:
            raise CheckFailed("\n".join(map(str, self.failed)),
                              mistake=next((f.mistake for f in self.failed if f.mistake), ""))


def public_tests(test_file: str):
    """The exercise's public test module, `test_public.py` next to `test_file` (a hidden test
    file's `__file__`), loaded as a module of its own, for its inputs, formulas and mistakes."""
    path = Path(test_file).with_name("test_public.py")
    spec = importlib.util.spec_from_file_location(f"_{path.parent.name}_public_tests", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
