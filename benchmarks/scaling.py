"""Benchmark parts for grading beyond one machine (docs/scaling.md), run by benchmarks/run.py:

6. cost: the CPU each exercise costs per student, for planning core-hours: `grade batch
   EXERCISE --jobs 1` on a class of that exercise's reference solution, correct variants and
   catalogued mistakes (cycled to --cost-count), CPU seconds of the whole process tree
   (wait4) divided by the students;
7. dask: 100 (--count) generated exercise3 submissions through `grade batch --scheduler`
   on a 2-worker LocalCluster (processes, one thread each) against `grade batch --jobs 2`,
   in the same run (target: within 1.3x), and the cluster's start-up time.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from run import ROOT, check, grade_cmd, loadavg, run_timed


def exercise_class(exercise, dest: Path, count: int) -> None:
    """`count` hand-ins: the reference, the correct variants and the catalogued mistakes, cycled."""
    from grader.mutants import mutants, variants

    sources = [(exercise.solution_dir / exercise.module).read_text()]
    sources += [p.read_text() for p in variants(exercise)] + [m.source for m in mutants(exercise)]
    for i in range(count):
        (dest / f"s{i:03d}").mkdir(parents=True)
        (dest / f"s{i:03d}" / exercise.module).write_text(sources[i % len(sources)])


def bench_cost(count: int, work: Path) -> dict:
    from grader.course import load_course

    out = {"count": count, "loadavg_before": loadavg(), "exercises": {}}
    for exercise in load_course(ROOT).exercises:
        folder = work / f"cost_{exercise.id}"
        exercise_class(exercise, folder, count)
        cmd = [*grade_cmd(), "batch", exercise.id, str(folder), "--out", str(work / f"cost_{exercise.id}.csv"),
               "--jobs", "1", "--course", str(ROOT)]
        wall, rss, result = run_timed(cmd)
        check(result, " ".join(cmd))
        out["exercises"][exercise.id] = {"cmd": " ".join(cmd), "seconds": wall, "cpu_seconds": result.cpu_seconds,
                                         "cpu_per_student_s": result.cpu_seconds / count,
                                         "wall_per_student_s": wall / count, "peak_rss_mb": rss}
    out["loadavg_after"] = loadavg()
    return out


def bench_dask(count: int, folder: Path, work: Path) -> dict:
    """`grade batch --scheduler` on a fresh 2-worker LocalCluster and `--jobs 2`, same students."""
    import dask
    from distributed import Client, LocalCluster

    res = {"students": count, "loadavg_before": loadavg()}
    local_out, dask_out = work / "dask_local.json", work / "dask_cluster.json"
    cmd = [*grade_cmd(), "batch", "exercise3", str(folder), "--out", str(local_out), "--jobs", "2",
           "--course", str(ROOT)]
    res["local_seconds"], _, result = run_timed(cmd)
    check(result, " ".join(cmd))
    res["local_cmd"] = " ".join(cmd)

    started = time.perf_counter()
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    with cluster, Client(cluster) as client:
        client.wait_for_workers(2)
        res["cluster_start_seconds"] = time.perf_counter() - started
        def cmd(out):
            return [*grade_cmd(), "batch", "exercise3", str(folder), "--out", str(out), "--scheduler",
                    cluster.scheduler_address, "--course", str(ROOT)]
        res["dask_seconds"], _, result = run_timed(cmd(dask_out))
        check(result, " ".join(cmd(dask_out)))
        res["dask_cmd"] = " ".join(cmd(dask_out)).replace(cluster.scheduler_address, "tcp://127.0.0.1:PORT")
        # again, on workers that keep their grading processes (what a second exercise's batch sees)
        warm = work / "dask_cluster_warm.json"
        res["dask_warm_seconds"], _, result = run_timed(cmd(warm))
        check(result, "the warm run")
    res["ratio"] = res["dask_seconds"] / res["local_seconds"]
    res["ratio_warm"] = res["dask_warm_seconds"] / res["local_seconds"]
    res["same_gradebook"] = local_out.read_bytes() == dask_out.read_bytes() == warm.read_bytes()
    res["loadavg_after"] = loadavg()
    return res


def print_cost(c: dict, table) -> None:
    print(f"6. Cost per student: grade batch EXERCISE --jobs 1 on {c['count']} hand-ins each (reference, "
          f"variants, catalogued mistakes), CPU of the whole process tree (load {c['loadavg_before']} -> "
          f"{c['loadavg_after']})")
    rows = [("exercise", "CPU s / student", "wall s / student", "core-h 1k", "core-h 10k", "core-h 100k")]
    for ex, v in c["exercises"].items():
        per = v["cpu_per_student_s"]
        rows.append((ex, f"{per:.2f}", f"{v['wall_per_student_s']:.2f}", f"{per * 1e3 / 3600:.2f}",
                     f"{per * 1e4 / 3600:.1f}", f"{per * 1e5 / 3600:.0f}"))
    print(table(rows))
    print()


def print_dask(d: dict, table) -> None:
    print(f"7. grade batch exercise3 on {d['students']} generated submissions: a 2-worker Dask LocalCluster "
          f"against --jobs 2 (load {d['loadavg_before']} -> {d['loadavg_after']})")
    print(table([("", "seconds", "ratio to --jobs 2"),
                 ("grade batch --jobs 2", f"{d['local_seconds']:.1f}", "1.00"),
                 ("grade batch --scheduler (first run: grading processes start)", f"{d['dask_seconds']:.1f}",
                  f"{d['ratio']:.2f}"),
                 ("grade batch --scheduler (again, warm workers)", f"{d['dask_warm_seconds']:.1f}",
                  f"{d['ratio_warm']:.2f}")]))
    print(f"   ratio --scheduler / --jobs 2: {d['ratio']:.2f}x (target <= 1.3x: "
          f"{'met' if d['ratio'] <= 1.3 else 'MISSED'}); cluster start-up (2 workers, until both joined): "
          f"{d['cluster_start_seconds']:.1f} s; the three gradebooks are "
          f"{'byte-identical' if d['same_gradebook'] else 'DIFFERENT'}\n")


if __name__ == "__main__":
    sys.exit("run this through benchmarks/run.py --only cost dask")
