"""The zygote: a clean interpreter that forks one worker per request.

It is started with `python -I` (no current directory, no user site, no PYTHONPATH) and
imports numpy and the worker code once, so a worker costs a fork instead of an
interpreter start. It never imports tests, the reference solutions or student code.

Protocol on its control socket (pickle from the trusted side; replies are plain data):
  {"op": "spawn", ...worker spec} -> {"pid": int, "isolation_problems": [...]} + fds (channel, output)
  {"op": "wait", "pid": int}      -> {"status": int | None, "oom": bool}   (after the grader killed it;
                                     oom: the kernel killed a process of its group for memory)
"""

from __future__ import annotations

import os
import signal
import socket
import sys

from grader.sandbox import cgroups, channel, isolate, worker


def main(control_fd: int) -> None:
    control = socket.socket(fileno=control_fd)
    sys.dont_write_bytecode = True  # `python -I` ignores PYTHONDONTWRITEBYTECODE; the folder is the student's
    isolate.become_subreaper()
    isolate.reuse_freed_memory()  # inherited by every worker
    workers = _Workers()
    try:
        channel.send_frame(control, channel.encode({"ready": True, "landlock_abi": isolate.landlock_abi()}))
        while True:
            request = channel.recv_request(control)
            if request["op"] == "spawn":
                try:
                    workers.running.add(_spawn(control, request, workers.groups))
                except (OSError, ValueError) as exc:  # fork or pipe failed: say so, keep serving
                    channel.send_frame(control, channel.encode({"error": f"{type(exc).__name__}: {exc}"}))
                workers.reap()
            elif request["op"] == "wait":
                channel.send_frame(control, channel.encode(workers.wait(request["pid"])))
    except (EOFError, OSError):
        pass  # the grader is gone (closed its end, or was killed)
    workers.end_all()
    os._exit(0)  # no interpreter teardown: the grader is waiting for this exit


class _Workers:
    """The workers this zygote forked, their control groups, and how those that ended on
    their own ended (kept until the grader asks)."""

    def __init__(self):
        self.groups = cgroups.open_groups()
        self.running: set[int] = set()
        self.ended: dict[int, tuple] = {}

    def wait(self, pid: int) -> dict:
        """After the grader killed the worker: its wait status, and whether the kernel killed
        a process of its group for memory."""
        self.running.discard(pid)
        if pid not in self.ended:
            self.ended[pid] = (_wait(pid), self.groups.forget(pid))
        status, oom = self.ended.pop(pid)
        return {"status": status, "oom": oom}

    def reap(self) -> None:
        """Collect workers that ended on their own (and other orphans handed to this subreaper)."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid in self.running:
                self.running.discard(pid)
                self.ended[pid] = (status, self.groups.forget(pid))

    def end_all(self) -> None:
        """A worker still running dies with its PID namespace; its group goes after it."""
        for pid in self.running:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in self.running:
            _wait(pid)
        self.groups.close()


def _spawn(control: socket.socket, spec: dict, groups) -> int:
    """Fork a middle process that joins the worker's control group, enters new namespaces
    and forks the worker; send the grader the worker's pid, what is off, and its two fds."""
    skip = frozenset(spec.get("skip", ()))
    problems, paths = [], []
    try:
        if "cgroup" in skip:
            problems.append("the control group was left out (a test or a benchmark)")
        else:
            paths = groups.make((spec["limits"]["memory_mb"] + worker.FOLDER_MB + 64) * 2**20)
    except cgroups.Unavailable as exc:
        problems.append(f"no control group for the worker ({exc}): its memory is bounded per process, "
                        "not in total")
    try:
        pid, problems = _fork_worker(control, spec, paths, problems)
    except BaseException:
        cgroups.remove(paths)
        raise
    groups.track(pid, paths)
    return pid


def _fork_worker(control: socket.socket, spec: dict, paths: list[str], problems: list[str]):
    ours, theirs = socket.socketpair()
    out_r, out_w = os.pipe()
    pid_r, pid_w = os.pipe()
    middle = os.fork()
    if middle == 0:  # the intermediate process: join the group, enter namespaces, fork the worker, leave
        try:
            control.close()
            ours.close()
            os.close(out_r)
            os.close(pid_r)
            try:
                cgroups.join(paths)
            except OSError as exc:
                problems.append(f"the worker could not join its control group ({exc.strerror}): its memory "
                                "is bounded per process, not in total")
            namespaces, problem = isolate.unshare_namespaces(frozenset(spec.get("skip", ())))
            problems += [problem] if problem else []
            pid = os.fork()
            if pid == 0:
                os.close(pid_w)
                if "pid" not in namespaces:
                    os.setsid()  # at least its own process group and session
                spec["namespaces"] = namespaces
                worker.serve(theirs, out_w, spec)
            os.write(pid_w, "\n".join([str(pid), *problems]).encode())
        finally:
            os._exit(0)
    theirs.close()
    os.close(out_w)
    os.close(pid_w)
    try:
        # one write of a few bytes, read as soon as it is made: the grader gets its reply
        # while the middle process is still exiting (EOF would wait for that)
        pid_text, *problems = os.read(pid_r, 1 << 16).decode().split("\n")
        reply = {"pid": int(pid_text), "isolation_problems": problems}
        socket.send_fds(control, [_frame(channel.encode(reply))], [ours.fileno(), out_r])
    finally:
        os.close(pid_r)
        ours.close()
        os.close(out_r)
        os.waitpid(middle, 0)
    return reply["pid"], problems


def _frame(payload: bytes) -> bytes:
    return len(payload).to_bytes(8, "big") + payload


def _wait(pid: int):
    try:
        _, status = os.waitpid(pid, 0)
        return status
    except ChildProcessError:
        return None


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the grader's to handle
    main(int(sys.argv[1]))
