"""The grading process behind `grader.notebook`: `grade` itself, kept warm for a kernel.

A kernel's `Grader` starts this module once, with `python -I` (the kernel's working
directory, environment and imports stay out of it), in a session of its own. It reads one
JSON request a line on stdin and answers one JSON line on the file descriptor that was its
stdout (its own stdout is sent to stderr, so nothing printed can corrupt an answer). It
ends when stdin closes: when the kernel ends, or kills it.

Requests:

    {"op": "grade", "course": ROOT, "exercise": ID, "units": [[shown name, source], ...],
     "function": NAME or null, "hidden": null|true|false}
        grades the kernel's code (one unit per notebook cell, see grader.notebook_capture)
        with grader.grade.grade, the function `grade EXERCISE --submission` calls: the same
        tests, sandbox and scoring. With "function", only that function's tests (`-k`, then
        the tests whose function it is).
    {"op": "grade_file", "course": ROOT, "exercise": ID, "path": FILE, "hidden": ...}
        grades a module file, exactly as `grade EXERCISE --submission FILE --json`.

Answers: {"ok": true, "report": {...}, "text": the terminal table, "json": ..., "exercise_points":
..., "hidden_ran": ...} or {"ok": false, "error": "one line for the student"}.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import traceback
from pathlib import Path

SHOWN_NAME = "your notebook"  # what the grader's messages call the kernel's code


class Server:
    def __init__(self):
        self.courses: dict = {}
        self.zygote = None

    def warm(self) -> None:
        """Import what a grading needs and start the zygote, before the first request."""
        import pytest  # noqa: F401

        import grader.grade  # noqa: F401
        import grader.session  # noqa: F401
        self._zygote()

    def _zygote(self):
        from grader.sandbox.spawn import Zygote

        if self.zygote is not None and not self.zygote.alive():  # one of its zygotes ended
            self.zygote.close()
            self.zygote = None
        if self.zygote is None:
            self.zygote = Zygote()
        return self.zygote

    def course(self, root: str):
        from grader.course import load_course

        if root not in self.courses:
            self.courses[root] = load_course(Path(root))
        return self.courses[root]

    def handle(self, request: dict, progress) -> dict:
        from grader.errors import GraderError, NothingSelected

        try:
            return self._handle(request, progress)
        except NothingSelected:
            return {"ok": False, "error": f"{request.get('function')} has no tests here (its tests are "
                                          "hidden: they run when your work is graded)"}
        except GraderError as exc:
            return {"ok": False, "error": str(exc)}
        except Exception as exc:  # noqa: BLE001 - a bug of ours: said in one line, logged in full
            traceback.print_exc()
            return {"ok": False, "error": f"the grader failed ({type(exc).__name__}: {exc})"}

    def _handle(self, request: dict, progress) -> dict:
        from grader import render
        from grader.grade import grade
        from grader.submission import StudentCode, Unit

        course = self.course(request["course"])
        exercise = course.exercise(request["exercise"])
        hidden = request.get("hidden")
        hidden_ran = exercise.has_solutions if hidden is None else bool(hidden)
        function = request.get("function") or ""
        if request["op"] == "grade_file":
            submission = Path(request["path"])
        else:
            submission = StudentCode(Path(SHOWN_NAME), tuple(Unit(str(shown), str(source).encode("utf-8"))
                                                             for shown, source in request["units"]))
        from grader import i18n

        try:  # the course's language (GRADER_LANG, then course.yml's language:), as `grade` speaks it
            lang = i18n.resolve(None, course.language)
        except i18n.UnknownLanguage:
            lang = i18n.DEFAULT
        with i18n.language(lang):
            report = grade(course, exercise.id, submission, hidden=hidden, zygote=self._zygote(),
                           select=function, require_module=request["op"] == "grade_file", on_slow=progress)
        if function:  # -k matches parts of names: keep the tests of this very function
            report = dataclasses.replace(report, tests=tuple(t for t in report.tests if t.function == function))
        return {"ok": True, "report": report.to_dict(), "json": render.report_json(report),
                "text": render.table(dataclasses.replace(report, selection=""), title=exercise.title, color=False),
                "title": exercise.title, "exercise_points": exercise.points, "hidden_ran": hidden_ran}


def main() -> None:
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # print() anywhere in this process goes to the log, never into an answer
    sys.stdout = sys.stderr
    server = Server()

    def say(message: dict) -> None:
        answers.write(json.dumps(message) + "\n")
        answers.flush()

    def progress(what: str, seconds, limit: float) -> None:
        say({"progress": what, "seconds": seconds, "limit": limit})

    try:
        server.warm()
        say({"ready": True})
    except Exception as exc:  # noqa: BLE001 - the kernel shows this line; the log has the rest
        traceback.print_exc()
        say({"ready": False, "error": f"the grader could not start ({type(exc).__name__}: {exc})"})
        return
    for line in sys.stdin:
        try:
            request = json.loads(line)
        except ValueError:
            say({"ok": False, "error": "a malformed request"})
            continue
        say(server.handle(request, progress))
    if server.zygote is not None:
        server.zygote.close()
