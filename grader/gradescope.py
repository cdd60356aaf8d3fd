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

from grader.report import LABELS, SCHEMA_VERSION, GradeReport, TestResult

VISIBLE, AFTER_PUBLISHED = "visible", "after_published"


def results(report: GradeReport, *, execution_time: float | None = None) -> dict:
    """The results.json object for one graded submission."""
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
    return {"name": t.name + (" (hidden)" if t.hidden else ""),
            "score": t.points, "max_score": t.max_points,
            "status": "passed" if passed else "failed",
            "output": "" if passed else f"{LABELS[t.outcome]}: {t.message}",
            "visibility": AFTER_PUBLISHED if t.hidden else VISIBLE}


def _summary(report: GradeReport) -> str:
    public = [t for t in report.tests if not t.hidden]
    hidden = [t for t in report.tests if t.hidden]
    lines = [f"{report.exercise}: public tests {sum(t.points for t in public):g} / "
             f"{sum(t.max_points for t in public):g} points "
             f"({sum(t.outcome == 'passed' for t in public)} of {len(public)} passed)."]
    if report.problem:
        lines.append(report.problem)
    lines.extend(f"Note: {note}" for note in report.notes)
    if hidden:
        lines.append(f"Hidden tests: {len(hidden)}, worth {sum(t.max_points for t in hidden):g} points; "
                     "their results are shown once grades are published.")
    printed = report.output.strip().splitlines()
    if printed and not hidden:
        lines.append(f"Your code printed ({len(printed)} lines):")
        lines.extend("  | " + line for line in printed[:50])
        if len(printed) > 50:
            lines.append(f"  | ... {len(printed) - 50} more lines")
    elif printed:
        lines.append(f"Your code printed {len(printed)} lines; they are shown to your instructor.")
    return "\n".join(lines)  # sandbox warnings are for the instructor only: they are in stdout
