"""The reference solution's answers, for tests to compare against.

Where `solutions/` is present (instructors, CI) the reference module is imported into
the trusted process and called live: its results are whatever it returns (any Python object). A student release has no solution code: there the
answers are replayed from `expected.dat`, which the build records by running the public
tests once against the reference. Calls are matched by a fingerprint of their arguments,
so a test must call the reference only with inputs it made itself.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
from pathlib import Path

import numpy as np

from grader.course import EXPECTED_VALUES, Exercise
from grader.errors import CourseTestError, restore_fix
from grader.sandbox import channel


def fingerprint(name: str, args: tuple, kwargs: dict) -> str:
    def plain(v):
        if isinstance(v, np.random.Generator):
            return {"generator_state": v.bit_generator.state}
        if type(v) in (tuple, list):
            return type(v)(plain(x) for x in v)
        if type(v) is dict:
            return {k: plain(x) for k, x in v.items()}
        return v
    data = channel.encode((name, plain(args), plain(dict(sorted(kwargs.items())))))
    return hashlib.sha256(data).hexdigest()[:32]


class Reference:
    """`reference.batchnorm_forward(...)` returns what the reference solution returns."""

    def __init__(self, exercise: Exercise, *, mode: str):
        assert mode in ("live", "record", "replay")
        self.exercise = exercise
        self.mode = mode
        self.records: dict[str, object] = {}
        self._module = None
        if mode == "replay":
            path = exercise.student_dir / EXPECTED_VALUES
            if not path.is_file():
                raise CourseTestError(f"{path} is missing; {restore_fix(exercise)}")
            self.records = channel.decode(path.read_bytes())
        elif not (exercise.solution_dir / exercise.module).is_file():
            raise CourseTestError(f"the reference solution {exercise.solution_dir / exercise.module} is missing")

    @property
    def module(self):
        """The reference solution, imported on first use (an exercise whose tests compare with
        torch itself never calls it, and importing it may import torch)."""
        if self._module is None and self.mode != "replay":
            self._module = _import_reference(self.exercise)
        return self._module

    @property
    def input_secret(self) -> int:
        """What the tests' seeds are mixed with (grader/checks/inputs.py): the course's secret
        where the reference runs live, 0 where answers are recorded or replayed."""
        if self.mode != "live":
            return 0
        from grader.checks.inputs import secret_of
        return secret_of(self.exercise.solution_dir / self.exercise.module)

    @classmethod
    def for_exercise(cls, exercise: Exercise) -> "Reference":
        return cls(exercise, mode="live" if exercise.has_solutions else "replay")

    def __getattr__(self, name: str):
        if name.startswith("_") or name not in self.exercise.functions:
            raise AttributeError(name)
        return lambda *args, **kwargs: self.call(name, args, kwargs)

    def call(self, name: str, args: tuple, kwargs: dict):
        key = fingerprint(name, args, kwargs)
        if self.mode == "replay":
            if key not in self.records:
                raise CourseTestError(f"no recorded reference value for this call of {name}; "
                                      f"{restore_fix(self.exercise)}")
            result, after = self.records[key]
            result = copy.deepcopy(result)  # a test that changes it must not change it for the next
        else:
            before = {i: a.copy() for i, a in enumerate(args) if type(a) is np.ndarray}
            result = getattr(self.module, name)(*args, **kwargs)
            if self.mode == "record":
                result = _recordable(name, result)
                after = [(i, args[i].copy()) for i, a in before.items() if not np.array_equal(a, args[i])]
                after += [(i, {"generator_state": a.bit_generator.state})
                          for i, a in enumerate(args) if isinstance(a, np.random.Generator)]
                self.records[key] = (result, after)
            return result
        for i, value in after:
            if isinstance(args[i], np.random.Generator):
                args[i].bit_generator.state = value["generator_state"]
            else:
                np.copyto(args[i], value)
        return result

    def save(self, path: Path) -> None:
        """Write the recorded answers (record mode) in a stable order."""
        Path(path).write_bytes(channel.encode(dict(sorted(self.records.items()))))


def _recordable(name: str, result):
    """The result as a student's release will replay it; the build stops with a message for
    the instructor when it is not plain data (the release cannot carry it)."""
    try:
        return channel.decode(channel.encode(result))
    except Exception as exc:  # noqa: BLE001 - any refusal of the codec: say which call, and why
        raise CourseTestError(
            f"a public test calls the reference's {name}(), which returned {type(result).__name__} ({exc}); "
            "a student's release replays recorded answers, which must be plain data (numbers, numpy arrays, "
            "strings, and tuples, lists and dicts of these): compare such results in a hidden test, or "
            "call the reference on what the test needs (an attribute, an array)") from None


def _import_reference(exercise: Exercise):
    path = exercise.solution_dir / exercise.module
    if not path.is_file():
        raise CourseTestError(f"the reference solution {path} is missing")
    spec = importlib.util.spec_from_file_location(f"_reference_{exercise.id}_{exercise.module_name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
