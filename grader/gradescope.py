"""A GradeReport as Gradescope's autograder results.json. A pure function of the report.

Format (https://gradescope-autograders.readthedocs.io/en/latest/specs/): a top-level
"score", "output" and "tests", each test with "name", "score", "max_score", "status",
"output" and "visibility". Public tests are "visible"; hidden tests are "after_published",
so students see them once the instructor publishes the grades. What a student's code
printed is shown at once only when no hidden test ran (it could echo a hidden test's
inputs). The instructor sees everything, printed output and sandbox warnings included, in
the autograder's stdout: `grade gradescope` prints the terminal report there, and
"stdout_visibility" keeps it from students.
"""

from __future__ import annotations

import json

from grader import i18n
from grader.i18n import _, n_
from grader.report import LABELS, SCHEMA_VERSION, GradeReport, TestResult

VISIBLE, AFTER_PUBLISHED = "visible", "after_published"


def results(report: GradeReport, *, execution_time: float | None = None) -> dict:
    """The results.json object for one graded submission, in the report's language."""
    with i18n.language(report.language):
        return _results(report, execution_time)


def _results(report: GradeReport, execution_time: float | None) -> dict:
    out = {"score": report.score,
           "output": _summary(report),
           "stdout_visibility": "hidden",
           "tests": [_test(t) for t in report.tests],
           "extra_data": {"schema_version": SCHEMA_VERSION, "exercise": report.exercise,
                          "max_score": report.max_score}}
    if execution_time is not None:
        out["execution_time"] = max(0, round(execution_time))
    return out


def results_json(report: GradeReport, *, execution_time: float | None = None) -> str:
    return json.dumps(results(report, execution_time=execution_time), indent=2) + "\n"


def _test(t: TestResult) -> dict:
    passed = t.outcome == "passed"
    return {"name": t.shown_name + (" " + _("(hidden)") if t.hidden else ""),
            "score": t.points, "max_score": t.max_points,
            "status": "passed" if passed else "failed",
            "output": "" if passed else f"{_(LABELS[t.outcome])}: {t.message}",
            "visibility": AFTER_PUBLISHED if t.hidden else VISIBLE}


def _summary(report: GradeReport) -> str:
    public = [t for t in report.tests if not t.hidden]
    hidden = [t for t in report.tests if t.hidden]
    lines = [_("{exercise}: public tests {score} / {max_score} points ({passed} of {tests} passed).",
               exercise=report.exercise, score=f"{sum(t.points for t in public):g}",
               max_score=f"{sum(t.max_points for t in public):g}",
               passed=sum(t.outcome == "passed" for t in public), tests=len(public))]
    if report.problem:
        lines.append(report.problem)
    lines.extend(_("Note:") + f" {note}" for note in report.notes)
    if hidden:
        lines.append(_("Hidden tests: {count}, worth {points} points; their results are shown once grades are "
                       "published.", count=len(hidden), points=f"{sum(t.max_points for t in hidden):g}"))
    printed = report.output.strip().splitlines()
    if printed and not hidden:
        lines.append(n_("Your code printed ({n} line):", "Your code printed ({n} lines):", len(printed)))
        lines.extend("  | " + line for line in printed[:50])
        if len(printed) > 50:
            lines.append("  | " + n_("... {n} more line", "... {n} more lines", len(printed) - 50))
    elif printed:
        lines.append(n_("Your code printed {n} line; it is shown to your instructor.",
                        "Your code printed {n} lines; they are shown to your instructor.", len(printed)))
    return "\n".join(lines)  # sandbox warnings are for the instructor only: they are in stdout
