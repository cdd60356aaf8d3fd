"""Who is in a submissions folder: every entry is a student's hand-in or skipped with a reason.

`grade batch` accepts one folder per student (nbgrader's `submitted/` as it is) and the
flat downloads of Canvas and Moodle, entry by entry:

    alice/                                           student `alice` (the folder name)
    Jane Doe_1234567_assignsubmission_file_/         Moodle, one folder per student:
                                                     student `Jane Doe_1234567`
    Jane Doe_1234567_assignsubmission_file_x.py      Moodle, flat: student `Jane Doe_1234567`
    doejane_12345_6789012_dropout.py                 Canvas: student `doejane_12345` (the name
    doejane_LATE_12345_6789012_dropout-1.py          and the Canvas user id; LATE is dropped)
    alice_dropout.py, alice_exercise3.ipynb, bob.py  student `alice`, `alice`, `bob`

Files of one student are grouped; the one graded is the file named like the module (after
Canvas's `-1` resubmission suffix is taken off), else the only notebook, else the only .py
file, else the only file. A student with several candidates, or two hand-ins (a folder and
a file), gets a row with the reason instead of a grade. Of a Moodle student's folders, the
submitted files (`_file_`) are graded; online text (`_onlinetext_`) only when there is
nothing else. Skipped, each with its reason: symbolic links (never followed), what is
neither a regular file nor a folder, the litter of tools (`.DS_Store`, `__MACOSX`, ...),
other files. The batch's own output, when it is written inside the folder, is left out.

Nothing is read here but the folder's listing; the files themselves are read by grading.
"""

from __future__ import annotations

import os
import re
import stat
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from grader.course import Exercise
from grader.errors import GraderError
from grader.i18n import _

MOODLE_FOLDER = re.compile(r"(?P<name>.+)_(?P<number>\d+)_assignsubmission_(?P<plugin>[a-z]+)_?")
MOODLE_FILE = re.compile(r"(?P<name>.+?)_(?P<number>\d+)_assignsubmission_(?P<plugin>[a-z]+)_(?P<original>.+)")
CANVAS_FILE = re.compile(r"(?P<name>[^_]+)_(?:LATE_)?(?P<number>\d+)_\d+_(?P<original>.+)", re.IGNORECASE)
CANVAS_COPY = re.compile(r"-\d+(?=\.[^.]*$|$)")  # Canvas renames a resubmitted dropout.py dropout-1.py
HAND_IN_SUFFIXES = (".py", ".ipynb")
LITTER = {
    ".DS_Store": "a macOS Finder file", "__MACOSX": "macOS zip metadata",
    "Thumbs.db": "a Windows thumbnail cache", "desktop.ini": "a Windows folder setting",
    ".ipynb_checkpoints": "Jupyter's autosaves", "__pycache__": "Python's bytecode cache",
    ".git": "a git repository's data",
}


@dataclass(frozen=True)
class Student:
    id: str
    path: Path               # what grading reads: the student's folder or their one file
    problem: str = ""        # why this student cannot be graded (their row's error), or ""


@dataclass(frozen=True)
class Skipped:
    entry: str               # the name in the submissions folder
    reason: str


@dataclass(frozen=True)
class Roster:
    students: tuple[Student, ...]   # sorted by id
    skipped: tuple[Skipped, ...]    # sorted by entry
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class _HandIn:
    student: str
    path: Path
    kind: str                # "folder", "moodle folder", "file"
    original: str = ""       # a file's name as the student handed it in
    plugin: str = ""         # Moodle's submission plugin: "file", "onlinetext", ...


def find_students(folder: Path, exercise: Exercise, *, own: frozenset[str] = frozenset()) -> Roster:
    """Read the listing of `folder`; `own` names entries that are this batch's own output."""
    folder = Path(folder)
    if not folder.is_dir():
        raise GraderError(_("the submissions folder {folder} does not exist", folder=folder)) if not folder.exists() else \
            GraderError(f"{folder} is a file; SUBMISSIONS must be a folder with one folder per student")
    try:
        with os.scandir(folder) as listing:
            entries = sorted(listing, key=lambda e: e.name)
    except OSError as exc:
        raise GraderError(f"cannot list {folder}: {exc.strerror}") from None
    hand_ins: dict[str, list[_HandIn]] = {}
    skipped = []
    for entry in entries:
        if entry.name in own:
            continue  # the gradebook, its state and its list, written inside SUBMISSIONS
        found = _classify(entry, exercise)
        if isinstance(found, Skipped):
            skipped.append(found)
        else:
            hand_ins.setdefault(found.student, []).append(found)
    students = []
    for student_id, group in sorted(hand_ins.items()):
        student, left_out = _one_student(student_id, group, exercise)
        students.append(student)
        skipped += left_out
    if not students:
        listed = f" (skipped: {', '.join(s.entry for s in skipped[:5])}{', ...' if len(skipped) > 5 else ''})" \
            if skipped else ""
        raise GraderError(f"{folder} holds no student folders{listed}; expected one folder per "
                          f"student, e.g. {folder / 'alice' / exercise.module}, or an LMS download")
    return Roster(tuple(students), tuple(sorted(skipped, key=lambda s: s.entry)),
                  lookalike_warnings([s.id for s in students]))


def display(name: str) -> str:
    """A file name as text: bytes that are not UTF-8 written as \\xNN."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def _classify(entry: os.DirEntry, exercise: Exercise) -> _HandIn | Skipped:
    name, path = display(entry.name), Path(entry.path)
    if entry.is_symlink():
        try:
            target = f" (to {display(os.readlink(entry.path))})"
        except OSError:
            target = ""
        return Skipped(name, f"a symbolic link{target}; hand-ins are never read through links")
    if name in LITTER or (name.startswith("._") and entry.is_file(follow_symlinks=False)):
        return Skipped(name, f"not a hand-in: {LITTER.get(name, 'a macOS resource file')}")
    if entry.is_dir(follow_symlinks=False):
        moodle = MOODLE_FOLDER.fullmatch(name)
        if moodle:
            return _HandIn(f"{moodle['name']}_{moodle['number']}", path, "moodle folder",
                           plugin=moodle["plugin"])
        return _HandIn(name, path, "folder")
    if not entry.is_file(follow_symlinks=False):
        return Skipped(name, f"not a regular file or folder ({_file_type(entry)})")
    lms = MOODLE_FILE.fullmatch(name) or CANVAS_FILE.fullmatch(name)
    if lms:
        original = lms["original"] if lms.re is MOODLE_FILE else CANVAS_COPY.sub("", lms["original"])
        return _HandIn(f"{lms['name']}_{lms['number']}", path, "file", original=original)
    if path.suffix in HAND_IN_SUFFIXES:  # alice_dropout.py: alice's dropout.py
        for ending in (f"_{exercise.module_name}", f"_{exercise.id}"):
            if path.stem.endswith(ending) and len(path.stem) > len(ending):
                student = path.stem.removesuffix(ending)
                return _HandIn(student, path, "file", original=name[len(student) + 1:])
        return _HandIn(path.stem, path, "file", original=name)
    return Skipped(name, "not a hand-in: a student is a folder, a .py or .ipynb file, "
                         "or a file of a Canvas or Moodle download")


def _file_type(entry: os.DirEntry) -> str:
    try:
        mode = entry.stat(follow_symlinks=False).st_mode
    except OSError as exc:
        return exc.strerror or "unreadable"
    return ("a named pipe" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "unknown type")


def _one_student(student_id: str, group: list[_HandIn], exercise: Exercise) -> tuple[Student, list[Skipped]]:
    """The Student for a group of hand-ins with one id, and the hand-ins left out."""
    if len(group) == 1:
        return Student(student_id, group[0].path), []
    kinds = {h.kind for h in group}
    if kinds == {"file"}:
        return _choose_file(student_id, group, exercise), []
    if kinds == {"moodle folder"}:
        files = [h for h in group if h.plugin == "file"]
        if len(files) == 1:
            rest = [Skipped(display(h.path.name), f"Moodle's {h.plugin} hand-in of {student_id}, whose "
                                                  "submitted files are graded") for h in group if h is not files[0]]
            return Student(student_id, files[0].path), rest
    names = ", ".join(display(h.path.name) + ("/" if h.kind != "file" else "") for h in group)
    return Student(student_id, group[0].path, problem=_(
        "{student} handed in {count} times ({names}); keep one and grade again",
        student=student_id, count=len(group), names=names)), []


def _choose_file(student_id: str, group: list[_HandIn], exercise: Exercise) -> Student:
    """Of one student's files: the module, else the only notebook, else the only .py file."""
    rules = (lambda h: h.original == exercise.module, lambda h: h.original.endswith(".ipynb"),
             lambda h: h.original.endswith(".py"))
    for rule in rules:
        fits = [h for h in group if rule(h)]
        if len(fits) == 1:
            return Student(student_id, fits[0].path)
        if fits:
            break
    names = ", ".join(display(h.path.name) for h in group)
    return Student(student_id, group[0].path,
                   problem=_("{student} handed in {count} files and it is not clear which one is {module} "
                             "({names}); keep one and grade again", student=student_id, count=len(group),
                             module=exercise.module, names=names))


def lookalike_warnings(ids: list[str]) -> tuple[str, ...]:
    """A warning for each set of different ids that are the same text after Unicode
    normalisation (NFC): they look identical in a gradebook but are different folders."""
    by_form: dict[str, list[str]] = {}
    for student_id in ids:
        by_form.setdefault(unicodedata.normalize("NFC", student_id), []).append(student_id)
    return tuple(
        f"student ids {' and '.join(repr(i) for i in same)} look identical but differ in their "
        f"Unicode normalisation ({' vs '.join(_form(i) + ' ' + ascii(i) for i in same)}); "
        f"both are graded: rename one folder if they are the same student"
        for same in by_form.values() if len(same) > 1)


def _form(text: str) -> str:
    for form in ("NFC", "NFD"):
        if unicodedata.is_normalized(form, text):
            return form
    return "mixed"
