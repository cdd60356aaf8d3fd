"""Where a grading's time goes: imports, the phases of a cold `grade`, cProfile of warm gradings.

    .venv/bin/python benchmarks/profile_grade.py                  # all three parts
    .venv/bin/python benchmarks/profile_grade.py --part timeline  # one part
    .venv/bin/python benchmarks/profile_grade.py --submission PATH ...   # other submissions

Parts:
  imports   `python -X importtime -m grader exercise3 --submission ... --json`: the
            top-level imports by cumulative time;
  timeline  one cold grading in a fresh process, with a timestamp at each phase (imports,
            course.yml, pytest set-up, collection, worker spawn, student import, tests,
            teardown), median of --runs;
  cprofile  warm gradings in one process with one zygote (what a `grade batch` worker
            does per student): time per category (waiting for the worker, channel,
            pytest, traceback formatting, ...) and the top functions.

It measures the working tree as it is (no grader code is changed); the timeline part
wraps a few grader and pytest functions from outside and says so when one is missing.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXERCISE = "exercise3"
DEFAULT_SUBMISSIONS = [ROOT / "solutions" / EXERCISE / "dropout.py"]
DEFAULT_MUTANT = "keep_prob_swap"  # graded as the reference with this mutant's overlay
SYNTAX_ERROR = 'def dropout_forward(x, p, train, rng):\n    print "forgot the parentheses"\n'


def mutant_module(folder: Path) -> Path:
    from grader.course import load_course
    from grader.mutants import mutants

    exercise = load_course(ROOT).exercise(EXERCISE)
    return next(m for m in mutants(exercise) if m.name == DEFAULT_MUTANT).write(folder)


def imports(submission: Path) -> None:
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "grader", EXERCISE, "--submission",
                           str(submission), "--json", "--course", str(ROOT)],
                          capture_output=True, text=True, cwd=ROOT)
    rows = []
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)", line)
        if m and not m.group(3):  # top level: imported by the grader (or site), not by a package
            rows.append((int(m.group(2)) / 1000, int(m.group(1)) / 1000, m.group(4)))
    total = sum(r[0] for r in rows)
    print(f"Top-level imports of a cold `grade {EXERCISE} --json`: {total:.0f} ms in all "
          "(importtime inflates this by ~20%)")
    for cumulative, own, name in sorted(rows, reverse=True)[:14]:
        print(f"  {cumulative:7.1f} ms  {name}")
    print()


# ------------------------------------------------------------------ timeline (child process)

def timeline_child(submission: str) -> None:
    """Run in a fresh interpreter: one cold grading with timestamps; print them as key=ms."""
    t0 = time.perf_counter()
    out = os.dup(1)
    marks: dict[str, float] = {}

    def mark(label):
        marks.setdefault(label, (time.perf_counter() - t0) * 1000)

    import click  # noqa: F401 - the CLI imports it first
    mark("import click")
    from grader.sandbox.spawn import Zygote
    zygote = Zygote()  # as the CLI does: first, so its start-up overlaps the imports below
    mark("zygote started (Popen returned)")
    from grader.course import load_course
    course = load_course(ROOT)
    mark("course.yml loaded (yaml)")
    import numpy  # noqa: F401
    mark("import numpy")
    import pytest  # noqa: F401
    mark("import pytest")
    import _pytest.main
    import _pytest.runner

    from grader import grade as grade_module
    from grader import session as session_module
    from grader.sandbox import proxy
    mark("import grader.grade, grader.session, grader.sandbox.proxy")
    missing = []

    def wrap(owner, name, before=None, after=None):
        original = getattr(owner, name, None)
        if original is None:
            missing.append(f"{getattr(owner, '__name__', owner)}.{name}")
            return

        def wrapper(*args, **kwargs):
            if before:
                mark(before)
            result = original(*args, **kwargs)
            if after:
                mark(after)
            return result
        setattr(owner, name, wrapper)

    wrap(session_module, "_run_pytest", before="pytest.main called", after="pytest.main returned")
    wrap(_pytest.main.Session, "perform_collect", before="pytest set-up done, collection starts",
         after="collection done")
    wrap(_pytest.runner, "runtestprotocol", before="first test starts")
    wrap(proxy.Zygote, "spawn", before="worker requested from the zygote", after="worker forked")
    wrap(proxy.Submission, "_start", after="student module imported in the worker")
    report = grade_module.grade(course, EXERCISE, Path(submission), zygote=zygote)
    mark("grade() returned")
    zygote.close()
    os.write(out, (" ".join(f"{k.replace(' ', '_')}={v:.1f}" for k, v in marks.items())
                   + f" score={report.score} missing={','.join(missing)}\n").encode())


def timeline(submission: Path, runs: int) -> None:
    samples: dict[str, list[float]] = {}
    order: list[str] = []
    missing = ""
    for _ in range(runs + 1):
        proc = subprocess.run([sys.executable, __file__, "--timeline-child", str(submission)],
                              capture_output=True, text=True, cwd=ROOT)
        line = proc.stdout.strip().splitlines()[-1]
        for item in line.split():
            key, _, value = item.partition("=")
            if key == "missing":
                missing = value
            elif key != "score":
                if key not in order:
                    order.append(key)
                samples.setdefault(key, []).append(float(value))
    print(f"Phases of one cold grading of {submission.relative_to(ROOT) if submission.is_relative_to(ROOT) else submission} "
          f"in a fresh process (ms since the script's first line, median of {runs}; interpreter start-up "
          "before that is not included):")
    previous = 0.0
    for key in sorted(order, key=lambda k: statistics.median(samples[k][1:] or samples[k])):
        at = statistics.median(samples[key][1:] or samples[key])
        print(f"  {at:7.1f} ms  (+{at - previous:6.1f})  {key.replace('_', ' ')}")
        previous = at
    if missing:
        print(f"  (not found in this version, so not marked: {missing})")
    print()


# ------------------------------------------------------------------ cProfile of warm gradings

CATEGORIES = [
    ("waiting for the worker (recv)", lambda f, n: "recv_into" in n or "recvmsg" in n),
    ("socket send (blocks while the worker reads large arrays)", lambda f, n: "sendall" in n),
    ("channel encode/decode + json (trusted side)", lambda f, n: "channel.py" in f or "/json/" in f),
    ("pickle of requests", lambda f, n: "pickle" in n),
    ("proxy bookkeeping", lambda f, n: "proxy.py" in f),
    ("traceback formatting", lambda f, n: "traceback" in f or "builtins.compile" in n or "_pytest/_code" in f),
    ("pytest collection + fixtures", lambda f, n: any(k in f for k in ("_pytest/fixtures", "_pytest/python.py",
                                                                       "_pytest/nodes", "_pytest/main"))),
    ("pytest other (config, hooks, reports)", lambda f, n: "_pytest" in f or "pluggy" in f),
    ("gc.collect", lambda f, n: "gc.collect" in n),
    ("test and check code", lambda f, n: "/solutions/" in f or "/checks/" in f or "/exercises/" in f),
    ("numpy", lambda f, n: "numpy" in f or "numpy" in n or "ufunc" in n or "ndarray" in n),
    ("paths (posixpath, pathlib)", lambda f, n: "posixpath" in f or "pathlib" in f or "lstat" in n),
]


KEY_STEPS = [
    ("pytest.main (the whole session)", "_pytest/config/__init__.py", "main"),
    ("pytest configuration (options, plugins)", "_pytest/config/__init__.py", "_prepareconfig"),
    ("pytest collection (imports the test modules)", "_pytest/main.py", "perform_collect"),
    ("pytest failure reports (traceback formatting)", "_pytest/reports.py", "_format_failed_longrepr"),
    ("proxied calls (grader.sandbox.proxy.Submission.outcomes)", "grader/sandbox/proxy.py", "outcomes"),
    ("proxied calls (grader.sandbox.proxy.Submission.call)", "grader/sandbox/proxy.py", "call"),
    ("worker start (Submission._start: spawn, import the module)", "grader/sandbox/proxy.py", "_start"),
    ("reply receiving and decoding (channel.recv_reply)", "grader/sandbox/channel.py", "recv_reply"),
    ("request pickling and sending (channel.send_request)", "grader/sandbox/channel.py", "send_request"),
    ("Submission.close (stop the worker)", "grader/sandbox/proxy.py", "close"),
    ("_forget_modules", "grader/grade.py", "_forget_modules"),
]


def cprofile(submissions: list[Path], repeats: int, top: int) -> None:
    from grader.course import load_course
    from grader.grade import ZygoteKeeper, grade_each
    from grader.sandbox.proxy import Zygote

    course = load_course(ROOT)
    zygote = Zygote()

    def session(paths):
        """Grade `paths` in one pytest session (as a batch process does); per-grading wall
        and CPU times, measured from one report to the next, and the last report."""
        marks, reports = [(time.perf_counter(), time.process_time())], []

        def graded(_, report):
            if isinstance(report, BaseException):
                raise report
            marks.append((time.perf_counter(), time.process_time()))
            reports.append(report)
        grade_each(course, EXERCISE, paths, graded, zygotes=ZygoteKeeper(zygote))
        steps = list(zip(marks, marks[1:]))
        return [b[0] - a[0] for a, b in steps], [b[1] - a[1] for a, b in steps], reports[-1]

    try:
        for path in submissions:
            # the first grading of a session also pays for its collection: not counted
            walls, cpus, report = session([path] * (repeats + 1))
            walls, cpus = walls[1:], cpus[1:]
            profile = cProfile.Profile()
            profile.enable()
            session([path] * repeats)
            profile.disable()
            stats = pstats.Stats(profile)
            cats: dict[str, float] = {}
            for (file, _, name), (_, _, own, _, _) in stats.stats.items():
                label = next((c for c, test in CATEGORIES if test(file, name)), "other")
                cats[label] = cats.get(label, 0.0) + own
            total = sum(cats.values())
            print(f"Warm grading of {path.name} (score {report.score:g}/{report.max_score:g}) in a running "
                  f"pytest session, one zygote (a batch process): "
                  f"median {statistics.median(walls) * 1000:.0f} ms wall, "
                  f"{statistics.median(cpus) * 1000:.0f} ms CPU in the grading process; "
                  f"under cProfile {total / repeats * 1000:.0f} ms, split:")
            for label, own in sorted(cats.items(), key=lambda kv: -kv[1]):
                print(f"  {own / repeats * 1000:7.1f} ms  {100 * own / total:4.1f}%  {label}")
            print("  cumulative time of some steps (per grading):")
            for label, file_part, func in KEY_STEPS:
                hits = [v[3] for (file, _, name), v in stats.stats.items() if file_part in file and name == func]
                if hits:
                    print(f"  {max(hits) / repeats * 1000:7.1f} ms  {label}")
            text = io.StringIO()
            stats.stream = text
            stats.sort_stats("tottime").print_stats(top)
            body = text.getvalue()
            print("  top functions by own time (all repeats):")
            print("\n".join("    " + line for line in body[body.index("ncalls"):].strip().splitlines()))
            print()
    finally:
        zygote.close()


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--timeline-child":
        timeline_child(sys.argv[2])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=["imports", "timeline", "cprofile"], action="append")
    parser.add_argument("--submission", type=Path, action="append",
                        help="a submission to profile (default: the reference, a mutant and a "
                             "syntax error); the first is used for imports and the timeline")
    parser.add_argument("--runs", type=int, default=5, help="cold runs for the timeline")
    parser.add_argument("--repeats", type=int, default=3, help="warm gradings per submission")
    parser.add_argument("--top", type=int, default=15, help="functions to list")
    args = parser.parse_args()
    parts = args.part or ["imports", "timeline", "cprofile"]
    submissions = args.submission
    scratch = None
    if not submissions:
        import tempfile
        scratch = Path(tempfile.mkdtemp(prefix="grader-profile-"))
        broken = scratch / "syntax_error.py"
        broken.write_text(SYNTAX_ERROR)
        submissions = [*DEFAULT_SUBMISSIONS, mutant_module(scratch), broken]
    print(f"load average {[round(x, 2) for x in os.getloadavg()]} on {os.cpu_count()} cores\n")
    if "imports" in parts:
        imports(submissions[0])
    if "timeline" in parts:
        timeline(submissions[0], args.runs)
    if "cprofile" in parts:
        cprofile(submissions, args.repeats, args.top)
    if scratch:
        import shutil
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
