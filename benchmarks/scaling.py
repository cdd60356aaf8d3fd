"""Benchmark parts for grading beyond one machine (docs/scaling.md), run by benchmarks/run.py:

6. cost: the CPU each exercise costs per student, for planning core-hours: `grade batch
   EXERCISE --jobs 1` on a class of that exercise's reference solution, correct variants and
   catalogued mistakes (cycled to --cost-count), CPU seconds of the whole process tree
   (wait4) divided by the students;
7. dask: 100 (--count) generated exercise3 submissions through `grade batch --scheduler`
   on a 2-worker LocalCluster (processes, one thread each) against `grade batch --jobs 2`,
   in the same run, alternating (--dask-rounds; target: within 1.3x), wall time and the CPU
   of everything each way runs, and the cluster's start-up time.
"""

from __future__ import annotations

import os
import statistics
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


def tree_cpu(root: int) -> float:
    """CPU seconds of the live processes below `root` (not itself), each with the children it
    has reaped, from /proc: what a LocalCluster's nannies, workers and their grading
    processes (with their zygotes and sandboxed workers) have used so far."""
    parents, used = {}, {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # ended meanwhile
            parents[int(entry.name)] = int(fields[1])
            used[int(entry.name)] = sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    below, todo = set(), [root]
    while todo:
        pid = todo.pop()
        kids = [p for p, parent in parents.items() if parent == pid]
        below.update(kids)
        todo += kids
    return sum(used[p] for p in below) / os.sysconf("SC_CLK_TCK")


def bench_dask(count: int, folder: Path, work: Path, rounds: int) -> dict:
    """`grade batch --jobs 2` and `grade batch --scheduler` on a 2-worker LocalCluster, the
    same students, alternating `rounds` times (the load of a shared machine drifts): wall
    time, and CPU of everything each way runs (for the cluster: the coordinator, the
    scheduler in this process, the nannies, workers and grading processes)."""
    import dask
    from distributed import Client, LocalCluster

    res = {"students": count, "rounds": rounds, "loadavg_before": loadavg(), "local": [], "dask": []}
    started = time.perf_counter()
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    with cluster, Client(cluster) as client:
        client.wait_for_workers(2)
        res["cluster_start_seconds"] = time.perf_counter() - started
        outs = []
        for r in range(rounds):
            out = work / f"dask_local_{r}.json"
            cmd = [*grade_cmd(), "batch", "exercise3", str(folder), "--out", str(out), "--jobs", "2",
                   "--course", str(ROOT)]
            wall, _, result = run_timed(cmd)
            check(result, " ".join(cmd))
            res["local"].append({"seconds": wall, "cpu_seconds": result.cpu_seconds})
            res["local_cmd"], outs = " ".join(cmd), outs + [out]

            out = work / f"dask_cluster_{r}.json"
            cmd = [*grade_cmd(), "batch", "exercise3", str(folder), "--out", str(out), "--scheduler",
                   cluster.scheduler_address, "--course", str(ROOT)]
            cluster_before, own_before = tree_cpu(os.getpid()), time.process_time()
            wall, _, result = run_timed(cmd)
            check(result, " ".join(cmd))
            cluster_cpu = tree_cpu(os.getpid()) - cluster_before - result.cpu_seconds  # the coordinator was one
            res["dask"].append({"seconds": wall, "cpu_seconds": result.cpu_seconds + max(0.0, cluster_cpu)
                                + time.process_time() - own_before, "coordinator_cpu_seconds": result.cpu_seconds})
            res["dask_cmd"], outs = " ".join(cmd).replace(cluster.scheduler_address, "tcp://127.0.0.1:PORT"), \
                outs + [out]
    for way in ("local", "dask"):
        res[f"{way}_seconds"] = statistics.median(r["seconds"] for r in res[way])
        res[f"{way}_cpu_seconds"] = statistics.median(r["cpu_seconds"] for r in res[way])
    res["ratio"] = res["dask_seconds"] / res["local_seconds"]
    res["cpu_ratio"] = res["dask_cpu_seconds"] / res["local_cpu_seconds"]
    res["ratios_by_round"] = [d["seconds"] / loc["seconds"] for loc, d in zip(res["local"], res["dask"])]
    res["same_gradebook"] = len({o.read_bytes() for o in outs}) == 1
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
          f"(processes, 1 thread each) against --jobs 2, alternating, {d['rounds']} rounds "
          f"(load {d['loadavg_before']} -> {d['loadavg_after']})")
    rows = [("round", "--jobs 2 s", "--scheduler s", "ratio", "--jobs 2 CPU s", "--scheduler CPU s")]
    for i, (loc, c) in enumerate(zip(d["local"], d["dask"])):
        rows.append((str(i + 1), f"{loc['seconds']:.1f}", f"{c['seconds']:.1f}", f"{c['seconds'] / loc['seconds']:.2f}",
                     f"{loc['cpu_seconds']:.1f}", f"{c['cpu_seconds']:.1f}"))
    rows.append(("median", f"{d['local_seconds']:.1f}", f"{d['dask_seconds']:.1f}", f"{d['ratio']:.2f}",
                 f"{d['local_cpu_seconds']:.1f}", f"{d['dask_cpu_seconds']:.1f}"))
    print(table(rows))
    print(f"   ratio --scheduler / --jobs 2 (median wall): {d['ratio']:.2f}x (target <= 1.3x: "
          f"{'met' if d['ratio'] <= 1.3 else 'MISSED'}); CPU of everything each way ran: {d['cpu_ratio']:.2f}x; "
          f"cluster start-up (2 workers, until both joined): {d['cluster_start_seconds']:.1f} s "
          f"(the first --scheduler round also starts the workers' grading processes); the gradebooks are "
          f"{'byte-identical' if d['same_gradebook'] else 'DIFFERENT'}\n")


if __name__ == "__main__":
    sys.exit("run this through benchmarks/run.py --only cost dask")
