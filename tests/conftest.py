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
