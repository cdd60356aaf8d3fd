"""Checks that any exercise's tests repeat: the student's calls against the same calls of the
reference solution, several independent findings reported together, and a hidden test file's
access to the public one next to it."""

from __future__ import annotations

import copy
import importlib.util
from pathlib import Path

from grader.checks.arrays import CheckFailed, assert_close


def against_reference(function, reference, calls, *, returns, mistakes=None, hint: str = "", **params):
    """Each call of the student's `function` (`student.f`) against the same call of the
    reference solution (`reference`, the fixture), in order: the student's calls go in one
    round trip (`function.each(calls, returns=returns)`), and the first item of each result
    (the whole result where `returns` is not a tuple) must be close to the reference's
    (`assert_close`, its name taken from `returns`). `mistakes(*args, **kwargs)` gives the
    named mistakes of one call, as `assert_close` takes them; `hint` and `params` complete
    its message.

    The reference and `mistakes` get copies of the arguments made before the student's
    calls, so the test still sees what those calls updated in place (an argument listed
    under `mutates` in course.yml, such as running statistics). Returns the student's
    results."""
    from grader.checks.calls import Call
    calls = [c if isinstance(c, Call) else Call(tuple(c), {}) for c in calls]
    pristine = copy.deepcopy(calls)
    results = function.each(calls, returns=returns)
    spec = returns[0] if isinstance(returns, tuple) else returns
    name = spec if isinstance(spec, str) else getattr(spec, "name", "out")
    solve = getattr(reference, function.__name__)
    for given, result in zip(pristine, results):
        expected = solve(*copy.deepcopy(given.args), **copy.deepcopy(given.kwargs))
        if isinstance(returns, tuple):
            result, expected = result[0], expected[0]
        assert_close(result, expected, name=name, hint=hint,
                     mistakes=mistakes(*given.args, **given.kwargs) if mistakes else None, **params)
    return results


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
