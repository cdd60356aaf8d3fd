"""The errors a user can cause. Each message says how to fix the problem.

The CLI turns every `GraderError` into one line on stderr and exit status 2.
"""


from grader.i18n import _


class GraderError(Exception):
    """A usage or configuration mistake, reported to the user as one line."""


class CourseError(GraderError):
    """course.yml is missing, does not parse, or does not follow the schema."""


class UnknownExercise(GraderError):
    def __init__(self, name, known):
        self.name, self.known = name, list(known)
        guess = did_you_mean(name, self.known)
        super().__init__(_("unknown exercise {name}; did you mean {guess}?", name=repr(name), guess=repr(guess)) if guess
                         else _("unknown exercise {name}; this course has: {known}", name=repr(name),
                                known=", ".join(known)))


class NothingSelected(GraderError):
    def __init__(self, exercise_id, expression):
        super().__init__(_("no test of {exercise} matches -k {expression}; 'grade {exercise} --help' shows "
                           "what -k matches", exercise=exercise_id, expression=repr(expression)))


class SubmissionNotFound(GraderError):
    def __init__(self, path):
        super().__init__(_("submission path {path} does not exist", path=path))


class NothingToGrade(GraderError):
    """The submission path exists but holds no module (`grade` only; a batch gives a row)."""


class CourseTestError(GraderError):
    """An exercise's test file is malformed (a missing points marker, for example)."""


class NewExerciseRefused(GraderError):
    """`grade new` writes nothing: the id or the module clashes, or is not a usable name."""


class MissingDependency(GraderError):
    """An exercise needs a package (course.yml `needs:`) that is not installed here."""

    def __init__(self, exercise_id: str, package: str):
        super().__init__(f"{exercise_id} needs {package}, which is not installed in this environment; "
                         f"install it with: pip install -e \".[{package}]\" in the grader's folder "
                         "(on Linux, see the README for the CPU-only build, which is much smaller)")


class SandboxFailure(GraderError):
    """The sandbox itself failed (could not start a worker): not the student's doing."""


class GradingInterrupted(KeyboardInterrupt):
    """Ctrl-C in the middle of a grading: `report` holds the tests that ran to the end,
    `total` is how many tests the grading had."""

    def __init__(self, report, total: int):
        super().__init__(f"interrupted after {len(report.tests)} of {total} tests")
        self.report, self.total = report, total


def restore_fix(exercise) -> str:
    """How to get a missing or broken course file back: instructors rebuild it from
    solutions/; students (a release has no solutions/ and no `grade build`) restore it."""
    if exercise.has_solutions:
        return "rebuild the exercises with 'grade build'"
    return ("it is part of the exercises you were given, not yours to edit: restore it from "
            "your copy of the exercises (or ask your instructor)")


def did_you_mean(word: str, candidates) -> str | None:
    """The one candidate clearly closest to a mistyped `word`, or None (none close, or a tie)."""
    import difflib

    scores = sorted(((difflib.SequenceMatcher(None, word, c).ratio(), c) for c in candidates), reverse=True)
    if not scores or scores[0][0] < 0.6 or (len(scores) > 1 and scores[1][0] == scores[0][0]):
        return None
    return scores[0][1]
