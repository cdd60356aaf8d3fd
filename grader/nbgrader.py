"""The bridge to nbgrader: write an nbgrader course whose test cells are graded by `grade`.

`build_course(course, dest)` writes `dest/nbgrader_config.py`, `dest/grader_course.json`
(the course link: `grade` commands run in the nbgrader course, such as `grade batch
exercise3 submitted/`, find this course through it) and, for every exercise,
`dest/source/<id>/<id>.ipynb` (nbformat 4, nbgrader cell metadata schema version 3):

    intro        markdown, read-only: solutions/<id>/intro.md (else the module docstring)
                 and how the notebook is graded
    setup        code, read-only: the module's imports (its code outside the functions)
    <function>   an autograded-answer cell per function: the reference function with its
                 `### BEGIN SOLUTION` blocks, which `nbgrader generate_assignment` stubs out
    test_<fn>    an autograded test cell worth the points of that function's tests (public
                 and hidden); it ends in `grader.check(<fn>, points=...)` (grader.notebook),
                 which grades the function as the kernel defines it, in the sandbox, and
                 evaluates to the partial credit (a number: nbgrader reads its text/plain)

The hidden part of each test cell (inside `### BEGIN HIDDEN TESTS`, which
generate_assignment removes from the student version) turns the hidden tests on and
names this course's folder, baked in at build time: nbgrader must autograde on a machine
where that path holds the course (rebuild after moving it). The student version runs the
public tests only, against the course found in $GRADER_COURSE, above the notebook, or
through the course link of the nbgrader course it sits in.
"""

from __future__ import annotations

import ast
from pathlib import Path

from grader.files import write_atomic
from grader.course import Course, Exercise, write_course_link
from grader.errors import CourseError

SCHEMA_VERSION = 3  # nbgrader's cell metadata schema
INTRO_FILE = "intro.md"
CONFIG_FILE = "nbgrader_config.py"
CONFIG_MARK = "# Written by `grade nbgrader build`"
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def build_course(course: Course, dest: Path, exercise_ids: list[str] | None = None) -> list[Path]:
    """Write the nbgrader course into `dest`. Returns the files written."""
    from grader.sandbox.proxy import Zygote

    exercises = [course.exercise(i) for i in exercise_ids] if exercise_ids else list(course.exercises)
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    written = [path for path in [write_config(course, dest)] if path]
    written.append(write_course_link(dest, course.root))  # `grade batch` run there finds the course
    zygote = Zygote()
    try:
        for exercise in exercises:
            points = function_points(course, exercise, zygote=zygote)
            path = dest / "source" / exercise.id / f"{exercise.id}.ipynb"
            path.parent.mkdir(parents=True, exist_ok=True)
            _write_text(path, notebook_json(exercise, points))
            written.append(path)
    finally:
        zygote.close()
    return written


def function_points(course: Course, exercise: Exercise, *, zygote=None) -> dict[str, float]:
    """The points of each function's tests (public and hidden), from grading the reference.

    Refuses to build from a reference that does not get full marks: its notebook would
    teach students that a correct answer loses points.
    """
    from grader.grade import grade

    if not exercise.has_solutions:
        raise CourseError(f"{exercise.solution_dir / exercise.module} is missing; the nbgrader "
                          "course is built from the instructor's course, with solutions/")
    report = grade(course, exercise.id, exercise.solution_dir / exercise.module, hidden=True,
                   zygote=zygote)
    failed = [t for t in report.tests if t.outcome != "passed"]
    if failed:
        raise CourseError(f"the reference solution of {exercise.id} fails {failed[0].name!r}: "
                          f"{failed[0].message}; fix it before building the nbgrader course")
    points = dict.fromkeys(exercise.functions, 0.0)
    for t in report.tests:
        points[t.function] += t.max_points
    return points


def notebook_json(exercise: Exercise, points: dict[str, float]) -> str:
    """The source notebook of one exercise, as nbformat JSON."""
    import nbformat

    path = exercise.solution_dir / exercise.module
    setup, functions = split_module(path.read_text(encoding="utf-8"), exercise, path)
    v4 = nbformat.v4
    cells = [v4.new_markdown_cell(intro(exercise), id="intro",
                                  metadata=_meta("intro", locked=True))]
    if setup:
        helpers = "### BEGIN SOLUTION" in setup  # a solution block outside the functions
        cells.append(v4.new_code_cell(setup, id="setup", metadata=_meta(
            "setup", solution=helpers, locked=not helpers)))
    for name in exercise.functions:
        cells.append(v4.new_code_cell(functions[name], id=name, metadata=_meta(name, solution=True)))
        if points[name] > 0:
            cells.append(v4.new_code_cell(test_cell(exercise, name, points[name]), id=f"test_{name}",
                                          metadata=_meta(f"test_{name}", grade=True, locked=True,
                                                         points=points[name])))
    nb = v4.new_notebook(cells=cells, metadata={"kernelspec": KERNELSPEC,
                                                "language_info": {"name": "python"}})
    nbformat.validate(nb)
    return nbformat.writes(nb)


def split_module(source: str, exercise: Exercise, path: Path) -> tuple[str, dict[str, str]]:
    """(the module's code outside the exercise's functions, {function: its source})."""
    tree = ast.parse(source, str(path))
    lines = source.splitlines()
    taken: set[int] = set()
    functions = {}
    body = tree.body
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
            and isinstance(body[0].value.value, str):
        taken.update(range(body[0].lineno, body[0].end_lineno + 1))  # the docstring: see intro()
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name in exercise.functions:
            start = min([node.lineno] + [d.lineno for d in node.decorator_list])
            while start > 1 and lines[start - 2].lstrip().startswith("#"):
                start -= 1  # the comment right above belongs to the function
            end = _end_with_trailing_comments(lines, node)
            functions[node.name] = "\n".join(lines[start - 1:end])
            taken.update(range(start, end + 1))
    missing = [f for f in exercise.functions if f not in functions]
    if missing:
        raise CourseError(f"{path} defines no function {missing[0]!r} at the top level, "
                          "but course.yml lists it")
    rest = "\n".join(line for number, line in enumerate(lines, 1) if number not in taken)
    return _squeeze_blank_lines(rest), functions


def _end_with_trailing_comments(lines: list[str], node: ast.AST) -> int:
    """The function's last line, counting the indented comments after its last statement
    (the AST ends at the last statement; `### END SOLUTION` comes after it)."""
    end = node.end_lineno
    for number in range(node.end_lineno + 1, len(lines) + 1):
        line = lines[number - 1]
        if not line.strip():
            continue
        if len(line) - len(line.lstrip()) > node.col_offset and line.lstrip().startswith("#"):
            end = number
            continue
        break
    return end


def intro(exercise: Exercise) -> str:
    """The notebook's introduction: solutions/<id>/intro.md, else the module's docstring."""
    path = exercise.solution_dir / INTRO_FILE
    if path.is_file():
        text = path.read_text(encoding="utf-8").strip()
    else:
        module = exercise.solution_dir / exercise.module
        doc = ast.get_docstring(ast.parse(module.read_text(encoding="utf-8"))) or ""
        text = f"# {exercise.title}\n\n{doc}".strip()
    return (f"{text}\n\n## How this notebook is graded\n\n"
            f"Write each function between its signature and the end of its cell, keeping the "
            f"names and signatures. Each test cell grades its function as this notebook "
            f"defines it when the cell runs (run the cells above it first) with the course's "
            f"grader: the same tests and points as `grade {exercise.id}`. Your functions run in "
            f"a separate, sandboxed process, which gets them with the helpers, imports and "
            f"plain constants (numbers, strings) they use from this notebook; pass anything "
            f"else (an array, say) as an argument.")


def test_cell(exercise: Exercise, function: str, points: float) -> str:
    course = str(exercise.root.resolve())
    return (f"# Graded by the course's grader, like `grade {exercise.id} -k {function}`: {function} as this\n"
            f"# notebook defines it runs in a sandbox; this cell's value is the points earned.\n"
            f"from grader.notebook import Grader\n\n"
            f"hidden, course = False, None\n"
            f"### BEGIN HIDDEN TESTS\n"
            f"hidden, course = True, {course!r}\n"
            f"### END HIDDEN TESTS\n"
            f"grader = Grader({exercise.id!r}, course=course, hidden=hidden)\n"
            f"grader.check({function!r}, points={_number(points)!r})")


def write_config(course: Course, dest: Path) -> Path | None:
    """nbgrader_config.py: the cell timeout our grading needs and the stub `grade build` uses.

    An nbgrader_config.py that this command did not write is left alone (None returned).
    """
    path = Path(dest) / CONFIG_FILE
    if path.is_file() and not path.read_text(encoding="utf-8").startswith(CONFIG_MARK):
        return None
    text = (f"{CONFIG_MARK} from {course.root.resolve()}; rerunning it rewrites this file.\n"
            f"# Delete the first line to keep your own edits.\n"
            f"c = get_config()  # noqa: F821\n\n"
            f"# The first test cell of a notebook grades the whole notebook in the sandbox.\n"
            f"c.Execute.timeout = {cell_timeout(course)}\n\n"
            f"# generate_assignment leaves the same stub in each solution block as 'grade build'.\n"
            f"c.ClearSolutions.code_stub = {{'python': '# YOUR CODE HERE\\nraise NotImplementedError'}}\n\n"
            f"# Feedback shows the test cells without their hidden part (the flag and this path).\n"
            f"from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor  # noqa: E402\n"
            f"from nbgrader.preprocessors import ClearHiddenTests, GetGrades  # noqa: E402\n\n"
            f"c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, CSSHTMLHeaderPreprocessor]\n")
    _write_text(path, text)
    return path


def cell_timeout(course: Course) -> int:
    """Seconds nbgrader must give a test cell: the grader's limit per submission, plus start-up."""
    return int(max(ex.limits.submission_seconds for ex in course.exercises)) + 120


def _meta(grade_id: str, *, grade: bool = False, solution: bool = False, locked: bool = False,
          points: float | None = None) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": SCHEMA_VERSION,
            "solution": solution}
    if points is not None:
        meta["points"] = _number(points)
    return {"nbgrader": meta}


def _number(x: float) -> float | int:
    return int(x) if float(x).is_integer() else float(x)


def _squeeze_blank_lines(text: str) -> str:
    out: list[str] = []
    for line in text.strip().splitlines():
        if line.strip() or (out and out[-1].strip()):
            out.append(line.rstrip())
    return "\n".join(out)


def _write_text(path: Path, text: str) -> None:
    write_atomic(path, text)
