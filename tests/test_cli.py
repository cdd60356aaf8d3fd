"""The `grade` command line, through click's CliRunner and a real subprocess."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import threading

import click
import pytest
from click.testing import CliRunner

from grader import batch
from grader.cli import grade_exercise, main
from grader.course import load_course
from tests.conftest import ROOT, copy_course

REFERENCE = ROOT / "solutions" / "exercise3" / "dropout.py"

REPORT_KEYS = {"schema_version", "exercise", "score", "max_score", "tests"}
TEST_KEYS = {"name": str, "function": str, "points": float, "max_points": float, "outcome": str,
             "hidden": bool, "message": str}


def check_report_schema(report: dict, exercise: str) -> None:
    """The JSON report of SPEC.md: these keys, these types; more keys may be added."""
    assert REPORT_KEYS <= set(report)
    assert report["schema_version"] == 1 and report["exercise"] == exercise
    assert isinstance(report["score"], float) and isinstance(report["max_score"], float)
    assert report["tests"]
    for test in report["tests"]:
        assert set(TEST_KEYS) <= set(test)
        for key, kind in TEST_KEYS.items():
            assert type(test[key]) is kind, (key, test)
        assert test["outcome"] in ("passed", "failed", "error", "timeout")
        assert 0 <= test["points"] <= test["max_points"]
        assert test["outcome"] == "passed" or test["message"]
    assert report["score"] == sum(t["points"] for t in report["tests"])
    assert report["max_score"] == sum(t["max_points"] for t in report["tests"])


def invoke(*args):
    return CliRunner().invoke(main, [*args, "--course", str(ROOT)] if args and args[0] not in
                              ("--help", "--version") else list(args))


def test_json_report_of_the_reference_has_full_marks_and_the_schema():
    result = invoke("exercise3", "--submission", str(ROOT / "solutions/exercise3"), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    check_report_schema(report, "exercise3")
    assert report["score"] == report["max_score"] > 0


def test_module_file_and_notebook_submissions(tmp_path):
    import nbformat
    code = (ROOT / "solutions/exercise3/dropout.py").read_text()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Dropout"), nbformat.v4.new_code_cell("%matplotlib inline"),
                nbformat.v4.new_code_cell(code)]
    test_cell = nbformat.v4.new_code_cell("assert False")
    test_cell.metadata["nbgrader"] = {"grade": True, "solution": False, "grade_id": "t", "points": 1}
    nb.cells.append(test_cell)
    nbformat.write(nb, tmp_path / "mine.ipynb")
    (tmp_path / "renamed.py").write_text(code)
    for path in (tmp_path / "mine.ipynb", tmp_path / "renamed.py"):
        report = json.loads(invoke("exercise3", "--submission", str(path), "--json").stdout)
        assert report["score"] == report["max_score"], path


def test_human_report_of_the_stub_has_a_line_per_function_and_the_total():
    result = invoke("exercise3")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("exercise3: ")
    assert sum("not implemented yet" in line for line in lines) == 4  # one line per function
    assert re.search(r"^Score: 0 / \d+", result.stdout, re.M)
    verbose = invoke("exercise3", "-v").stdout  # -v: a line per test
    assert verbose.count("not implemented yet") > 4 and "-v lists them" not in verbose


def test_strict_exits_1_below_full_marks():
    assert invoke("exercise3", "--strict").exit_code == 1


@pytest.mark.parametrize("args, words", [
    (["exercise9"], "unknown exercise 'exercise9'"),
    (["exercise3", "--submission", "/no/such/path"], "does not exist"),
])
def test_usage_errors_exit_2_with_one_line(args, words):
    result = invoke(*args)
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: ") and words in result.stderr
    assert result.stderr.count("\n") == 1 and result.stdout == ""


def test_a_path_without_a_module_is_a_usage_error(tmp_path):
    """Issue 10 (filed after the SPEC's older decision, which it overrides): exit 2, one line."""
    result = invoke("exercise3", "--submission", str(tmp_path), "--json")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith(f"Error: no dropout.py found in {tmp_path}")
    assert result.stderr.count("\n") == 1


def test_grade_all_json():
    result = invoke("all", "--json", "--public-only")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["schema_version"] == 1
    assert [r["exercise"] for r in data["exercises"]] == [ex.id for ex in load_course(ROOT).exercises]
    for report in data["exercises"]:
        check_report_schema(report, report["exercise"])
    assert data["score"] == 0 and data["max_score"] == sum(r["max_score"] for r in data["exercises"])


def test_validate_and_build_check_pass_on_the_repository():
    assert invoke("build", "--check").exit_code == 0
    result = invoke("validate")
    assert result.exit_code == 0, result.output
    assert "course is valid" in result.stdout


def all_commands(group=main, prefix=()):
    for name, command in group.commands.items():
        if command.hidden:
            continue
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from all_commands(command, (*prefix, name))


def test_every_command_has_help_with_an_example_and_is_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    for path, command in [(("exercise3",), grade_exercise), *all_commands()]:
        result = CliRunner().invoke(main, [*path, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.stdout
        assert command.help and "Example" in result.stdout, f"grade {' '.join(path)} has no example"
        if command is not grade_exercise:
            assert f"grade {' '.join(path)}" in readme, f"grade {' '.join(path)} is not in the README"


def test_the_console_script_runs_in_a_subprocess():
    run = subprocess.run([sys.executable, "-m", "grader", "--help"], capture_output=True, text=True)
    assert run.returncode == 0 and "exercise3" in run.stdout


# ---------------------------------------------------------------- habits of pytest and click users

def test_grade_alone_prints_its_help_and_exits_0():
    result = CliRunner().invoke(main, [])
    assert result.exit_code == 0
    assert result.stdout.startswith("Usage: grade EXERCISE [OPTIONS] | COMMAND [ARGS]...")
    assert "grade list" in result.stdout and "Commands:" in result.stdout


@pytest.mark.parametrize("path", [["exercise3"], *[list(p) for p, _ in all_commands()]], ids=" ".join)
def test_version_on_every_command(path):
    result = CliRunner().invoke(main, [*path, "--version"])
    assert result.exit_code == 0, result.output
    assert re.fullmatch(r"grade, version \d+\.\d+\S*\n", result.stdout)


@pytest.mark.parametrize("args, line", [
    (["exercis3"], "Error: unknown exercise 'exercis3'; did you mean 'exercise3'?"),
    (["exercise9"], "Error: unknown exercise 'exercise9'; this course has: " +
                    ", ".join(ex.id for ex in load_course(ROOT).exercises)),
    (["valdate"], "Error: unknown command 'valdate'; did you mean 'validate'?"),
    (["batc", "exercise3", "subs/", "--out", "x.csv"], "Error: unknown command 'batc'; did you mean 'batch'?"),
    (["nbgrader", "biuld"], "Error: unknown command 'grade nbgrader biuld'; did you mean 'grade nbgrader build'?"),
])
def test_a_mistyped_exercise_or_command_gets_one_line_with_a_guess(args, line):
    result = invoke(*args)
    assert result.exit_code == 2
    assert result.stderr == line + "\n" and result.stdout == ""


def test_a_mistyped_command_is_guessed_outside_a_course_too(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["lsit"])
    assert (result.exit_code, result.stderr) == (2, "Error: unknown command 'lsit'; did you mean 'list'?\n")


@pytest.mark.parametrize("args", [["exercise3", "--bogus"], ["exercise3", "extra"], ["exercise3", "--help"],
                                  ["--help"], ["exercise"]])
def test_no_hidden_exercise_command_in_help_and_errors(args):
    result = CliRunner().invoke(main, [*args, "--course", str(ROOT)] if args[0] == "exercise" else args)
    text = result.stdout + result.stderr
    assert not re.search(r"grade exercise\b", text), text
    if args[0] == "exercise3" and args[1] == "--help":
        assert "Usage: grade EXERCISE [OPTIONS]\n" in text
    elif args[0] == "exercise3":  # a usage mistake: one line that points to this command's help
        assert result.exit_code == 2 and text.endswith(" See 'grade exercise3 --help'.\n"), text
        assert text.startswith("Error: ") and text.count("\n") == 1, text


@pytest.mark.parametrize("args, problem", [
    (["batch", "exercise3", "subs"], "Error: Missing option '--out'. See 'grade batch --help'."),
    (["merge", "--out", "g.csv"], "Error: Missing argument 'SHARD_FOLDER...'. See 'grade merge --help'."),
    (["list", "--jobs", "3"], "Error: No such option '--jobs'. Did you mean '--json'? See 'grade list --help'."),
    (["nbgrader", "build"], "Error: Missing argument 'COURSE_DIR'. See 'grade nbgrader build --help'."),
    (["--bogus"], "Error: No such option '--bogus'. See 'grade --help'."),
    (["exercise3", "a", "b"], "Error: Got unexpected extra arguments (a b). See 'grade exercise3 --help'."),
])
def test_a_usage_mistake_is_one_line_that_points_to_the_help(args, problem):
    result = CliRunner().invoke(main, args)
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", problem + "\n")
    korean = CliRunner().invoke(main, args, env={"GRADER_LANG": "ko"})
    help_command = problem.split("See '")[1].removesuffix("'.")
    assert korean.exit_code == 2 and korean.stderr.count("\n") == 1, korean.stderr
    assert korean.stderr.endswith(f" 자세한 내용은 '{help_command}'에서 볼 수 있습니다.\n"), korean.stderr
    if args[0] != "--bogus":  # --lang ko, even after the mistake that stopped the parsing
        assert CliRunner().invoke(main, [*args, "--lang", "ko"]).stderr == korean.stderr
    from grader import i18n
    assert i18n.current() == "en"  # the stopped command's --lang does not outlive it


@pytest.fixture(scope="module")
def started_course(tmp_path_factory):
    """A copy of the course whose exercise3 is solved in the working copy; the rest untouched."""
    course = copy_course(tmp_path_factory.mktemp("started"))
    shutil.copyfile(REFERENCE, course / "exercises" / "exercise3" / "dropout.py")
    stub = course / "exercises" / "exercise2" / "weight_decay.py"
    solution = (ROOT / "solutions" / "exercise2" / "weight_decay.py").read_text()
    start = solution.index("def l2_penalty(")
    stub.write_text(stub.read_text() + "\n\n" + solution[start:solution.index("\ndef ", start + 1)])
    return course


def test_list_shows_titles_points_and_how_far_the_working_copy_is(started_course):
    result = CliRunner().invoke(main, ["list", "--course", str(started_course)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert re.fullmatch(r"exercise1  Weight initialization \(Xavier and He\) +32 points  not started", lines[0])
    assert re.search(r"^exercise2 .* 20 points  started, 1 of 5 functions written$", lines[1])
    assert re.search(r"^exercise3  Dropout \(inverted and vanilla\) +26 points  started, 4 of 4 functions written$",
                     lines[2])
    data = json.loads(CliRunner().invoke(main, ["list", "--json", "--course", str(started_course)]).stdout)
    others = [(ex.id, ex.points, "not started") for ex in load_course(started_course).exercises[3:]]
    assert [(e["id"], e["points"], e["state"]) for e in data["exercises"]] == [
        ("exercise1", 32, "not started"), ("exercise2", 20, "started"), ("exercise3", 26, "started"), *others]
    assert data["exercises"][1]["written"] == ["l2_penalty"]


def test_grade_all_gives_an_untouched_exercise_one_line(started_course):
    result = CliRunner().invoke(main, ["all", "--public-only", "--course", str(started_course)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert re.search(r"^exercise1: not started, 0 / \d+\n", out, re.M)
    assert re.search(r"^exercise4: not started, 0 / \d+\n", out, re.M)
    solved = re.search(r"^exercise3: Dropout.*\n(  PASS .*\n)+Score: (?P<n>\d+) / (?P=n) ", out, re.M)
    started = re.search(r"^exercise2: Weight decay.*\n(  .*\n)+Score: ", out, re.M)
    assert solved and started  # the started exercise keeps its table, "not implemented yet" and all
    assert out.count("not implemented yet") == started.group().count("not implemented yet") > 0
    verbose = CliRunner().invoke(main, ["all", "--public-only", "-v", "--course", str(started_course)])
    assert "exercise1: Weight initialization" in verbose.stdout and "not started," not in verbose.stdout


def test_k_grades_only_the_selected_tests_and_the_total_says_so():
    args = ["exercise3", "-k", "dropout_backward and not vanilla", "--submission", str(REFERENCE)]
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    tests = [line for line in result.stdout.splitlines() if line.startswith("  PASS")]
    assert tests and all(" dropout_backward: " in line for line in tests)
    assert re.search(r"^Score: (\d+) / \1 for the tests selected by -k 'dropout_backward and not vanilla'  "
                     r"\(3 of 3 passed; run without -k", result.stdout, re.M)
    report = json.loads(invoke(*args, "--json").stdout)
    check_report_schema(report, "exercise3")
    assert {t["function"] for t in report["tests"]} == {"dropout_backward"}
    assert report["selection"] == "dropout_backward and not vanilla"
    whole = json.loads(invoke("exercise3", "--submission", str(REFERENCE), "--json").stdout)
    assert "selection" not in whole and report["max_score"] < whole["max_score"]
    assert len(report["tests"]) == sum(t["function"] == "dropout_backward" for t in whole["tests"])


@pytest.mark.parametrize("expression, words", [
    ("no_such_function", "no test of exercise3 matches -k 'no_such_function'"),
    ("dropout and (", "-k 'dropout and (' is not a valid pytest expression: at column"),
    ("test mode", "-k 'test mode' is not a valid pytest expression: at column 6: expected end of input; "
                  "got identifier; join words with and, or, not (e.g. -k 'forward and not hidden')"),
])
def test_k_that_selects_nothing_or_does_not_parse_is_a_usage_error(expression, words):
    result = invoke("exercise3", "-k", expression)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith(f"Error: {words}") and result.stderr.count("\n") == 1


def test_quiet_shows_only_what_did_not_pass_and_the_score(course, tmp_path):
    from grader.mutants import mutants

    (mutant,) = [m for m in mutants(course.exercise("exercise3")) if m.name == "backward_inplace"]
    (tmp_path / "dropout.py").write_text(mutant.source)  # the overlay, laid over the reference
    result = invoke("exercise3", "--submission", str(tmp_path / "dropout.py"), "-q")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert not any("PASS" in line for line in lines) and not lines[0].startswith("exercise3: Dropout")
    assert any(line.startswith("  FAIL") for line in lines) and "changed its argument 'dout'" in result.stdout
    assert re.fullmatch(r"exercise3: Score: \d+ / 26  \(\d+ of \d+ tests passed\)", lines[-1])


def test_verbose_shows_everything_the_code_printed(tmp_path):
    chatty = tmp_path / "dropout.py"
    chatty.write_text(REFERENCE.read_text() + "\nfor i in range(15):\n    print('line', i)\n")
    args = ["exercise3", "--submission", str(chatty), "-k", "dropout_backward and not vanilla"]
    normal, verbose = invoke(*args).stdout, invoke(*args, "-v").stdout
    assert "line 9\n" in normal and "line 14" not in normal and "5 more lines (-v shows them all)" in normal
    assert "line 14\n" in verbose and "more lines" not in verbose
    assert "line" not in invoke(*args, "-q").stdout


def run_on_a_terminal(*args: str, env: dict) -> str:
    """`python -m grader ARGS` with its output on a pseudo-terminal; what it wrote there."""
    import pty

    main_fd, child_fd = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "grader", *args], stdin=subprocess.DEVNULL,
                               stdout=child_fd, stderr=child_fd, env=env)
    os.close(child_fd)
    chunks = []
    watchdog = threading.Timer(600, process.kill)  # a hang fails the test, it does not hang CI
    watchdog.start()
    try:
        while data := os.read(main_fd, 65536):
            chunks.append(data)
    except OSError:  # EIO: the program ended and the terminal closed
        pass
    finally:
        watchdog.cancel()
        os.close(main_fd)
        process.wait(timeout=600)
    return b"".join(chunks).decode()


@pytest.mark.parametrize("no_color, flag, colored", [
    (None, [], True), ("1", [], False), ("", [], True), (None, ["--no-color"], False)],
    ids=["terminal", "NO_COLOR=1", "NO_COLOR empty", "--no-color"])
def test_colour_only_on_a_terminal_and_never_with_no_color(no_color, flag, colored):
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    if no_color is not None:
        env["NO_COLOR"] = no_color
    args = ["exercise3", "--course", str(ROOT), "--public-only", "-k", "dropout_backward and not vanilla", *flag]
    text = run_on_a_terminal(*args, env=env)
    assert "Score: 0 /" in text
    assert ("\x1b[" in text) == colored, text
    assert "\x1b[" not in invoke(*args[:1], *args[3:]).stdout  # not a terminal: never


def test_batch_fresh_discards_the_kept_results_and_grades_everyone_again(tmp_path):
    course = ROOT
    subs = tmp_path / "subs"
    (subs / "ann").mkdir(parents=True)
    shutil.copyfile(REFERENCE, subs / "ann" / "dropout.py")
    out = tmp_path / "grades.csv"
    exercise = load_course(course).exercise("exercise3")
    fake = {"schema_version": 1, "exercise": "exercise3", "score": 1.0, "max_score": 26.0,
            "tests": [], "output": "", "warnings": []}
    state = batch.StateDir(out)
    state.path.mkdir()
    state.save({"state_version": batch.STATE_VERSION, "student_id": "ann", "report": fake,
                "submission_sha256": batch.submission_digest(exercise, subs / "ann"),
                "setup_sha256": batch.setup_digest(exercise, True)})
    state.save({**state.load("ann"), "student_id": "gone"})
    result = invoke("batch", "exercise3", str(subs), "--out", str(out), "--jobs", "1", "--fresh")
    assert result.exit_code == 0, result.output
    assert out.read_text().splitlines()[1].startswith("ann,26,26,")  # graded again, not the kept 1
    assert "came from an interrupted earlier run" not in result.stderr and not state.path.exists()


@pytest.mark.parametrize("command", ["exercise3", "all"])
def test_ctrl_c_shows_the_tests_that_finished_and_exits_130(command, tmp_path):
    """The student's dropout_backward sleeps; SIGINT arrives while the grading waits on it.
    The test waits for what the student sees: grade's own "still running" line on stderr
    (the sandboxed code itself can leave no trace outside its private, in-memory folder)."""
    course = copy_course(tmp_path / "course", limits="limits:\n  call_seconds: 900\n  submission_seconds: 900\n")
    submission = course / "exercises" / "exercise3" / "dropout.py"
    submission.write_text(REFERENCE.read_text() + textwrap.dedent("""

        def dropout_backward(dout, cache):
            import time
            time.sleep(900)
        """))
    process = subprocess.Popen(
        [sys.executable, "-m", "grader", command, "--course", str(course), "--public-only"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,  # as a terminal's foreground job: SIGINT at its default, even where
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # these tests run with it ignored
    seen = []
    watchdog = threading.Timer(600, lambda: os.killpg(process.pid, signal.SIGKILL))  # never hang CI
    watchdog.start()
    try:
        while not any("dropout_backward() is still running" in line for line in seen):
            line = process.stderr.readline()  # the grading goes on: a line comes, or the end
            assert line, f"grade ended before it was interrupted: {''.join(seen)}"
            seen.append(line)
        os.killpg(process.pid, signal.SIGINT)  # what the terminal sends to the foreground group
        stdout, stderr = process.communicate(timeout=300)
        stderr = "".join(seen) + stderr
    finally:
        watchdog.cancel()
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "Interrupted (Ctrl-C)" in stderr
    if command == "all":  # the exercises before it finished; the ones after it never started
        assert re.search(r"^exercise1: not started, 0 / \d+\nexercise2: not started, 0 / \d+\n"
                         r"exercise3: Dropout", stdout)
        assert "exercise4" not in stdout
    tests = [line for line in stdout.splitlines() if line.startswith("  ")]
    assert len(tests) >= 5 and all(line.startswith("  PASS") and " dropout_forward: " in line for line in tests)
    assert re.search(rf"^Interrupted: {len(tests)} of \d+ tests finished, (\d+) / \1 points on those$",
                     stdout, re.M)
