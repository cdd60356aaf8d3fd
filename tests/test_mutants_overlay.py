"""Mutants as overlays: a mutant file holds its header, its imports and the functions it
changes; the loader lays them over the reference solution to make the module that is
graded. Each test writes a tiny course of its own."""

from __future__ import annotations


import pytest

from grader.course import load_course
from grader.errors import CourseError
from grader.mutants import mutants, overlay, summary, written

COURSE = """\
schema_version: 1
exercises:
  - id: ex
    title: Tiny
    module: ops.py
    points: 2
    functions: [double, relu]
"""
REFERENCE = '''\
"""Two small functions (the reference)."""
import math


def double(x):
    """2 * x."""
    ### BEGIN SOLUTION
    return 2 * x
    ### END SOLUTION


# relu keeps the positive part
def relu(x):
    """max(x, 0)."""
    ### BEGIN SOLUTION
    return max(x, 0) + 0 * math.pi
    ### END SOLUTION
'''
# Plain asserts: the modules graded one after another re-run the test module, which must keep
# what an outer pytest's assertion rewriting put there (the project's own tests are that pytest).
TESTS = '''\
import pytest

from grader.checks import fail, mistake

SQUARED = mistake("double.squared", "you squared instead of doubling")
ABSOLUTE = mistake("relu.absolute", "a negative input gives 0")


@pytest.mark.points(1)
def test_double(student):
    """double: twice its input"""
    out = student.double(3)
    if out == 9:
        fail("double(3) is {out}: {mistake}", out=out, mistake=SQUARED)
    assert out == 6, "double(3) is {}".format(out)


@pytest.mark.points(1)
def test_relu(student):
    """relu: keeps the positive part"""
    out = student.relu(-2)
    if out == 2:
        fail("relu(-2) is {out}: {mistake}", out=out, mistake=ABSOLUTE)
    assert out == 0, "relu(-2) is {}: a negative input gives 0".format(out)
'''
ONE_FUNCTION = '''\
"""double squares instead of doubling.

function: double
mistake: double.squared
"""


def double(x):
    return x * x
'''
HELPER_AND_IMPORT = '''\
"""relu returns the absolute value (computed by a helper).

function: relu
mistake: relu.absolute
"""
import operator


def _magnitude(x):
    return operator.abs(x)


def relu(x):
    return _magnitude(x)
'''


def tiny_course(tmp_path, **catalogue: str):
    (tmp_path / "course.yml").write_text(COURSE)
    for folder in ("exercises/ex", "solutions/ex/mutants"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "solutions/ex/ops.py").write_text(REFERENCE)
    (tmp_path / "solutions/ex/test_public.py").write_text(TESTS)
    for name, text in catalogue.items():
        (tmp_path / "solutions/ex/mutants" / f"{name}.py").write_text(text)
    return load_course(tmp_path)


def functions_of(source: str) -> dict:
    namespace: dict = {}
    exec(compile(source, "<overlay>", "exec"), namespace)  # our own test strings, not student code
    return namespace


def test_a_mutant_with_one_function_changes_only_that_function():
    module = overlay(REFERENCE, ONE_FUNCTION)
    assert module.startswith('"""double squares instead of doubling.')  # the mutant's header
    assert "return x * x" in module and "return 2 * x" not in module
    assert "# relu keeps the positive part\ndef relu(x):" in module  # the rest as it was
    assert module.count("import math") == 1
    ns = functions_of(module)
    assert ns["double"](3) == 9 and ns["relu"](-2) == 0


def test_a_full_copy_stands_for_itself():
    copy = '"""double squares.\n\nfunction: double\nmistake: double.squared\n"""\n' + \
        REFERENCE.split('"""\n', 1)[1].replace("return 2 * x", "return x * x")
    assert overlay(REFERENCE, copy) == copy


def test_a_mutant_may_add_an_import_and_a_helper():
    module = overlay(REFERENCE, HELPER_AND_IMPORT)
    lines = module.splitlines()
    assert lines.index("import operator") == lines.index("import math") + 1
    assert lines.index("def _magnitude(x):") < lines.index("def double(x):") < lines.index("def relu(x):")
    ns = functions_of(module)
    assert ns["relu"](-2) == 2 and ns["double"](3) == 6


def test_a_mutant_naming_a_function_the_reference_lacks_is_an_error(tmp_path):
    course = tiny_course(tmp_path, misspelt=ONE_FUNCTION.replace("def double", "def dubble"))
    with pytest.raises(CourseError) as error:
        mutants(course.exercise("ex"))
    message = str(error.value)
    assert "misspelt.py, line 8: dubble is not a function of the reference" in message
    assert "ops.py (double, relu)" in message and "starting with '_'" in message


@pytest.mark.parametrize("body, complaint", [
    ("import math\n", "changes none of the functions"),
    ("LIMIT = 3\n\n\ndef double(x):\n    return x * LIMIT\n", "line 7: a mutant holds its docstring"),
    ("def double(x)\n    return x * x\n", "line 7: expected"),
    ("def double(x):\n    return x * x\n\n\ndef double(x):\n    return x\n", "line 11: double is defined twice"),
])
def test_what_is_not_an_overlay_is_an_error_that_says_so(tmp_path, body, complaint):
    header = ONE_FUNCTION.split('"""\n', 2)[0] + '"""\n\n'
    course = tiny_course(tmp_path, broken=header + body)
    with pytest.raises(CourseError, match=complaint):
        mutants(course.exercise("ex"))


def test_the_overlaid_modules_are_graded_and_judged(tmp_path):
    """Through the real grader: each overlay loses points on its function and is named;
    the modules are written to a temporary folder that is gone afterwards."""
    course = tiny_course(tmp_path, squares=ONE_FUNCTION, absolute=HELPER_AND_IMPORT)
    catalogue = mutants(course.exercise("ex"))
    with written(catalogue) as files:
        assert all(path.read_text() == m.source for m, path in files.items())
    assert not any(path.exists() for path in files.values())
    verdicts, variants = summary(course)["ex"]
    assert [(v.mutant.name, v.caught, v.named) for v in verdicts] == \
        [("absolute", True, True), ("squares", True, True)] and variants == []
    assert verdicts[1].messages == ("double: twice its input: double(3) is 9: you squared instead of doubling",)
