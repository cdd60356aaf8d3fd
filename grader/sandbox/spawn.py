"""Starting the zygotes: the clean interpreters that fork sandboxed workers.

Kept free of numpy (the channel is imported when first used), so the CLI can start the
zygote before it imports anything heavy: the zygote's own start-up (an interpreter and
numpy, about 0.2 s; with torch about 3 s) then overlaps with the grader's.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path


class Zygote:
    """The clean interpreters that fork sandboxed workers. One per grading process, reused.

    A worker forks from the zygote of what its exercise `needs` (course.yml): the plain one
    (numpy), or one that imported torch too. Each is started on first use, or ahead with
    `prepare` (its start-up then overlaps with the grader's), so a course that needs
    nothing never starts an interpreter that imports torch."""

    def __init__(self, *, leave_out: frozenset = frozenset(), needs: tuple = ()):
        """`leave_out` with "cgroup": its workers get no control group (tests and benchmarks).
        The zygote of `needs` starts now (the plain one by default)."""
        if not hasattr(os, "fork"):
            from grader.errors import GraderError
            raise GraderError("grading runs student code in a forked sandbox, which needs Linux or "
                              "macOS; on Windows, run the grader inside WSL")
        self.leave_out = frozenset(leave_out)
        self.lock = threading.Lock()
        self.processes: dict[tuple, _Interpreter] = {}
        self.forked_by: dict[int, _Interpreter] = {}  # worker pid -> the zygote that forked it
        self.prepare(needs)
        from grader.sandbox import isolate
        isolate.reuse_freed_memory()  # this process too: every reply's arrays are new memory

    @property
    def process(self) -> subprocess.Popen:
        """The first zygote started (a grading needs one; `alive` looks at all)."""
        return next(iter(self.processes.values())).process

    def prepare(self, needs=()) -> None:
        """Start the zygote of `needs` now, if it is not running yet; do not wait for it."""
        key = tuple(sorted(set(needs)))
        with self.lock:
            if key not in self.processes:
                self.processes[key] = _Interpreter(key, self.leave_out)

    def alive(self) -> bool:
        return all(z.process.poll() is None for z in self.processes.values())

    def kill(self) -> None:
        """From a signal handler: every zygote and the workers it forked, without waiting."""
        import signal

        for z in list(self.processes.values()):
            try:
                os.killpg(z.process.pid, signal.SIGKILL)
            except OSError:
                pass

    def spawn(self, spec: dict) -> tuple[int, socket.socket, int, list[str]]:
        """A worker for `spec`, forked by the zygote of `spec["needs"]` (started now if need be)."""
        needs = tuple(sorted(set(spec.get("needs", ()))))
        self.prepare(needs)
        zygote = self.processes[needs]
        pid, *rest = zygote.spawn(spec)
        self.forked_by[pid] = zygote
        return (pid, *rest)

    def wait(self, pid: int) -> tuple[int | None, bool]:
        """Reap a worker the grader killed: its wait status, and whether the kernel killed a
        process of its control group for memory."""
        zygote = self.forked_by.pop(pid, None) or next(iter(self.processes.values()))
        return zygote.wait(pid)

    def close(self) -> None:
        """Close every channel: each zygote kills any worker still running and exits at once."""
        for z in self.processes.values():
            z.close()


class _Interpreter:
    """One zygote process: a `python -I` that imported numpy (and what `needs` names) and
    the worker code, and forks a worker per request."""

    def __init__(self, needs: tuple, leave_out: frozenset):
        ours, theirs = socket.socketpair()
        grader_parent = str(Path(__file__).resolve().parents[2])
        bootstrap = ("import sys; sys.path.insert(0, sys.argv[1]); from grader.sandbox.zygote import main; "
                     "main(int(sys.argv[2]), sys.argv[3] == 'groups', tuple(filter(None, sys.argv[4].split(','))))")
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "SYSTEMROOT")}
        env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
                   PYTHONHASHSEED="0", PYTHONDONTWRITEBYTECODE="1")
        if needs:  # fewer malloc arenas: torch's address space grows with each (NOTES.md)
            env.update(MALLOC_ARENA_MAX="2")
        self.process = subprocess.Popen(
            # the grader's pid last: `ps` shows whose zygote (and worker) a process is
            [sys.executable, "-I", "-c", bootstrap, grader_parent, str(theirs.fileno()),
             "no-groups" if "cgroup" in leave_out else "groups", ",".join(needs) or ",", str(os.getpid())],
            pass_fds=[theirs.fileno()], env=env, stdin=subprocess.DEVNULL,
            start_new_session=True)
        theirs.close()
        self.needs = needs
        self.sock = ours
        self.lock = threading.Lock()
        self.ready = None

    def _wait_ready(self) -> dict:
        from grader.sandbox import channel

        if self.ready is None:
            self.ready = channel.recv_reply(self.sock)
        if type(self.ready) is not dict or self.ready.get("ready") is not True:
            from grader.errors import SandboxFailure
            why = self.ready.get("error") if type(self.ready) is dict else None
            raise SandboxFailure(f"the sandbox's zygote for {', '.join(self.needs) or 'numpy'} could not "
                                 f"start ({str(why or 'a malformed first frame')[:300]})")
        return self.ready

    def spawn(self, spec: dict) -> tuple[int, socket.socket, int, list[str]]:
        from grader.sandbox import channel

        with self.lock:
            self._wait_ready()
            fds = []
            try:
                channel.send_request(self.sock, {"op": "spawn", **spec})
                data, fds, _, _ = socket.recv_fds(self.sock, 1 << 16, 2)
                size = int.from_bytes(data[:8], "big")
                while len(data) < 8 + size:
                    more = self.sock.recv(8 + size - len(data))
                    if not more:
                        raise EOFError("the zygote closed its channel")
                    data += more
                reply = channel.decode(data[8:8 + size])
                if len(fds) != 2:
                    raise RuntimeError(reply.get("error", "no worker") if type(reply) is dict else "no worker")
            except (OSError, EOFError, RuntimeError, channel.ProtocolError) as exc:
                for fd in fds:
                    os.close(fd)
                from grader.errors import SandboxFailure
                raise SandboxFailure(f"the sandbox could not start a worker process ({exc})") from None
        return reply["pid"], socket.socket(fileno=fds[0]), fds[1], reply["isolation_problems"]

    def wait(self, pid: int) -> tuple[int | None, bool]:
        """Reap a worker the grader killed: its wait status, and whether the kernel killed a
        process of its control group for memory."""
        from grader.sandbox import channel

        with self.lock:
            channel.send_request(self.sock, {"op": "wait", "pid": pid})
            reply = channel.recv_reply(self.sock)
            return reply["status"], reply.get("oom") is True

    def close(self) -> None:
        """Close the channel: the zygote kills any worker still running and exits at once."""
        self.sock.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
