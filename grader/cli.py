"""The `grade` command line: parse, call one library function, render, pick the exit code.

`grade EXERCISE` grades one exercise (`grade_exercise`); grader/cli_group.py routes the
words and guesses mistyped ones.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from grader.cli_group import (STUDENT_RELEASE, ExerciseCommand, GradeGroup, Group, UsageProblem, finish,
                               speak_course, unknown_word)
from grader.errors import GraderError, GradingInterrupted, UnknownExercise
from grader.i18n import _


class _StillRunning:
    """Tells a waiting student that grading goes on while a call into their code runs long:
    one line on stderr, rewritten in place on a terminal and cleared when the call is over."""

    def __init__(self, stream):
        self.stream, self.tty, self.told = stream, stream.isatty(), set()

    def __call__(self, what: str, seconds: float | None, limit: float) -> None:
        if seconds is None:
            if self.tty:
                self.stream.write("\r\x1b[K")
                self.stream.flush()
            return
        text = "  ... " + _("{what} is still running ({seconds} s; the limit is {limit} s a call)",
                            what=what, seconds=f"{seconds:.0f}", limit=f"{limit:g}")
        if self.tty:
            self.stream.write("\r" + text)
            self.stream.flush()
        elif what not in self.told:
            self.told.add(what)
            print(text, file=self.stream, flush=True)


def _course(course_dir):
    """The course; from here on the command speaks its language (unless --lang or GRADER_LANG say otherwise)."""
    from grader.course import load_course
    course = load_course(Path(course_dir) if course_dir else None)
    speak_course(course)
    return course


def _run(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except GraderError as exc:
        raise UsageProblem(str(exc)) from None


def _course_with(ctx, word: str, course_dir):
    """The course, once `word` (the first word of `grade WORD`) is one of its exercises;
    otherwise one line that guesses the exercise or command the user meant."""
    try:
        course = _course(course_dir)
        course.exercise(word)
        return course
    except UnknownExercise as exc:
        raise UsageProblem(unknown_word(ctx, word, exc.known)) from None
    except GraderError as exc:  # no course here: the word may still be a mistyped command
        raise UsageProblem(unknown_word(ctx, word, problem=str(exc))) from None


def _color(no_color: bool) -> bool:
    """Colour on a terminal only; never with --no-color or a non-empty NO_COLOR (no-color.org)."""
    return not no_color and not os.environ.get("NO_COLOR") and sys.stdout.isatty()


def _verbosity(quiet: int, verbose: int) -> int:
    return max(-1, min(1, verbose - quiet))


def _stopped(stop: KeyboardInterrupt, *, title: str, as_json: bool, color: bool, verbosity: int):
    """After Ctrl-C: the tests that finished (not with --json: no partial report there), exit 130."""
    from grader import render

    done = isinstance(stop, GradingInterrupted) and stop.report.tests
    if done and not as_json:
        click.echo(render.table(stop.report, title=title, color=color, verbosity=verbosity,
                                interrupted_of=stop.total))
    click.echo(_("Interrupted (Ctrl-C): the tests above finished; the others did not run.")
               if done and not as_json else _("Interrupted (Ctrl-C): no score."), err=True)
    sys.exit(130)


course_option = click.option("--course", "course_dir", type=click.Path(file_okay=False),
                             help="The course folder (default: the nearest folder above with a course.yml).")
json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON report on stdout, nothing else.")
public_option = click.option("--public-only", is_flag=True, hidden=STUDENT_RELEASE,  # a release has no others
                             help="Skip the hidden tests even where solutions/ exists.")


html_option = click.option("--html", "html_file", type=click.Path(dir_okay=False), metavar="FILE",
                           help="Also write the report as a self-contained HTML page, figures drawn.")


def _html_target(html_file):
    """The --html file's folder must exist: checked before grading, not after it."""
    if html_file is None:
        return None
    path = Path(html_file)
    if not path.parent.resolve().is_dir():
        raise UsageProblem(f"--html {html_file}: the folder {path.parent} does not exist; create it "
                           "or choose another file")
    return path


def _write_html(path, reports, titles) -> None:
    from grader.html_report import write_html

    try:
        write_html(path, reports, titles=titles)
    except OSError as exc:
        raise UsageProblem(f"--html {path}: could not write it ({exc.strerror or exc})") from None


def report_options(f):
    """-q, -v and --no-color, for the commands that print a report."""
    f = click.option("--no-color", is_flag=True, help="No colours (also when NO_COLOR is set).")(f)
    f = click.option("-v", "--verbose", count=True,
                     help="More: also what passing tests say, and all your code printed.")(f)
    return click.option("-q", "--quiet", count=True,
                        help="Less: only the tests that did not pass, and the score line.")(f)


STUDENT_HELP = """Grade deep-learning exercises in a sandbox, with feedback that names the mistake.

    \b
    Students:     grade exercise3                  grade your copy in exercises/exercise3
                  grade exercise3 -k backward      only some tests, chosen as pytest -k does
                  grade exercise3 --submission x   grade another copy (folder, .py or .ipynb)
                  grade all                        grade every exercise
                  grade list                       the exercises, their points, how far you are
    Notebooks:    from grader.notebook import Grader; grader = Grader("exercise3")
                  grader.check("dropout_forward")  one function's tests, as your kernel defines it
                  grader.check_all()               the whole exercise (README: "In your notebook")
"""
INSTRUCTOR_HELP = """
    \b
    Instructors:  grade validate                   CI: solutions full marks, stubs zero, in sync
                  grade build                      regenerate exercises/ from solutions/
                  grade mutants -v                 every catalogued mistake caught and named
                  grade batch exercise3 subs/ --out grades.csv     a whole class, resumable
                  grade batch ... --shard 2/3, grade merge         a class split over machines
                  grade batch ... --scheduler tcp://HOST:8786      a class graded on a Dask cluster
                  grade nbgrader build DIR         an nbgrader course graded by this grader
                  grade release DIR                the bundle students receive
                  grade new exercise7              start a new exercise that already validates
"""


@click.group("grade", cls=GradeGroup, context_settings={"help_option_names": ["-h", "--help"]},
             help=STUDENT_HELP + ("" if STUDENT_RELEASE else INSTRUCTOR_HELP))
@click.version_option(package_name="dl-grader")
def main():
    pass


@click.command(cls=ExerciseCommand)
@click.argument("exercise")
@click.option("--submission", type=click.Path(), help="A folder, module file or notebook to grade.")
@click.option("-k", "select", metavar="EXPRESSION",
              help="Grade only the tests that match, as pytest -k does: words of a test's name or "
                   "of the function it grades, 'public', 'hidden', joined with and/or/not.")
@json_option
@public_option
@click.option("--strict", is_flag=True, help="Exit with status 1 when the score is below full marks.")
@html_option
@report_options
@course_option
@click.pass_context
def grade_exercise(ctx, exercise, submission, select, as_json, public_only, strict, html_file, quiet, verbose,
                   no_color, course_dir):
    """Grade one EXERCISE (e.g. exercise3): your working copy in exercises/EXERCISE/, or
    --submission. Ctrl-C stops and shows the tests that finished (exit status 130).

    \b
    Examples: grade exercise3
              grade exercise3 -q                   only what did not pass, and the score
              grade exercise3 -k "dropout_backward and not vanilla"
              grade exercise3 --submission ~/hw/dropout.py --json
              grade exercise6 --html report.html   also a page with the figures drawn

    -k matches parts of names, as in pytest: -k dropout_backward also selects the tests of
    vanilla_dropout_backward.
    """
    from grader.sandbox.spawn import Zygote

    color, verbosity = _color(no_color), _verbosity(quiet, verbose)
    title = ""
    html_path = _html_target(html_file)
    zygote = _run(Zygote)  # first: its start-up overlaps with the imports below
    try:
        from grader.grade import grade

        course = _course_with(ctx, exercise, course_dir)
        title = course.exercise(exercise).title
        report = _run(grade, course, exercise, Path(submission) if submission else None,
                      hidden=False if public_only else None, zygote=zygote, select=select or "",
                      on_slow=_StillRunning(sys.stderr))
    except KeyboardInterrupt as stop:
        _stopped(stop, title=title, as_json=as_json, color=color, verbosity=verbosity)
    finally:
        zygote.close()
    from grader import render

    if html_path is not None:
        _write_html(html_path, [report], {report.exercise: title})
    if as_json:
        click.echo(render.report_json(report))
    else:
        click.echo(render.table(report, title=title, color=color, verbosity=verbosity))
    sys.exit(1 if strict and report.score < report.max_score else 0)


@main.command("all", short_help="Grade every exercise of your working copy.")
@json_option
@public_option
@click.option("--strict", is_flag=True, help="Exit with status 1 when any score is below full marks.")
@html_option
@report_options
@course_option
def grade_all(as_json, public_only, strict, html_file, quiet, verbose, no_color, course_dir):
    """Grade every exercise of your working copy (exercises/). An exercise you have not
    started gets one line ("exercise1: not started, 0 / 26"); -v shows its tests too.

    Examples: grade all -q
              grade all --html report.html   also a page with every exercise and its figures
    """
    from grader.sandbox.spawn import Zygote

    color, verbosity = _color(no_color), _verbosity(quiet, verbose)
    html_path = _html_target(html_file)
    zygote = _run(Zygote)
    course, reports, missing = None, [], []
    try:
        from grader import render
        from grader.errors import MissingDependency
        from grader.grade import grade

        course = _run(_course, course_dir)
        titles = {ex.id: ex.title for ex in course.exercises}
        for ex in course.exercises:
            try:
                reports.append(grade(course, ex.id, hidden=False if public_only else None, zygote=zygote,
                                     on_slow=_StillRunning(sys.stderr)))
            except MissingDependency as exc:  # the others are still graded; this one says what to install
                missing.append(f"{ex.id} was not graded: {exc}")
            except GraderError as exc:
                raise UsageProblem(str(exc)) from None
    except KeyboardInterrupt as stop:
        if reports and not as_json:  # the exercises that finished, then the one that was running
            click.echo(render.reports_text(reports, titles=titles, color=color, verbosity=verbosity))
        running = course.exercises[len(reports)].title if course and len(reports) < len(course.exercises) else ""
        _stopped(stop, title=running, as_json=as_json, color=color, verbosity=verbosity)
    finally:
        zygote.close()
    if html_path is not None:
        _write_html(html_path, reports, titles)
    if as_json:
        click.echo(render.reports_json(reports))
    else:
        click.echo(render.reports_text(reports, titles=titles, color=color, verbosity=verbosity))
        click.echo(_("Total: {score} / {max_score}", score=f"{sum(r.score for r in reports):g}",
                     max_score=f"{sum(r.max_score for r in reports):g}"))
    for line in missing:
        click.echo(f"Note: {line}", err=True)
    sys.exit(1 if strict and (missing or any(r.score < r.max_score for r in reports)) else 0)


@main.command("list", short_help="The exercises, their points, how far your copy is.")
@click.option("--json", "as_json", is_flag=True, help="Print the list as one JSON object on stdout.")
@course_option
def list_cmd(as_json, course_dir):
    """List the exercises: their titles, points, and how far your working copy is
    (read from exercises/, without running anything).

    Example: grade list
    """
    from grader.overview import overview_json, overview_text

    course = _run(_course, course_dir)
    click.echo(overview_json(course) if as_json else overview_text(course))


@main.command("build", short_help="Regenerate exercises/ from solutions/.")
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


@main.command("validate", short_help="CI check: solutions full marks, stubs zero, in sync.")
@click.argument("exercises", nargs=-1)
@course_option
def validate_cmd(exercises, course_dir):
    """CI check of the course: reference solutions get full marks, untouched stubs get
    zero without crashing, points add up to course.yml, exercises/ is in sync, and each
    exercise has the mutants and variants that course.yml's catalogue asks for.

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


@main.command("mutants", short_help="Every catalogued mistake must be caught and named.")
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
    from grader.render import mutants_text

    click.echo(mutants_text(results, verbose=verbose))
    bad = any(not v.caught for verdicts, _ in results.values() for v in verdicts) or \
        any(r.score != r.max_score for _, variants in results.values() for _, r in variants)
    sys.exit(1 if bad else 0)


@main.command("new", short_help="Start a new exercise from a working template.")
@click.argument("exercise")
@click.option("--module", metavar="FILE", help="The file students edit (default: EXERCISE.py).")
@click.option("--function", "functions", multiple=True, metavar="NAME",
              help="Twice: the forward pass, then its backward pass (default: scale_forward, scale_backward).")
@click.option("--title", help="The title students see (default: a scale layer's).")
@course_option
def new_cmd(exercise, module, functions, title, course_dir):
    """Start a new exercise: write solutions/EXERCISE/ (a reference solution with solution
    markers, a public and a hidden test file, a catalogued mistake, a correct variant, a
    torch oracle) and add EXERCISE to course.yml, keeping its comments. It passes build,
    validate and mutants as written; docs/writing-an-exercise.md says how to make it yours.

    \b
    Example: grade new exercise7 --module relu.py --function relu_forward --function relu_backward
    """
    if STUDENT_RELEASE:  # which leaves the templates (grader/scaffold.py) out
        raise UsageProblem("'grade new' is for instructors: run it in the course repository")
    from grader.scaffold import new_exercise

    course = _run(_course, course_dir)
    made = _run(new_exercise, course, exercise, module=module or "", functions=functions,
                reserved=tuple(main.commands), **({"title": title} if title is not None else {}))
    for path in made.files:
        click.echo(f"wrote {path}")
    click.echo(f"added {made.id} to {made.course_file}" + (" (catalogue: 1 mutant and 1 variant for now)"
                                                           if made.catalogue_lowered else ""))
    click.echo(f"Next: grade build {made.id} && grade validate {made.id} && grade mutants {made.id}\n"
               "Then make it yours: docs/writing-an-exercise.md")


@main.group("nbgrader", cls=Group, short_help="The bridge to nbgrader (grade nbgrader build).")
def nbgrader_group():
    """The bridge to nbgrader: notebooks whose test cells are graded by `grade`.

    \b
    Example: grade nbgrader build nbgrader_course   write nbgrader_config.py and source/<exercise>/
    """


@nbgrader_group.command("build", short_help="Write an nbgrader course graded by this grader.")
@click.argument("nbgrader_dir", metavar="COURSE_DIR", type=click.Path(file_okay=False))
@click.argument("exercises", nargs=-1)
@course_option
def nbgrader_build_cmd(nbgrader_dir, exercises, course_dir):
    """Write an nbgrader course into COURSE_DIR: nbgrader_config.py and, for every exercise
    (or the EXERCISES named), source/<exercise>/<exercise>.ipynb with one answer cell per
    function and test cells graded by this grader. The test cells name this course's
    folder: autograde where it is, and rebuild after moving it.

    \b
    Example: grade nbgrader build ~/nbgrader_course
             cd ~/nbgrader_course && nbgrader generate_assignment exercise3
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


@main.command("release", short_help="Write the bundle students receive (no solutions).")
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


@main.command("batch", short_help="Grade a whole class into a CSV or JSON gradebook.")
@click.argument("exercise")
@click.argument("submissions", type=click.Path())
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="The gradebook to write: a .csv (one row per student) or a .json (a list of reports).")
@click.option("--jobs", "-j", type=click.IntRange(min=1),
              help="Students graded in parallel (default: the number of cores).")
@public_option
@click.option("--fresh", is_flag=True,
              help="Discard the results an interrupted run kept in OUT.partial/ and grade everyone again.")
@click.option("--shard", metavar="I/N",
              help="Grade only shard I of N (students split by a hash of their id) into OUT.shard-I-of-N/, "
                   "for 'grade merge'; OUT itself is not written.")
@click.option("--scheduler", metavar="ADDRESS",
              help="Grade on the workers of this Dask scheduler (tcp://HOST:PORT or tls://HOST:PORT; "
                   "needs dl-grader[dask]) instead of local processes; --jobs is ignored.")
@course_option
def batch_cmd(exercise, submissions, out, jobs, public_only, fresh, shard, scheduler, course_dir):
    """Grade every student in SUBMISSIONS (one folder per student, named by student id).

    A student's folder holds the module (alice/dropout.py), a folder named after the exercise
    (alice/exercise3/dropout.py) or a notebook (nbgrader's submitted/ folder works as it is).
    Canvas and Moodle downloads work as they are (see the README for the student ids).
    Entries that are not students (links, .DS_Store, ...) are listed with the reason in
    the summary and next to OUT (grades.csv: grades.skipped.csv).
    Interrupted (Ctrl-C, a crash)? Run the same command again: finished students are kept in
    OUT.partial/ and only the others are graded (--fresh grades everyone again); the folder is
    removed once OUT is written.

    A class too big for one machine: --shard I/N on N machines (each with the whole
    SUBMISSIONS folder), then 'grade merge' on the N folders they keep; or --scheduler to
    grade on a Dask cluster (docs/scaling.md). Both write the same OUT as one machine.

    \b
    Example: grade batch exercise3 submitted/ --out grades.csv --jobs 4
             grade batch exercise3 submitted/ --out grades.csv --shard 2/3
             grade batch exercise3 submitted/ --out grades.csv --scheduler tcp://10.0.0.5:8786
    """
    from grader import batch

    course = _run(_course, course_dir)
    if shard:
        from grader.shards import parse_shard

        shard = _run(parse_shard, shard)
    try:
        summary = _run(batch.run_batch, course, exercise, Path(submissions), Path(out), jobs=jobs,
                       hidden=False if public_only else None, progress=batch.TerminalProgress(),
                       fresh=fresh, shard=shard or None, scheduler=scheduler)
    except batch.BatchInterrupted as stop:
        click.echo(_("Interrupted: {done} of {total} students are graded and kept in {path}. Run the same "
                     "command again to grade the others.", done=stop.done, total=stop.total, path=stop.state_dir),
                   err=True)
        sys.exit(130)
    from grader import render
    click.echo(render.batch_summary_text(summary), err=True)


@main.command("merge", short_help="Join the shards of a class into one gradebook.")
@click.argument("partials", nargs=-1, required=True, type=click.Path(), metavar="SHARD_FOLDER...")
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="The gradebook to write: a .csv or a .json, as grade batch writes it.")
def merge_cmd(partials, out):
    """Join the folders that 'grade batch ... --shard I/N' keeps (OUT.shard-I-of-N/, all N
    of them) into the gradebook OUT: the same file a single 'grade batch' writes. Refuses
    shards graded with different course versions (tests, reference, limits, grader), from
    different submissions folders, or of which one is missing or unfinished.

    \b
    Example: grade merge grades.csv.shard-1-of-3 grades.csv.shard-2-of-3 \\
                         grades.csv.shard-3-of-3 --out grades.csv
    """
    from grader import render
    from grader.shards import merge

    summary = _run(merge, [Path(p) for p in partials], Path(out))
    click.echo(render.batch_summary_text(summary), err=True)


@main.command("gradescope", short_help="Write Gradescope's results.json for one submission.")
@click.argument("exercise")
@click.option("--submission", type=click.Path(), help="A folder, module file or notebook to grade.")
@click.option("--out", default="results.json", show_default=True,
              type=click.Path(dir_okay=False, allow_dash=True),
              help="Where to write Gradescope's results.json ('-': standard output).")
@public_option
@course_option
def gradescope_cmd(exercise, submission, out, public_only, course_dir):
    """Grade one submission and write Gradescope's autograder results.json.

    Public tests are visible to the student at once, hidden tests once grades are published.

    \b
    Example (in run_autograder):
      grade gradescope exercise3 --submission /autograder/submission \\
            --out /autograder/results/results.json
    """
    import time

    from grader import gradescope, render
    from grader.files import write_atomic
    from grader.grade import grade

    course = _run(_course, course_dir)
    if out != "-" and not Path(out).resolve().parent.is_dir():
        raise UsageProblem(_("--out {out}: the folder {folder} does not exist", out=out,
                             folder=Path(out).resolve().parent))
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


main.exercise_command = grade_exercise
finish(main, grade_exercise)


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
