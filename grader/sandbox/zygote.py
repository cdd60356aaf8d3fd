"""The zygote: a clean interpreter that forks one worker per request.

It is started with `python -I` (no current directory, no user site, no PYTHONPATH) and
imports numpy and the worker code once (and torch, pinned to one thread, for an exercise
that `needs` it), so a worker costs a fork instead of an interpreter start. It never
imports tests, the reference solutions or student code.

Protocol on its control socket (pickle from the trusted side; replies are plain data):
  {"op": "spawn", ...worker spec} -> {"pid": int, "isolation_problems": [...]} + fds (channel, output)
  {"op": "wait", "pid": int}      -> {"status": int | None, "oom": bool}   (after the grader killed it;
                                     oom: the kernel killed a process of its group for memory)
"""

from __future__ import annotations

import os
import pickle
import signal
import socket
import sys

from grader.sandbox import cgroups, channel, isolate, worker


def main(control_fd: int, groups: bool = True, needs: tuple = ()) -> None:
    control = socket.socket(fileno=control_fd)
    sys.dont_write_bytecode = True  # `python -I` ignores PYTHONDONTWRITEBYTECODE; the folder is the student's
    isolate.become_subreaper()
    isolate.reuse_freed_memory()  # inherited by every worker
    try:
        for name in needs:
            _IMPORTS[name]()
    except Exception as exc:  # noqa: BLE001 - not installed, or broken: the grader says so
        channel.send_frame(control, channel.encode({"ready": False, "error": f"{type(exc).__name__}: {exc}"}))
        os._exit(0)
    workers = _Workers(control, groups)
    try:
        channel.send_frame(control, channel.encode({"ready": True, "landlock_abi": isolate.landlock_abi()}))
        workers.prepare()  # while the grader starts up
        while True:
            request = channel.recv_request(control)
            if request["op"] == "spawn":
                try:
                    workers.spawn(request)
                except (OSError, ValueError) as exc:  # fork or pipe failed: say so, keep serving
                    channel.send_frame(control, channel.encode({"error": f"{type(exc).__name__}: {exc}"}))
                workers.reap()
                workers.prepare()  # while the worker runs
            elif request["op"] == "wait":
                channel.send_frame(control, channel.encode(workers.wait(request["pid"])))
    except (EOFError, OSError):
        pass  # the grader is gone (closed its end, or was killed)
    workers.end_all()
    os._exit(0)  # no interpreter teardown: the grader is waiting for this exit


def _import_torch() -> None:
    """torch, with one intra-op and one inter-op thread, set before any operation: a child
    forked after torch ran a multithreaded operation hangs (measured, NOTES.md), and every
    thread adds to the address space. The worker's limits are set after the fork, on top of
    the address space mapped by then (torch's ~620 MiB), so the course's limit is what the
    student's code may add."""
    import torch

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    # one small operation on one thread, now: torch reads the CPU's description (/proc/cpuinfo)
    # on its first operation, which a worker cannot (it would print an error in its output)
    torch.backends.cpu.get_cpu_capability()
    x = torch.ones(4, dtype=torch.float64, requires_grad=True)
    # a backward with a gradient tensor imports torch.fx's symbolic shapes (sympy, mpmath) on
    # its first use: 0.4 s in every worker's first gradient test, once here
    (x * 2).backward(torch.ones(4, dtype=torch.float64))
    import torch.nn  # noqa: F401 - what exercises use: loaded once here, not in every worker
    import torch.nn.functional  # noqa: F401
    import grader.sandbox.torch_steps  # noqa: F401 - the generic probe's steps (the worker may not read grader/)


_IMPORTS = {"torch": _import_torch}


class _Workers:
    """The workers this zygote forked, their control groups, how those that ended on their
    own ended (kept until the grader asks), and the next worker's middle process, forked
    ahead and already in its group: moving a process into a group waits for the kernel
    (an RCU grace period, milliseconds on a busy machine), so that happens while the
    previous worker runs, not while the grader waits for the next."""

    def __init__(self, control: socket.socket, groups: bool):
        self.control = control
        self.groups = cgroups.open_groups() if groups else cgroups.NoGroups("left out: a test or a benchmark")
        self.running: set[int] = set()
        self.ended: dict[int, tuple] = {}
        self.spare: _Middle | None = None

    def prepare(self) -> None:
        """Fork the next worker's middle process now, in a new group where the machine allows."""
        if self.spare is None:
            try:
                self.spare = self._middle()
            except OSError:
                self.spare = None  # the next spawn tries again, and says why if it fails

    def _middle(self, *, grouped: bool = True) -> "_Middle":
        paths, problem = [], None
        if grouped:
            try:
                paths = self.groups.make()
            except cgroups.Unavailable as exc:
                problem = f"no control group for the worker ({exc}): its memory is bounded per process, not in total"
        return _Middle(paths, self.control, problem)

    def spawn(self, spec: dict) -> None:
        """Start a worker in the spare middle process (its group limited now); send the
        grader its pid, the guarantees that are off, and its two fds."""
        middle, self.spare = self.spare or self._middle(), None
        problems = [middle.problem] if middle.problem else []
        if "cgroup" in spec.get("skip", ()):
            problems = ["the control group was left out (a test or a benchmark)"]
            if middle.paths:  # a zygote that makes groups, asked for a worker without (slower)
                middle.discard()
                middle = self._middle(grouped=False)
        elif middle.paths:
            try:
                cgroups.limit(middle.paths, (spec["limits"]["memory_mb"] + worker.FOLDER_MB + 64) * 2**20)
            except OSError as exc:
                middle.discard()
                middle = self._middle(grouped=False)
                problems = [f"the worker's control group could not be limited ({exc.strerror}): its memory "
                            "is bounded per process, not in total"]
        pid, reply = middle.launch(spec, problems)
        self.groups.track(pid, middle.paths)  # first: a worker whose grader is gone is still ended
        self.running.add(pid)
        try:
            socket.send_fds(self.control, [_frame(channel.encode(reply))], [middle.ours.fileno(), middle.out_r])
        finally:
            middle.close()

    def wait(self, pid: int) -> dict:
        """After the grader killed the worker: its wait status, and whether the kernel killed
        a process of its group for memory."""
        self.running.discard(pid)
        status, oom = self.ended.pop(pid, None) or (_wait(pid), self.groups.forget(pid))
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
        if self.spare is not None:
            self.spare.discard()
        for pid in self.running:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in self.running:
            _wait(pid)
        self.groups.close()


class _Middle:
    """The intermediate process: joins the worker's group, waits for the worker's spec,
    enters new namespaces, forks the worker (PID 1 of its namespace) and leaves."""

    def __init__(self, paths: list[str], control: socket.socket, problem: str | None = None):
        self.paths, self.problem = paths, problem  # its group's folders, or why it has none
        self.ours, theirs = socket.socketpair()
        self.out_r, out_w = os.pipe()
        self.pid_r, pid_w = os.pipe()
        spec_r, self.spec_w = os.pipe()
        try:
            self.pid = os.fork()
        except OSError:
            for fd in (self.out_r, out_w, self.pid_r, pid_w, spec_r, self.spec_w):
                os.close(fd)
            self.ours.close()
            theirs.close()
            cgroups.remove(paths)
            raise
        if self.pid == 0:
            try:
                control.close()
                self.ours.close()
                for fd in (self.out_r, self.pid_r, self.spec_w):
                    os.close(fd)
                _middle(theirs, out_w, pid_w, spec_r, paths)
            finally:
                os._exit(0)
        theirs.close()
        for fd in (out_w, pid_w, spec_r):
            os.close(fd)

    def launch(self, spec: dict, problems: list[str]) -> tuple[int, dict]:
        """Hand the middle process its spec; the worker's pid and what is off. A middle
        process that died (or sent nothing usable) is discarded, its group with it."""
        fd, self.spec_w = self.spec_w, -1  # the file object below owns (and closes) it
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(pickle.dumps((spec, problems)))
            # one write of a few bytes, read as soon as it is made: the grader gets its reply
            # while the middle process is still exiting (EOF would wait for that)
            pid_text, *problems = os.read(self.pid_r, 1 << 16).decode().split("\n")
            pid = int(pid_text)
        except (OSError, ValueError):
            self.discard()
            raise
        return pid, {"pid": pid, "isolation_problems": problems}

    def close(self) -> None:
        os.close(self.pid_r)
        self.ours.close()
        os.close(self.out_r)
        _wait(self.pid)

    def discard(self) -> None:
        """Unused (or failed): let the middle process go, and its group."""
        if self.spec_w >= 0:
            os.close(self.spec_w)  # it reads an empty spec and leaves
            self.spec_w = -1
        self.close()
        cgroups.remove(self.paths)


def _middle(theirs: socket.socket, out_w: int, pid_w: int, spec_r: int, paths: list[str]) -> None:
    problems = []
    try:
        cgroups.join(paths)
    except OSError as exc:
        problems.append(f"the worker could not join its control group ({exc.strerror}): its memory "
                        "is bounded per process, not in total")
    with os.fdopen(spec_r, "rb") as f:
        data = f.read()
    if not data:
        return
    spec, given = pickle.loads(data)  # from the zygote itself
    problems = given + problems
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


def _frame(payload: bytes) -> bytes:
    return len(payload).to_bytes(8, "big") + payload


def _wait(pid: int):
    try:
        _, status = os.waitpid(pid, 0)
        return status
    except ChildProcessError:
        return None
