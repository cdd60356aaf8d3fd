"""The course at a glance (`grade list`): each exercise, its points, and how far the
student's working copy is, read from the source without running it."""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass

from grader.course import Course, Exercise
from grader.i18n import _
from grader.textwidth import ljust, width

MAX_BYTES = 1 << 20  # a working copy larger than this is not parsed (it is certainly started)


@dataclass(frozen=True)
class Progress:
    exercise: Exercise
    state: str                   # "not started", "started", "missing" or "unreadable"
    written: tuple[str, ...]     # the graded functions that are no longer stubs

    def describe(self) -> str:
        if self.state == "missing":
            return _("no {module} in exercises/{exercise}/", module=self.exercise.module, exercise=self.exercise.id)
        if self.state == "unreadable":
            return _("started ({module} could not be read as Python)", module=self.exercise.module)
        if self.state == "not started":
            return _("not started")
        return _("started, {written} of {functions} functions written", written=len(self.written),
                 functions=len(self.exercise.functions))


def overview(course: Course) -> list[Progress]:
    """How far the working copy (exercises/<id>/) of every exercise is."""
    return [progress(ex) for ex in course.exercises]


def overview_text(course: Course) -> str:
    """One aligned line per exercise: id, title, points, how far the working copy is."""
    rows = overview(course)
    id_width = max(width(r.exercise.id) for r in rows)
    title_width = max(width(r.exercise.title) for r in rows)
    lines = [f"{ljust(r.exercise.id, id_width)}  {ljust(r.exercise.title, title_width)}  "
             + _("{points} points", points=f"{r.exercise.points:>3g}") + f"  {r.describe()}" for r in rows]
    if not any(r.exercise.has_solutions for r in rows):
        lines.append(_("The points include hidden tests that your instructor runs; 'grade EXERCISE' grades "
                       "the public ones."))
    return "\n".join(lines)


def overview_json(course: Course) -> str:
    return json.dumps({"schema_version": 1, "exercises": [
        {"id": r.exercise.id, "title": r.exercise.title, "module": r.exercise.module,
         "points": r.exercise.points, "functions": list(r.exercise.functions),
         "state": r.state, "written": list(r.written)} for r in overview(course)]}, indent=2)


def progress(exercise: Exercise) -> Progress:
    """A function is written once its body is more than a docstring and
    `raise NotImplementedError` (for a class: once one of its methods is)."""
    path = exercise.student_dir / exercise.module
    try:
        if not path.is_file():  # a regular file (a FIFO or a device is not read)
            return Progress(exercise, "missing", ())
        if path.stat().st_size > MAX_BYTES:
            return Progress(exercise, "unreadable", ())
        tree = ast.parse(path.read_bytes())
    except (OSError, SyntaxError, ValueError):
        return Progress(exercise, "unreadable", ())
    defined = {node.name: node for node in tree.body
               if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    written = tuple(name for name in exercise.functions if name in defined and not _stub(defined[name]))
    return Progress(exercise, "started" if written else "not started", written)


def _stub(node) -> bool:
    if isinstance(node, ast.ClassDef):
        methods = [n for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
        return all(_stub(m) for m in methods)
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]  # the docstring
    if len(body) != 1 or not isinstance(body[0], ast.Raise) or body[0].exc is None:
        return False
    exc = body[0].exc.func if isinstance(body[0].exc, ast.Call) else body[0].exc
    return isinstance(exc, ast.Name) and exc.id == "NotImplementedError"
