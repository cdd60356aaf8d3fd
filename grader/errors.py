"""The errors a user can cause. Each message says how to fix the problem.

The CLI turns every `GraderError` into one line on stderr and exit status 2.
"""


class GraderError(Exception):
    """A usage or configuration mistake, reported to the user as one line."""


class CourseError(GraderError):
    """course.yml is missing, does not parse, or does not follow the schema."""


class UnknownExercise(GraderError):
    def __init__(self, name, known):
        super().__init__(f"unknown exercise {name!r}; this course has: {', '.join(known)}")


class SubmissionNotFound(GraderError):
    def __init__(self, path):
        super().__init__(f"submission path {path} does not exist")


class NothingToGrade(GraderError):
    """The submission path exists but holds no module (`grade` only; a batch gives a row)."""


class CourseTestError(GraderError):
    """An exercise's test file is malformed (a missing points marker, for example)."""


class SandboxFailure(GraderError):
    """The sandbox itself failed (could not start a worker): not the student's doing."""
