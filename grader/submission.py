"""Finding the student's module in what they handed in: a folder, a .py file or a notebook."""

from __future__ import annotations

import json
from pathlib import Path

from grader.course import Exercise
from grader.errors import SubmissionNotFound


class NoModule(Exception):
    """The path exists but holds no module to grade (graded as all-error, score 0)."""


def locate(exercise: Exercise, path: Path) -> Path:
    """The .py or .ipynb file to grade inside `path` (SPEC: "What --submission accepts")."""
    path = Path(path)
    if not path.exists():
        raise SubmissionNotFound(path)
    if path.is_file():
        if path.suffix in (".py", ".ipynb"):
            return path
        raise NoModule(f"{path} is neither a .py module nor a notebook; expected {exercise.module}")
    for folder in (path, path / exercise.id):
        if (folder / exercise.module).is_file():
            return folder / exercise.module
        notebooks = sorted(p for p in folder.glob("*.ipynb") if not p.name.startswith("."))
        if len(notebooks) == 1:
            return notebooks[0]
        if len(notebooks) > 1:
            raise NoModule(f"{folder} holds several notebooks ({', '.join(p.name for p in notebooks)}); "
                           "keep one")
    raise NoModule(f"no {exercise.module} found in {path}")


def notebook_source(path: Path) -> str:
    """A notebook's code cells joined in order, without nbgrader test cells and magics."""
    try:
        nb = json.loads(Path(path).read_text(encoding="utf-8"))
        cells = nb["cells"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise NoModule(f"{path} is not a readable Jupyter notebook ({exc})") from None
    chunks = []
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        meta = (cell.get("metadata") or {}).get("nbgrader") or {}
        if meta.get("grade") and not meta.get("solution"):
            continue  # an nbgrader test cell: the instructor's, not the student's
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        lines = [ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!"))]
        chunks.append("\n".join(lines))
    return "\n\n".join(chunks) + "\n"
