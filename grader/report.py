"""Grading results as data, and the one function that turns outcomes into points."""

from __future__ import annotations

from dataclasses import dataclass, field

from grader.i18n import N_

SCHEMA_VERSION = 1
# The outcomes of a test, from best to worst (a test with several failed phases reports the
# worst), and the label every renderer shows for each.
OUTCOMES = ("passed", "failed", "error", "timeout")
LABELS = {"passed": N_("PASS"), "failed": N_("FAIL"), "error": N_("ERROR"), "timeout": N_("TIME")}  # translated where shown
RANK = {outcome: rank for rank, outcome in enumerate(OUTCOMES)}


def points_for(outcome: str, max_points: float) -> float:
    """Scoring fails closed: only a passed test earns points, anything else earns none."""
    return float(max_points) if outcome == "passed" else 0.0


@dataclass(frozen=True)
class TestResult:
    name: str
    function: str
    max_points: float
    outcome: str
    hidden: bool
    message: str = ""
    mistake: str = ""  # the stable id of the catalogued mistake the message names
    not_implemented: str = ""  # the function not implemented yet that stopped this test (a stub's)
    title: str = ""  # the name in the report's language, where it differs from `name` (the test's id)
    figures: tuple = ()  # {"title", "kind", "data"}: plain numbers the renderers draw

    @property
    def points(self) -> float:
        return points_for(self.outcome, self.max_points)

    @property
    def shown_name(self) -> str:
        """The name a student reads: in the report's language."""
        return self.title or self.name

    def to_dict(self) -> dict:
        data = {"name": self.name, "function": self.function, "points": self.points,
                "max_points": float(self.max_points), "outcome": self.outcome,
                "hidden": self.hidden, "message": self.message,
                **({"mistake": self.mistake} if self.mistake else {}),
                **({"not_implemented": self.not_implemented} if self.not_implemented else {})}
        if self.title and self.title != self.name:
            data["title"] = self.title
        if self.figures:
            data["figures"] = [dict(f) for f in self.figures]
        return data


@dataclass(frozen=True)
class GradeReport:
    """One grading. `problem` is set when nothing could be graded (no module, a file that is
    not read, a module that could not be imported): one headline, which every test's message
    repeats. `notes` tell the student about their hand-in (which file was graded, notebook
    cells that failed or were left out); `warnings` are about the sandbox."""

    exercise: str
    tests: tuple[TestResult, ...]
    output: str = ""
    warnings: tuple[str, ...] = field(default=())
    selection: str = ""  # the -k expression when only some tests ran ("" for a full grading)
    problem: str = ""
    notes: tuple[str, ...] = field(default=())
    language: str = "en"  # of its messages, notes and titles (test names and mistake ids never change)

    @property
    def score(self) -> float:
        return float(sum(t.points for t in self.tests))

    @property
    def max_score(self) -> float:
        return float(sum(t.max_points for t in self.tests))

    def to_dict(self) -> dict:
        data = {"schema_version": SCHEMA_VERSION, "exercise": self.exercise,
                "score": self.score, "max_score": self.max_score,
                "tests": [t.to_dict() for t in self.tests],
                "output": self.output, "warnings": list(self.warnings),
                "problem": self.problem, "notes": list(self.notes)}
        if self.language != "en":
            data["language"] = self.language
        if self.selection:
            data["selection"] = self.selection  # score and max_score are those of the selected tests
        return data
