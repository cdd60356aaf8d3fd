"""Checking from a notebook: the same grading as `grade`, on the code of the running kernel.

    from grader.notebook import Grader
    grader = Grader("exercise3")          # the course is found like `grade` finds it
    grader.check("dropout_forward")       # this function's tests, as the kernel defines it now
    grader.check_all()                    # the whole exercise, in one grading
    grader.export()                       # dropout.py and its report, next to the notebook

A check sends the kernel's current definitions (grader.notebook_capture: the exercise's
functions, the helpers and imports they use) to a grading process of its own
(grader.notebook_server), which runs `grader.grade.grade`, the function behind
`grade EXERCISE --submission`: the same tests, sandbox, limits and scoring. No test runs
in the kernel, so nothing defined or patched there changes a verdict; a student's endless
loop or crash ends in the sandbox and comes back as a message. The grading process starts
with the first `Grader` of a course (in the background) and stays warm for the next check.

Importing this module is cheap: it imports neither numpy nor pytest (the grading process
does), and `Grader(...)` reads course.yml only.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from grader.notebook_capture import CaptureRefused, capture
from grader.notebook_result import CheckResult

__all__ = ["Grader", "CheckResult", "CheckError"]

START_SECONDS = 120     # the grading process's start: interpreter, numpy, pytest, a zygote
MARGIN_SECONDS = 60     # beyond the course's limit per submission, before a check gives up
EXPORT_MARK = "# Written by grader.notebook's export()"


class CheckError(Exception):
    """A usage mistake (an unknown exercise or function, no course): shown as one line."""

    def _render_traceback_(self):  # IPython shows this instead of a traceback
        return [f"{type(self).__name__}: {self}"]


class Grader:
    """The checks of one exercise, from a notebook."""

    def __init__(self, exercise: str, *, course: str | os.PathLike | None = None, hidden: bool | None = None):
        """`course`: the course folder (default: found from the kernel's working directory,
        like `grade`: the nearest folder above with a course.yml, or the course an nbgrader
        course links to; or $GRADER_COURSE). `hidden`: run the hidden tests (default: where
        the course's solutions are present, as `grade` does)."""
        from grader.course import load_course
        from grader.errors import GraderError

        root = course if course is not None else os.environ.get("GRADER_COURSE") or None
        try:
            self.course = load_course(Path(root).expanduser() if root else None)
            self.exercise = self.course.exercise(exercise)
        except GraderError as exc:
            raise CheckError(str(exc)) from None
        self.hidden = hidden
        from grader import i18n
        try:  # what the checks say around their reports: GRADER_LANG, then course.yml's language:
            self.lang = i18n.resolve(None, self.course.language)
        except i18n.UnknownLanguage:
            self.lang = i18n.DEFAULT
        self._server = _server_for(self.course.root)

    def __repr__(self) -> str:
        return (f"Grader({self.exercise.id!r}): {self.exercise.title}; check(name) for one of "
                f"{', '.join(self.exercise.functions)}, or check_all()")

    def check(self, function: str, *, points: float | None = None, namespace: dict | None = None) -> CheckResult:
        """Grade `function` as the kernel defines it now: its tests only (as `grade -k`).

        The value is the points its tests earned. `points` (what an nbgrader test cell is
        worth): the value is on that scale, never above it; where only the public tests
        run (the students' copy), they share out the cell's points, so a notebook whose
        public tests pass validates. `namespace`: where the functions are defined (default:
        the notebook's globals)."""
        from grader import i18n
        from grader.i18n import _

        with i18n.language(self.lang):
            if function not in self.exercise.functions:
                from grader.errors import did_you_mean
                guess = did_you_mean(str(function), self.exercise.functions)
                raise CheckError(_("{function} is not a function of {exercise}; did you mean {guess}?",
                                   function=repr(function), exercise=self.exercise.id, guess=repr(guess)) if guess
                                 else _("{function} is not a function of {exercise}; its functions are {functions}",
                                        function=repr(function), exercise=self.exercise.id,
                                        functions=", ".join(self.exercise.functions)))
            if points is not None and not (isinstance(points, (int, float)) and points >= 0):
                raise CheckError(_("points must be a number of points, not {points}", points=repr(points)))
        return self._grade(function, namespace, points)

    def check_all(self, namespace: dict | None = None) -> CheckResult:
        """Grade the whole exercise as the kernel defines it now, in one grading."""
        return self._grade(None, namespace)

    def export(self, folder: str | os.PathLike | None = None, *, zip: bool = False,
               overwrite: bool = False, namespace: dict | None = None) -> CheckResult:
        """Write the module (`dropout.py`) made of the kernel's code and its JSON report
        (`exercise3_report.json`, exactly `grade exercise3 --submission dropout.py --json`)
        into `folder` (default: the kernel's working directory, where Jupyter runs a notebook),
        or both into `exercise3.zip` with `zip=True`. A file there that export() did not write
        is kept unless `overwrite=True`. Returns the report's result."""
        folder = Path(folder if folder is not None else Path.cwd()).expanduser()
        captured = self._capture(namespace)
        if isinstance(captured, CheckResult):
            return captured
        units, left_out = captured
        module = folder / self.exercise.module
        report_file = folder / f"{self.exercise.id}_report.json"
        bundle = folder / f"{self.exercise.id}.zip"
        for path in [bundle] if zip else [module, report_file]:
            if path.exists() and not overwrite and not _ours(path):
                raise CheckError(f"{path} exists and export() did not write it; pass overwrite=True "
                                 f"or another folder")
        source = _module_source(self.exercise.id, units)
        with tempfile.TemporaryDirectory(prefix="grader-export-") as tmp:
            graded = Path(tmp) / self.exercise.module
            graded.write_text(source, encoding="utf-8")
            reply = self._ask({"op": "grade_file", "path": str(graded)})
            if not reply.get("ok"):
                return CheckResult(problem=str(reply.get("error")), exercise=self.exercise.id, language=self.lang)
            if zip:
                import zipfile
                with zipfile.ZipFile(bundle, "w", zipfile.ZIP_DEFLATED) as out:
                    out.writestr(self.exercise.module, source)
                    out.writestr(report_file.name, reply["json"] + "\n")
            else:
                folder.mkdir(parents=True, exist_ok=True)
                module.write_text(source, encoding="utf-8")
                report_file.write_text(reply["json"] + "\n", encoding="utf-8")
        return CheckResult(reply, left_out=left_out, language=self.lang)

    # ------------------------------------------------------------ the grading

    def _grade(self, function: str | None, namespace: dict | None, points: float | None = None) -> CheckResult:
        captured = self._capture(namespace, function)
        if isinstance(captured, CheckResult):
            return captured
        units, left_out = captured
        reply = self._ask({"op": "grade", "units": units, "function": function})
        if not reply.get("ok"):
            return CheckResult(problem=str(reply.get("error")), function=function, exercise=self.exercise.id,
                               language=self.lang)
        return CheckResult(reply, function=function, points=points, left_out=left_out, language=self.lang)

    def _capture(self, namespace: dict | None, function: str | None = None):
        namespace = _notebook_globals() if namespace is None else namespace
        try:
            captured = capture(namespace, self.exercise.functions, required=function)
        except CaptureRefused as exc:
            return CheckResult(problem=str(exc), function=function, exercise=self.exercise.id, language=self.lang)
        if function is not None and function in captured.missing:
            from grader import i18n
            from grader.i18n import _

            with i18n.language(self.lang):
                why = _("{function} is not defined in this notebook yet: run the cell that defines it, then "
                        "check again", function=function)
            return CheckResult(problem=why, function=function, exercise=self.exercise.id, language=self.lang)
        return [list(unit) for unit in captured.units], list(captured.left_out)

    def _ask(self, request: dict) -> dict:
        request = {**request, "course": str(self.course.root), "exercise": self.exercise.id,
                   "hidden": self.hidden}
        limit = self.exercise.limits.submission_seconds + MARGIN_SECONDS
        if not self._server.alive():  # stopped after a failure, or ended: a fresh one
            self._server = _server_for(self.course.root)
        return self._server.ask(request, limit)


# ------------------------------------------------------------------ the grading process

_servers: dict = {}


def _server_for(root: Path) -> "_Server":
    key = (str(Path(root).resolve()), sys.executable)
    server = _servers.get(key)
    if server is None or not server.alive():
        server = _servers[key] = _Server()
    return server


class _Server:
    """One grading process (grader.notebook_server) per course and kernel, started at once
    in the background, restarted after it ended or was stopped."""

    def __init__(self):
        self.log = tempfile.NamedTemporaryFile(prefix="grader-notebook-", suffix=".log", delete=False)
        atexit.register(_remove, self.log.name)  # the kernel's end; the process ends with its stdin
        package_parent = str(Path(__file__).resolve().parents[1])
        bootstrap = ("import sys; sys.path.insert(0, sys.argv.pop(1)); "
                     "from grader.notebook_server import main; main()")
        # -I: the kernel's working directory (where a student's own `grader/` could sit) and
        # environment stay out of its imports. Its own session: a kernel interrupt (SIGINT to
        # the kernel's process group) does not reach it; the kernel stops it instead.
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-c", bootstrap, package_parent], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self.log, start_new_session=True, cwd=package_parent)
        self.buffer = b""
        self.ready = False

    def alive(self) -> bool:
        return self.process.poll() is None

    def ask(self, request: dict, limit: float) -> dict:
        try:
            if not self.ready:
                first = self._read(time.monotonic() + START_SECONDS)
                if not first.get("ready"):
                    return self._fail(first.get("error") or "the grader could not start")
                self.ready = True
            try:
                self.process.stdin.write((json.dumps(request) + "\n").encode("utf-8"))
                self.process.stdin.flush()
            except OSError:
                raise _Gone(f"the grader stopped unexpectedly{self._last_words()}; run the check again") from None
            deadline = time.monotonic() + limit
            told: set = set()
            while True:
                message = self._read(deadline)
                if "progress" not in message:
                    return message
                _still_running(message, told)
        except KeyboardInterrupt:
            self.stop()
            raise KeyboardInterrupt("check interrupted: no score") from None
        except _Gone as exc:
            return self._fail(str(exc))

    def _read(self, deadline: float) -> dict:
        out = self.process.stdout.fileno()
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                self.stop()
                raise _Gone("the check did not finish in time and was stopped; your code may run "
                            "very long outside a single call. Run the check again")
            ready, _, _ = select.select([out], [], [], min(left, 1.0))
            if ready:
                chunk = os.read(out, 1 << 20)
                if not chunk:
                    raise _Gone(f"the grader stopped unexpectedly{self._last_words()}; run the check again")
                self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        try:
            message = json.loads(line)
        except ValueError:
            raise _Gone("the grader sent a malformed answer; run the check again") from None
        return message if isinstance(message, dict) else {}

    def _fail(self, error: str) -> dict:
        self.stop()
        return {"ok": False, "error": error}

    def _last_words(self) -> str:
        try:
            lines = Path(self.log.name).read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return f" ({lines[-1][:300]}; the whole log: {self.log.name})" if lines else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, 9)
            except OSError:
                self.process.kill()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        for key, server in list(_servers.items()):
            if server is self:
                del _servers[key]


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


class _Gone(Exception):
    """The grading process ended, hung or answered nonsense: no score, one line why."""


def _still_running(message: dict, told: set) -> None:
    """Tell the student once per call that a long call goes on (stdout: nbgrader zeroes a
    test cell that writes to stderr)."""
    what, seconds = message.get("progress"), message.get("seconds")
    if seconds is None or what in told:
        return
    told.add(what)
    print(f"... {what} is still running ({seconds:.0f} s; the limit is {message.get('limit', 0):g} s a call)",
          flush=True)


def _notebook_globals() -> dict:
    """The namespace the notebook's cells run in: IPython's user namespace, else __main__'s."""
    import builtins

    shell = getattr(builtins, "get_ipython", lambda: None)()
    if shell is not None:
        return shell.user_ns
    return vars(sys.modules["__main__"])


def _module_source(exercise_id: str, units: list) -> str:
    """The kernel's code as one module file: each unit in order, under a comment naming it."""
    parts = [f"{EXPORT_MARK} for {exercise_id}: the notebook's code that check() grades.\n"]
    for shown, source in units:
        body = "\n".join(line for line in source.strip("\n").splitlines())
        parts.append(f"\n# --- {shown}\n{_squeeze(body)}\n")
    return "".join(parts)


def _squeeze(text: str) -> str:
    out: list[str] = []
    for line in text.splitlines():
        if line.strip() or (out and out[-1].strip()):
            out.append(line.rstrip())
    return "\n".join(out).strip("\n")


def _ours(path: Path) -> bool:
    """Whether export() wrote this file (so replacing it loses nothing the student wrote)."""
    try:
        if path.suffix == ".zip":
            import zipfile
            with zipfile.ZipFile(path) as bundle:
                return any(n.endswith("_report.json") for n in bundle.namelist())
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read(1 << 20)
    except (OSError, ValueError):
        return False
    if path.suffix == ".json":
        try:
            return "schema_version" in json.loads(text) and "tests" in json.loads(text)
        except (ValueError, TypeError):
            return False
    return text.startswith(EXPORT_MARK)
