"""Shared helpers for the project's own tests."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def course():
    from grader.course import load_course
    return load_course(ROOT)


@pytest.fixture
def sandboxed(course, tmp_path):
    """make(exercise_id, extra=""): a sandboxed submission (grader.sandbox.proxy.Submission) of
    that exercise of the course, its reference solution with `extra` code appended; each is
    closed after the test."""
    from grader.sandbox.proxy import Submission
    opened = []

    def make(exercise_id: str, extra: str = ""):
        exercise = course.exercise(exercise_id)
        path = tmp_path / f"s{len(opened)}" / exercise.module
        path.parent.mkdir()
        path.write_text((exercise.solution_dir / exercise.module).read_text() + "\n\n" + extra)
        opened.append(Submission(exercise, path))
        return opened[-1]
    yield make
    for submission in opened:
        submission.close()


def copy_course(dest: Path, *, limits: str = "") -> Path:
    """A copy of the course (course.yml, exercises/, solutions/) in `dest`, optionally with
    other limits, so a test can change or break it without touching the repository."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("exercises", "solutions"):
        shutil.copytree(ROOT / name, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
    text = (ROOT / "course.yml").read_text()
    if limits:  # the block from "limits:" to the next top-level key
        start = text.index("\nlimits:") + 1
        end = re.compile(r"^\S", re.M).search(text, text.index("\n", start) + 1).start()
        text = text[:start] + limits.strip() + "\n" + text[end:]
    (dest / "course.yml").write_text(text)
    return dest


def exercise3_class(dest: Path, count: int) -> Path:
    """`count` hand-ins of exercise3 in `dest` (one folder per student, as `grade batch`
    reads them): the reference and its correct variants, the catalogued mistakes, and the
    kinds that cannot be graded normally (a syntax error, an exit at import, the untouched
    stub, an empty folder, a student who handed in twice), cycled to `count`; plus an entry
    that is no student (.DS_Store). Nothing in it hangs: a class of 40 grades in seconds."""
    from grader.course import load_course
    from grader.mutants import mutants, variants

    exercise = load_course(ROOT).exercise("exercise3")
    reference = (exercise.solution_dir / exercise.module).read_text()
    kinds = [("syntax", reference.replace("def dropout_forward(x, p, train, rng):", "def dropout_forward(x, p")),
             ("exits", "import os\nos._exit(3)\n" + reference),
             ("stub", (exercise.student_dir / exercise.module).read_text()),
             ("empty", None), ("twice", reference)]
    kinds += [(f"correct_{p.stem}", p.read_text()) for p in variants(exercise)]
    kinds += [(f"mistake_{m.name}", m.source) for m in mutants(exercise)]
    kinds += [("correct_reference", reference)]
    dest.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        label, source = kinds[i % len(kinds)]
        folder = dest / f"s{i:03d}_{label}"
        folder.mkdir()
        if source is not None:
            (folder / exercise.module).write_text(source)
        if label == "twice":  # a folder and a file: a row that says so, nothing graded
            (dest / f"s{i:03d}_{label}.py").write_text(source)
    (dest / ".DS_Store").write_text("")
    return dest
