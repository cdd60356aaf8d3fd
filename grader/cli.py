"""The `grade` command line: parse, call one library function, render, pick the exit code."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from grader.errors import GraderError


class UsageProblem(click.ClickException):
    """A usage or configuration mistake: one line on stderr, exit status 2."""

    exit_code = 2

    def show(self, file=None):
        click.echo(f"Error: {self.format_message()}", err=True)


class _ExerciseGroup(click.Group):
    """`grade exercise3` runs the `exercise` command; other words are subcommands."""

    def resolve_command(self, ctx, args):
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["exercise", *args]
        return super().resolve_command(ctx, args)

    def format_usage(self, ctx, formatter):
        formatter.write_usage(ctx.command_path, "EXERCISE [OPTIONS] | COMMAND [ARGS]...")


def _course(course_dir):
    from grader.course import load_course
    return load_course(Path(course_dir) if course_dir else None)


def _run(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except GraderError as exc:
        raise UsageProblem(str(exc)) from None


course_option = click.option("--course", "course_dir", type=click.Path(file_okay=False),
                             help="The course folder (default: the nearest folder above with a course.yml).")


@click.group(cls=_ExerciseGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="dl-grader")
def main():
    """Grade deep-learning exercises in a sandbox, with feedback that names the mistake.

    \b
    Students:     grade exercise3                  grade your copy in exercises/exercise3
                  grade exercise3 --submission x   grade another copy (folder, .py or .ipynb)
                  grade all                        grade every exercise
    Instructors:  grade validate                   CI: solutions full marks, stubs zero, in sync
                  grade build                      regenerate exercises/ from solutions/
                  grade mutants -v                 every catalogued mistake caught and named
                  grade batch exercise3 subs/ --out grades.csv     a whole class, resumable
                  grade nbgrader build DIR         an nbgrader course graded by this grader
                  grade release DIR                the bundle students receive
    """


@main.command("exercise", hidden=True)
@click.argument("exercise")
@click.option("--submission", type=click.Path(), help="A folder, module file or notebook to grade.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON report on stdout, nothing else.")
@click.option("--public-only", is_flag=True, help="Skip the hidden tests even where solutions/ exists.")
@click.option("--strict", is_flag=True, help="Exit with status 1 when the score is below full marks.")
@course_option
def grade_exercise(exercise, submission, as_json, public_only, strict, course_dir):
    """Grade one EXERCISE (e.g. exercise3).

    Example: grade exercise3 --submission ~/hw/dropout.py --json
    """
    from grader.sandbox.spawn import Zygote

    zygote = _run(Zygote)  # first: its start-up overlaps with the imports below
    try:
        from grader.grade import grade

        course = _run(_course, course_dir)
        report = _run(grade, course, exercise, Path(submission) if submission else None,
                      hidden=False if public_only else None, zygote=zygote)
    finally:
        zygote.close()
    from grader import render

    if as_json:
        click.echo(render.report_json(report))
    else:
        title = course.exercise(exercise).title
        click.echo(render.table(report, title=title, color=sys.stdout.isatty()))
    sys.exit(1 if strict and report.score < report.max_score else 0)


@main.command("all")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout, nothing else.")
@click.option("--public-only", is_flag=True, help="Skip the hidden tests even where solutions/ exists.")
@click.option("--strict", is_flag=True, help="Exit with status 1 when any score is below full marks.")
@course_option
def grade_all(as_json, public_only, strict, course_dir):
    """Grade every exercise of your working copy (exercises/)."""
    from grader.sandbox.spawn import Zygote

    zygote = _run(Zygote)
    try:
        from grader.grade import grade
        from grader import render

        course = _run(_course, course_dir)
        reports = [_run(grade, course, ex.id, hidden=False if public_only else None, zygote=zygote)
                   for ex in course.exercises]
    finally:
        zygote.close()
    if as_json:
        click.echo(render.reports_json(reports))
    else:
        for ex, report in zip(course.exercises, reports):
            click.echo(render.table(report, title=ex.title, color=sys.stdout.isatty()) + "\n")
        click.echo(f"Total: {sum(r.score for r in reports):g} / {sum(r.max_score for r in reports):g}")
    sys.exit(1 if strict and any(r.score < r.max_score for r in reports) else 0)


@main.command("build")
@click.argument("exercises", nargs=-1)
@click.option("--check", is_flag=True, help="Change nothing; exit 1 if exercises/ is out of date.")
@course_option
def build_cmd(exercises, check, course_dir):
    """Regenerate exercises/ (stubs, public tests, recorded answers) from solutions/.

    Example: grade build exercise3
    """
    from grader import build

    course = _run(_course, course_dir)
    if check:
        stale = _run(build.out_of_sync, course, list(exercises))
        for path in stale:
            click.echo(f"out of date: {path}")
        if stale:
            click.echo("Run 'grade build' to regenerate exercises/ from solutions/.", err=True)
            sys.exit(1)
        click.echo("exercises/ is in sync with solutions/")
        return
    for path in _run(build.build, course, list(exercises)):
        click.echo(f"wrote {path.relative_to(course.root)}")


@main.command("validate")
@click.argument("exercises", nargs=-1)
@course_option
def validate_cmd(exercises, course_dir):
    """CI check of the course: reference solutions get full marks, untouched stubs get
    zero without crashing, points add up to course.yml, exercises/ is in sync.

    Example: grade validate exercise3
    """
    from grader.validate import validate

    course = _run(_course, course_dir)
    problems = _run(validate, course, list(exercises), progress=lambda msg: click.echo(msg, err=True))
    for problem in problems:
        click.echo(f"FAIL {problem}")
    if problems:
        sys.exit(1)
    click.echo("course is valid")


@main.command("mutants")
@click.argument("exercises", nargs=-1)
@click.option("--verbose", "-v", is_flag=True, help="Show the messages each mutant got.")
@course_option
def mutants_cmd(exercises, verbose, course_dir):
    """Mutation testing: every catalogued mistake must lose points and be named, every
    correct variant must get full marks. Prints caught/named figures per exercise;
    exits 1 if a mutant survives or a correct variant loses points.

    Example: grade mutants exercise3 -v
    """
    from grader import mutants

    course = _run(_course, course_dir)
    results = _run(mutants.summary, course, list(exercises),
                   progress=lambda m: click.echo(m, err=True) if verbose else None)
    bad = False
    for ex_id, (verdicts, variants) in results.items():
        caught = sum(v.caught for v in verdicts)
        named = sum(v.named for v in verdicts)
        full = sum(r.score == r.max_score for _, r in variants)
        click.echo(f"{ex_id}: mutants caught {caught}/{len(verdicts)}, named {named}/{len(verdicts)}; "
                   f"correct variants with full marks {full}/{len(variants)}")
        for v in verdicts:
            mark = "ok  " if v.caught and v.named else ("UNNAMED" if v.caught else "SURVIVED")
            bad |= not v.caught
            click.echo(f"  {mark:<8} {v.mutant.name}: {v.mutant.description}")
            if verbose or not v.named:
                for message in v.messages:
                    click.echo(f"             {message.splitlines()[0][:150]}")
        for name, report in variants:
            if report.score != report.max_score:
                bad = True
                click.echo(f"  VARIANT LOSES POINTS {name}: {report.score:g}/{report.max_score:g}")
                for t in report.tests:
                    if t.outcome != "passed":
                        click.echo(f"             {t.name}: {t.message.splitlines()[0][:150]}")
    sys.exit(1 if bad else 0)


@main.group("nbgrader")
def nbgrader_group():
    """The bridge to nbgrader: notebooks whose test cells are graded by `grade`.

    \b
    grade nbgrader build nbgrader_course     write nbgrader_config.py and source/<exercise>/
    """


@nbgrader_group.command("build")
@click.argument("nbgrader_dir", metavar="COURSE_DIR", type=click.Path(file_okay=False))
@click.argument("exercises", nargs=-1)
@course_option
def nbgrader_build_cmd(nbgrader_dir, exercises, course_dir):
    """Write an nbgrader course into COURSE_DIR: nbgrader_config.py and, for every exercise
    (or the EXERCISES named), source/<exercise>/<exercise>.ipynb with one answer cell per
    function and test cells graded by this grader. The test cells name this course's
    folder: autograde where it is, and rebuild after moving it.

    Example: grade nbgrader build ~/nbgrader_course && cd ~/nbgrader_course &&
    nbgrader generate_assignment exercise3
    """
    from grader import nbgrader

    course = _run(_course, course_dir)
    dest = Path(nbgrader_dir)
    written = _run(nbgrader.build_course, course, dest, list(exercises))
    for path in written:
        click.echo(f"wrote {path}")
    if dest / nbgrader.CONFIG_FILE not in written:
        click.echo(f"kept your {dest / nbgrader.CONFIG_FILE}: make sure it sets "
                   f"c.Execute.timeout = {nbgrader.cell_timeout(course)} or more", err=True)


@main.command("release")
@click.argument("dest", type=click.Path(file_okay=False))
@course_option
def release_cmd(dest, course_dir):
    """Write the student release into DEST (a new folder): the stubs, public tests and
    recorded answers, the grader, course.yml, a pyproject.toml and a README. No solutions,
    hidden tests, mutants or nbgrader material. Students install it with `pip install -e .`
    and run `grade exercise3` inside it.

    Example: grade release ../dl-exercises-2025
    """
    from grader.release import release

    course = _run(_course, course_dir)
    files = _run(release, course, Path(dest), progress=lambda m: click.echo(m, err=True))
    click.echo(f"wrote {len(files)} files to {Path(dest).resolve()}")


@main.command("batch")
@click.argument("exercise")
@click.argument("submissions", type=click.Path())
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="The gradebook to write: a .csv (one row per student) or a .json (a list of reports).")
@click.option("--jobs", "-j", type=click.IntRange(min=1),
              help="Students graded in parallel (default: the number of cores).")
@click.option("--public-only", is_flag=True, help="Skip the hidden tests even where solutions/ exists.")
@course_option
def batch_cmd(exercise, submissions, out, jobs, public_only, course_dir):
    """Grade every student in SUBMISSIONS (one folder per student, named by student id).

    A student's folder holds the module (alice/dropout.py), a folder named after the exercise
    (alice/exercise3/dropout.py) or a notebook (nbgrader's submitted/ folder works as it is).
    Interrupted (Ctrl-C, a crash)? Run the same command again: finished students are kept in
    OUT.partial/ and only the others are graded; the folder is removed once OUT is written.

    Example: grade batch exercise3 submitted/ --out grades.csv --jobs 4
    """
    from grader import batch

    course = _run(_course, course_dir)
    try:
        summary = _run(batch.run_batch, course, exercise, Path(submissions), Path(out), jobs=jobs,
                       hidden=False if public_only else None, progress=batch.TerminalProgress())
    except batch.BatchInterrupted as stop:
        click.echo(f"Interrupted: {stop.done} of {stop.total} students are graded and kept in "
                   f"{stop.state_dir}. Run the same command again to grade the others.", err=True)
        sys.exit(130)
    click.echo(batch.summary_text(summary), err=True)


@main.command("gradescope")
@click.argument("exercise")
@click.option("--submission", type=click.Path(), help="A folder, module file or notebook to grade.")
@click.option("--out", default="results.json", show_default=True,
              type=click.Path(dir_okay=False, allow_dash=True),
              help="Where to write Gradescope's results.json ('-': standard output).")
@click.option("--public-only", is_flag=True, help="Skip the hidden tests even where solutions/ exists.")
@course_option
def gradescope_cmd(exercise, submission, out, public_only, course_dir):
    """Grade one submission and write Gradescope's autograder results.json.

    Public tests are visible to the student at once, hidden tests once grades are published.
    Example (in run_autograder): grade gradescope exercise3 --submission /autograder/submission
    --out /autograder/results/results.json
    """
    import time

    from grader import gradescope, render
    from grader.batch import write_atomic
    from grader.grade import grade

    course = _run(_course, course_dir)
    if out != "-" and not Path(out).resolve().parent.is_dir():
        raise UsageProblem(f"--out {out}: the folder {Path(out).resolve().parent} does not exist")
    started = time.monotonic()
    report = _run(grade, course, exercise, Path(submission) if submission else None,
                  hidden=False if public_only else None, require_module=False)  # a 0 that says why
    text = gradescope.results_json(report, execution_time=time.monotonic() - started)
    if out == "-":
        click.echo(text, nl=False)
        return
    write_atomic(Path(out), text.encode())
    click.echo(render.table(report, title=course.exercise(exercise).title))  # the instructor's view
    click.echo(f"wrote {out}", err=True)


def entry() -> None:
    """The `grade` console script: run the command, then end the process without tearing
    the interpreter down (freeing numpy's and pytest's modules one by one costs ~0.1 s,
    a sixth of a student's whole grading). Everything the commands open is closed
    before they return; only the standard streams still need flushing."""
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (exc.code is not None)
        if exc.code is not None and not isinstance(exc.code, int):
            print(exc.code, file=sys.stderr)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (grade ... | head): nothing left to say
            pass
    os._exit(int(code))


if __name__ == "__main__":
    entry()
