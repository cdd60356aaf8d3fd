"""The zygote: a clean interpreter that forks one worker per request.

It is started with `python -I` (no current directory, no user site, no PYTHONPATH) and
imports numpy and the worker code once, so a worker costs a fork instead of an
interpreter start. It never imports tests, the reference solutions or student code.

Protocol on its control socket (pickle from the trusted side; replies are plain data):
  {"op": "spawn", ...worker spec} -> {"pid": int, "isolation_problems": [...]} + fds (channel, output)
  {"op": "wait", "pid": int}      -> {"status": int | None}   (after the grader killed it)
"""

from __future__ import annotations

import os
import signal
import socket
import sys

from grader.sandbox import channel, isolate, worker


def main(control_fd: int) -> None:
    control = socket.socket(fileno=control_fd)
    isolate.become_subreaper()
    isolate.reuse_freed_memory()  # inherited by every worker
    workers: set[int] = set()
    ended: dict[int, int] = {}  # worker -> wait status, reaped before the grader asked for it
    try:
        channel.send_frame(control, channel.encode({"ready": True, "landlock_abi": isolate.landlock_abi()}))
        while True:
            request = channel.recv_request(control)
            if request["op"] == "spawn":
                try:
                    workers.add(_spawn(control, request))
                    _reap(workers, ended)
                except (OSError, ValueError) as exc:  # fork or pipe failed: say so, keep serving
                    channel.send_frame(control, channel.encode({"error": f"{type(exc).__name__}: {exc}"}))
            elif request["op"] == "wait":
                workers.discard(request["pid"])
                status = ended.pop(request["pid"], None)
                if status is None:
                    status = _wait(request["pid"])
                channel.send_frame(control, channel.encode({"status": status}))
    except (EOFError, OSError):
        pass  # the grader is gone (closed its end, or was killed)
    for pid in workers - ended.keys():  # a worker still running dies with its PID namespace
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    os._exit(0)  # no interpreter teardown: the grader is waiting for this exit


def _spawn(control: socket.socket, spec: dict) -> int:
    spec["readable"] = isolate.readable_paths(tuple(spec["exclude"]))  # here: cached across workers
    ours, theirs = socket.socketpair()
    out_r, out_w = os.pipe()
    pid_r, pid_w = os.pipe()
    middle = os.fork()
    if middle == 0:  # the intermediate process: enter namespaces, fork the worker, leave
        try:
            control.close()
            ours.close()
            os.close(out_r)
            os.close(pid_r)
            problem = isolate.unshare_namespaces() if spec.get("namespaces", True) else None
            pid = os.fork()
            if pid == 0:
                os.close(pid_w)
                if problem:
                    os.setsid()  # at least its own process group and session
                spec["isolation_problems"] = [problem] if problem else []
                worker.serve(theirs, out_w, spec)
            os.write(pid_w, f"{pid}\n{problem or ''}".encode())
        finally:
            os._exit(0)
    theirs.close()
    os.close(out_w)
    os.close(pid_w)
    try:
        # one write of a few bytes, read as soon as it is made: the grader gets its reply
        # while the middle process is still exiting (EOF would wait for that)
        pid_text, _, problem = os.read(pid_r, 4096).decode().partition("\n")
        reply = {"pid": int(pid_text), "isolation_problems": [problem] if problem else []}
        socket.send_fds(control, [_frame(channel.encode(reply))], [ours.fileno(), out_r])
    finally:
        os.close(pid_r)
        ours.close()
        os.close(out_r)
        os.waitpid(middle, 0)
    return reply["pid"]


def _frame(payload: bytes) -> bytes:
    return len(payload).to_bytes(8, "big") + payload


def _wait(pid: int):
    try:
        _, status = os.waitpid(pid, 0)
        return status
    except ChildProcessError:
        return None


def _reap(workers: set[int], ended: dict[int, int]) -> None:
    """Collect the children that ended. A worker's status is kept until the grader asks for
    it (a worker that exits at once, say os._exit(3) at import, may end before the grader
    has even read its reply); other children (whose status nobody will ask for) are let go."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        if pid in workers:
            ended[pid] = status


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the grader's to handle
    main(int(sys.argv[1]))
