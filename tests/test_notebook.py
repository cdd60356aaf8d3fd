"""Checking from a notebook gives the verdicts of `grade --submission`, in a real Jupyter kernel.

One kernel session (nbclient executing one real notebook) runs, for every exercise of
course.yml, the reference solution, every catalogued mistake (solutions/<id>/mutants,
overlaid on the reference as `grade mutants` does) and every correct variant: each is a
notebook cell holding exactly the module `grade` is given, then `grader.check_all()`
and `grader.check(function)` for the function the mistake is in (every function, for the
reference). Each score, outcome and message must equal what grading the same module file
gives (grader.grade.grade_each, the function `grade --submission` runs, in one session per
exercise). At the end, the same kernel meets student code that loops forever, ends its
process and raises hostile text, and must stay usable.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, copy_course

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

MARK = "@@REPORT@@"
HOSTILE = "<img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">"


def subjects(course):
    """(exercise id, what, path of the module file, functions to check one by one)."""
    from grader.mutants import mutants, variants

    out = []
    for ex in course.exercises:
        out.append((ex.id, "reference", ex.solution_dir / ex.module, list(ex.functions)))
        out += [(ex.id, f"mutant {m.name}", m, [m.function]) for m in mutants(ex)]
        out += [(ex.id, f"variant {v.stem}", v, []) for v in variants(ex)]
    return out


def _source(subject) -> str:
    return subject.source if hasattr(subject, "source") else Path(subject).read_text(encoding="utf-8")


def _check_cell(call: str, key: str) -> str:
    return (f"_r = {call}\n"
            f"print({MARK!r} + json.dumps({{'key': {key!r}, 'report': _r.report, 'problem': _r.problem}}))\n"
            f"_r")


SLOW = """def dropout_forward(x, p, train, rng):
    while True:
        pass
"""
CRASH = """import os

def dropout_forward(x, p, train, rng):
    os._exit(3)
"""
RAISES = f"""def dropout_forward(x, p, train, rng):
    raise ValueError({HOSTILE!r})
"""


@pytest.fixture(scope="module")
def kernel_run(course, tmp_path_factory):
    """Execute the one notebook; return its cells (with outputs) and the subjects' cells."""
    work = tmp_path_factory.mktemp("notebook_checks")
    slow_course = copy_course(work / "slow_course", limits="limits:\n  call_seconds: 3\n  submission_seconds: 60\n")
    cells, index = [], {}

    def add(source: str) -> int:
        cells.append(nbformat.v4.new_code_cell(source))
        return len(cells) - 1

    for ex_id, what, subject, functions in subjects(course):
        add(f"%reset -f\nimport json\nfrom grader.notebook import Grader\n"
            f"grader = Grader({ex_id!r}, course={str(ROOT)!r})")
        code = add(_source(subject))
        index[(ex_id, what)] = {"code": code, "all": add(_check_cell("grader.check_all()", "all")),
                                **{f: add(_check_cell(f"grader.check({f!r})", f)) for f in functions}}
    reference = (ROOT / "solutions" / "exercise3" / "dropout.py").read_text(encoding="utf-8")
    add(f"%reset -f\nimport json\nfrom grader.notebook import Grader\n"
        f"grader = Grader('exercise3', course={str(slow_course)!r})")
    add(reference)
    check = _check_cell("grader.check('dropout_forward')", "{}")
    special = {"slow_code": add(SLOW), "slow": add(check.replace("{}", "slow")), "after_slow": add("40 + 2"),
               "crash_code": add(CRASH), "crash": add(check.replace("{}", "crash")),
               "raises_code": add(RAISES), "raises": add(check.replace("{}", "raises")),
               "global_code": add(reference + "\n\nW = np.ones(3)\n\n\ndef dropout_backward(dout, cache):\n"
                                  "    return dout * W\n"),
               "global_checked": add(_check_cell("grader.check('dropout_backward')", "global_checked")),
               "global_other": add(_check_cell("grader.check('dropout_forward')", "global_other")),
               # the grading process killed in the middle of a check (of the endless loop)
               "stopped": add(SLOW + "\nimport os, signal, threading\n"
                              "threading.Timer(1.0, os.killpg, (grader._server.process.pid, signal.SIGKILL)).start()\n"
                              + check.replace("{}", "stopped")),
               "fixed_code": add(reference), "restarted": add(check.replace("{}", "restarted"))}
    nb = nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}})
    # jupyter_client starts the "python3" kernel with this interpreter (sys.executable)
    nbclient.NotebookClient(nb, timeout=900, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(work)}}).execute()
    return {"cells": nb.cells, "index": index, "special": special}


def _printed(cell) -> dict:
    errors = [o for o in cell.outputs if o.output_type == "error"]
    assert not errors, f"{cell.source[:200]}\n" + "\n".join(errors[0].traceback)
    lines = [ln for o in cell.outputs if o.output_type == "stream" for ln in o.text.splitlines()
             if ln.startswith(MARK)]
    assert len(lines) == 1, [o for o in cell.outputs]
    return json.loads(lines[0][len(MARK):])


def _result(cell) -> dict:
    results = [o for o in cell.outputs if o.output_type == "execute_result"]
    assert len(results) == 1
    return results[0].data


def _tests(report: dict, label: str = "") -> list[tuple]:
    """Each test as compared: the kernel's messages name the cell ("In [7], line 12") where
    the file's say "line 12"; nothing else may differ."""
    def message(text: str) -> str:
        return text.replace(f"{label}, line", "line") if label else text
    return [(t["name"], t["function"], t["outcome"], t["points"], t["max_points"], t["hidden"],
             message(t["message"]), t.get("mistake", "")) for t in report["tests"]]


@pytest.fixture(scope="module")
def graded_files(course, kernel_run):
    """What grading each subject's module file gives (grade_each: grade --submission's engine)."""
    from grader.grade import ZygoteKeeper, grade_each
    from grader.mutants import written
    from grader.sandbox.spawn import Zygote

    reports, zygote = {}, Zygote()
    try:
        for ex in course.exercises:
            mine = [s for s in subjects(course) if s[0] == ex.id]
            with written([s[2] for s in mine if hasattr(s[2], "source")]) as files:
                paths = {what: files[s] if hasattr(s, "source") else s for _, what, s, _ in mine}

                def graded(path, report, ex_id=ex.id):
                    assert not isinstance(report, BaseException), report
                    reports[(ex_id, next(w for w, p in paths.items() if p == path))] = report.to_dict()

                grade_each(course, ex.id, list(paths.values()), graded, zygotes=ZygoteKeeper(zygote))
    finally:
        zygote.close()
    return reports


def test_every_subject_of_every_exercise_was_checked(course, kernel_run):
    assert {ex for ex, _ in kernel_run["index"]} == {ex.id for ex in course.exercises}
    assert sum(what.startswith("mutant") for _, what in kernel_run["index"]) >= len(course.exercises)


def test_check_all_in_the_kernel_equals_grade_submission(kernel_run, graded_files):
    cells = kernel_run["cells"]
    for key, at in kernel_run["index"].items():
        label = f"In [{cells[at['code']].execution_count}]"
        kernel = _printed(cells[at["all"]])
        expected = graded_files[key]
        assert kernel["problem"] == "" and expected["problem"] == "", (key, kernel["problem"])
        assert kernel["report"]["score"] == expected["score"], key
        assert kernel["report"]["max_score"] == expected["max_score"], key
        assert _tests(kernel["report"], label) == _tests(expected), key


def test_check_of_one_function_equals_that_functions_tests_in_grade(kernel_run, graded_files):
    cells = kernel_run["cells"]
    checked = 0
    for key, at in kernel_run["index"].items():
        label = f"In [{cells[at['code']].execution_count}]"
        for function in (k for k in at if k not in ("code", "all")):
            kernel = _printed(cells[at[function]])["report"]
            expected = [t for t in graded_files[key]["tests"] if t["function"] == function]
            assert expected, (key, function)
            assert _tests(kernel, label) == _tests({"tests": expected}), (key, function)
            assert kernel["score"] == pytest.approx(sum(t["points"] for t in expected), abs=1e-12)
            checked += 1
    assert checked > 0


def test_a_mistake_loses_points_in_the_kernel_too(kernel_run, graded_files):
    """Not a vacuous equality: the catalogued mistakes score below the references."""
    cells = kernel_run["cells"]
    for (ex, what), at in kernel_run["index"].items():
        report = _printed(cells[at["all"]])["report"]
        if what.startswith("mutant"):
            assert report["score"] < report["max_score"], (ex, what)
        else:
            assert report["score"] == report["max_score"], (ex, what)


def test_the_value_a_kernel_shows_as_text_is_the_score(kernel_run):
    """nbgrader reads text/plain as a test cell's partial credit: it must parse as the score."""
    cells = kernel_run["cells"]
    for key, at in kernel_run["index"].items():
        for name in (k for k in at if k != "code"):
            data = _result(cells[at[name]])
            score = _printed(cells[at[name]])["report"]["score"]
            assert float(data["text/plain"]) == score, (key, name, data["text/plain"])
            report = _printed(cells[at[name]])["report"]
            for t in report["tests"]:  # the named mistakes are in what the student sees
                if t["outcome"] != "passed" and t.get("mistake"):
                    assert f"<code>{html.escape(t['mistake'])}</code>" in data["text/html"], (key, t["name"])


def _special(kernel_run, name):
    return kernel_run["cells"][kernel_run["special"][name]]


def test_an_endless_loop_is_a_readable_time_out_and_the_kernel_goes_on(kernel_run):
    report = _printed(_special(kernel_run, "slow"))["report"]
    assert report["score"] == 0 and report["tests"]
    assert all(t["outcome"] == "timeout" for t in report["tests"] if t["function"] == "dropout_forward")
    html = _result(_special(kernel_run, "slow"))["text/html"]
    assert "TIME" in html and "Traceback" not in html
    assert _result(_special(kernel_run, "after_slow"))["text/plain"] == "42"


def test_a_crash_is_a_readable_error_without_a_traceback_of_ours(kernel_run):
    report = _printed(_special(kernel_run, "crash"))["report"]
    assert report["score"] == 0
    assert all(t["outcome"] == "error" and t["message"] for t in report["tests"])
    data = _result(_special(kernel_run, "crash"))
    assert data["text/plain"] == "0.0"
    for text in (data["text/html"], *(t["message"] for t in report["tests"])):
        assert "Traceback" not in text and "grader/" not in text


def test_student_text_is_escaped_and_the_cell_named(kernel_run):
    cell = _special(kernel_run, "raises")
    report = _printed(cell)["report"]
    code_cell = _special(kernel_run, "raises_code")
    assert any(HOSTILE in t["message"] for t in report["tests"])
    # IPython numbers the lines of a cell as it runs them: this cell's raise is on line 2
    assert any(f"In [{code_cell.execution_count}], line 2, in dropout_forward: raise ValueError" in t["message"]
               for t in report["tests"])
    html = _result(cell)["text/html"]
    assert "<img" not in html and "&lt;img src=x onerror=" in html


def test_a_global_the_grader_cannot_be_sent_is_named_and_costs_only_its_function(kernel_run):
    checked = _printed(_special(kernel_run, "global_checked"))
    assert checked["report"] == {} and "dropout_backward uses W, a numpy.ndarray" in checked["problem"]
    assert _result(_special(kernel_run, "global_checked"))["text/plain"] == "0.0"
    other = _special(kernel_run, "global_other")
    assert _printed(other)["report"]["score"] == _printed(other)["report"]["max_score"] > 0
    assert "dropout_backward was not graded: dropout_backward uses W" in _result(other)["text/html"]


def test_a_grading_process_that_dies_gives_a_message_and_the_next_check_starts_another(kernel_run):
    stopped = _printed(_special(kernel_run, "stopped"))
    assert stopped["report"] == {} and "stopped unexpectedly" in stopped["problem"]
    assert _result(_special(kernel_run, "stopped"))["text/plain"] == "0.0"
    assert _printed(_special(kernel_run, "restarted"))["report"]["score"] > 0


def test_importing_grader_notebook_imports_neither_numpy_nor_pytest(tmp_path):
    """What the kernel pays before the first check: no numpy or pytest (the grading process
    imports them), also after making a Grader."""
    code = ("import sys\nimport grader.notebook\nafter_import = sorted(m for m in ('numpy', 'pytest') if m in sys.modules)\n"
            f"g = grader.notebook.Grader('exercise3', course={str(ROOT)!r})\n"
            "after_grader = sorted(m for m in ('numpy', 'pytest') if m in sys.modules)\n"
            "print(after_import, after_grader, 'grader.notebook' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["[]", "[]", "True"]


def _chromium() -> str:
    import shutil

    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.skip("no headless Chromium here (Debian: apt-get install chromium)")
    return found


def _dump_dom(tmp_path: Path, name: str, body: str) -> str:
    page = tmp_path / f"{name}.html"
    page.write_text(f"<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>{body}</body></html>",
                    encoding="utf-8")
    proc = subprocess.run([_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                           f"--user-data-dir={tmp_path / ('profile-' + name)}", "--virtual-time-budget=3000",
                           "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0 and "<body" in proc.stdout, proc.stderr[-2000:]
    return proc.stdout


def test_a_browser_shows_a_hostile_message_as_text_and_runs_none_of_it(kernel_run, tmp_path):
    """The HTML a real kernel sent for a student whose code raised `<img src=x onerror=...>`,
    loaded in headless Chromium: the handler never runs, the text is there, escaped. The
    same string put into a page unescaped does run (so the probe can see an attack)."""
    html = _result(_special(kernel_run, "raises"))["text/html"]
    attacked = re.compile(r"<body[^>]*data-pwned")  # what the handler does when it runs
    control = _dump_dom(tmp_path, "control", HOSTILE)
    assert attacked.search(control)  # the probe works: unescaped, the handler ran
    dom = _dump_dom(tmp_path, "result", html)
    assert not attacked.search(dom)
    assert "<img" not in dom and "&lt;img src=x onerror=" in dom


def test_every_string_of_a_report_is_escaped_in_html():
    from grader.notebook_result import CheckResult

    evil = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    test = {"name": evil, "function": evil, "points": 0.0, "max_points": 1.0, "outcome": "failed",
            "hidden": False, "message": evil, "mistake": evil}
    reply = {"report": {"exercise": evil, "score": 0.0, "max_score": 1.0, "tests": [test, dict(test)],
                        "output": evil, "notes": [evil], "problem": evil},
             "title": evil, "text": evil, "hidden_ran": False, "exercise_points": 2}
    for result in (CheckResult(reply, function=evil), CheckResult(problem=evil, exercise=evil, function=evil)):
        page = result._repr_html_()
        assert "<script" not in page and "<img" not in page and "&lt;script&gt;" in page
    assert CheckResult(reply) == 0.0 and CheckResult(reply, points=4) == 0.0


def test_the_value_on_an_nbgrader_cells_scale():
    """Public tests alone share out the cell's points; with hidden tests, the points earned;
    never above the cell's points; no float noise."""
    from grader.notebook_result import CheckResult

    tests = [{"name": f"f: {i}", "function": "f", "points": p, "max_points": 1.0, "outcome":
              "passed" if p else "failed", "hidden": False, "message": "" if p else "wrong"}
             for i, p in enumerate([1.0] * 24 + [0.0])]
    report = {"exercise": "e", "score": 24.0, "max_score": 25.0, "tests": tests}
    public = CheckResult({"report": report, "hidden_ran": False}, function="f", points=10)
    assert public == 9.6 and repr(float(public)) == "9.6" and public.score == 24.0
    assert CheckResult({"report": report, "hidden_ran": True}, function="f", points=10) == 10.0
    assert CheckResult({"report": report, "hidden_ran": True}, function="f", points=30) == 24.0
    assert CheckResult({"report": report, "hidden_ran": True}, function="f") == 24.0
    assert "Public tests only (25 tests)." in public.text() and "this cell: 9.6 of 10 points" in public.text()


# ---------------------------------------------------------------- without a kernel

def _cell(namespace: dict, source: str, name: str) -> None:
    """Run `source` as a notebook cell would: compiled under a name linecache knows, in a
    namespace whose functions belong to __main__."""
    import linecache

    linecache.cache[name] = (len(source), None, source.splitlines(True), name)
    exec(compile(source, name, "exec"), namespace)


def test_capture_takes_helpers_imports_and_constants_and_refuses_the_rest():
    from grader.notebook_capture import IMPORTS_UNIT, CaptureRefused, capture

    ns = {"__name__": "__main__"}
    _cell(ns, "import numpy as np\nfrom math import sqrt\nEPS = 1e-5\nGAIN = {'he': np.sqrt(2.0)}\n"
              "unused = np.zeros(3)\n", "<cell-a>")
    _cell(ns, "def _scale(p):\n    return 1 / (1 - p)\n\n\n"
              "def dropout_forward(x, p, train, rng, eps=EPS):\n"
              "    return [v * _scale(p) * GAIN['he'] for v in np.atleast_1d(x)], sqrt(eps)\n", "<cell-b>")
    captured = capture(ns, ("dropout_forward", "dropout_backward"))
    assert captured.missing == ("dropout_backward",)
    units = dict(captured.units)
    assert units[IMPORTS_UNIT].splitlines() == [
        "import numpy as np", "from math import sqrt", "EPS = 1e-05",
        "GAIN = {'he': __import__('numpy').float64(1.4142135623730951)}"]
    assert "unused" not in "".join(units.values())
    cell = units["<cell-b>"].splitlines()  # each definition on its own lines of its cell
    assert cell[0] == "def _scale(p):" and cell[4].startswith("def dropout_forward(")
    rebuilt: dict = {}
    for _, source in captured.units:
        exec(source, rebuilt)
    assert rebuilt["dropout_forward"](2.0, 0.5, True, None) == ns["dropout_forward"](2.0, 0.5, True, None)

    _cell(ns, "def dropout_backward(dout, cache):\n    return dout * unused\n", "<cell-c>")
    with pytest.raises(CaptureRefused, match="dropout_backward uses unused, a numpy.ndarray"):
        capture(ns, ("dropout_forward", "dropout_backward"), required="dropout_backward")
    # checking another function (or all): the one that cannot be sent is left out, and said so
    other = capture(ns, ("dropout_forward", "dropout_backward"), required="dropout_forward")
    assert other.units == captured.units and other.missing == ()
    assert other.left_out == ("dropout_backward was not graded: dropout_backward uses unused, a "
                              "numpy.ndarray defined in your notebook; check() can send the grader only "
                              "functions, classes, imports and plain constants (numbers, strings, tuples, "
                              "...). Pass unused to dropout_backward as an argument, or create it inside "
                              "the function",)


def test_capture_sends_a_table_of_the_notebooks_functions_after_them():
    # exercise6's reference keeps INITIALIZERS = {"he_normal": he_normal, ...} beside its functions
    from grader.notebook_capture import TABLES_UNIT, CaptureRefused, capture

    ns = {"__name__": "__main__"}
    _cell(ns, "def he(n):\n    return 2.0 / n\n\n\ndef xavier(n):\n    return 1.0 / n\n\n\n"
              "TABLE = {'he': he, 'xavier': (xavier, 1)}\n\n\n"
              "def init_network(sizes, init, use_batchnorm, rng):\n    return TABLE[init](sizes)\n", "<cell-t>")
    captured = capture(ns, ("init_network",))
    units = dict(captured.units)
    assert units[TABLES_UNIT] == "TABLE = {'he': he, 'xavier': (xavier, 1)}\n"
    assert [name for name, _ in captured.units][-1] == TABLES_UNIT  # after the definitions it names
    rebuilt: dict = {}
    for _, source in captured.units:
        exec(source, rebuilt)
    assert rebuilt["init_network"](4, "he", False, None) == 0.5
    ns["TABLE"] = {"he": ns["he"], "other": print}  # a function that is not the notebook's: refused
    with pytest.raises(CaptureRefused, match="init_network uses TABLE, a dict"):
        capture(ns, ("init_network",), required="init_network")


def test_export_writes_the_module_and_the_report_grade_gives_it(tmp_path):
    from click.testing import CliRunner

    from grader.cli import main
    from grader.notebook import CheckError, Grader

    ns = {"__name__": "__main__"}
    _cell(ns, (ROOT / "solutions" / "exercise3" / "dropout.py").read_text(), "<cell-1>")
    grader = Grader("exercise3", course=ROOT)
    result = grader.export(tmp_path, namespace=ns)
    module, report = tmp_path / "dropout.py", tmp_path / "exercise3_report.json"
    assert result == result.max_score > 0 and module.is_file()
    cli = CliRunner().invoke(main, ["exercise3", "--submission", str(module), "--json", "--course", str(ROOT)])
    assert cli.exit_code == 0
    assert json.loads(report.read_text()) == json.loads(cli.stdout)
    assert grader.export(tmp_path, namespace=ns) == result  # its own files are replaced
    grader.export(tmp_path, zip=True, namespace=ns)
    import zipfile
    with zipfile.ZipFile(tmp_path / "exercise3.zip") as bundle:
        assert sorted(bundle.namelist()) == ["dropout.py", "exercise3_report.json"]
    module.write_text("# the student's own file\n")
    with pytest.raises(CheckError, match="export\\(\\) did not write it"):
        grader.export(tmp_path, namespace=ns)
    assert module.read_text() == "# the student's own file\n"


def test_a_usage_mistake_is_one_line_in_a_notebook():
    from grader.notebook import CheckError, Grader

    with pytest.raises(CheckError, match="did you mean 'exercise3'") as caught:
        Grader("exercis3", course=ROOT)
    assert caught.value._render_traceback_() == [f"CheckError: {caught.value}"]
    with pytest.raises(CheckError, match="did you mean 'dropout_forward'"):
        Grader("exercise3", course=ROOT).check("dropout_foward")


def test_capture_sends_a_class_with_its_base_and_helpers():
    """Exercises whose answers are classes (torch modules): the class's source from its
    cell, its base class and what its methods use."""
    from grader.notebook_capture import capture

    ns = {"__name__": "__main__"}
    _cell(ns, "import math\n\nclass Base:\n    def scale(self):\n        return 1.0\n", "<cell-a>")
    _cell(ns, "def _half(v):\n    return v / 2\n\n\nclass Dropout(Base):\n    p: float = 0.5\n\n"
              "    def __init__(self, p=0.5):\n        self.p = p\n\n"
              "    def forward(self, x):\n        return _half(x) * math.sqrt(self.scale())\n", "<cell-b>")
    captured = capture(ns, ("Dropout",))
    rebuilt: dict = {}
    for _, source in captured.units:
        exec(source, rebuilt)
    assert rebuilt["Dropout"](0.1).forward(8.0) == ns["Dropout"](0.1).forward(8.0) == 4.0
    assert issubclass(rebuilt["Dropout"], rebuilt["Base"])
