"""What an nbgrader test cell runs, inside the notebook's kernel.

Every test cell that `grade nbgrader build` writes ends in

    check("exercise3", "dropout_forward", 5.0, hidden=hidden, course=course)

The first such call in a kernel grades the saved notebook `<exercise>.ipynb` in the
kernel's working directory (nbgrader runs autograde there) once, with `grade --json` in a
fresh, isolated Python process, so the student's code runs in the grader's sandbox and the
score is exactly what `grade EXERCISE --submission NOTEBOOK` gives. Every call then prints
the feedback of its function's tests and returns its partial credit: a plain float between
0 and the cell's points, which nbgrader records as the cell's score.

Two rules of nbgrader shape this module: a test cell that writes anything to stderr scores
0, so nothing here writes to stderr; and a cell whose value does not parse as a float gets
full marks, so `check` always returns a float (0.0 when anything goes wrong, with the
reason printed). Stdlib only: importing this must be cheap (it imports grader.report,
grader.i18n and grader.textwidth, also stdlib only: feedback in the report's language).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

from grader import i18n
from grader.i18n import _
from grader.report import LABELS  # stdlib only, like this module
from grader.textwidth import ljust

COURSE_ENV = "GRADER_COURSE"          # where to find the course when the cell does not say
COURSE_LINK = "grader_course.json"    # left in the nbgrader course by `grade nbgrader build`
GRADING_SECONDS = 900                 # a safety net; the grader enforces its own limits

_reports: dict[tuple, dict | str] = {}  # one grading per kernel and saved notebook


class NotGraded(Exception):
    """The notebook could not be graded; the message says why and what to do."""


def check(exercise: str, function: str, points: float, *, hidden: bool = False,
          course: str | None = None) -> float:
    """Print the feedback of `function`'s tests; return the points they earned."""
    try:
        lang = i18n.resolve()  # GRADER_LANG until the report says which language the course speaks
    except i18n.UnknownLanguage:
        lang = i18n.DEFAULT
    with i18n.language(lang):
        try:
            report = _report(exercise, hidden=hidden, course=course)
        except NotGraded as exc:
            print(_("{function}: not graded, 0 points: {why}", function=function, why=exc))
            return 0.0
    with i18n.language(report.get("language") if report.get("language") in i18n.LANGUAGES else lang):
        try:
            tests = [t for t in report.get("tests", []) if t.get("function") == function]
            if not tests:
                raise NotGraded(_("{function} has hidden tests only; they run when your work is graded",
                                  function=function) if not hidden else
                                _("the grader ran no tests of {function}; rebuild the nbgrader course with "
                                  "'grade nbgrader build'", function=function))
            earned = credit(tests, points, public_only=not hidden)
        except NotGraded as exc:
            print(_("{function}: not graded, 0 points: {why}", function=function, why=exc))
            return 0.0
        print(feedback(tests, function, earned, points, public_only=not hidden))
    return earned


def credit(tests: list[dict], points: float, *, public_only: bool = False) -> float:
    """The points the tests earned, as a plain float in [0, points]; fails closed.

    With the public tests only (the student's version of the notebook, which has no
    hidden tests) the cell's points are shared out over the public tests, so a student
    whose visible tests all pass sees full marks, as with any nbgrader test cell.
    """
    earned = possible = 0.0
    for test in tests:
        value, most = test.get("points"), test.get("max_points")
        if not (_number(value) and _number(most) and 0 <= value <= most):
            raise NotGraded(_("the report has a malformed score for {test}", test=repr(test.get("name"))))
        earned, possible = earned + value, possible + most
    if public_only:
        earned = earned / possible * float(points) if possible > 0 else 0.0
    return round(float(min(earned, float(points))), 6)  # 9.6, not 9.600000000000001, in the gradebook


def _number(x) -> bool:
    return type(x) in (int, float) and math.isfinite(x)


def feedback(tests: list[dict], function: str, earned: float, points: float, *,
             public_only: bool = False) -> str:
    scope = " " + _("(public tests only; the hidden tests count when your work is graded)") if public_only else ""
    lines = [_("{function}: {earned} / {points} points", function=function, earned=f"{earned:g}",
               points=f"{points:g}") + scope]
    for t in tests:
        label = _(LABELS.get(t.get("outcome"), LABELS["error"]))
        hidden = " " + _("(hidden)") if t.get("hidden") else ""
        lines.append(f"  {ljust(label, 5)} {t.get('points', 0):g}/{t.get('max_points', 0):g}  "
                     f"{t.get('title') or t.get('name')}{hidden}")
        if t.get("outcome") != "passed":
            lines.extend(f"        {'-> ' if i == 0 else '   '}{line}"
                         for i, line in enumerate(str(t.get("message", "")).splitlines()))
    return "\n".join(lines)


def _report(exercise: str, *, hidden: bool, course: str | None) -> dict:
    notebook = _notebook(exercise)
    root = _course_root(course, notebook)
    stat = notebook.stat()
    key = (str(notebook), stat.st_mtime_ns, stat.st_size, bool(hidden), str(root))
    if key not in _reports:
        try:
            _reports[key] = _grade(exercise, notebook, root, hidden=hidden)
        except NotGraded as exc:
            _reports[key] = str(exc)  # the reason is kept too: one failed grading per kernel
    if isinstance(_reports[key], str):
        raise NotGraded(_reports[key])
    return _reports[key]


def _notebook(exercise: str) -> Path:
    """The notebook being run: `<exercise>.ipynb` in the kernel's working directory."""
    here = Path.cwd()
    if (here / f"{exercise}.ipynb").is_file():
        return here / f"{exercise}.ipynb"
    session = os.environ.get("JPY_SESSION_NAME", "")  # Jupyter Server 2 sets it to the notebook's path
    if session.endswith(".ipynb") and Path(session).is_file():
        return Path(session)
    found = sorted(p for p in here.glob("*.ipynb") if not p.name.startswith("."))
    if len(found) == 1:
        return found[0]
    raise NotGraded(_("cannot tell which notebook to grade in {folder}; name it {exercise}.ipynb",
                      folder=here, exercise=exercise))


def _course_root(course: str | None, notebook: Path) -> Path:
    if course or os.environ.get(COURSE_ENV):
        root = Path(course or os.environ[COURSE_ENV]).expanduser()
        if not (root / "course.yml").is_file():
            raise NotGraded(_("the course folder {folder} has no course.yml", folder=root))
        return root
    for folder in (notebook.resolve().parent, *notebook.resolve().parents):
        if (folder / "course.yml").is_file():
            return folder
        if (folder / COURSE_LINK).is_file():  # inside the nbgrader course: the course it was built from
            return _linked_course(folder / COURSE_LINK)
    raise NotGraded(_("no course.yml above {folder}; set {variable} to the course folder, or run 'grade "
                      "EXERCISE --submission {notebook}' there", folder=notebook.parent, variable=COURSE_ENV,
                      notebook=notebook.name))


def _linked_course(path: Path) -> Path:
    """The course a course link names (the format of grader.course.read_course_link, read
    here with the standard library only)."""
    try:
        root = Path(json.loads(path.read_text(encoding="utf-8"))["course"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise NotGraded(f"{path} is not a readable course link ({exc!r})") from None
    if not (root / "course.yml").is_file():
        raise NotGraded(f"{path} names the course {root}, which has no course.yml; "
                        "rerun 'grade nbgrader build' from the course")
    return root


def _grade(exercise: str, notebook: Path, root: Path, *, hidden: bool) -> dict:
    """`grade EXERCISE --submission NOTEBOOK --json` in an isolated Python process.

    `-I` keeps the kernel's environment variables and working directory (where a student
    could drop a fake `grader/` package) out of the grading process's imports.
    """
    package_parent = str(Path(__file__).resolve().parents[1])
    bootstrap = ("import sys; sys.path.insert(0, sys.argv.pop(1)); "
                 "from grader.cli import main; main(prog_name='grade')")
    args = [exercise, "--submission", str(notebook.resolve()), "--json", "--course", str(root.resolve())]
    if not hidden:
        args.append("--public-only")
    try:
        proc = subprocess.run([sys.executable, "-I", "-c", bootstrap, package_parent, *args],
                              capture_output=True, text=True, stdin=subprocess.DEVNULL,
                              cwd=str(root), timeout=GRADING_SECONDS)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise NotGraded(_("the grader did not run: {error}", error=exc)) from None
    if proc.returncode != 0:
        why = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
        raise NotGraded(_("the grader failed: {why}", why=why))
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        raise NotGraded(_("the grader's report is not valid JSON")) from None
    if not isinstance(report, dict) or not isinstance(report.get("tests"), list):
        raise NotGraded(_("the grader's report has no tests"))
    return report
