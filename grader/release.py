"""The student release: the folder students receive, install and run `grade exercise3` in.

    exercises/<id>/   the stub, the public tests and expected.dat (the reference's recorded
                      answers to the public tests' calls; see grader/reference.py)
    grader/           this package, as it is installed here, plus _student_release.py, whose
                      presence makes `grade --help` show only the students' commands, and
                      without scaffold.py (`grade new`'s templates: a reference solution,
                      hidden tests and a mutant)
    course.yml        the course, unchanged
    pyproject.toml    installs the grader and its runtime dependencies (no extras)
    README.md         how to install and run it

Nothing from solutions/ is copied: no reference solution, no hidden tests, no mutants or
variants, no nbgrader course. Without solutions/, `grade` compares against the recorded
answers (replay mode) and runs the public tests only.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from grader.build import record_expected, student_files
from grader.course import COURSE_FILE, EXPECTED_VALUES, Course
from grader.errors import GraderError

PACKAGE = Path(__file__).resolve().parent
STUDENT_MARKER = "_student_release.py"  # grader/cli.py looks for this file beside itself
INSTRUCTOR_ONLY = ("scaffold.py",)  # grader modules a release leaves out
SCREENSHOT = "docs/notebook-check.png"  # grader.check in a notebook, shown in the README


class ReleaseExists(GraderError):
    def __init__(self, path):
        super().__init__(f"{path} exists and is not empty; choose a new folder or delete it first")


def release(course: Course, dest: Path, *, progress=lambda message: None) -> list[Path]:
    """Write the student bundle into `dest` (a new or empty folder). Returns the files written.

    The bundle is assembled next to `dest` and moved into place at the end, so an
    interrupted release leaves no half-written folder behind.
    """
    dest = Path(dest).resolve()
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ReleaseExists(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    tmp.chmod(0o777 & ~_umask())  # mkdtemp's 0700 would lock out the students it is for
    try:
        for exercise in course.exercises:
            progress(f"recording the reference answers of {exercise.id}")
            files = student_files(exercise)
            files[EXPECTED_VALUES] = record_expected(exercise)
            folder = tmp / "exercises" / exercise.id
            folder.mkdir(parents=True)
            for name, data in files.items():
                (folder / name).write_bytes(data)
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc", *INSTRUCTOR_ONLY)
        shutil.copytree(PACKAGE, tmp / "grader", ignore=ignore)
        (tmp / "grader" / STUDENT_MARKER).write_text(
            '"""This grader is a student release: `grade --help` lists the students\' commands only."""\n',
            encoding="utf-8")
        shutil.copyfile(course.root / COURSE_FILE, tmp / COURSE_FILE)
        (tmp / "pyproject.toml").write_text(pyproject(_needs(course)), encoding="utf-8")
        picture = PACKAGE.parent / SCREENSHOT  # what a check shows in a notebook (a source checkout has it)
        if picture.is_file():
            (tmp / SCREENSHOT).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(picture, tmp / SCREENSHOT)
        (tmp / "README.md").write_text(readme(course, screenshot=picture.is_file()), encoding="utf-8")
        if dest.exists():
            dest.rmdir()
        tmp.replace(dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return sorted(p for p in dest.rglob("*") if p.is_file())


def pyproject(needs: tuple[str, ...] = ()) -> str:
    """The release's pyproject.toml: this grader's name, version and runtime dependencies,
    and an extra for each package an exercise `needs` (`pip install -e ".[torch]"`)."""
    meta = _metadata()
    deps = "".join(f'    "{d}",\n' for d in meta["dependencies"])
    extras = "".join(f'{name} = [{", ".join(chr(34) + r + chr(34) for r in meta["extras"].get(name, [name]))}]\n'
                     for name in needs)
    return ('[build-system]\nrequires = ["setuptools>=68"]\nbuild-backend = "setuptools.build_meta"\n\n'
            f'[project]\nname = "{meta["name"]}"\nversion = "{meta["version"]}"\n'
            f'description = "The grader for this course\'s exercises"\nreadme = "README.md"\n'
            f'requires-python = "{meta["requires-python"]}"\ndependencies = [\n{deps}]\n\n'
            + (f'[project.optional-dependencies]\n{extras}\n' if extras else '')
            + '[project.scripts]\ngrade = "grader.cli:entry"\n\n'
            '[tool.setuptools.packages.find]\ninclude = ["grader*"]\n\n'
            '[tool.setuptools.package-data]\ngrader = ["locale/*.po"]\n')


def _needs(course: Course) -> tuple[str, ...]:
    return tuple(sorted({n for ex in course.exercises for n in ex.needs}))


def _metadata() -> dict:
    """From the pyproject.toml beside this package (a source checkout), else the installed metadata."""
    source = PACKAGE.parent / "pyproject.toml"
    try:
        import tomllib  # Python 3.11+
    except ModuleNotFoundError:
        tomllib = None
    if source.is_file() and tomllib is not None:
        project = tomllib.loads(source.read_text(encoding="utf-8"))["project"]
        return {**{key: project[key] for key in ("name", "version", "requires-python", "dependencies")},
                "extras": project.get("optional-dependencies", {})}
    from importlib import metadata
    dist = metadata.distribution("dl-grader")
    extras: dict[str, list[str]] = {}
    for requirement in dist.requires or []:
        if "extra ==" in requirement:
            spec, _, marker = requirement.partition(";")
            extras.setdefault(marker.split("==")[1].strip().strip("'\""), []).append(spec.strip())
    return {"name": dist.metadata["Name"], "version": dist.version,
            "requires-python": dist.metadata.get("Requires-Python", ">=3.10"),
            "dependencies": [r for r in dist.requires or [] if "extra ==" not in r], "extras": extras}


def readme(course: Course, *, screenshot: bool = False) -> str:
    first = course.exercises[0]
    checks = [(f'grader = Grader("{first.id}")', ""),
              (f'grader.check("{first.functions[0]}")', "one function's tests, as your notebook defines it now"),
              ("grader.check_all()", f"the whole exercise: the score `grade {first.id}` gives"),
              ("grader.export()", f"{first.module} and its report next to the notebook, to hand in")]
    pad = max(len(code) for code, _ in checks) + 2
    notebook = "\n".join(f"{code:<{pad}}# {what}" if what else code for code, what in checks)
    picture = ("\n![grader.check in a notebook: a table of the tests and what is wrong](" + SCREENSHOT + ")\n"
               if screenshot else "")
    python = _metadata()["requires-python"]
    rows = "\n".join(f"| `{ex.id}` | {ex.title} | `exercises/{ex.id}/{ex.module}` | {ex.points:g} |"
                     for ex in course.exercises)
    commands = [("grade list", "the exercises, their points, how far you are"),
                (f"grade {first.id}", f"grades exercises/{first.id}/{first.module}"),
                (f"grade {first.id} -k {first.functions[0]}", "only the tests that match, as with pytest -k"),
                (f"grade {first.id} -q", "only what did not pass, and the score"),
                ("grade all", "every exercise"),
                (f"grade {first.id} --submission my.ipynb", "another copy: a .py file, a folder or a notebook")]
    width = max(len(command) for command, _ in commands) + 2
    examples = "\n".join(f"{command:<{width}}# {what}" for command, what in commands)
    needs = _needs(course)
    target = f'".[{",".join(needs)}]"' if needs else "."
    torch_note = ""
    if "torch" in needs:
        with_torch = ", ".join(f"`{ex.id}`" for ex in course.exercises if "torch" in ex.needs)
        torch_note = f"""
{with_torch} {"uses" if "," not in with_torch else "use"} PyTorch, which the `[torch]` above installs
({", ".join(_metadata()["extras"].get("torch", ["torch"]))}). On macOS that is a download of about 100 MB. **On Linux**, a plain
install takes PyTorch's build from PyPI, which bundles CUDA for NVIDIA GPUs: several GB,
useless for these exercises. Install the CPU-only build first, from PyTorch's own CPU wheel
index (on PyTorch's website, "Get Started": choose Linux, Pip, CPU; it shows the `--index-url` to
add to `pip install torch`, with the version above), then run the install above: torch is
then already there and nothing more is downloaded for it.
"""
    return f"""# {course.title or "Exercises"}

Each exercise is a Python file with functions for you to write. Every function has a
docstring with the array shapes and the formula, and raises `NotImplementedError` until
you fill it in. The grader checks your functions and tells you what is wrong.

| exercise | topic | your file | points (with hidden tests) |
|---|---|---|---|
{rows}

## Install (once)

You need Python {python} (`python3 --version`) on Linux or macOS. **On Windows, use WSL**
(the Windows Subsystem for Linux: `wsl --install` in PowerShell, then work in its Ubuntu
terminal) before you install anything: the grader needs Linux's process isolation and
refuses to run on native Windows. In this folder:

```bash
python3 -m venv .venv
.venv/bin/pip install -e {target}
source .venv/bin/activate
```
{torch_note}
## Grade your work

Run these anywhere inside this folder:

```bash
{examples}
```

`-v` also shows everything your code printed; `--no-color` (or the `NO_COLOR` variable)
turns colours off. Ctrl-C stops a grading and shows the tests that finished.

Each test prints `PASS`, `FAIL` (your function ran but the result is wrong), `ERROR` (it
raised or could not be imported) or `TIME` (it ran too long), its points, and for anything
but a pass a message that says what is wrong. A function you have not written yet gets one
line for all its tests (`-v` lists them). Your code runs in a separate process with a
time and memory limit; print statements are shown under the table.

A notebook's code cells run in order, each on its own: a cell that raises (an `import` of
a plotting package the grader lacks, say) fails alone with a note naming its cell and
line, and the other cells still count. Tag a cell `exploration` (Cell Tags in JupyterLab's
property inspector, or `"tags": ["exploration"]` in its metadata) to leave it out of
grading. Hand in real files, not symbolic links.

## In your notebook

Working in Jupyter (JupyterLab, Notebook, VS Code or Colab)? Install this folder as above
in the environment of your Jupyter kernel, keep your notebook inside this folder (or set
`GRADER_COURSE` to it before you start Jupyter), and check your work where you write it:

```python
from grader.notebook import Grader

{notebook}
```
{picture}
A check grades the function as your kernel defines it when you run the check (no need to
save), with the helpers, imports and plain constants (numbers, strings, tuples, dicts) it
uses; pass anything else (an array) as an argument. Your code runs in the grader's
sandbox, not in your kernel: the verdicts are exactly those of `grade`, an endless loop
ends at the time limit and your kernel stays usable. The result is a table of the tests
with the message that names each mistake, its last line says that only the public tests
ran, and its value is the score (`float(result)`; `print(result)` shows the table as
text). If your course hands out nbgrader notebooks, their test cells use this same check.

These are the public tests. Your instructor grades your submission with the same tests
and some more (hidden ones), so full marks here is a good sign, not a guarantee: test
edge cases of your own too. Use the random generator `rng` that each function receives
for every random draw, and do not modify the arrays you are given.
"""


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
