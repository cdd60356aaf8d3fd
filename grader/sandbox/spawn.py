"""Starting the zygote: the clean interpreter that forks sandboxed workers.

Kept free of numpy (the channel is imported when first used), so the CLI can start the
zygote before it imports anything heavy: the zygote's own start-up (an interpreter and
numpy, about 0.2 s) then overlaps with the grader's.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path


class Zygote:
    """A clean interpreter that forks workers. One per grading process, reused."""

    def __init__(self, *, leave_out: frozenset = frozenset()):
        """`leave_out` with "cgroup": its workers get no control group (tests and benchmarks)."""
        if not hasattr(os, "fork"):
            from grader.errors import GraderError
            raise GraderError("grading runs student code in a forked sandbox, which needs Linux or "
                              "macOS; on Windows, run the grader inside WSL")
        ours, theirs = socket.socketpair()
        grader_parent = str(Path(__file__).resolve().parents[2])
        bootstrap = ("import sys; sys.path.insert(0, sys.argv[1]); "
                     "from grader.sandbox.zygote import main; main(int(sys.argv[2]), sys.argv[3] == 'groups')")
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "SYSTEMROOT")}
        env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
                   PYTHONHASHSEED="0", PYTHONDONTWRITEBYTECODE="1")
        self.process = subprocess.Popen(
            # the grader's pid last: `ps` shows whose zygote (and worker) a process is
            [sys.executable, "-I", "-c", bootstrap, grader_parent, str(theirs.fileno()),
             "no-groups" if "cgroup" in leave_out else "groups", str(os.getpid())],
            pass_fds=[theirs.fileno()], env=env, stdin=subprocess.DEVNULL,
            start_new_session=True)
        theirs.close()
        self.sock = ours
        self.lock = threading.Lock()
        self.ready = None
        from grader.sandbox import isolate
        isolate.reuse_freed_memory()  # this process too: every reply's arrays are new memory

    def _wait_ready(self) -> dict:
        from grader.sandbox import channel

        if self.ready is None:
            self.ready = channel.recv_reply(self.sock)
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
