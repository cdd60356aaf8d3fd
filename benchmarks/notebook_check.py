"""Part 6 of benchmarks/run.py: `grader.check(...)` in a live Jupyter kernel.

In a student release (public tests, recorded answers), a real kernel (jupyter_client)
defines the reference dropout functions in a cell, makes `Grader("exercise3")` and times,
inside the kernel: the import and the Grader, the first check (which waits for the
grading process to start), then --runs warm `check("dropout_forward")` and `check_all()`.
It reads the memory the kernel added (its RSS before the import and after the checks) and
the grading process's tree (the grading process and its zygote), from /proc.

    .venv/bin/python benchmarks/run.py --only notebook
"""

from __future__ import annotations

import json
import os
import queue
import statistics
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

TIMED = """
import json as _json, time as _time
def _timed(call, n):
    out = []
    for _ in range(n):
        t = _time.perf_counter(); value = call(); out.append(_time.perf_counter() - t)
    return out, float(value)
"""


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def tree_rss_mb(root: int) -> float:
    """RSS of a process and all its descendants (from /proc/*/stat)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                parents[int(entry.name)] = int(fields[1])
            except (OSError, IndexError, ValueError):
                continue
    tree, grew = {root}, True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= more
        grew = bool(more)
    return sum(rss_mb(pid) for pid in tree)


def run_cell(client, code: str, timeout: float = 600) -> str:
    """Execute `code`; return what it printed (raises on an error)."""
    msg_id = client.execute(code)
    printed = []
    while True:
        try:
            msg = client.get_iopub_msg(timeout=timeout)
        except queue.Empty:
            raise RuntimeError(f"no answer from the kernel to {code[:80]!r}") from None
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            printed.append(content["text"])
        elif kind == "error":
            raise RuntimeError("\n".join(content["traceback"]))
        elif kind == "status" and content["execution_state"] == "idle":
            return "".join(printed)


def bench_notebook(runs: int, release: Path) -> dict:
    from jupyter_client import KernelManager

    folder = release / "exercises" / "exercise3"
    km = KernelManager(kernel_name="python3")
    km.start_kernel(cwd=str(folder))
    client = km.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=120)
        kernel_pid = km.provisioner.process.pid
        run_cell(client, TIMED + "import numpy as np")  # a student's notebook imports numpy anyway
        before = rss_mb(kernel_pid)
        out = run_cell(client, "t = _time.perf_counter()\nfrom grader.notebook import Grader\n"
                               "grader = Grader('exercise3')\nprint(_time.perf_counter() - t)")
        import_seconds = float(out.split()[-1])
        run_cell(client, (ROOT / "solutions" / "exercise3" / "dropout.py").read_text())
        first = json.loads(run_cell(client, "print(_json.dumps(_timed(lambda: grader.check('dropout_forward'), 1)))"))
        one = json.loads(run_cell(client, f"print(_json.dumps(_timed(lambda: grader.check('dropout_forward'), {runs})))"))
        every = json.loads(run_cell(client, f"print(_json.dumps(_timed(grader.check_all, {runs})))"))
        server_pid = int(run_cell(client, "print(grader._server.process.pid)").split()[-1])
        after = rss_mb(kernel_pid)
        server = tree_rss_mb(server_pid)
    finally:
        client.stop_channels()
        km.shutdown_kernel(now=True)
    return {
        "import_and_grader_seconds": import_seconds,
        "first_check_seconds": first[0][0], "first_check_value": first[1],
        "check_seconds": {"median": statistics.median(one[0]), "min": min(one[0]), "max": max(one[0]),
                          "all": one[0]}, "check_value": one[1],
        "check_all_seconds": {"median": statistics.median(every[0]), "min": min(every[0]),
                              "max": max(every[0]), "all": every[0]}, "check_all_value": every[1],
        "kernel_rss_mb_before": before, "kernel_rss_mb_after": after,
        "kernel_added_rss_mb": after - before, "grading_process_tree_rss_mb": server,
        "target_seconds": 1.0, "loadavg": list(os.getloadavg()),
    }
