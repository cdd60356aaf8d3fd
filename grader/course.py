"""course.yml -> a frozen `Course`. The only reader of course.yml.

Paths follow SPEC.md: the student's copy is `exercises/<id>/<module>`, the reference
solution and both test files live in `solutions/<id>/`, and the build copies the public
tests and their recorded expected values into `exercises/<id>/`.

Without --course, commands find the course by walking up from the current directory to
the first course.yml, or to the first course link (`grader_course.json`, which `grade
nbgrader build` writes into the nbgrader course so that `grade batch` run there grades
with the course it was built from).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from grader.files import write_atomic
from grader.errors import CourseError, UnknownExercise

SCHEMA_VERSION = 1
COURSE_FILE = "course.yml"
COURSE_LINK = "grader_course.json"  # in an nbgrader course: the course that grades it
LINK_VERSION = 1
PUBLIC_TESTS = "test_public.py"
HIDDEN_TESTS = "test_hidden.py"
EXPECTED_VALUES = "expected.dat"
MISTAKES = "mistakes.yml"  # the exercise's catalogued mistakes: id -> feedback (next to its tests)
# What an exercise's worker may need beyond numpy (`needs:` in course.yml). Its zygote
# imports it once, before it forks any worker; a course that needs nothing never imports it.
NEEDS = ("torch",)


@dataclass(frozen=True)
class Limits:
    call_seconds: float = 10.0
    submission_seconds: float = 120.0
    memory_mb: int = 1024
    output_kb: int = 64


@dataclass(frozen=True)
class Catalogue:
    """How many catalogued mistakes (mutants) and correct variants an exercise must have
    (`grade validate` checks); none required unless course.yml says so."""
    min_mutants: int = 0
    min_variants: int = 0


@dataclass(frozen=True)
class Exercise:
    id: str
    title: str
    module: str
    points: float
    functions: tuple[str, ...]
    mutates: dict[str, tuple[str, ...]]
    limits: Limits
    root: Path
    catalogue: Catalogue = Catalogue()
    needs: tuple[str, ...] = ()  # what the worker imports before forking ("torch"): see NEEDS


    @property
    def module_name(self) -> str:
        return self.module.removesuffix(".py")

    @property
    def student_dir(self) -> Path:
        return self.root / "exercises" / self.id

    @property
    def solution_dir(self) -> Path:
        return self.root / "solutions" / self.id

    @property
    def has_solutions(self) -> bool:
        """True where the instructor-only material is present (not in a student release)."""
        return (self.solution_dir / self.module).is_file()

    def test_files(self, *, hidden: bool) -> list[Path]:
        """The test files to run: public (and hidden) from solutions/ where it exists."""
        if self.has_solutions:
            names = [PUBLIC_TESTS, HIDDEN_TESTS] if hidden else [PUBLIC_TESTS]
            return [self.solution_dir / n for n in names if (self.solution_dir / n).is_file()]
        return [self.student_dir / PUBLIC_TESTS]


@dataclass(frozen=True)
class Course:
    title: str
    root: Path
    exercises: tuple[Exercise, ...]
    catalogue: Catalogue = Catalogue()  # the course's minimums; each exercise's own are on it
    language: str = ""  # the language of its feedback (grader.i18n), "" for the default

    def exercise(self, exercise_id: str) -> Exercise:
        for ex in self.exercises:
            if ex.id == exercise_id:
                return ex
        raise UnknownExercise(exercise_id, [ex.id for ex in self.exercises])


def find_course(start: Path | None = None) -> Path:
    """Walk up from `start` (default: the current directory) to the first folder with a
    course.yml, or with a course link (what `grade nbgrader build` leaves in the nbgrader
    course: the course it was built from)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / COURSE_FILE).is_file():
            return folder
        if (folder / COURSE_LINK).is_file():
            return read_course_link(folder / COURSE_LINK)
    raise CourseError(
        f"no {COURSE_FILE} found in {here} or any folder above it; "
        "run this inside the course folder or pass --course DIR"
    )


def write_course_link(folder: Path, course_root: Path) -> Path:
    """`<folder>/grader_course.json`: commands run in `folder` (or below) use this course."""
    path = Path(folder) / COURSE_LINK
    text = json.dumps({"schema_version": LINK_VERSION, "course": str(Path(course_root).resolve()),
                       "written_by": "grade nbgrader build"}, indent=2, ensure_ascii=False)
    return write_atomic(path, text + "\n")


def read_course_link(path: Path) -> Path:
    """The course folder a course link names; CourseError says how to fix a broken link."""
    fix = "rerun 'grade nbgrader build' from the course, or pass --course DIR"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise CourseError(f"{path} is not a readable course link ({exc}); {fix}") from None
    if not isinstance(data, dict) or data.get("schema_version") != LINK_VERSION \
            or not isinstance(data.get("course"), str):
        raise CourseError(f"{path} is not a course link this grader reads; {fix}")
    root = Path(data["course"])
    if not (root / COURSE_FILE).is_file():
        raise CourseError(f"{path} names the course {root}, which has no {COURSE_FILE}; {fix}")
    return root


def load_course(root: Path | None = None) -> Course:
    """Read `<root>/course.yml` (or find it upwards from the current directory)."""
    root = find_course() if root is None else Path(root).resolve()
    path = root / COURSE_FILE
    if not path.is_file():
        raise CourseError(f"{path} does not exist; pass --course DIR pointing at a course folder")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise CourseError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return parse_course(text, path)


def parse_course(text: str, path: Path) -> Course:
    """The course that `text` would be as `path` (course.yml): what load_course reads, and
    what `grade new` checks its edit with before writing it."""
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" (line {where.line + 1})" if where else ""
        raise CourseError(f"{path} is not valid YAML{line}: {getattr(exc, 'problem', exc)}") from None
    return _parse_course(data, path)


def _parse_course(data, path: Path) -> Course:
    top = _mapping(data, path, "the top level")
    _keys(top, path, "the top level", required={"schema_version", "exercises"},
          optional={"title", "limits", "catalogue", "language"})
    if top["schema_version"] != SCHEMA_VERSION:
        raise CourseError(
            f"{path}: schema_version is {top['schema_version']!r}; this grader reads "
            f"version {SCHEMA_VERSION}; upgrade the grader or the course file"
        )
    limits = _limits(top.get("limits"), Limits(), path, "limits")
    catalogue = _catalogue(top.get("catalogue"), Catalogue(), path, "catalogue")
    raw = top["exercises"]
    if not isinstance(raw, list) or not raw:
        raise CourseError(f"{path}: 'exercises' must be a non-empty list")
    exercises = tuple(_exercise(item, i, limits, catalogue, path) for i, item in enumerate(raw))
    ids = [ex.id for ex in exercises]
    for ex_id in ids:
        if ids.count(ex_id) > 1:
            raise CourseError(f"{path}: exercise id {ex_id!r} appears twice")
    return Course(title=str(top.get("title", "")), root=path.parent, exercises=exercises,
                  catalogue=catalogue, language=_language(top.get("language"), path))


def _exercise(item, index: int, course_limits: Limits, course_catalogue: Catalogue, path: Path) -> Exercise:
    where = f"exercises[{index}]"
    item = _mapping(item, path, where)
    _keys(item, path, where, required={"id", "title", "module", "points", "functions"},
          optional={"mutates", "limits", "catalogue", "needs"})
    where = f"exercise {item['id']!r}"
    module = item["module"]
    if not isinstance(module, str) or not module.endswith(".py") or "/" in module:
        raise CourseError(f"{path}: {where}: 'module' must be a file name ending in .py")
    functions = item["functions"]
    if not isinstance(functions, list) or not all(isinstance(f, str) for f in functions):
        raise CourseError(f"{path}: {where}: 'functions' must be a list of function names")
    points = item["points"]
    if not isinstance(points, (int, float)) or points <= 0:
        raise CourseError(f"{path}: {where}: 'points' must be a positive number")
    mutates = _mapping(item.get("mutates", {}), path, f"{where}: 'mutates'")
    for name, params in mutates.items():
        if name not in functions:
            raise CourseError(f"{path}: {where}: 'mutates' names {name!r}, which is not in 'functions'")
        if not isinstance(params, list):
            raise CourseError(f"{path}: {where}: 'mutates.{name}' must be a list of parameter names")
    needs = item.get("needs", [])
    if not isinstance(needs, list) or not all(n in NEEDS for n in needs):
        raise CourseError(f"{path}: {where}: 'needs' must be a list of what its worker imports "
                          f"besides numpy, from: {', '.join(NEEDS)}")
    return Exercise(
        id=str(item["id"]), title=str(item["title"]), module=module, points=float(points),
        functions=tuple(functions),
        mutates={name: tuple(params) for name, params in mutates.items()},
        limits=_limits(item.get("limits"), course_limits, path, f"{where}: limits"),
        root=path.parent,
        catalogue=_catalogue(item.get("catalogue"), course_catalogue, path, f"{where}: catalogue"),
        needs=tuple(sorted(set(needs))),
    )


def _language(raw, path: Path) -> str:
    """`language: ko`: the language of the course's feedback (--lang and GRADER_LANG override it)."""
    from grader.i18n import LANGUAGES, UnknownLanguage, normalize

    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise CourseError(f"{path}: 'language' must be a language code ({', '.join(LANGUAGES)})")
    try:
        return normalize(raw, "'language'")
    except UnknownLanguage as exc:
        raise CourseError(f"{path}: {exc}") from None


def _limits(raw, base: Limits, path: Path, where: str) -> Limits:
    if raw is None:
        return base
    raw = _mapping(raw, path, where)
    fields = {f.name for f in dataclasses.fields(Limits)}
    _keys(raw, path, where, required=set(), optional=fields)
    for key, value in raw.items():
        whole = key in ("memory_mb", "output_kb")
        if type(value) not in ((int,) if whole else (int, float)) or value <= 0:
            kind = "a positive whole number" if whole else "a positive number"
            raise CourseError(f"{path}: {where}: '{key}' must be {kind}")
    return dataclasses.replace(base, **raw)


def _catalogue(raw, base: Catalogue, path: Path, where: str) -> Catalogue:
    """`catalogue: {min_mutants: 6, min_variants: 2}`, for the course or one exercise
    (whose keys override the course's)."""
    if raw is None:
        return base
    raw = _mapping(raw, path, where)
    _keys(raw, path, where, required=set(), optional={f.name for f in dataclasses.fields(Catalogue)})
    for key, value in raw.items():
        if type(value) is not int or value < 0:
            raise CourseError(f"{path}: {where}: '{key}' must be a whole number, 0 or more")
    return dataclasses.replace(base, **raw)


def _mapping(value, path: Path, where: str) -> dict:
    if not isinstance(value, dict):
        raise CourseError(f"{path}: {where} must be a mapping of keys to values")
    return value


def _keys(mapping: dict, path: Path, where: str, *, required: set, optional: set) -> None:
    for key in mapping:
        if key not in required | optional:
            allowed = ", ".join(sorted(required | optional))
            raise CourseError(f"{path}: unknown key {key!r} in {where} (allowed: {allowed})")
    for key in sorted(required):
        if key not in mapping:
            raise CourseError(f"{path}: missing key {key!r} in {where}")
