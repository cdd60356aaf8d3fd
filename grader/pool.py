"""The worker pool of `grade batch`: `jobs` clean grading processes, one zygote each.

Workers are spawned (not forked) and ignore SIGINT, so Ctrl-C is the batch's to handle;
each runs one pytest session and grades one student after another in it (`grade_each`),
with its own sandbox zygote. A worker that dies, or whose grading outlives the
submission's limit by a minute, is replaced.

On a Dask worker (grader.cluster), a daemonic process that multiprocessing does not let
have children, the same grading process is started as a command (`python -m
grader.pool FD`) and serves one student at a time (`GradingProcess`).
"""

from __future__ import annotations

import collections
import contextlib
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from multiprocessing import resource_tracker
from pathlib import Path

from grader.course import Course
from grader.errors import GraderError
from grader.i18n import _

def grade_in_parallel(course: Course, exercise_id: str, tasks: list, *, hidden: bool, jobs: int):
    """Yield (task, outcome) as students finish; outcome is {"report": dict} or {"error": str}.

    task is (Student, anything). A worker that dies, or is stopped because one grading
    outlived the submission's time limit by a minute, takes its student with it: that
    student is retried once on a fresh worker, then gets an error row.
    """
    if not tasks:
        return
    pool = _Pool(course, exercise_id, hidden, jobs)
    limit = course.exercise(exercise_id).limits.submission_seconds + 60
    pending = collections.deque((task, 0) for task in tasks)
    busy: dict = {}  # conn -> (worker, task, tries)
    try:
        while pending or busy:
            while pending and pool.idle:
                worker, (task, tries) = pool.idle.pop(), pending.popleft()
                if pool.assign(worker, (task[0].id, str(task[0].path))):
                    busy[worker.conn] = (worker, task, tries)
                else:
                    pending.appendleft((task, tries))
            for conn in multiprocessing.connection.wait(list(busy), timeout=5):
                worker, task, tries = busy.pop(conn)
                try:
                    outcome = conn.recv()
                    pool.graded += 1
                    pool.idle.append(worker)
                except (EOFError, OSError):
                    how = pool.replace(worker)
                    if tries == 0:
                        pending.appendleft((task, 1))
                        continue
                    outcome = {"error": _("the grading process {how}, twice on this submission", how=how)}
                yield task, outcome
            pool.stop_stuck(limit)
    finally:
        pool.close(now=bool(pending or busy))


@dataclass
class _Worker:
    process: multiprocessing.Process
    conn: multiprocessing.connection.Connection
    started: float = 0.0   # when its current student was handed over
    stuck: bool = False


class _Pool:
    """`jobs` spawned grading processes; a dead or stuck one is replaced."""

    def __init__(self, course, exercise_id, hidden, jobs, *, command: bool = False):
        self.ctx = multiprocessing.get_context("spawn")
        from grader.i18n import current

        self.args = (course, exercise_id, hidden, current())  # the batch's language, in every process
        self.command = command  # started as `python -m grader.pool FD` (a Dask worker's)
        self.graded = self.deaths = 0
        self.workers = [self._start() for _ in range(jobs)]
        self.idle = list(self.workers)

    def _start(self) -> _Worker:
        """Spawn a grading process that never sees Ctrl-C, without ever ignoring it here.

        SIGINT is blocked (not ignored) while the process starts: the child inherits the
        mask through fork and exec and ignores SIGINT before unblocking it, while a Ctrl-C
        that reaches the batch in that window stays pending and is delivered once the mask
        is restored. (Ignoring it here instead, as this did before, dropped a Ctrl-C that
        arrived while a worker was being replaced: the batch then ran to the end.) The
        resource tracker is started first because its own start unblocks SIGINT.
        """
        if self.command:
            return self._start_command()
        ours, theirs = self.ctx.Pipe()
        process = self.ctx.Process(target=_worker_main, args=(theirs, *self.args), daemon=True)
        resource_tracker.ensure_running()
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            process.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)
        theirs.close()
        return _Worker(process, ours)

    def _start_command(self) -> _Worker:
        """The same grading process as a command, talking over a socket pair (where
        multiprocessing refuses to start a child: a Dask worker is a daemonic process)."""
        ours, theirs = socket.socketpair()
        with theirs:
            process = subprocess.Popen([sys.executable, "-m", "grader.pool", str(theirs.fileno())],
                                       pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL)
        conn = multiprocessing.connection.Connection(ours.detach())
        conn.send(self.args)
        return _Worker(_Command(process), conn)

    def assign(self, worker: _Worker, task) -> bool:
        try:
            worker.conn.send(task)
        except OSError:  # it died while idle
            self.replace(worker)
            return False
        worker.started = time.monotonic()
        return True

    def stop_stuck(self, limit: float) -> None:
        for w in self.workers:
            overdue = time.monotonic() - w.started - limit
            if w in self.idle or overdue <= 0:
                continue
            if not w.stuck:
                w.stuck = True
                w.process.terminate()  # its connection then reports the end
            elif overdue > 30 and w.process.is_alive():
                w.process.kill()  # SIGTERM did not end it (stuck in C code)

    def replace(self, worker: _Worker) -> str:
        """Start a new worker in place of one that ended; say how it ended."""
        worker.process.join(5)
        code = worker.process.exitcode
        worker.conn.close()
        self.workers.remove(worker)
        self.deaths += 1
        if self.deaths > 3 and not self.graded:
            raise GraderError(f"the grading processes die before grading anyone (exit status {code}); "
                              "grade one student with 'grade EXERCISE --submission PATH' to see why")
        fresh = self._start()
        self.workers.append(fresh)
        self.idle.append(fresh)
        if worker.stuck:
            return f"was stopped after {time.monotonic() - worker.started:.0f} s"
        return f"died ({f'signal {-code}' if code is not None and code < 0 else f'exit status {code}'})"

    def grade(self, task) -> dict:
        """Grade one task on this pool's one process (jobs=1) and return its outcome; a
        process that dies or is stopped is replaced and the task retried once, as in
        grade_in_parallel. Raises GraderError when the processes die before grading anyone."""
        limit = self.args[0].exercise(self.args[1]).limits.submission_seconds + 60
        how = "could not be handed the submission"
        for _attempt in range(2):
            worker = self.idle.pop()
            if not self.assign(worker, task):
                continue  # it had died while idle; assign replaced it
            while not multiprocessing.connection.wait([worker.conn], timeout=5):
                self.stop_stuck(limit)
            try:
                outcome = worker.conn.recv()
            except (EOFError, OSError):
                how = self.replace(worker)
                continue
            self.graded += 1
            self.idle.append(worker)
            return outcome
        return {"error": _("the grading process {how}, twice on this submission", how=how)}

    def close(self, *, now: bool) -> None:
        """Stop the workers: when they are idle, by asking; when interrupted, with SIGTERM."""
        for w in self.workers:
            with contextlib.suppress(OSError):
                w.conn.send(None)
            if now and w.process.is_alive():
                w.process.terminate()
        deadline = time.monotonic() + 10
        for w in self.workers:
            w.process.join(max(0.1, deadline - time.monotonic()))
            if w.process.is_alive():
                w.process.kill()
                w.process.join()
            w.conn.close()


class GradingProcess(_Pool):
    """One grading process kept for many students, graded one at a time with `grade`
    (what a Dask worker's thread uses); started as a command."""

    def __init__(self, course: Course, exercise_id: str, hidden: bool):
        super().__init__(course, exercise_id, hidden, 1, command=True)


class _Command:
    """A grading process started with subprocess, seen through the few members of
    multiprocessing.Process that the pool uses."""

    def __init__(self, popen: subprocess.Popen):
        self.popen = popen

    @property
    def exitcode(self) -> int | None:
        return self.popen.poll()  # negative: the signal that ended it, as multiprocessing says

    def is_alive(self) -> bool:
        return self.popen.poll() is None

    def join(self, timeout: float | None = None) -> None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout)

    def terminate(self) -> None:
        with contextlib.suppress(OSError):
            self.popen.terminate()

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.popen.kill()


def _worker_main(conn, course: Course, exercise_id: str, hidden: bool, lang: str = "en") -> None:
    """A grading process: one zygote, one pytest session, many students, one at a time.

    SIGTERM (the batch was interrupted) kills the zygote's process group, which holds the
    sandboxed worker of the student being graded, and exits at once: an interrupted
    grading is never reported.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the batch's (discards one pending)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # blocked by _Pool._start
    from grader.grade import ZygoteKeeper, grade_each

    zygotes = ZygoteKeeper()

    def on_term(signum, frame):
        zygotes.kill()
        os._exit(0)

    signal.signal(signal.SIGTERM, on_term)
    from grader.i18n import language

    tasks = _Tasks(conn)
    try:
        with language(lang):
            grade_each(course, exercise_id, tasks, tasks.answer, hidden=hidden, zygotes=zygotes, retries=1)
    except (EOFError, OSError):
        pass  # the batch is gone
    except GraderError as exc:  # the course's tests are broken: every student says so
        with contextlib.suppress(EOFError, OSError):
            if tasks.waiting:
                tasks.answer(None, exc)
            if not tasks.done:
                for path in tasks:
                    tasks.answer(path, exc)
    finally:
        zygotes.discard()


class _Tasks:
    """The paths the batch hands this process, until it says stop (None) or goes away;
    `waiting` while a student has been read but not answered, `done` once it said stop."""

    def __init__(self, conn):
        self.conn = conn
        self.waiting = False
        self.done = False  # the batch said stop, or went away

    def __iter__(self):
        with contextlib.suppress(EOFError, OSError):
            while (task := self.conn.recv()) is not None:
                self.waiting = True
                yield Path(task[1]) if isinstance(task[1], str) else task[1]  # a path, or code already read
        self.done = True

    def answer(self, _path, result) -> None:
        self.conn.send(outcome_of(result))
        self.waiting = False


def outcome_of(result) -> dict:
    """What a grading process sends back: {"report": dict} or {"error": reason}."""
    if isinstance(result, Exception):
        return {"error": _("grading failed: {error}", error=f"{type(result).__name__}: {result}")}
    return {"report": result.to_dict()}


if __name__ == "__main__":  # GradingProcess: `python -m grader.pool FD`, then (course, exercise id, hidden, lang) on FD
    _connection = multiprocessing.connection.Connection(int(sys.argv[1]))
    _worker_main(_connection, *_connection.recv())
