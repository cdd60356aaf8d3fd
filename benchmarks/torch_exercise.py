"""Part 6 of benchmarks/run.py: exercise5, whose workers fork from the zygote that imported torch.

- cold start: a student's `grade exercise5` (in a `grade release` bundle: public tests) and
  an instructor's (this repository: public and hidden tests), each a whole process, against
  `python -c "import torch, pytest"` (target: at most 1.3x), interleaved so load hits all
  alike; and the worker's peak RSS (the reference, wrapped to print it after each forward);
- `grade batch exercise5 --jobs 2` on generated submissions (correct: the reference and the
  variants; every catalogued mistake; broken: a syntax error, a missing class, an endless
  loop in forward), per student, next to `grade batch exercise3 --jobs 2` on as many of
  exercise3's generated submissions in the same run (target: at most 2x per student).

Run it alone with `.venv/bin/python benchmarks/run.py --only torch` (needs torch).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

EXERCISE = "exercise5"
PEAK = '''

# ---- benchmark only: this worker's peak memory after every forward (stdout) ----
import resource as _bench_resource


def _bench_peak(cls):
    forward = cls.forward

    def measured(self, x):
        try:
            return forward(self, x)
        finally:
            print("BENCH_PEAK_KB", _bench_resource.getrusage(_bench_resource.RUSAGE_SELF).ru_maxrss, flush=True)
    cls.forward = measured


_bench_peak(Dropout)
_bench_peak(BatchNorm1d)
'''
BROKEN = {
    "syntax error": "class Dropout(nn.Module)\n    pass\n",
    "missing class": "import torch\nfrom torch import nn\n\n\nclass Dropout(nn.Module):\n    pass\n",
    "endless loop in forward": None,  # the reference with Dropout.forward looping
}


def submissions(root: Path, count: int) -> list[dict]:
    """`count` exercise5 submissions, cycling through correct ones, every mutant and the
    broken ones (each a dict with id, kind and source)."""
    from grader.course import load_course
    from grader.mutants import mutants, variants

    exercise = load_course(root).exercise(EXERCISE)
    reference = (exercise.solution_dir / exercise.module).read_text()
    looping = reference.replace("    def forward(self, x):\n", "    def forward(self, x):\n        while True:\n"
                                "            pass\n", 1)
    pool = [("correct", "reference", reference)]
    pool += [("correct", path.stem, path.read_text()) for path in variants(exercise)]
    pool += [("mistaken", m.name, m.source) for m in mutants(exercise)]
    pool += [("broken", kind, source if source is not None else looping) for kind, source in BROKEN.items()]
    out = []
    for i in range(count):
        kind, label, source = pool[i % len(pool)]
        out.append({"id": f"s{i:03d}", "kind": kind, "label": label, "source": source})
    return out


def write(subs: list[dict], dest: Path) -> None:
    for sub in subs:
        (dest / sub["id"]).mkdir(parents=True, exist_ok=True)
        (dest / sub["id"] / "modules.py").write_text(sub["source"], encoding="utf-8")


def bench_torch(run, runs: int, count: int, work: Path, exercise3_subs: list[dict]) -> dict:
    """`run` is benchmarks/run.py (its process helpers and exercise3's submissions)."""
    root, grade_cmd, check, run_timed, median = run.ROOT, run.grade_cmd, run.check, run.run_timed, run.median
    release = work / "student_release_torch"
    _, _, result = run_timed([*grade_cmd(), "release", str(release), "--course", str(root)])
    check(result, "grade release")
    reference = root / "solutions" / EXERCISE / "modules.py"
    baseline_cmd = [sys.executable, "-c", "import torch, pytest"]
    student_cmd = [*grade_cmd(), EXERCISE, "--submission", str(reference)]
    instructor_cmd = [*student_cmd, "--course", str(root)]
    times: dict[str, list] = {"baseline": [], "student": [], "instructor": []}
    load_before = run.loadavg()
    for i in range(runs + 1):  # the first round warms the page cache and is not counted
        for key, cmd, cwd in (("baseline", baseline_cmd, root), ("student", student_cmd, release),
                              ("instructor", instructor_cmd, root)):
            wall, _, result = run_timed(cmd, cwd=cwd)
            check(result, " ".join(cmd))
            if i:
                times[key].append(wall)
    score = re.search(r"Score: ([\d.]+) / ([\d.]+)", result.stdout)

    peak_dir = work / "peak_submission_torch"
    peak_dir.mkdir(parents=True, exist_ok=True)
    (peak_dir / "modules.py").write_text(reference.read_text() + PEAK)
    _, _, result = run_timed([*grade_cmd(), EXERCISE, "--submission", str(peak_dir), "--json",
                              "--course", str(root)])
    check(result, "grade of the memory-reporting submission")
    report = json.loads(result.stdout)
    peaks = [int(kb) for kb in re.findall(r"BENCH_PEAK_KB (\d+)", report["output"])]

    subs = submissions(root, count)
    folder = work / "submissions_torch"
    write(subs, folder)
    torch_batch = run.bench_batch(subs, folder, work, 2, "torch", exercise=EXERCISE)
    chosen = exercise3_subs[:count]
    folder3 = work / "submissions_exercise3_for_torch"
    run.write_submissions(chosen, folder3)
    numpy_batch = run.bench_batch(chosen, folder3, work, 2, "exercise3_beside_torch")
    return {
        "baseline_cmd": " ".join(baseline_cmd), "student_cmd": " ".join(student_cmd) + "   (cwd: a release bundle)",
        "instructor_cmd": " ".join(instructor_cmd), "runs": runs,
        "seconds": {key: {"median": median(v), "min": min(v), "max": max(v), "all": v} for key, v in times.items()},
        "student_ratio": median(times["student"]) / median(times["baseline"]),
        "instructor_ratio": median(times["instructor"]) / median(times["baseline"]), "ratio_target": 1.3,
        "instructor_score": f"{score.group(1)} / {score.group(2)}" if score else None,
        "worker_peak_rss_mb": max(peaks) / 1024 if peaks else None, "peak_report_score": report["score"],
        "batch": torch_batch, "batch_exercise3": numpy_batch,
        "per_student_ratio": torch_batch["per_student_ms"] / numpy_batch["per_student_ms"],
        "per_student_ratio_target": 2.0,
        "loadavg_before": load_before, "loadavg_after": run.loadavg(),
    }


def print_torch(t: dict) -> None:
    s = t["seconds"]
    print(f"10. exercise5 (torch), median of {t['runs']} cold runs (load {t['loadavg_before']} -> {t['loadavg_after']})")
    for key, cmd in (("baseline", t["baseline_cmd"]), ("student", t["student_cmd"]),
                     ("instructor", t["instructor_cmd"])):
        print(f"   {s[key]['median']:7.2f} s (min {s[key]['min']:.2f}, max {s[key]['max']:.2f})  {cmd}")
    print(f"   student / baseline {t['student_ratio']:.2f}x, instructor / baseline {t['instructor_ratio']:.2f}x "
          f"(target <= {t['ratio_target']}x); instructor's score {t['instructor_score']}")
    print(f"   worker peak RSS {t['worker_peak_rss_mb']:.0f} MB (shared pages of the torch zygote included)"
          if t["worker_peak_rss_mb"] else "   worker peak RSS: not reported")
    b, n = t["batch"], t["batch_exercise3"]
    print(f"   grade batch exercise5 --jobs 2: {b['students']} students in {b['seconds']:.1f} s, "
          f"{b['per_student_ms']:.0f} ms each; exercise3 in the same run: {n['per_student_ms']:.0f} ms each; "
          f"ratio {t['per_student_ratio']:.2f}x (target <= {t['per_student_ratio_target']}x)")
    print("   per kind: " + ", ".join(f"{k}: n={v['n']}, mean score {v['mean_score']}, errors {v['errors']}"
                                       for k, v in b["per_kind"].items()))
