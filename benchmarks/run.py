"""Benchmark: the grader against `python -c "import numpy, pytest"` and real nbgrader.

How to run (from the repository root, in the environment the grader is installed in,
with nbgrader and ipykernel for part 3, i.e. `pip install -e ".[dev]"`; the script
installs nothing):

    .venv/bin/python benchmarks/run.py                      # the full run, about 10 minutes (nbgrader takes most of it)
    .venv/bin/python benchmarks/run.py --quick              # a smaller run, about 2 minutes
    .venv/bin/python benchmarks/run.py --out results.json   # also write the figures as JSON

It prints the machine's description and a table, and measures side by side in one run:

1. cold start: a student's `grade exercise3 --submission solutions/exercise3` as a whole
   process, run in the bundle students get (`grade release`: public tests, recorded
   reference answers), median of --runs, next to `python -c "import numpy, pytest"`
   (target: at most 2x); the same command in this repository (an instructor's: public and
   hidden tests, live reference), with its peak memory (the largest RSS of any process in
   its tree, from wait4); and the peak
   RSS of the sandboxed worker that runs the student's code, which a special submission
   (the reference solution, wrapped) prints after each call (target: at most 300 MB);
2. `grade batch exercise3` on --count generated submissions (default 100: correct ones,
   the catalogued mutants, and broken ones: a syntax error, a missing module, os._exit at
   import, an endless loop on 3-D input), with `--jobs 1` and `--jobs 2`, and the same
   students one after another in one session in this process, timed by kind of submission
   (where the time goes);
3. the same submissions as notebooks, graded by real `nbgrader autograde` on the course
   that `grade nbgrader build` writes, and the ratio batch(--jobs 2) / nbgrader throughput
   (target: at least 20x); --nbgrader-count N autogrades the first N only (the order is
   stratified, so every prefix holds the same mix) and extrapolates per-submission time;
4. the sandbox's overhead per proxied call (grader.sandbox.proxy.Submission against a
   direct call), for small arrays and for a 250k-element float64 array;
5. what each isolation layer costs, side by side: a worker's start and a small call's
   round trip with no isolation, with the namespaces and Landlock, and adding the
   read-only filesystem view, the system call filter and the control group in turn;
6. (benchmarks/scaling.py) the CPU each exercise costs per student, and the core-hours
   for 1k, 10k and 100k students;
7. (benchmarks/scaling.py, needs dl-grader[dask]) the --count submissions through
   `grade batch --scheduler` on a 2-worker Dask LocalCluster against `--jobs 2` (target:
   within 1.3x), and the cluster's start-up time:

    .venv/bin/python benchmarks/run.py --only cost dask
8. `grader.check(...)` in a live Jupyter kernel, in the student release (benchmarks/
   notebook_check.py): the first check, warm checks of one function and of the whole
   exercise (target: under 1 s), side by side with a student's cold `grade exercise3`,
   and the memory the kernel and its grading process add.
9. exercise6 once, with its experiments and figures (`--only experiments`).
10. exercise5, whose workers fork from the zygote that imported torch: cold grades against
   `python -c "import torch, pytest"`, the worker's peak memory, and `grade batch` per
   student next to exercise3's (benchmarks/torch_exercise.py).

Submissions are generated deterministically (--seed). Other processes on the machine
skew every figure: the load average is printed before and after each part.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import importlib.util
import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXERCISE = "exercise3"
FUNCTIONS = ("dropout_forward", "dropout_backward", "vanilla_dropout_forward", "vanilla_dropout_backward")
# How many of every 100 generated submissions are of each kind (the rest of a smaller
# --count is scaled down, keeping at least one of each).
MIX = {"correct": 30, "mistaken": 50, "syntax error": 6, "missing module": 6,
       "os._exit at import": 6, "endless loop (3-D input)": 2}
CORRECT_WEIGHTS = {"reference": 12, "binomial": 8, "uniform_where": 8, "loops": 2}


# ================================================================ processes and machine

def venv_env() -> dict:
    """nbgrader runs `alembic` and the python3 kernel from PATH: this environment's bin first."""
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}


def grade_cmd() -> list[str]:
    script = Path(sys.executable).with_name("grade")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "grader"]


def run_timed(cmd: list[str], *, cwd: Path = ROOT, env: dict | None = None, timeout: float = 3600):
    """Run a command; return (wall seconds, peak RSS in MB of any process in its tree, the
    CompletedProcess-like result with .cpu_seconds). The peak and the CPU time come from
    wait4(): the child's own and those of every descendant it waited for (the grader's
    zygote waits for its workers)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.002)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        result = subprocess.CompletedProcess(cmd, proc.returncode, out.read().decode(errors="replace"),
                                             err.read().decode(errors="replace"))
        result.cpu_seconds = usage.ru_utime + usage.ru_stime
    return wall, usage.ru_maxrss / 1024, result


def check(result, what: str) -> None:
    if result.returncode != 0:
        raise SystemExit(f"{what} failed with exit status {result.returncode}:\n{result.stderr[-3000:]}")


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def machine() -> dict:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_gb = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gb = round(int(line.split()[1]) / 2**20, 1)
    versions = {}
    for name in ("numpy", "pytest", "nbgrader", "nbclient", "ipykernel"):
        with contextlib.suppress(Exception):
            from importlib.metadata import version
            versions[name] = version(name)
    git = {}
    with contextlib.suppress(Exception):
        head = subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%h %s"], capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "grader", "solutions",
                                "exercises", "course.yml"], capture_output=True, text=True, timeout=10).stdout
        git = {"head": head, "uncommitted": [line[3:] for line in dirty.splitlines()]}
    return {"cpu": cpu, "cores": os.cpu_count(), "git": git, "usable_cores": len(os.sched_getaffinity(0)),
            "memory_gb": mem_gb, "python": platform.python_version(), "kernel": platform.release(),
            "platform": platform.platform(), "versions": versions, "loadavg_start": loadavg()}


def median(xs):
    return statistics.median(xs) if xs else None


# ================================================================ 1. cold start and memory

PEAK_WRAPPER = '''

# ---- benchmark only: report this worker's peak memory after every call (stdout) ----
import functools as _bench_functools
import resource as _bench_resource

_bench_peak = [0]


def _bench_report(fn):
    @_bench_functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        finally:
            hwm = None
            try:
                with open("/proc/self/status") as status:
                    hwm = next(int(l.split()[1]) for l in status if l.startswith("VmHWM:"))
            except (OSError, StopIteration, ValueError):
                pass  # the sandbox does not let the worker read /proc: ru_maxrss then
            peak = max(hwm or 0, _bench_resource.getrusage(_bench_resource.RUSAGE_SELF).ru_maxrss)
            if peak > _bench_peak[0]:
                _bench_peak[0] = peak
                print(f"BENCH_PEAK_KB {peak} {'VmHWM' if hwm else 'ru_maxrss'}", flush=True)
    return wrapper


for _bench_name in FUNCTIONS:
    globals()[_bench_name] = _bench_report(globals()[_bench_name])
'''


def bench_cold(runs: int, work: Path) -> dict:
    """A student's cold `grade` (in the release bundle students get: public tests, recorded
    reference answers) and an instructor's (this repository: public and hidden tests, live
    reference), each a whole process, interleaved with the baseline so load hits all alike."""
    reference = ROOT / "solutions" / EXERCISE
    release = work / "student_release"
    _, _, result = run_timed([*grade_cmd(), "release", str(release), "--course", str(ROOT)])
    check(result, "grade release")
    baseline_cmd = [sys.executable, "-c", "import numpy, pytest"]
    student_cmd = [*grade_cmd(), EXERCISE, "--submission", str(reference)]
    cmd = [*student_cmd, "--course", str(ROOT)]
    baseline, cold, base_rss, cold_rss, base_cpu, cold_cpu = [], [], [], [], [], []
    student, student_cpu = [], []
    load_before = loadavg()
    for i in range(runs + 1):  # the first round warms the page cache and is not counted
        wall, rss, result = run_timed(baseline_cmd)
        check(result, "python -c 'import numpy, pytest'")
        if i:
            baseline.append(wall)
            base_rss.append(rss)
            base_cpu.append(result.cpu_seconds)
        wall, _, result = run_timed(student_cmd, cwd=release)
        check(result, " ".join(student_cmd) + " (in the student release)")
        if i:
            student.append(wall)
            student_cpu.append(result.cpu_seconds)
        student_score = re.search(r"Score: ([\d.]+) / ([\d.]+)", result.stdout)
        wall, rss, result = run_timed(cmd)
        check(result, " ".join(cmd))
        if i:
            cold.append(wall)
            cold_rss.append(rss)
            cold_cpu.append(result.cpu_seconds)
    score = re.search(r"Score: ([\d.]+) / ([\d.]+)", result.stdout)

    # The worker's own peak: the reference solution, wrapped to print its peak after each call.
    peak_dir = work / "peak_submission"
    peak_dir.mkdir(parents=True, exist_ok=True)
    source = (reference / "dropout.py").read_text()
    (peak_dir / "dropout.py").write_text(source + PEAK_WRAPPER.replace(
        "FUNCTIONS", repr(FUNCTIONS)))
    wall, rss, result = run_timed([*grade_cmd(), EXERCISE, "--submission", str(peak_dir), "--json"])
    check(result, "grade of the memory-reporting submission")
    report = json.loads(result.stdout)
    peaks = [(int(kb), how) for kb, how in re.findall(r"BENCH_PEAK_KB (\d+) (\w+)", report["output"])]
    worker_kb, how = max(peaks) if peaks else (None, None)
    return {
        "grade_cmd": " ".join(cmd), "runs": runs,
        "grade_seconds": {"median": median(cold), "min": min(cold), "max": max(cold), "all": cold},
        "student_cmd": " ".join(student_cmd) + "   (cwd: a release bundle from `grade release`)",
        "student_seconds": {"median": median(student), "min": min(student), "max": max(student),
                            "all": student},
        "student_cpu_seconds_median": median(student_cpu),
        "student_score": f"{student_score.group(1)} / {student_score.group(2)}" if student_score else None,
        "student_ratio": median(student) / median(baseline),
        "baseline_cmd": " ".join(baseline_cmd),
        "baseline_seconds": {"median": median(baseline), "min": min(baseline), "max": max(baseline),
                             "all": baseline},
        "ratio": median(cold) / median(baseline), "ratio_target": 2.0,
        "grade_cpu_seconds_median": median(cold_cpu), "baseline_cpu_seconds_median": median(base_cpu),
        "grade_score": f"{score.group(1)} / {score.group(2)}" if score else None,
        "grade_peak_rss_mb": max(cold_rss), "baseline_peak_rss_mb": max(base_rss),
        "worker_peak_rss_mb": worker_kb / 1024 if worker_kb else None, "worker_peak_source": how,
        "worker_peak_target_mb": 300, "worker_report_score": report["score"],
        "loadavg_before": load_before, "loadavg_after": loadavg(),
    }


# ================================================================ 2. generated submissions

def split(source: str, path: Path) -> tuple[str, dict]:
    from grader.course import load_course
    from grader.nbgrader import split_module

    exercise = load_course(ROOT).exercise(EXERCISE)
    return split_module(source, exercise, path)


def parts_of(path: Path) -> tuple[str, dict]:
    return split(path.read_text(encoding="utf-8"), path)


def catalogue() -> list:
    from grader.course import load_course
    from grader.mutants import mutants

    return mutants(load_course(ROOT).exercise(EXERCISE))


def insert_after_def(function_source: str, lines: str) -> str:
    head, _, body = function_source.partition("\n")
    return f"{head}\n{lines}\n{body}"


def kind_counts(count: int) -> dict:
    counts = {k: max(1, round(v * count / 100)) for k, v in MIX.items()}
    counts["mistaken"] += count - sum(counts.values())
    return counts


def generate(count: int, seed: int) -> list[dict]:
    """`count` submissions: {"id", "kind", "label", "setup", "functions"}, in an order where
    every prefix holds about the same mix (so a prefix can stand for the whole)."""
    rng = random.Random(seed)
    solutions = ROOT / "solutions" / EXERCISE
    reference = parts_of(solutions / "dropout.py")
    correct = {"reference": reference, **{p.stem: parts_of(p) for p in sorted((solutions / "variants").glob("*.py"))}}
    mutants = {m.name: split(m.source, m.path) for m in catalogue()}  # each overlaid on the reference
    setup, functions = reference
    counts = kind_counts(count)
    by_kind: dict[str, list] = {}

    pool = [name for name, w in CORRECT_WEIGHTS.items() if name in correct for _ in range(w)]
    by_kind["correct"] = [(name, *correct[name]) for name in rng.sample(pool * 3, counts["correct"])]
    names = sorted(mutants)
    chosen = (names * (counts["mistaken"] // len(names) + 1))[:counts["mistaken"]]
    rng.shuffle(chosen)
    by_kind["mistaken"] = [(name, *mutants[name]) for name in chosen]

    def broken(label, setup_extra="", fn=None, change=None):
        fns = dict(functions)
        if fn:
            fns[fn] = change(fns[fn])
        return (label, setup + setup_extra, fns)

    by_kind["syntax error"] = [broken("print statement (Python 2) in dropout_backward", fn="dropout_backward",
                                      change=lambda s: insert_after_def(s, '    print "dout", dout.shape'))]
    by_kind["missing module"] = [broken("import of a helper module not handed in",
                                        "\nimport dropout_helpers  # the student's own file, not handed in")]
    by_kind["os._exit at import"] = [broken("os._exit(3) at import", "\nimport os\nos._exit(3)")]
    by_kind["endless loop (3-D input)"] = [broken(
        "vanilla_dropout_backward loops forever on 3-D input", fn="vanilla_dropout_backward",
        change=lambda s: insert_after_def(s, "    while dout.ndim == 3:  # meant: an if\n        pass"))]
    for kind in ("syntax error", "missing module", "os._exit at import", "endless loop (3-D input)"):
        by_kind[kind] = by_kind[kind] * counts[kind]

    keyed = []
    for k_index, (kind, items) in enumerate(by_kind.items()):
        for j, item in enumerate(items):
            keyed.append(((j + 0.5) / len(items), k_index, kind, item))
    keyed.sort(key=lambda t: (t[0], t[1]))
    return [{"id": f"student{i:03d}", "kind": kind, "label": label, "setup": s, "functions": f}
            for i, (_, _, kind, (label, s, f)) in enumerate(keyed)]


def module_source(sub: dict) -> str:
    return "\n\n\n".join([sub["setup"].strip(), *(sub["functions"][f].strip() for f in FUNCTIONS)]) + "\n"


def write_submissions(subs: list[dict], dest: Path) -> None:
    for sub in subs:
        folder = dest / sub["id"]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "dropout.py").write_text(module_source(sub), encoding="utf-8")


def read_csv(path: Path) -> dict:
    with open(path, newline="") as f:
        return {row["student_id"]: row for row in csv.DictReader(f)}


def bench_batch(subs: list[dict], folder: Path, work: Path, jobs: int, tag: str, exercise: str = EXERCISE) -> dict:
    out = work / f"batch_{tag}_jobs{jobs}.csv"
    load_before = loadavg()
    cmd = [*grade_cmd(), "batch", exercise, str(folder), "--out", str(out), "--jobs", str(jobs),
           "--course", str(ROOT)]
    wall, rss, result = run_timed(cmd)
    check(result, " ".join(cmd))
    rows = read_csv(out)
    per_kind: dict = {}
    for sub in subs:
        row = rows.get(sub["id"])
        k = per_kind.setdefault(sub["kind"], {"n": 0, "scores": [], "errors": 0})
        k["n"] += 1
        if row is None or row["error"]:
            k["errors"] += 1
        else:
            k["scores"].append(float(row["score"]))
    for k in per_kind.values():
        scores = k.pop("scores")
        k["mean_score"] = round(sum(scores) / len(scores), 2) if scores else None
    return {"cmd": " ".join(cmd), "jobs": jobs, "students": len(subs), "rows": len(rows),
            "seconds": wall, "per_student_ms": 1000 * wall / len(subs),
            "throughput_per_s": len(subs) / wall, "peak_rss_mb": rss, "per_kind": per_kind,
            "scores": {sid: float(r["score"]) for sid, r in rows.items() if not r["error"]},
            "errors": {sid: r["error"] for sid, r in rows.items() if r["error"]},
            "summary": result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "",
            "loadavg_before": load_before, "loadavg_after": loadavg()}


def bench_by_kind(subs: list[dict], folder: Path) -> dict:
    """Where the batch's time goes: the students graded one after another in one pytest
    session in this process (what one batch process does), each timed from one report to
    the next, summed by kind of submission."""
    from grader.course import load_course
    from grader.grade import grade_each

    kinds = {folder / s["id"]: s["kind"] for s in subs}
    labels = {folder / s["id"]: s["label"] for s in subs}
    times: dict = {}
    last = [time.perf_counter()]

    def graded(path, report):
        now = time.perf_counter()
        times.setdefault(kinds[path], []).append((now - last[0], labels[path]))
        last[0] = now

    start = time.perf_counter()
    grade_each(load_course(ROOT), EXERCISE, list(kinds), graded)
    out = {"seconds": time.perf_counter() - start, "kinds": {}}
    for kind, rows in times.items():
        seconds = [t for t, _ in rows]
        slowest = max(rows)
        out["kinds"][kind] = {"n": len(rows), "sum": sum(seconds), "median_ms": 1000 * median(seconds),
                              "max_ms": 1000 * slowest[0], "slowest": slowest[1]}
    return out


# ================================================================ 3. nbgrader

def nbgrader_available() -> str | None:
    for module in ("nbgrader", "nbformat", "ipykernel"):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed (pip install -e '.[nbgrader]')"
    return None


def nbgrader(root: Path, *args: str, must_succeed: bool = True) -> tuple[float, subprocess.CompletedProcess]:
    wall, _, result = run_timed([sys.executable, "-m", "nbgrader", *args], cwd=root, env=venv_env())
    if must_succeed:
        check(result, f"nbgrader {' '.join(args)}")
    return wall, result


def notebook_for(sub: dict, release) -> object:
    """The release notebook with the submission's code in its answer cells; module-level
    code (imports, helpers, the broken lines) goes at the top of the first answer cell."""
    import copy

    nb = copy.deepcopy(release)
    cells = {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells if "nbgrader" in c.metadata}
    setup_cell = cells.get("setup")
    extra = sub["setup"].strip()
    if setup_cell is not None and extra == setup_cell.source.strip():
        extra = ""
    for i, name in enumerate(FUNCTIONS):
        code = sub["functions"][name].strip()
        cells[name].source = f"{extra}\n\n\n{code}" if i == 0 and extra else code
    return nb


def bench_nbgrader(subs: list[dict], work: Path, n: int) -> dict:
    import nbformat

    root = work / "nbgrader_course"
    load_before = loadavg()
    wall_build, _, result = run_timed([*grade_cmd(), "nbgrader", "build", str(root), EXERCISE, "--course", str(ROOT)])
    check(result, "grade nbgrader build")
    wall_generate, _ = nbgrader(root, "generate_assignment", EXERCISE)
    release = nbformat.read(root / "release" / EXERCISE / f"{EXERCISE}.ipynb", as_version=4)
    chosen = subs[:n]
    for sub in chosen:
        path = root / "submitted" / sub["id"] / EXERCISE / f"{EXERCISE}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook_for(sub, release), path)
    # autograde exits 1 when a notebook could not be graded (its kernel died: os._exit);
    # it goes on with the others, and the failed ones get no score.
    # nbgrader's own start-up, measured on a student with no notebook (it starts, finds
    # nothing, exits 1): the fixed part of an autograde run, used to extrapolate a subset.
    startup, _ = nbgrader(root, "autograde", EXERCISE, "--student", "nobody_benchmark", must_succeed=False)
    wall, result = nbgrader(root, "autograde", EXERCISE, must_succeed=False)
    failed = sorted(set(re.findall(r"error processing assignment '[^']*' for student '([^']+)'", result.stderr)))
    if result.returncode != 0 and not failed:
        check(result, "nbgrader autograde")
    scores = {}
    with contextlib.suppress(Exception):
        from nbgrader.api import Gradebook

        with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
            for sub in chosen:
                with contextlib.suppress(Exception):
                    scores[sub["id"]] = float(gb.find_submission(EXERCISE, sub["id"]).score)
    mix: dict = {}
    for sub in chosen:
        mix[sub["kind"]] = mix.get(sub["kind"], 0) + 1
    if n < len(subs):  # nbgrader's start-up once, plus the measured marginal cost per notebook
        estimated = startup + (wall - startup) / n * len(subs)
    else:
        estimated = wall
    per = estimated / len(subs)
    return {"graded": n, "of": len(subs), "extrapolated": n < len(subs), "mix": mix,
            "startup_seconds": startup,
            "exit_status": result.returncode, "failed": {sid: next(s["kind"] for s in chosen if s["id"] == sid)
                                                         for sid in failed},
            "seconds": wall, "per_student_ms": 1000 * per, "throughput_per_s": 1 / per,
            "measured_per_student_ms": 1000 * wall / n, "seconds_for_all": estimated, "scores": scores,
            "build_seconds": wall_build, "generate_assignment_seconds": wall_generate,
            "submitted_dir": str(root / "submitted"),
            "loadavg_before": load_before, "loadavg_after": loadavg()}


# ================================================================ 4. proxied calls

TRIVIAL = '''
def dropout_forward(x, p, train, rng):
    return x, None


def dropout_backward(dout, cache):
    return dout


def vanilla_dropout_forward(x, p, train, rng):
    return x, None


def vanilla_dropout_backward(dout, cache):
    return dout
'''


def per_call_us(fn, calls: int, warmup: int = 20) -> dict:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(calls):
        t = time.perf_counter_ns()
        fn()
        times.append(time.perf_counter_ns() - t)
    times.sort()
    return {"median_us": times[len(times) // 2] / 1000, "p90_us": times[int(len(times) * 0.9)] / 1000,
            "calls": calls}


def bench_proxy(calls_small: int, calls_big: int, work: Path) -> dict:
    import pickle

    import numpy as np

    from grader.course import load_course
    from grader.sandbox import channel, worker
    from grader.sandbox.proxy import Submission

    exercise = load_course(ROOT).exercise(EXERCISE)
    folder = work / "trivial"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dropout.py").write_text(TRIVIAL)
    spec = importlib.util.spec_from_file_location("bench_trivial_dropout", folder / "dropout.py")
    direct = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(direct)

    data = np.random.default_rng(0)
    small = data.standard_normal((4, 5))
    big = data.standard_normal((500, 500))  # 250,000 float64 = 2 MB
    rng = np.random.default_rng(1)
    cases = [
        ("small: dropout_forward(x 4x5, 0.5, True, rng)", "dropout_forward", (small, 0.5, True, rng), calls_small),
        ("small: dropout_backward(dout 4x5, None)", "dropout_backward", (small, None), calls_small),
        ("250k float64: dropout_backward(dout 500x500, None)", "dropout_backward", (big, None), calls_big),
        ("250k float64 + rng: dropout_forward(x 500x500, 0.5, True, rng)", "dropout_forward",
         (big, 0.5, True, rng), calls_big),
    ]
    load_before = loadavg()
    out = {}
    with Submission(exercise, folder / "dropout.py") as student:
        for label, name, args, calls in cases:
            proxied = per_call_us(lambda: getattr(student, name)(*args), calls)
            local = per_call_us(lambda: getattr(direct, name)(*args), calls)
            out[label] = {"proxied": proxied, "direct": local,
                          "overhead_us": proxied["median_us"] - local["median_us"]}
        batch = getattr(student, "outcomes", None) or getattr(student, "call_many", None)
        if batch is not None:  # several calls in one round trip (numerical gradients)
            many = 100
            label = f"small, {many} per round trip: {batch.__name__}(dropout_backward, 4x5)"
            batched = per_call_us(lambda: batch("dropout_backward", [((small, None), {})] * many),
                                  max(10, calls_small // many))
            per = {k: (v / many if k != "calls" else v * many) for k, v in batched.items()}
            local = per_call_us(lambda: direct.dropout_backward(small, None), calls_small)
            out[label] = {"proxied": per, "direct": local, "overhead_us": per["median_us"] - local["median_us"]}

    # What one call costs besides the round trip, part by part (median µs; the worker's
    # parts are the same functions timed here).
    def reply(x):  # what the worker sends back for one call
        return {"ok": True, "outcomes": [{"ok": True, "result": (x, None), "changed": {}}]}

    request_big = {"function": "dropout_backward", "args": [big, None]}
    request_small = {"function": "dropout_forward", "args": [small, 0.5, True, rng]}
    encoded_small, encoded_big = channel.encode(reply(small)), channel.encode(reply(big))
    def argument_check(a):
        """How the worker tells whether a call changed an argument (whichever this version has)."""
        if hasattr(worker, "_snapshot"):
            return lambda: worker._same(worker._snapshot(a), a)
        return lambda: [worker._digest(a), worker._digest(a)]

    encode = getattr(channel, "encode_parts", channel.encode)
    parts = {
        "pickle request (small + Generator)": lambda: pickle.dumps(request_small, protocol=5),
        "unpickle request (small + Generator)": lambda b=pickle.dumps(request_small, protocol=5): pickle.loads(b),
        "pickle request (250k)": lambda: pickle.dumps(request_big, protocol=5),
        "worker: np.random.seed before each call": lambda: np.random.seed(worker.GLOBAL_SEED),
        "worker: Generator state to send back": lambda: rng.bit_generator.state,
        "worker: did the call change its argument? (small)": argument_check(small),
        "worker: did the call change its argument? (250k)": argument_check(big),
        "encode reply (small)": lambda: encode(reply(small)),
        "encode reply (250k)": lambda: encode(reply(big)),
        "decode reply (small)": lambda: channel.decode(encoded_small),
        "decode reply (250k)": lambda: channel.decode(encoded_big),
        "trusted: set the Generator state": lambda s=rng.bit_generator.state: setattr(rng.bit_generator, "state", s),
    }
    timed = {}
    for label, fn in parts.items():
        try:
            timed[label] = per_call_us(fn, 100 if "250k" in label else 500)["median_us"]
        except Exception as exc:  # noqa: BLE001 - a part this version of the grader does not have
            timed[label] = f"n/a ({type(exc).__name__}: {exc})"
    return {"cases": out, "parts_us": timed,
            "loadavg_before": load_before, "loadavg_after": loadavg()}


# ================================================================ 5. isolation layers

# Each row leaves out the layers named (the leave_out of grader.sandbox.proxy.Submission and
# Zygote, for tests and benchmarks); the rows are measured side by side, round robin, each
# with its own zygote.
ISOLATION_ROWS = [
    ("none (no namespaces, Landlock, filter or cgroup)", {"namespaces", "mounts", "cgroup", "landlock", "seccomp"}),
    ("namespaces (user, PID, net, IPC, UTS, cgroup) + Landlock", {"mounts", "cgroup", "seccomp"}),
    ("  + the read-only view (mounts, covers, tmpfs folder, /proc)", {"cgroup", "seccomp"}),
    ("  + the system call filter", {"cgroup"}),
    ("  + a control group (memory.max, pids.max): all layers", set()),
]


def bench_isolation(starts: int, calls: int, work: Path) -> dict:
    """What each layer costs: a worker's start (fork, confinement, the ready frame, importing
    the module: `Submission._start`), and a small call's round trip once it runs."""
    import warnings

    import numpy as np

    from grader.course import load_course
    from grader.sandbox import cgroups, isolate, seccomp
    from grader.sandbox.proxy import Submission, Zygote

    exercise = load_course(ROOT).exercise(EXERCISE)
    folder = work / "isolation"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dropout.py").write_text(TRIVIAL)
    small = np.random.default_rng(0).standard_normal((4, 5))
    load_before = loadavg()
    zygotes = {label: Zygote(leave_out=frozenset(out)) for label, out in ISOLATION_ROWS}
    start_ms = {label: [] for label, _ in ISOLATION_ROWS}
    call_us = {}
    problems = {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            students = {label: Submission(exercise, folder / "dropout.py", zygote=zygotes[label],
                                          leave_out=frozenset(out))
                        for label, out in ISOLATION_ROWS}
            for student in students.values():  # warm: the zygote's first spawn, the first folder
                student.MAX_RESTARTS = starts + 10  # a restart here is the benchmark's, not a crash
                student.dropout_backward(small, None)
            for _ in range(starts):
                for label, student in students.items():
                    student._stop_worker()
                    t = time.perf_counter_ns()
                    student._start()
                    start_ms[label].append((time.perf_counter_ns() - t) / 1e6)
            for label, student in students.items():
                call_us[label] = per_call_us(lambda s=student: s.dropout_backward(small, None), calls)
                problems[label] = [p for p in student.isolation_problems if "left out" not in p]
            for student in students.values():
                student.close()
    finally:
        for zygote in zygotes.values():
            zygote.close()
    try:
        groups = f"cgroup v{cgroups.Groups().version}"
    except cgroups.Unavailable as exc:
        groups = f"unavailable ({exc})"
    parts = isolation_parts(starts, folder)
    rows = {}
    for label, _ in ISOLATION_ROWS:
        times = sorted(start_ms[label])
        rows[label] = {"start_ms_median": median(times), "start_ms_p90": times[int(len(times) * 0.9)],
                       "call_us_median": call_us[label]["median_us"], "call_us_p90": call_us[label]["p90_us"],
                       "problems": problems[label]}
    return {"rows": rows, "parts_ms": parts, "starts": starts, "calls": calls, "landlock_abi": isolate.landlock_abi(),
            "seccomp": "x86_64/aarch64 filter" if seccomp.program() else "none for this architecture",
            "cgroup": groups, "loadavg_before": load_before, "loadavg_after": loadavg()}


def isolation_parts(n: int, folder: Path) -> dict:
    """Each step of a worker's confinement timed alone (median ms of n): a control group made
    and removed (in the zygote), and, in a forked child as the zygote's middle process and
    the worker do it, the namespaces, the filesystem view, dropping capabilities, Landlock
    and the system call filter."""
    import json as json_

    from grader.sandbox import cgroups, isolate, mounts

    out: dict = {}
    try:
        groups = cgroups.Groups()
        times = []
        for _ in range(n):
            t = time.perf_counter_ns()
            paths = groups.make()
            cgroups.limit(paths, 512 << 20)
            cgroups.remove(paths)
            times.append((time.perf_counter_ns() - t) / 1e6)
        out["control group: make, limit and remove (zygote; a spare is made while the previous worker runs)"] = median(times)
    except cgroups.Unavailable:
        pass
    readable = isolate.readable_paths((str(ROOT),))
    steps: dict = {}
    for _ in range(n):
        private = tempfile.mkdtemp(prefix="grader-bench-")
        (Path(private) / "dropout.py").write_text(TRIVIAL)
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the middle process's and the worker's steps, in one child
            try:
                os.close(r)
                marks = [("start", time.perf_counter_ns())]
                namespaces, _ = isolate.unshare_namespaces()
                marks.append(("namespaces (unshare, id maps)", time.perf_counter_ns()))
                if "mount" in namespaces:
                    isolate.limit_namespaces(namespaces)
                    mounts.build(isolate.libc(), private=private, folder_mb=64,
                                 readable=readable, own_pid_namespace=False)
                    marks.append(("read-only view (mounts, covers, tmpfs folder)", time.perf_counter_ns()))
                isolate.drop_capabilities()
                marks.append(("capabilities dropped", time.perf_counter_ns()))
                isolate.landlock(list(readable), [private, "/dev/null"])
                marks.append(("Landlock", time.perf_counter_ns()))
                isolate.system_call_filter()
                marks.append(("system call filter", time.perf_counter_ns()))
                os.write(w, json_.dumps({b[0]: (b[1] - a[1]) / 1e6 for a, b in zip(marks, marks[1:])}).encode())
            finally:
                os._exit(0)
        os.close(w)
        with os.fdopen(r) as f:
            for step, ms in json_.loads(f.read() or "{}").items():
                steps.setdefault(step, []).append(ms)
        os.waitpid(pid, 0)
        import shutil
        shutil.rmtree(private, ignore_errors=True)
    out.update({f"{step} (worker)": median(times) for step, times in steps.items()})
    return out


# ================================================================ report

def bench_notebook_part(runs: int, work: Path) -> dict:
    """Part 6, with a student's cold `grade exercise3` in the same release beside it."""
    spec = importlib.util.spec_from_file_location("notebook_check", Path(__file__).with_name("notebook_check.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    bench_notebook = module.bench_notebook

    release = work / "student_release"
    if not release.is_dir():
        _, _, result = run_timed([*grade_cmd(), "release", str(release), "--course", str(ROOT)])
        check(result, "grade release")
    out = bench_notebook(runs, release)
    cold = []
    for i in range(runs + 1):  # the first warms the page cache
        wall, _, result = run_timed([*grade_cmd(), EXERCISE, "--submission", str(ROOT / "solutions" / EXERCISE)],
                                    cwd=release)
        check(result, "grade in the student release")
        if i:
            cold.append(wall)
    out["grade_cold_seconds"] = {"median": median(cold), "min": min(cold), "max": max(cold), "all": cold}
    return out


def table(rows: list[tuple]) -> str:
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for n, r in enumerate(rows):
        lines.append("  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def print_report(res: dict) -> None:
    _print_report(res)
    if res.get("experiments"):
        print_experiments(res["experiments"])


def _print_report(res: dict) -> None:
    m = res["machine"]
    print(f"Machine: {m['cpu']}, {m['cores']} cores ({m['usable_cores']} usable), {m['memory_gb']} GB, "
          f"Linux {m['kernel']}, Python {m['python']}, "
          + ", ".join(f"{k} {v}" for k, v in m["versions"].items()))
    print(f"Load average (1, 5, 15 min): {m['loadavg_start']} at the start, {res['loadavg_end']} at the end "
          f"({m['usable_cores']} cores: above {m['usable_cores']} means other work competed for the CPU)")
    if m.get("git"):
        print(f"Grader: commit {m['git']['head']}"
              + (f"; uncommitted changes in {', '.join(m['git']['uncommitted'])}" if m["git"]["uncommitted"] else ""))
    print(f"Run: {res['args']}, {res['seconds']:.0f} s in all\n")

    c = res.get("cold")
    if c:
        print(f"1. Cold start, median of {c['runs']} runs (load {c['loadavg_before']} -> {c['loadavg_after']})")
        print(table([
            ("", "median s", "min s", "max s", "CPU s (all processes)", "peak RSS MB"),
            (c["baseline_cmd"], f"{c['baseline_seconds']['median']:.3f}", f"{c['baseline_seconds']['min']:.3f}",
             f"{c['baseline_seconds']['max']:.3f}", f"{c['baseline_cpu_seconds_median']:.3f}",
             f"{c['baseline_peak_rss_mb']:.0f}"),
            (f"student: grade {EXERCISE} --submission ... (release)", f"{c['student_seconds']['median']:.3f}",
             f"{c['student_seconds']['min']:.3f}", f"{c['student_seconds']['max']:.3f}",
             f"{c['student_cpu_seconds_median']:.3f}", ""),
            (f"instructor: grade {EXERCISE} --submission ... (repo)", f"{c['grade_seconds']['median']:.3f}",
             f"{c['grade_seconds']['min']:.3f}", f"{c['grade_seconds']['max']:.3f}",
             f"{c['grade_cpu_seconds_median']:.3f}", f"{c['grade_peak_rss_mb']:.0f}"),
        ]))
        print(f"   ratio student's grade / baseline: {c['student_ratio']:.2f}x (target <= 2x: "
              f"{verdict(c['student_ratio'] <= 2)}); score {c['student_score']} (public tests)")
        print(f"   ratio instructor's grade / baseline: {c['ratio']:.2f}x (public + hidden tests, live "
              f"reference; score {c['grade_score']})")
        w = c["worker_peak_rss_mb"]
        print(f"   sandboxed worker's peak RSS: {w:.0f} MB ({c['worker_peak_source']}, printed by the "
              f"submission after each call; target <= 300 MB: {verdict(w is not None and w <= 300)})\n"
              if w else "   sandboxed worker's peak RSS: not reported\n")

    batches = [res[k] for k in ("batch_jobs1", "batch_jobs2") if k in res]
    if batches:
        b = batches[0]
        print(f"2. grade batch {EXERCISE} on {b['students']} generated submissions (seed {res['args']['seed']}): "
              + ", ".join(f"{v['n']} {k} (mean {v['mean_score']})" for k, v in b["per_kind"].items()))
        rows = [("", "seconds", "ms / student", "students / s", "peak RSS MB", "rows", "failed", "load before -> after")]
        for b in batches:
            rows.append((f"--jobs {b['jobs']}", f"{b['seconds']:.1f}", f"{b['per_student_ms']:.0f}",
                         f"{b['throughput_per_s']:.2f}", f"{b['peak_rss_mb']:.0f}", b["rows"], len(b["errors"]),
                         f"{b['loadavg_before'][0]} -> {b['loadavg_after'][0]}"))
        print(table(rows))
        if len(batches) == 2:
            print(f"   speed-up of --jobs 2 over --jobs 1: {batches[0]['seconds'] / batches[1]['seconds']:.2f}x")
        k = res.get("batch_by_kind")
        if k:
            print(f"   where the time goes: the same students one after another in one session "
                  f"({k['seconds']:.1f} s), by kind:")
            rows = [("", "students", "seconds", "median ms", "slowest ms", "slowest")]
            for kind, v in sorted(k["kinds"].items(), key=lambda kv: -kv[1]["sum"]):
                rows.append((kind, v["n"], f"{v['sum']:.1f}", f"{v['median_ms']:.0f}", f"{v['max_ms']:.0f}",
                             v["slowest"][:60]))
            print(table(rows))
        print()

    n = res.get("nbgrader")
    if isinstance(n, dict):
        how = (f"the first {n['graded']} of {n['of']} (mix {n['mix']}); the time for all {n['of']} is "
               f"extrapolated: nbgrader's start-up ({n['startup_seconds']:.1f} s, once) plus the "
               f"measured cost per notebook" if n["extrapolated"] else f"all {n['graded']}")
        print(f"3. nbgrader autograde {EXERCISE}: {how} (load {n['loadavg_before']} -> {n['loadavg_after']})")
        rows = [("", "seconds", "ms / student", "students / s")]
        rows.append((f"nbgrader autograde ({n['graded']} notebooks, measured)", f"{n['seconds']:.1f}",
                     f"{n['measured_per_student_ms']:.0f}", f"{1000 / n['measured_per_student_ms']:.3f}"))
        if n["extrapolated"]:
            rows.append((f"nbgrader autograde ({n['of']} notebooks, extrapolated)", f"{n['seconds_for_all']:.1f}",
                         f"{n['per_student_ms']:.0f}", f"{n['throughput_per_s']:.3f}"))
        nb = res.get("batch_notebooks")
        if nb:
            rows.append((f"grade batch --jobs 2 on the same {nb['students']} notebooks (nbgrader's submitted/)",
                         f"{nb['seconds']:.1f}", f"{nb['per_student_ms']:.0f}", f"{nb['throughput_per_s']:.2f}"))
        if "batch_jobs2" in res:
            b = res["batch_jobs2"]
            rows.append((f"grade batch --jobs 2 on the {b['students']} .py submissions (part 2)", f"{b['seconds']:.1f}",
                         f"{b['per_student_ms']:.0f}", f"{b['throughput_per_s']:.2f}"))
        print(table(rows))
        if "ratio" in n:
            print(f"   throughput ratio grade batch --jobs 2 (part 2) / nbgrader on the same {n['of']} submissions: "
                  f"{n['ratio']:.1f}x (target >= 20x: {verdict(n['ratio'] >= 20)})"
                  + (" [nbgrader extrapolated]" if n["extrapolated"] else ""))
        if "ratio_same_notebooks" in n:
            print(f"   throughput ratio on the very notebooks nbgrader graded ({n['graded']}, both measured): "
                  f"{n['ratio_same_notebooks']:.1f}x")
        if n["failed"]:
            print(f"   nbgrader could not grade {len(n['failed'])} notebook(s) (the kernel died; autograde exit "
                  f"status {n['exit_status']}): {n['failed']}")
        if "agreement" in n:
            a = n["agreement"]
            print(f"   scores: nbgrader's gradebook and grade batch agree on {a['same']} of {a['compared']} notebooks"
                  + (f"; they differ on {a['differ']}" if a["differ"] else ""))
        print(f"   (not timed: grade nbgrader build {n['build_seconds']:.1f} s, "
              f"nbgrader generate_assignment {n['generate_assignment_seconds']:.1f} s)\n")
    elif n:
        print(f"3. nbgrader: skipped ({n})\n")

    p = res.get("proxy")
    if p:
        print(f"4. Sandbox overhead per proxied call (median; load {p['loadavg_before']} -> {p['loadavg_after']})")
        rows = [("call", "proxied us", "direct us", "overhead us", "p90 proxied us", "calls")]
        for label, v in p["cases"].items():
            rows.append((label, f"{v['proxied']['median_us']:.0f}", f"{v['direct']['median_us']:.1f}",
                         f"{v['overhead_us']:.0f}", f"{v['proxied']['p90_us']:.0f}", v["proxied"]["calls"]))
        print(table(rows))
        print("   parts of a call, timed alone (median us):")
        for k, v in p["parts_us"].items():
            print(f"     {v:9.1f}  {k}" if isinstance(v, float) else f"     {v}  {k}")
        print()

    i = res.get("isolation")
    if i:
        print(f"5. Isolation layers, side by side ({i['starts']} worker starts each, round robin; {i['calls']} calls; "
              f"load {i['loadavg_before']} -> {i['loadavg_after']}). Landlock ABI {i['landlock_abi']}, "
              f"filter: {i['seccomp']}, control group: {i['cgroup']}")
        rows = [("layers", "start ms", "p90 ms", "call us", "p90 us")]
        for label, v in i["rows"].items():
            rows.append((label, f"{v['start_ms_median']:.2f}", f"{v['start_ms_p90']:.2f}",
                         f"{v['call_us_median']:.0f}", f"{v['call_us_p90']:.0f}"))
        print(table(rows))
        for label, v in i["rows"].items():
            for problem in v["problems"]:
                print(f"   {label.strip()}: weaker here: {problem}")
        print("   each step of a start, timed alone (median ms):")
        for k, v in i["parts_ms"].items():
            print(f"     {v:7.2f}  {k}")
        print()

    if res.get("cost") or res.get("dask"):
        import scaling

        if res.get("cost"):
            scaling.print_cost(res["cost"], table)
        if isinstance(res.get("dask"), dict):
            scaling.print_dask(res["dask"], table)
        elif res.get("dask"):
            print(f"7. Dask: skipped ({res['dask']})\n")
    n = res.get("notebook")
    if n:
        print(f"8. grader.check in a live Jupyter kernel (student release, public tests; load {n['loadavg']})")
        print(table([
            ("", "median s", "min s", "max s"),
            ("from grader.notebook import Grader; Grader('exercise3')", f"{n['import_and_grader_seconds']:.3f}", "", ""),
            ("first check('dropout_forward') (waits for the grading process)",
             f"{n['first_check_seconds']:.3f}", "", ""),
            ("check('dropout_forward'), warm", f"{n['check_seconds']['median']:.3f}",
             f"{n['check_seconds']['min']:.3f}", f"{n['check_seconds']['max']:.3f}"),
            ("check_all(), warm", f"{n['check_all_seconds']['median']:.3f}",
             f"{n['check_all_seconds']['min']:.3f}", f"{n['check_all_seconds']['max']:.3f}"),
            (f"grade {EXERCISE} --submission ... (cold process, same release)",
             f"{n['grade_cold_seconds']['median']:.3f}", f"{n['grade_cold_seconds']['min']:.3f}",
             f"{n['grade_cold_seconds']['max']:.3f}"),
        ]))
        print(f"   warm check_all under 1 s: {verdict(n['check_all_seconds']['median'] < n['target_seconds'])}; "
              f"values {n['check_value']:g} and {n['check_all_value']:g}")
        print(f"   memory: the kernel {n['kernel_rss_mb_before']:.0f} -> {n['kernel_rss_mb_after']:.0f} MB RSS "
              f"(+{n['kernel_added_rss_mb']:.0f} MB); its grading process and zygote "
              f"{n['grading_process_tree_rss_mb']:.0f} MB\n")


# ================================================================ experiments and figures

def bench_experiments(work: Path) -> dict:
    """exercise6 graded once (the reference: every test, the three experiments run to the
    end) with --json --html: wall and CPU of the whole process tree (wait4), the figures in
    its report, and the time and size of drawing them as SVG and as sparklines."""
    from grader import figures

    page = work / "exercise6.html"
    before = loadavg()
    wall, rss, result = run_timed(grade_cmd() + ["exercise6", "--submission",
                                                 str(ROOT / "solutions" / "exercise6" / "network.py"),
                                                 "--json", "--html", str(page)])
    check(result, "grade exercise6")
    report = json.loads(result.stdout)
    figs = [f for t in report["tests"] for f in t.get("figures", [])]
    start = time.perf_counter()
    svgs = [figures.svg(f) for f in figs]
    svg_ms = (time.perf_counter() - start) * 1000
    start = time.perf_counter()
    for f in figs:
        figures.sparkline(f)
    spark_ms = (time.perf_counter() - start) * 1000
    return {"wall_s": wall, "cpu_s": result.cpu_seconds, "peak_rss_mb": rss, "score": report["score"],
            "max_score": report["max_score"], "figures": len(figs), "svg_ms": svg_ms,
            "svg_kb": sum(len(s.encode()) for s in svgs) / 1024, "sparkline_ms": spark_ms,
            "html_kb": page.stat().st_size / 1024, "loadavg_before": before, "loadavg_after": loadavg()}


def print_experiments(e: dict) -> None:
    print(f"9. exercise6 graded once (the reference; experiments included; load {e['loadavg_before']} -> "
          f"{e['loadavg_after']}): {e['wall_s']:.1f} s wall, {e['cpu_s']:.1f} s CPU (grader, zygote and "
          f"worker), peak {e['peak_rss_mb']:.0f} MB, score {e['score']:g}/{e['max_score']:g}")
    print(f"   {e['figures']} figures: SVG {e['svg_ms']:.1f} ms, {e['svg_kb']:.1f} KB; sparklines "
          f"{e['sparkline_ms']:.1f} ms; the HTML page {e['html_kb']:.1f} KB")
    print()


# ================================================================ main

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="a smaller run: 3 cold runs, 30 submissions, 10 for nbgrader, fewer calls")
    parser.add_argument("--out", type=Path, help="write the figures as JSON to this file")
    parser.add_argument("--runs", type=int, help="cold runs to take the median of (default 7; quick 3)")
    parser.add_argument("--count", type=int, help="generated submissions for grade batch (default 100; quick 30)")
    parser.add_argument("--nbgrader-count", type=int,
                        help="autograde the first N of them with nbgrader and extrapolate "
                             "(default: all; quick 10); 0 skips nbgrader")
    parser.add_argument("--seed", type=int, default=2026, help="seed of the generated submissions")
    parser.add_argument("--only", nargs="+",
                        choices=["cold", "batch", "nbgrader", "proxy", "isolation", "cost", "dask", "notebook",
                                 "experiments", "torch"],
                        help="run only these parts (nbgrader needs batch for the ratio)")
    parser.add_argument("--keep", type=Path, help="keep the generated files in this (new) folder")
    parser.add_argument("--cost-count", type=int, help="hand-ins per exercise for the cost part (default 30; quick 10)")
    parser.add_argument("--dask-rounds", type=int, default=3,
                        help="--jobs 2 and --scheduler runs, alternating, in the dask part (default 3)")
    args = parser.parse_args()
    runs = args.runs or (3 if args.quick else 7)
    count = args.count or (30 if args.quick else 100)
    nb_count = args.nbgrader_count if args.nbgrader_count is not None else (10 if args.quick else count)
    nb_count = min(nb_count, count)
    parts = set(args.only or ["cold", "batch", "nbgrader", "proxy", "isolation", "cost", "dask", "notebook",
                              "experiments", "torch"])

    started = time.perf_counter()
    res: dict = {"machine": machine(),
                 "args": {"quick": args.quick, "runs": runs, "count": count, "nbgrader_count": nb_count,
                          "seed": args.seed, "parts": sorted(parts)}}
    if args.keep:
        args.keep.mkdir(parents=True)
        work_cm = contextlib.nullcontext(str(args.keep.resolve()))
    else:
        work_cm = tempfile.TemporaryDirectory(prefix="grader-bench-")
    with work_cm as work_name:
        work = Path(work_name)
        if "cold" in parts:
            print(f"[1/5] cold start: {runs} runs ...", file=sys.stderr, flush=True)
            res["cold"] = bench_cold(runs, work)
        subs = generate(count, args.seed)
        res["submissions"] = [{"id": s["id"], "kind": s["kind"], "label": s["label"]} for s in subs]
        if "batch" in parts:
            folder = work / "submissions"
            write_submissions(subs, folder)
            for jobs in (1, 2):
                print(f"[2/5] grade batch --jobs {jobs} on {count} submissions ...", file=sys.stderr, flush=True)
                res[f"batch_jobs{jobs}"] = bench_batch(subs, folder, work, jobs, "py")
            print(f"[2/5] the same {count}, one after another in one session, timed by kind ...",
                  file=sys.stderr, flush=True)
            res["batch_by_kind"] = bench_by_kind(subs, folder)
        if "nbgrader" in parts and nb_count:
            missing = nbgrader_available()
            if missing:
                res["nbgrader"] = missing
            else:
                print(f"[3/5] nbgrader autograde on {nb_count} notebooks ...", file=sys.stderr, flush=True)
                n = res["nbgrader"] = bench_nbgrader(subs, work, nb_count)
                if "batch_jobs2" in res:
                    n["ratio"] = res["batch_jobs2"]["throughput_per_s"] / n["throughput_per_s"]
                    print("[3/5] grade batch --jobs 2 on nbgrader's submitted/ notebooks ...",
                          file=sys.stderr, flush=True)
                    chosen = subs[:nb_count]
                    nbb = res["batch_notebooks"] = bench_batch(chosen, Path(n["submitted_dir"]), work, 2, "ipynb")
                    n["ratio_same_notebooks"] = nbb["throughput_per_s"] / (n["graded"] / n["seconds"])
                    compared = [s["id"] for s in chosen if s["id"] in n["scores"] and s["id"] in nbb["scores"]]
                    differ = {sid: {"nbgrader": n["scores"][sid], "grade": nbb["scores"][sid],
                                    "kind": next(s["kind"] for s in chosen if s["id"] == sid)}
                              for sid in compared if abs(n["scores"][sid] - nbb["scores"][sid]) > 1e-9}
                    n["agreement"] = {"compared": len(compared), "same": len(compared) - len(differ),
                                      "differ": differ}
        if "proxy" in parts:
            calls_small, calls_big = (300, 30) if args.quick else (2000, 200)
            print(f"[4/5] proxied calls: {calls_small} small, {calls_big} large ...", file=sys.stderr, flush=True)
            res["proxy"] = bench_proxy(calls_small, calls_big, work)
        if "isolation" in parts:
            starts, calls = (20, 300) if args.quick else (100, 2000)
            print(f"[5/5] isolation layers: {starts} worker starts and {calls} calls each ...",
                  file=sys.stderr, flush=True)
            res["isolation"] = bench_isolation(starts, calls, work)
        if "cost" in parts:
            import scaling

            cost_count = args.cost_count or (10 if args.quick else 30)
            print(f"[6/7] cost per student: {cost_count} hand-ins of each exercise ...", file=sys.stderr, flush=True)
            res["cost"] = scaling.bench_cost(cost_count, work)
        if "dask" in parts:
            import scaling

            if importlib.util.find_spec("distributed") is None:
                res["dask"] = "Dask's distributed is not installed (pip install -e '.[dask]')"
            else:
                folder = work / "submissions"
                if not folder.exists():
                    write_submissions(subs, folder)
                print(f"[7/7] grade batch --scheduler (2-worker LocalCluster) and --jobs 2 on {count} "
                      "submissions ...", file=sys.stderr, flush=True)
                res["dask"] = scaling.bench_dask(count, folder, work, args.dask_rounds)
        if "notebook" in parts:
            print(f"[8/9] grader.check in a live kernel: {runs} warm checks ...", file=sys.stderr, flush=True)
            res["notebook"] = bench_notebook_part(runs, work)
        if "experiments" in parts:
            print("[9/9] exercise6 once, with its experiments and figures ...", file=sys.stderr, flush=True)
            res["experiments"] = bench_experiments(work)
        if "torch" in parts:
            if importlib.util.find_spec("torch") is None:
                res["torch"] = "torch is not installed: pip install -e '.[torch]'"
            else:
                import torch_exercise  # beside this script
                print(f"[10/10] exercise5 (torch): {runs} cold runs, grade batch on {count} submissions ...",
                      file=sys.stderr, flush=True)
                res["torch"] = torch_exercise.bench_torch(sys.modules[__name__], runs, count, work, subs)
    res["loadavg_end"] = loadavg()
    res["seconds"] = time.perf_counter() - started
    print_report(res)
    if isinstance(res.get("torch"), dict):
        import torch_exercise
        torch_exercise.print_torch(res["torch"])
    elif res.get("torch"):
        print(f"10. exercise5 (torch): {res['torch']}")
    if args.out:
        args.out.write_text(json.dumps(res, indent=2) + "\n")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
