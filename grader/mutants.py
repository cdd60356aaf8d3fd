"""The catalogue of common mistakes (mutants) and of correct variants, and their verdicts.

`solutions/<id>/mutants/<name>.py` holds one common mistake as an overlay on the reference
solution: a docstring, the imports its code needs and only the function(s) the mistake
changes. The module that is graded is the reference with those functions in place of the
same-named ones (`overlay`). The docstring's first line describes the mistake; two header
lines say what must happen:

    function: dropout_forward          the function it breaks: a test of it must lose points
    mistake: dropout.keep_prob_swap    a failing test must name this catalogued mistake (its
                                       report's `mistake` key), whatever the language

`solutions/<id>/variants/<name>.py` is a correct solution written differently, a full
module; it must get full marks. Both are instructor-only and never reach exercises/ or a
release.
"""

from __future__ import annotations

import ast
import contextlib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from grader.course import Course, Exercise
from grader.errors import CourseError

_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_IMPORTS = (ast.Import, ast.ImportFrom)


@dataclass(frozen=True)
class Mutant:
    exercise: str
    name: str
    path: Path            # the mutant file: header, imports, the functions it changes
    description: str
    function: str
    mistake: str          # the id of the catalogued mistake a failing test must name
    source: str = field(repr=False, compare=False)  # the module that is graded (`overlay`)

    def write(self, folder: Path) -> Path:
        """Write the module to grade to `folder/<exercise>/<name>.py`; return that path."""
        path = Path(folder) / self.exercise / f"{self.name}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.source, encoding="utf-8")
        return path


@dataclass(frozen=True)
class MutantVerdict:
    mutant: Mutant
    caught: bool          # lost points on a test of the function it breaks
    named: bool           # a failing test names the mistake (by its id)
    messages: tuple[str, ...]
    naming: tuple[str, ...] = ()  # the messages of the failing tests that name it


def mutants(exercise: Exercise) -> list[Mutant]:
    """The exercise's catalogue, each mutant overlaid on the reference solution."""
    paths = sorted((exercise.solution_dir / "mutants").glob("*.py"))
    reference_path = exercise.solution_dir / exercise.module
    reference = reference_path.read_text(encoding="utf-8") if paths else ""
    return [_load(exercise, path, reference, reference_path) for path in paths]


def _load(exercise: Exercise, path: Path, reference: str, reference_path: Path) -> Mutant:
    text = path.read_text(encoding="utf-8")
    source = overlay(reference, text, reference_name=str(reference_path), mutant_name=str(path))
    lines = (ast.get_docstring(ast.parse(text)) or "").splitlines()
    fields = dict(line.split(":", 1) for line in lines[1:] if ":" in line)
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    if "diagnosis" in fields and "mistake" not in fields:
        raise CourseError(f"{path}: 'diagnosis: <text>' matched English words of a message; name the catalogued "
                          "mistake by its id instead ('mistake: <id>', the id of a mistake(id, message) in the "
                          "tests), which holds in every language")
    if not lines or "function" not in fields or "mistake" not in fields:
        raise CourseError(f"{path}: the docstring needs a first line describing the mistake "
                          "and lines 'function: <name>' and 'mistake: <id>'")
    if fields["function"] not in exercise.functions:
        raise CourseError(f"{path}: function {fields['function']!r} is not in {exercise.id}")
    return Mutant(exercise.id, path.stem, path, lines[0].strip(), fields["function"],
                  fields["mistake"], source)


def overlay(reference: str, mutant: str, *, reference_name: str = "the reference",
            mutant_name: str = "the mutant") -> str:
    """The module a mutant stands for: the reference's source with the mutant's docstring
    in place of its own, the mutant's top-level functions (and classes) in place of the
    same-named ones, the mutant's imports that the reference lacks after the reference's
    imports, and the mutant's new helpers (names starting with `_`) before the first
    function. The reference's other code and comments stay as they are. A mutant that
    defines every top-level function of the reference is a full copy and stands for itself.
    """
    ref, mut = _parse(reference, reference_name), _parse(mutant, mutant_name)
    ref_doc, ref_body = _docstring(ref.body)
    mut_doc, mut_body = _docstring(mut.body)
    ref_defs = {n.name: n for n in ref_body if isinstance(n, _DEFS)}
    mut_defs = [n for n in mut_body if isinstance(n, _DEFS)]
    if ref_defs.keys() <= {n.name for n in mut_defs}:
        return mutant
    _check(ref_defs, mut_body, reference_name, mutant_name)
    ref_lines, mut_lines = reference.splitlines(keepends=True), mutant.splitlines(keepends=True)

    def text(node, body, lines):
        start, end = _span(node, body, lines)
        return "".join(lines[start:end]).rstrip("\n") + "\n"

    top = ref_doc.end_lineno if ref_doc else 0
    imports = [n for n in ref_body if isinstance(n, _IMPORTS) and n.lineno < _first_def_line(ref_body)]
    after_imports = imports[-1].end_lineno if imports else top
    first_def = min(_span(n, ref_body, ref_lines)[0] for n in ref_defs.values())
    known = {ast.dump(n) for n in ref_body if isinstance(n, _IMPORTS)}
    edits = []  # (start line, end line, new text), 0-based, half-open; start == end inserts
    if mut_doc:
        doc = text(mut_doc, mut.body, mut_lines)
        edits.append((ref_doc.lineno - 1, ref_doc.end_lineno, doc) if ref_doc else (0, 0, doc))
    for node in mut_body:
        if isinstance(node, _IMPORTS) and ast.dump(node) not in known:
            future = isinstance(node, ast.ImportFrom) and node.module == "__future__"
            at = top if future else after_imports
            edits.append((at, at, "".join(mut_lines[node.lineno - 1:node.end_lineno])))
        elif isinstance(node, _DEFS) and node.name in ref_defs:
            start, end = _span(ref_defs[node.name], ref_body, ref_lines)
            edits.append((start, end, text(node, mut_body, mut_lines)))
        elif isinstance(node, _DEFS):
            edits.append((first_def, first_def, text(node, mut_body, mut_lines) + "\n\n"))
    return _apply(ref_lines, edits)


def _parse(source: str, name: str) -> ast.Module:
    try:
        return ast.parse(source)
    except SyntaxError as exc:
        raise CourseError(f"{name}, line {exc.lineno}: {exc.msg}; fix it to load the mutants") from None


def _docstring(body: list) -> tuple[ast.Expr | None, list]:
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        return body[0], body[1:]
    return None, body


def _check(ref_defs: dict, mut_body: list, reference_name: str, mutant_name: str) -> None:
    """A mutant overlay holds only imports and functions, and replaces at least one."""
    names, seen = ", ".join(ref_defs), set()
    for node in mut_body:
        if isinstance(node, _DEFS) and node.name in seen:
            raise CourseError(f"{mutant_name}, line {node.lineno}: {node.name} is defined twice; keep one")
        seen.add(getattr(node, "name", None))
        if isinstance(node, _DEFS) and node.name not in ref_defs and not node.name.startswith("_"):
            raise CourseError(
                f"{mutant_name}, line {node.lineno}: {node.name} is not a function of the reference "
                f"{reference_name} ({names}); a mutant replaces the reference's functions by name "
                "(check the spelling), and a helper of its own needs a name starting with '_'")
        if not isinstance(node, _DEFS + _IMPORTS):
            raise CourseError(
                f"{mutant_name}, line {node.lineno}: a mutant holds its docstring, imports and the "
                "functions it changes (or a full copy of the reference); move this statement into "
                "a function")
    if not any(isinstance(n, _DEFS) and n.name in ref_defs for n in mut_body):
        raise CourseError(f"{mutant_name}: changes none of the functions of {reference_name} ({names}); "
                          "copy in the function with the mistake")


def _first_def_line(body: list) -> int:
    return min((n.lineno for n in body if isinstance(n, _DEFS)), default=10**9)


def _span(node, body: list, lines: list[str]) -> tuple[int, int]:
    """The lines of a top-level statement, with its decorators and the indented comments
    after its last line (a solution marker), without the blank lines and column-0
    comments that lead to the next statement."""
    start = _span_start(node)
    later = [n for n in body if n.lineno > node.end_lineno]
    end = min([len(lines)] + [_span_start(n) for n in later])
    while end > node.end_lineno and (not lines[end - 1].strip() or lines[end - 1].startswith("#")):
        end -= 1
    return start, end


def _span_start(node) -> int:
    return min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])]) - 1


def _apply(lines: list[str], edits: list) -> str:
    out, at = [], 0
    for start, end, text in sorted(edits, key=lambda e: (e[0], e[1])):
        out += lines[at:start] + [text]
        at = max(at, end)
    return "".join(out + lines[at:])


@contextlib.contextmanager
def written(catalogue: Iterable[Mutant]) -> Iterator[dict[Mutant, Path]]:
    """Each mutant's module, written to a temporary folder to be graded like any
    submission; the folder is removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="grader-mutants-") as folder:
        yield {m: m.write(Path(folder)) for m in catalogue}


def variants(exercise: Exercise) -> list[Path]:
    return sorted((exercise.solution_dir / "variants").glob("*.py"))


def judge(course: Course, mutant: Mutant, *, zygote=None) -> MutantVerdict:
    from grader.grade import grade

    with written([mutant]) as files:
        return verdict(mutant, grade(course, mutant.exercise, files[mutant], hidden=True, zygote=zygote))


def verdict(mutant: Mutant, report) -> MutantVerdict:
    lost = [t for t in report.tests if t.outcome != "passed"]
    caught = any(t.function == mutant.function for t in lost)
    naming = tuple(t.message for t in lost if t.mistake == mutant.mistake)
    return MutantVerdict(mutant, caught, bool(naming), tuple(f"{t.shown_name}: {t.message}" for t in lost), naming)


def summary(course: Course, exercise_ids: list[str] | None = None, *, progress=lambda m: None):
    """Per exercise: (verdicts of every mutant, reports of every variant), graded in one
    pytest session per exercise."""
    from grader.grade import ZygoteKeeper, grade_each
    from grader.sandbox.proxy import Zygote

    zygote = Zygote()
    try:
        out = {}
        for ex in (course.exercise(i) for i in exercise_ids) if exercise_ids else course.exercises:
            ex_mutants, ex_variants = mutants(ex), variants(ex)
            with written(ex_mutants) as files:
                subjects = [(f"mutant {m.name}", files[m]) for m in ex_mutants] + \
                           [(f"variant {v.stem}", v) for v in ex_variants]
                reports = {}

                def each():
                    for what, path in subjects:
                        progress(f"{ex.id}: {what}")
                        yield path

                def graded(path, report):
                    if isinstance(report, BaseException):
                        raise report
                    reports[path] = report

                grade_each(course, ex.id, each(), graded, hidden=True, zygotes=ZygoteKeeper(zygote))
            out[ex.id] = ([verdict(m, reports[files[m]]) for m in ex_mutants],
                          [(v.stem, reports[v]) for v in ex_variants])
        return out
    finally:
        zygote.close()
