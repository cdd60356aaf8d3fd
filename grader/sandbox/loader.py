"""Worker side: the student's code becomes a module, and its errors speak the student's names.

The trusted side writes the code into the worker's private folder as units (one .py file,
or one file per notebook cell) and says what each is called: "my_dropout.py", or
"my_dropout.ipynb, cell 4". Each unit is compiled under that name, so tracebacks,
warnings and syntax errors show the student's own file and cell, never the worker's
private path. A notebook's cells run in order in the module's namespace and fail alone:
a cell that raises is reported and the rest of it does not run; the other cells still
define their functions.
"""

from __future__ import annotations

import importlib.util
import linecache
import os
import re
import sys
import traceback
import types
import warnings

MAX_MESSAGE = 2000
MAX_CELL_FAILURES = 20
_CELL = re.compile(r"(?s)(.*), cell (\d+)")


def units_of(spec: dict) -> list[tuple[str, str]]:
    """(file in the private folder, name shown to the student) for each unit, in order."""
    return [tuple(u) for u in spec["units"]]


def student_files(spec: dict) -> frozenset[str]:
    """The names under which the student's code was compiled (to find its frames)."""
    return frozenset(shown for _, shown in units_of(spec))


def run_units(spec: dict) -> tuple[types.ModuleType, list[str]]:
    """The student's module, made by running each unit in order in one namespace, and the
    failures of the notebook cells that were left out. A unit of a plain module that
    raises (SyntaxError included) ends the import: the exception propagates."""
    directory, fail_alone = spec["dir"], bool(spec.get("fail_alone"))
    module = types.ModuleType(spec["module_name"])
    if not fail_alone:
        module.__file__ = os.path.join(directory, spec["module_file"])
    sys.modules[module.__name__] = module
    warnings.formatwarning = _format_warning
    failures: list[str] = []
    for file, shown in units_of(spec):
        with open(os.path.join(directory, file), "rb") as f:
            source = f.read()
        _remember(shown, source)
        try:
            exec(compile(source, shown, "exec", dont_inherit=True), module.__dict__)
        except BaseException as exc:  # noqa: BLE001 - SystemExit too: the cell failed
            if not fail_alone:
                raise
            if len(failures) < MAX_CELL_FAILURES:
                failures.append(cell_failure(exc, shown))
    return module, failures


def _remember(shown: str, source: bytes) -> None:
    """Let linecache find the source by its shown name (for tracebacks and warnings)."""
    try:
        text = importlib.util.decode_source(source)
    except (SyntaxError, UnicodeDecodeError, LookupError):
        return
    linecache.cache[shown] = (len(text), None, text.splitlines(True), shown)


def where(filename: str, lineno) -> str:
    """"line 3" in a module; "cell 4, line 3 of my.ipynb" in a notebook; "In [5], line 3"
    for a cell of a running kernel (grader.notebook names its units so)."""
    cell = _CELL.fullmatch(filename)
    if cell:
        return f"cell {cell[2]}, line {lineno} of {cell[1]}"
    return f"line {lineno}" if filename.endswith(".py") or not filename else f"{filename}, line {lineno}"


def syntax_message(exc: SyntaxError, kind: str = "") -> str:
    """"line 20: expected ':'" (with `kind`: "line 20: SyntaxError: expected ':'") and,
    under it, the line itself."""
    text = (exc.text or "").strip()
    return f"{where(exc.filename or '', exc.lineno)}: {kind}{exc.msg}" + (f"\n    {text}" if text else "")


def describe(exc: BaseException, files) -> str:
    """The exception and the student's own lines in its traceback (not the grader's)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename in files]
    lines = "".join(f"\n  {where(f.filename, f.lineno)}, in {f.name}: {(f.line or '').strip()}"
                    for f in frames[-3:])
    return (_exception(exc)[:MAX_MESSAGE - 400] + lines)[:MAX_MESSAGE]


def cell_failure(exc: BaseException, shown: str) -> str:
    """"cell 5, line 1 of my.ipynb: ModuleNotFoundError: ..." and the cell's line."""
    if isinstance(exc, SyntaxError) and exc.filename == shown:
        message = syntax_message(exc, "SyntaxError: ")
    else:
        frame = next((f for f in reversed(traceback.extract_tb(exc.__traceback__))
                      if f.filename == shown), None)
        line = (frame.line or "").strip() if frame else ""
        message = (f"{where(shown, frame.lineno if frame else '?')}: {_exception(exc)[:MAX_MESSAGE // 2]}"
                   + (f"\n    {line}" if line else ""))
    return message[:MAX_MESSAGE]


def _exception(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


_original_format = warnings.formatwarning


def _format_warning(message, category, filename, lineno, line=None):
    """Warnings from a notebook cell say which cell, as the grader's messages do."""
    if _CELL.fullmatch(str(filename)):
        text = f"{where(filename, lineno)}: {category.__name__}: {message}\n"
        line = linecache.getline(filename, lineno).strip() if line is None else line.strip()
        return text + (f"  {line}\n" if line else "")
    return _original_format(message, category, filename, lineno, line)
