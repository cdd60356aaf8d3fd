"""Reading what a student handed in (a folder, a .py module or a notebook) as untrusted input.

A hand-in is read without following symbolic links anywhere (the student's folder, the
exercise folder, the file itself: a hand-in has no reason to hold one), as regular files
only, opened without blocking (a FIFO never hangs the grader), with its size checked
before it is read, and a notebook is parsed defensively (its structure is checked, its
nesting bounded). Whatever is wrong is a `SubmissionProblem` whose message is meant for
the student: the headline of their report, the `error` of their row in a batch.

Nothing here runs student code: the result is the code to run (`StudentCode`), one unit
per file or notebook cell, which the sandbox runs in order in the module's namespace.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from grader.course import HIDDEN_TESTS, PUBLIC_TESTS, Exercise
from grader.errors import SubmissionNotFound
from grader.i18n import N_, _, n_

MAX_MODULE_BYTES = 1 << 20      # 1 MiB of Python: far beyond any exercise
MAX_NOTEBOOK_BYTES = 16 << 20   # a notebook's outputs (plots) included
MAX_CELLS = 2000                # code cells of one notebook
EXPLORATION_TAGS = ("exploration", "skip")  # a cell tagged so is left out of grading
PYTHON_CELL_MAGICS = ("%%time", "%%timeit", "%%capture", "%%prun")  # their body is Python
LINK = N_("{path} is a symbolic link; hand in the file itself (links are not followed)")


class SubmissionProblem(Exception):
    """What is wrong with a hand-in, in words for the student (and the gradebook)."""


class NoModule(SubmissionProblem):
    """The path exists but holds no module to grade at all. `fix` says what `grade` takes."""

    def __init__(self, message: str, fix: str):
        super().__init__(message)
        self.fix = fix


class Refused(SubmissionProblem):
    """There is something to grade, but it is not read: a symbolic link, not a regular
    file, too big, or a notebook that is not one."""


@dataclass(frozen=True)
class Unit:
    """A piece of the student's code, run in order in the module's namespace."""

    filename: str   # what tracebacks, warnings and messages show: "my.py", "my.ipynb, cell 4"
    source: bytes


@dataclass(frozen=True)
class StudentCode:
    """The code to grade, read from the student's file, and what to tell them about it."""

    path: Path
    units: tuple[Unit, ...]
    notes: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def notebook(self) -> bool:
        """A notebook's cells fail alone: the rest of a cell that raises does not run, the
        other cells do."""
        return self.path.suffix == ".ipynb"


def read(exercise: Exercise, path: Path) -> StudentCode:
    """The code to grade in `path` (SPEC: "What --submission accepts"), read as untrusted input.

    Raises SubmissionNotFound (a usage error) when `path` does not exist, NoModule when it
    holds nothing to grade, Refused when what it holds cannot be read safely."""
    path = Path(path)
    kind = _kind(path)
    if kind == "dir":
        return _read_folder(exercise, path)
    _refuse_odd(kind, path.name)
    if path.suffix not in (".py", ".ipynb"):
        raise NoModule(_("{path} is neither a .py module nor a notebook; expected {module}",
                         path=path, module=exercise.module), _fix(exercise))
    fd = _open(path)
    try:
        return _student_code(path, _read_capped(fd, path.name, path.suffix), ())
    finally:
        os.close(fd)


# ------------------------------------------------------------------ finding the file

def _kind(path: Path, dir_fd: int | None = None) -> str:
    """"dir", "file", "link" or "other", never following a symbolic link."""
    try:
        mode = os.lstat(path, dir_fd=dir_fd).st_mode
    except FileNotFoundError:
        if dir_fd is None:
            raise SubmissionNotFound(path) from None
        return "missing"
    except OSError as exc:
        raise Refused(_("{path} could not be read ({reason})", path=path, reason=exc.strerror)) from None
    return ("dir" if stat.S_ISDIR(mode) else "file" if stat.S_ISREG(mode)
            else "link" if stat.S_ISLNK(mode) else "other")


def _refuse_odd(kind: str, shown) -> None:
    if kind == "link":
        raise Refused(_(LINK, path=shown))
    if kind != "file":
        raise Refused(_("{path} is not a regular file", path=shown))


def _open(name, *, dir_fd: int | None = None, directory: bool = False) -> int:
    """Open without following a link and without blocking (a FIFO opens at once)."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        return os.open(name, flags | (os.O_DIRECTORY if directory else 0), dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
            raise Refused(_(LINK, path=Path(name).name)) from None
        raise Refused(_("{path} could not be read ({reason})", path=Path(name).name, reason=exc.strerror)) from None


def _read_folder(exercise: Exercise, path: Path) -> StudentCode:
    """The module file, else the one notebook, in `path` or in `path/<exercise id>`."""
    top = _open(path, directory=True)
    try:
        others: list[str] = []
        for sub in ("", exercise.id):
            if sub:
                kind = _kind(Path(sub), dir_fd=top)
                if kind == "link":
                    _refuse_odd(kind, path / sub)
                if kind != "dir":
                    continue  # missing, or something else by that name: not a hand-in folder
            folder = _open(sub, dir_fd=top, directory=True) if sub else top
            try:
                found = _choose(exercise, folder, path / sub if sub else path, others)
                if found is not None:
                    name, notes = found
                    return _read_at(folder, (path / sub if sub else path) / name, notes)
            finally:
                if sub:
                    os.close(folder)
    finally:
        os.close(top)
    if others:
        raise NoModule(_("no {module} found in {path} (it holds {files}: name your file {module})",
                         module=exercise.module, path=path,
                         files=", ".join(others[:3]) + (", ..." if len(others) > 3 else "")), _fix(exercise))
    raise NoModule(_("no {module} found in {path}", module=exercise.module, path=path), _fix(exercise))


def _fix(exercise: Exercise) -> str:
    return _("grade a folder holding {module}, a .py file or a notebook", module=exercise.module)


def _choose(exercise: Exercise, folder: int, shown: Path, others: list[str]):
    """(file name, notes) of what to grade in one folder, or None; `others` collects the
    .py files with another name (a hint for the message), not the course's test files."""
    try:
        with os.scandir(folder) as listing:
            names = {e.name for e in listing}
    except OSError as exc:
        raise Refused(_("{path} could not be read ({reason})", path=shown, reason=exc.strerror)) from None
    visible = sorted(n for n in names if not n.startswith("."))
    notebooks = [n for n in visible if n.endswith(".ipynb")]
    others += [n for n in visible if n.endswith(".py")  # the course's test files are no hint
               and n not in (exercise.module, PUBLIC_TESTS, HIDDEN_TESTS)]
    if exercise.module in names:
        notes = ()
        if notebooks:
            notes = (n_("graded {module}; the notebook {notebooks} next to it was not graded",
                        "graded {module}; the notebooks {notebooks} next to it were not graded",
                        len(notebooks), module=exercise.module, notebooks=", ".join(notebooks)),)
        return exercise.module, notes
    if len(notebooks) == 1:
        return notebooks[0], ()
    if len(notebooks) > 1:
        raise NoModule(_("{path} holds several notebooks ({notebooks}) and no {module}; keep only the "
                         "one to grade", path=shown, notebooks=", ".join(notebooks), module=exercise.module),
                       _("or pass the one to grade to --submission"))
    return None


def _read_at(folder: int, path: Path, notes: tuple[str, ...]) -> StudentCode:
    _refuse_odd(_kind(Path(path.name), dir_fd=folder), path.name)
    fd = _open(path.name, dir_fd=folder)
    try:
        return _student_code(path, _read_capped(fd, path.name, path.suffix), notes)
    finally:
        os.close(fd)


def _read_capped(fd: int, shown: str, suffix: str) -> bytes:
    """The file's bytes, refused before reading when it is not a regular file or too big."""
    cap = MAX_NOTEBOOK_BYTES if suffix == ".ipynb" else MAX_MODULE_BYTES
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        raise Refused(_("{path} is not a regular file", path=shown))
    if info.st_size > cap and suffix == ".ipynb":
        raise Refused(_("{path} is {size}; files over {cap} are not graded (clear the notebook's outputs "
                        "and save it again)", path=shown, size=_mb(info.st_size), cap=_mb(cap)))
    if info.st_size > cap:
        raise Refused(_("{path} is {size}; files over {cap} are not graded", path=shown,
                        size=_mb(info.st_size), cap=_mb(cap)))
    chunks, size = [], 0
    try:
        while size <= cap and (chunk := os.read(fd, min(1 << 20, cap + 1 - size))):
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise Refused(_("{path} could not be read ({reason})", path=shown, reason=exc.strerror)) from None
    if size > cap:  # it grew after fstat
        raise Refused(_("{path} is over {cap}; it is not graded", path=shown, cap=_mb(cap)))
    return b"".join(chunks)


def _mb(size: int) -> str:
    return f"{size / 2**20:.1f} MB"


def _student_code(path: Path, data: bytes, notes: tuple[str, ...]) -> StudentCode:
    if path.suffix != ".ipynb":
        return StudentCode(path, (Unit(path.name, data),), notes)
    units, more = notebook_units(data, path.name)
    return StudentCode(path, units, notes + more)


# ------------------------------------------------------------------ notebooks

def notebook_units(data: bytes, name: str) -> tuple[tuple[Unit, ...], tuple[str, ...]]:
    """A notebook's code cells, each its own unit named "<name>, cell <n>" (n counts every
    cell from the top), and notes on the cells left out.

    Left out: nbgrader test cells (metadata `grade: true` without `solution: true`), cells
    tagged `exploration` or `skip`, and cells under a cell magic other than %%time,
    %%timeit, %%capture and %%prun. Lines starting with `%` or `!` become blank lines, so
    line numbers stay those of the cell."""
    cells = _cells(data, name)
    units, tagged, magics = [], [], []
    for number, cell in enumerate(cells, start=1):
        if cell.get("cell_type") != "code":
            continue
        meta = _mapping(cell.get("metadata", {}), name, _("cell {number}'s metadata", number=number))
        nbgrader = _mapping(meta.get("nbgrader", {}), name, _("cell {number}'s nbgrader metadata", number=number))
        if nbgrader.get("grade") is True and nbgrader.get("solution") is not True:
            continue  # an nbgrader test cell: the instructor's, not the student's
        if set(_texts(meta.get("tags", []), name, _("cell {number}'s tags", number=number))) & set(EXPLORATION_TAGS):
            tagged.append(number)
            continue
        lines = "".join(_texts(cell.get("source", ""), name, _("cell {number}'s source", number=number))).split("\n")
        first = next((ln.strip() for ln in lines if ln.strip()), "")
        if first.startswith("%%") and first.split()[0] not in PYTHON_CELL_MAGICS:
            magics.append(_("cell {number} ({magic})", number=number, magic=first.split()[0]))
            continue
        code = "\n".join("" if ln.lstrip().startswith(("%", "!")) else ln for ln in lines)
        if code.strip():
            # the name is parsed back in the worker (grader/sandbox/loader.py): never translated
            units.append(Unit(f"{name}, cell {number}", code.encode("utf-8", errors="replace")))
    if len(units) > MAX_CELLS:
        raise Refused(_("{notebook} has {count} code cells; notebooks with more than {most} are not graded",
                        notebook=name, count=len(units), most=MAX_CELLS))
    notes = []
    if tagged:
        notes.append(_("left out {cells} of {notebook}, tagged as exploration", cells=_cell_list(tagged),
                       notebook=name))
    if magics:
        notes.append(_("left out {cells} of {notebook}: not Python", cells=", ".join(magics), notebook=name))
    return tuple(units), tuple(notes)


def _cells(data: bytes, name: str) -> list:
    """The notebook's list of cells, each a mapping; a clear Refused for anything else."""
    def bad(why: str) -> Refused:
        return Refused(_("{notebook} is not a readable Jupyter notebook: {why}", notebook=name, why=why))

    try:
        notebook = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise bad(_("it is not UTF-8 text")) from None
    except RecursionError:
        raise bad(_("its JSON is nested far too deeply")) from None
    except ValueError as exc:
        raise bad(_("it is not valid JSON ({error})", error=str(exc)[:200])) from None
    if not isinstance(notebook, dict):
        raise bad(_("its top level is a {kind}, not a mapping", kind=_type(notebook)))
    cells = notebook.get("cells")
    if not isinstance(cells, list):
        raise bad(_("it has no list of cells (nbformat 4 is expected)"))
    for number, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict):
            raise bad(_("cell {number} is a {kind}, not a mapping", number=number, kind=_type(cell)))
    return cells


def _mapping(value, name: str, what: str) -> dict:
    if not isinstance(value, dict):
        raise Refused(_("{notebook} is not a readable Jupyter notebook: {what}: a {kind} where a mapping "
                        "belongs", notebook=name, what=what, kind=_type(value)))
    return value


def _texts(value, name: str, what: str) -> list[str]:
    """A notebook's multi-line text: a string or a list of strings."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    if isinstance(value, list):
        raise Refused(_("{notebook} is not a readable Jupyter notebook: {what}: a list holding a {kind} where "
                        "text belongs", notebook=name, what=what,
                        kind=_type(next(v for v in value if not isinstance(v, str)))))
    raise Refused(_("{notebook} is not a readable Jupyter notebook: {what}: a {kind} where text belongs",
                    notebook=name, what=what, kind=_type(value)))


def _type(value) -> str:
    kinds = {dict: N_("mapping"), list: N_("list"), str: N_("string"), int: N_("number"), float: N_("number"),
             bool: N_("boolean"), type(None): N_("null")}
    return _(kinds[type(value)]) if type(value) in kinds else type(value).__name__


def _cell_list(numbers: list[int]) -> str:
    if len(numbers) == 1:
        return _("cell {number}", number=numbers[0])
    return _("cells {numbers} and {last}", numbers=", ".join(map(str, numbers[:-1])), last=numbers[-1])
