"""`grade new EXERCISE`: a new exercise that passes `grade build`, `grade validate` and
`grade mutants` as written, for the instructor to turn into the real one.

It writes `solutions/<id>/`: the reference solution (a scale layer, `out = a * x` and
`dx = a * dout`, with solution markers), a public and a hidden test file, one catalogued
mistake (a mutant), one correct variant and the reference's oracle (torch's autograd, run
by the project's tests/test_oracles.py); then it appends the exercise to course.yml,
editing the text so that the file's comments and layout stay. It checks everything first
and writes nothing when the id or the module clashes. The templates are instructor
material: `grade release` leaves this module out of the student bundle.
"""

from __future__ import annotations

import importlib.util
import json
import keyword
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from string import Template

from grader.files import write_atomic
from grader.course import COURSE_FILE, HIDDEN_TESTS, MISTAKES, PUBLIC_TESTS, Course, parse_course
from grader.errors import CourseError, NewExerciseRefused

FUNCTIONS = ("scale_forward", "scale_backward")
TITLE = "A scale layer, forward and backward"
POINTS = 5  # the markers of the two test files below: 2 + 2 + 1
MUTANT, VARIANT = "adds_a", "multiply_dict_cache"
ORACLE = "oracle.py"  # tests/test_oracles.py runs every solutions/<id>/oracle.py


@dataclass(frozen=True)
class NewExercise:
    """What `grade new` wrote, relative to the course folder."""
    id: str
    module: str
    files: tuple[Path, ...]   # in solutions/<id>/
    course_file: Path         # course.yml, with the entry added
    catalogue_lowered: bool   # the entry asks for one mutant and one variant, below the course's minimum


def new_exercise(course: Course, exercise_id: str, *, module: str = "", functions: tuple[str, ...] = (),
                 title: str = TITLE, reserved: tuple[str, ...] = ()) -> NewExercise:
    """Write the exercise `exercise_id` into `course` (module default `<id>.py`, functions
    default scale_forward and scale_backward: a forward pass and its backward pass).
    `reserved`: words that may not be ids (the CLI's commands: `grade list` lists)."""
    module = module or f"{exercise_id}.py"
    forward, backward = _functions(functions)
    _check_id(course, exercise_id, reserved)
    _check_module(course, module)
    if not title.strip():
        raise NewExerciseRefused("--title is empty; give the exercise a title students will see")
    path = course.root / COURSE_FILE
    lowered = course.catalogue.min_mutants > 1 or course.catalogue.min_variants > 1
    entry = _entry(exercise_id, module, title, forward, backward, lowered)
    text = with_entry(path.read_text(encoding="utf-8"), entry, path)
    _check_entry(course, parse_course(text, path), exercise_id)
    files = _files(exercise_id, module, title, forward, backward)
    _write(course.root, exercise_id, files, path, text)
    written = tuple(Path("solutions") / exercise_id / name for name in files)
    return NewExercise(exercise_id, module, written, Path(COURSE_FILE), lowered)


# ------------------------------------------------------------------------------ checks


def _functions(functions: tuple[str, ...]) -> tuple[str, str]:
    if not functions:
        return FUNCTIONS
    if len(functions) != 2:
        raise NewExerciseRefused(f"give --function twice, the forward pass and then its backward pass "
                                 f"(got {len(functions)}); add more functions once the exercise works")
    for name in functions:
        if not name.isidentifier() or keyword.iskeyword(name) or name.startswith("_"):
            raise NewExerciseRefused(f"--function {name!r} is not a usable function name (a Python "
                                     "identifier not starting with '_')")
    if functions[0] == functions[1]:
        raise NewExerciseRefused(f"--function {functions[0]!r} is given twice; the forward and the "
                                 "backward pass need two names")
    return functions[0], functions[1]


def _check_id(course: Course, exercise_id: str, reserved: tuple[str, ...]) -> None:
    if not exercise_id.isidentifier() or keyword.iskeyword(exercise_id):
        raise NewExerciseRefused(f"exercise id {exercise_id!r} is not a Python identifier (letters, digits "
                                 f"and '_', not a digit first, not a keyword), e.g. {_identifier(exercise_id)!r}")
    if exercise_id in [ex.id for ex in course.exercises]:
        raise NewExerciseRefused(f"exercise {exercise_id!r} exists in {course.root / COURSE_FILE}; "
                                 "choose another id")
    if exercise_id in reserved:
        raise NewExerciseRefused(f"{exercise_id!r} is a command of grade ('grade {exercise_id}' would not "
                                 "grade it); choose another id")
    for folder in ("solutions", "exercises"):
        if (course.root / folder / exercise_id).exists():
            raise NewExerciseRefused(f"{course.root / folder / exercise_id} exists though course.yml has no "
                                     f"exercise {exercise_id!r}; remove it or choose another id")


def _check_module(course: Course, module: str) -> None:
    stem = module.removesuffix(".py")
    if not module.endswith(".py") or not stem.isidentifier() or keyword.iskeyword(stem):
        raise NewExerciseRefused(f"--module {module!r} must be a file name ending in .py whose name is a "
                                 "Python identifier, e.g. relu.py")
    for ex in course.exercises:
        if ex.module == module:
            raise NewExerciseRefused(f"module {module} is the module of {ex.id}; each exercise has its "
                                     "own: choose another --module")
    if stem.startswith("test_") or stem == "conftest":
        raise NewExerciseRefused(f"module {module} would be taken for a test file by pytest; choose "
                                 "another --module")
    if _importable(stem):
        raise NewExerciseRefused(f"module {module} would hide the Python module {stem!r} from the "
                                 f"students' code (both import as {stem!r}); choose another --module")


def _importable(name: str) -> bool:
    try:
        return name in sys.stdlib_module_names or importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return True


def _identifier(text: str) -> str:
    name = re.sub(r"\W", "_", text) or "exercise"
    return name if name.isidentifier() and not keyword.iskeyword(name) else f"ex_{name}"


def _check_entry(before: Course, after: Course, exercise_id: str) -> None:
    """The edit added exactly the new exercise and changed nothing else."""
    if after.exercises[:-1] != before.exercises or after.exercises[-1].id != exercise_id:
        raise CourseError(f"{after.root / COURSE_FILE}: could not add {exercise_id!r} to 'exercises:' "
                          "without changing the rest; add its entry by hand (docs/writing-an-exercise.md)")


# ---------------------------------------------------------------------- course.yml, as text


def with_entry(text: str, entry: str, path: Path) -> str:
    """`text` with `entry` (lines indented as the first item of `exercises:`, without the
    item's indentation) added after the last item of the top-level `exercises:` list."""
    lines = text.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if re.fullmatch(r"exercises:\s*(#.*)?", line.rstrip("\n"))]
    items = [re.match(r"( *)- ", line) for line in lines[starts[0] + 1:]] if len(starts) == 1 else []
    first = next((m for m in items if m), None)
    if first is None:
        raise CourseError(f"{path}: found no block list under 'exercises:' to add to; add the entry "
                          "by hand (docs/writing-an-exercise.md)")
    last = starts[0]
    for i in range(starts[0] + 1, len(lines)):
        if lines[i].strip() and not lines[i].startswith((" ", "-", "#")):
            break  # the next top-level key
        if lines[i].strip() and not lines[i].startswith("#"):
            last = i
    if not lines[last].endswith("\n"):
        lines[last] += "\n"
    indent = first.group(1)
    block = "".join(f"{indent}{'- ' if n == 0 else '  '}{line}\n" for n, line in enumerate(entry.splitlines()))
    return "".join(lines[:last + 1]) + block + "".join(lines[last + 1:])


def _entry(exercise_id: str, module: str, title: str, forward: str, backward: str, lowered: bool) -> str:
    lines = [f"id: {exercise_id}", f"title: {json.dumps(title, ensure_ascii=False)}", f"module: {module}",
             f"points: {POINTS}", f"functions: [{forward}, {backward}]"]
    if lowered:  # below the course's minimum: what this exercise has so far
        lines.append("catalogue: {min_mutants: 1, min_variants: 1}  # raise to the course's as you add more")
    return "\n".join(lines)


# ------------------------------------------------------------------------------ the files


def _files(exercise_id: str, module: str, title: str, forward: str, backward: str) -> dict[str, str]:
    text = title.strip().rstrip(".").replace("\\", "/").replace('"', "'")  # safe in a docstring
    names = {"id": exercise_id, "module": module, "stem": module.removesuffix(".py"), "title": text,
             "forward": forward, "backward": backward}
    return {name: Template(template).substitute(names) for name, template in (
        (module, REFERENCE), (PUBLIC_TESTS, PUBLIC), (HIDDEN_TESTS, HIDDEN), (MISTAKES, MISTAKES_FILE),
        (f"mutants/{MUTANT}.py", MUTANT_FILE), (f"variants/{VARIANT}.py", VARIANT_FILE), (ORACLE, ORACLE_FILE))}


def _write(root: Path, exercise_id: str, files: dict[str, str], course_file: Path, text: str) -> None:
    """solutions/<id>/ (a new folder: never into an existing one), then course.yml, replaced
    whole; a failure on the way removes the folder again."""
    folder = root / "solutions" / exercise_id
    folder.mkdir(parents=True)
    try:
        for name, content in files.items():
            (folder / name).parent.mkdir(exist_ok=True)
            (folder / name).write_text(content, encoding="utf-8")
        write_atomic(course_file, text)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


# --------------------------------------------------------------------------- the templates

REFERENCE = '''\
"""$title.

A scale layer multiplies its input by a number a:

    forward:   out = a * x
    backward:  dx = a * dout        (the chain rule: d(a * x)/dx = a)
"""


def $forward(x, a):
    """Multiply x by the number a.

    x: an array of any shape; a: a float.
    Returns (out, cache): out = a * x, an array of x's shape, and cache, what
    $backward needs.
    """
    ### BEGIN SOLUTION
    out = a * x
    cache = a  # the backward pass needs only a
    return out, cache
    ### END SOLUTION


def $backward(dout, cache):
    """The gradient of $forward with respect to x.

    dout: the upstream gradient, an array of out's shape; cache: what $forward returned.
    Returns dx = a * dout, an array of dout's shape.
    """
    ### BEGIN SOLUTION
    a = cache
    dx = a * dout  # the chain rule: d(a * x)/dx = a
    return dx
    ### END SOLUTION
'''

PUBLIC = '''\
"""Public tests of $id: $title.

Run them with `grade $id`. Every input is made here from a fixed seed, and each answer is
compared with the reference's; when yours equals what a common mistake gives on these
inputs, the message names the mistake. The gradient is checked in float64.
"""
import pytest

from grader.checks import array, assert_close, gradcheck, mistake, normal_input

OUT = (array("out", like="x"), "cache")  # what $forward returns: out shaped like x, and a cache


def forward_mistakes(x, a):
    """What common mistakes give on these inputs, each a catalogued mistake (mistakes.yml)."""
    return {mistake("$id.adds_a"): x + a, mistake("$id.divides_by_a"): x / a, mistake("$id.no_a"): x}


@pytest.mark.points(2)
def test_forward_values(student, reference):
    """$forward: out = a * x"""
    cases = [(normal_input(shape, seed), a) for seed, shape, a in [(1, (4, 3), 1.5), (2, (2, 5), -0.5)]]
    for (x, a), (out, _) in zip(cases, student.$forward.each(cases, returns=OUT)):  # one round trip
        assert_close(out, reference.$forward(x, a)[0], mistakes=forward_mistakes(x, a))


@pytest.mark.points(2)
def test_backward_gradient(student, reference):
    """$backward: dx is the gradient of $forward"""
    x, dout, a = normal_input((3, 4), 3), normal_input((3, 4), 4), 1.5
    # forward, backward, the reference's gradient; where dx is wrong, the gradient of the
    # student's own forward: one mistake, one deduction (a dx that is the exact gradient of a
    # wrong forward keeps its points, with a note naming the forward)
    gradcheck(student.$forward, student.$backward, (x, a), wrt="x", dout=dout,
              expected=reference.$backward(dout, reference.$forward(x, a)[1]))
'''

HIDDEN = '''\
"""Hidden tests of $id: never shipped to students; they run where solutions/ is present
(your grading, CI), against the live reference, with the public tests' named mistakes
loaded from test_public.py next to this file.
"""
import pytest

from grader.checks import assert_close, normal_input, public_tests

public = public_tests(__file__)


@pytest.mark.points(1)
def test_forward_more_inputs(student, reference):
    """$forward: 1-D and 3-D inputs, a small and a negative a"""
    cases = [(normal_input(shape, seed), a) for seed, shape, a in [(11, (7,), 0.25), (12, (2, 3, 4), -2.0)]]
    for (x, a), (out, _) in zip(cases, student.$forward.each(cases, returns=public.OUT)):
        assert_close(out, reference.$forward(x, a)[0], mistakes=public.forward_mistakes(x, a))
'''

MISTAKES_FILE = '''\
# The catalogued mistakes of $id: a stable id (the report's `mistake`, the same in every
# language) and the feedback that names it. The tests refer to them by id (`mistake("...")`
# in grader.checks); the public tests ship with this file.

$id.adds_a: >-
  out is x + a: the layer scales x by a, it does not add a (out = a * x)
$id.divides_by_a: >-
  out is x / a: the layer multiplies x by a (out = a * x)
$id.no_a: >-
  out is x: a is missing (out = a * x)
'''

MUTANT_FILE = '''\
"""out = x + a: the input shifted by a instead of scaled by it

function: $forward
mistake: $id.adds_a
"""


def $forward(x, a):
    out = x + a
    cache = a
    return out, cache
'''

VARIANT_FILE = '''\
"""A correct solution written differently: np.multiply, and a dict as the cache."""
import numpy as np


def $forward(x, a):
    return np.multiply(x, a), {"a": a}


def $backward(dout, cache):
    return np.multiply(cache["a"], dout)
'''

ORACLE_FILE = '''\
"""$id's reference solution against torch's autograd, in float64 (the micrograd way).

tests/test_oracles.py runs it, as it runs every solutions/<id>/oracle.py; like everything
in solutions/, it never reaches students.
"""
import numpy as np
import torch

from grader.oracle import reference

ref = reference(__file__, "$stem")


def test_forward_and_backward_match_autograd():
    rng = np.random.default_rng(0)
    for shape, a in [((4, 3), 1.5), ((2, 3, 4), -0.25)]:
        x, dout = rng.normal(size=shape), rng.normal(size=shape)
        out, cache = ref.$forward(x, a)
        xt = torch.tensor(x, requires_grad=True)  # float64, as x
        out_t = a * xt
        out_t.backward(torch.tensor(dout))
        np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=1e-12, atol=0)
        np.testing.assert_allclose(ref.$backward(dout, cache), xt.grad.numpy(), rtol=1e-12, atol=0)
'''
