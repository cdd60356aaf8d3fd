"""The trusted side: stand-ins for the student's functions that call into the worker.

`Submission` is the one seam through which the grader touches student code. Tests call
`student.dropout_forward(x, p, True, rng)` as if it were local; the call runs in a
sandboxed worker, and the result comes back as plain data (or `Opaque` handles).
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
import warnings
from dataclasses import asdict
from pathlib import Path

import numpy as np

from grader.course import Exercise
from grader.errors import SandboxFailure
from grader.sandbox import channel, isolate
from grader.sandbox.spawn import Zygote  # noqa: F401 - re-exported: the seam's other half
from grader.sandbox.signatures import read_signatures
from grader.submission import StudentCode, read


class StudentError(Exception):
    """The student's code raised, could not be imported, or ended its process."""

    def __init__(self, message: str, *, not_implemented: bool = False, exc_type: str | None = None):
        super().__init__(message)
        self.not_implemented = not_implemented
        self.exc_type = exc_type  # the student's exception class name, when it raised one


class StudentTimeout(StudentError):
    """The student's code ran past a time limit."""


class InputModified(AssertionError):
    """The student's function changed an argument it must leave alone (a failed check)."""


class IsolationWarning(UserWarning):
    """The sandbox could not isolate the worker as fully as on Linux."""


_warned: set[str] = set()
# What the worker's replies may hold, checked before they are read: one reply (arrays and
# all; the largest of a real exercise is 8 MB) and all replies of one submission (a real
# exercise's total is under 60 MB): what the trusted process receives and decodes for a student.
REPLY_MB = 64
SUBMISSION_REPLIES_MB = 1024
READY_SECONDS = 60  # a worker confines itself in milliseconds; past this, the machine is at fault


def reset_warnings() -> None:
    """Warn again about a weaker sandbox (each grading of a batch must carry the warning)."""
    _warned.clear()


class _Output:
    """Drains the worker's stdout and stderr; keeps the first `limit` bytes, drops the rest."""

    def __init__(self, fd: int, limit: int):
        self.limit = limit
        self.data = bytearray()
        self.dropped = 0
        self.thread = threading.Thread(target=self._drain, args=(fd,), daemon=True)
        self.thread.start()

    def _drain(self, fd: int) -> None:
        with os.fdopen(fd, "rb", buffering=0) as pipe:
            while chunk := pipe.read(65536):
                room = self.limit - len(self.data)
                self.data += chunk[:max(room, 0)]
                self.dropped += max(len(chunk) - max(room, 0), 0)

    def text(self) -> str:
        self.thread.join(timeout=1)
        text = self.data.decode("utf-8", errors="replace")
        if self.dropped:
            text += f"\n[... {self.dropped} more bytes of output dropped]"
        return text


class Submission:
    """The student's module, running in a sandboxed worker; attribute access gives proxies."""

    MAX_RESTARTS = 25
    SLOW_NOTICE_SECONDS = 3.0  # a wait longer than this is announced through `on_slow`

    def __init__(self, exercise: Exercise, code: "StudentCode | Path | None", *,
                 zygote: Zygote | None = None, problem: str = "", on_slow=None,
                 leave_out: frozenset = frozenset()):
        """`code` is what `grader.submission.read` gives (a module file's path is read so);
        None with the `problem` that leaves nothing to grade (every test says so). `on_slow`
        hears of calls that run long (see `_wait_announced`). `leave_out` names layers of the
        sandbox not to use, for tests and benchmarks only: "namespaces", "mounts", "cgroup",
        "landlock", "seccomp" (a zygote given here decides about "cgroup" itself: see Zygote)."""
        self.exercise = exercise
        self.leave_out = frozenset(leave_out)
        self.code = code if isinstance(code, StudentCode) or code is None else read(exercise, Path(code))
        self.module_file = self.code.path if self.code else None  # the student's file
        self.name = self.code.name if self.code else exercise.module
        self.problem = problem      # set when nothing could be graded: the report's headline
        self.notes: list[str] = list(self.code.notes) if self.code else []
        self.cell_failures: list[str] = []  # a notebook's cells that raised (they fail alone)
        self.units: list[tuple[str, str]] = []
        self.limits = exercise.limits
        self.signatures = read_signatures(exercise)
        self._own_zygote = zygote is None
        self.zygote = zygote if zygote is not None else (
            Zygote(leave_out=self.leave_out, needs=exercise.needs) if self.code else None)
        self.deadline = None
        self.private = None
        self.worker = None          # (pid, sock, output)
        self.functions: dict = {}
        self.load_error: StudentError | None = None
        self.generation = 0
        self.outputs: list[str] = []
        self.isolation_problems: list[str] = []
        self.timed_out: dict[str, str] = {}  # function -> why it is not called again
        self.on_slow = on_slow  # on_slow(what, seconds waited, limit): a long wait, still going
        self.reply_bytes = min(self.limits.memory_mb, REPLY_MB) * 2**20
        self.bytes_left = SUBMISSION_REPLIES_MB * 2**20  # what all replies of this submission may hold

    # ------------------------------------------------------------ lifecycle

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        try:
            self._stop_worker()
        finally:
            if self.private:
                shutil.rmtree(self.private, onerror=_force_remove)
                self.private = None
            if self._own_zygote and self.zygote:
                self.zygote.close()

    @property
    def output(self) -> str:
        return "".join(self.outputs)

    def _start(self) -> None:
        if self.load_error:
            raise self.load_error.with_traceback(None)  # a traceback per test would pile up
        if self.code is None:
            self.load_error = StudentError(self.problem)
            raise self.load_error.with_traceback(None)
        if self.generation >= self.MAX_RESTARTS:
            raise StudentError("your code crashed the worker process too many times; grading stopped")
        if self.deadline is None:
            self.deadline = time.monotonic() + self.limits.submission_seconds
        elif time.monotonic() >= self.deadline:
            self.load_error = StudentTimeout(
                f"your code used up the whole {self.limits.submission_seconds:g} s time budget "
                "of this submission; the remaining tests were not run")
            raise self.load_error.with_traceback(None)
        if self.private is None:
            self.private = self._prepare_folder()
        spec = {"dir": self.private, "module_file": self.exercise.module,
                "module_name": self.exercise.module_name, "functions": list(self.exercise.functions),
                "limits": asdict(self.limits), "generation": self.generation + 1,
                "units": self.units, "fail_alone": self.code.notebook,
                # what the worker may read, worked out here: the course's path never reaches it
                "readable": isolate.readable_paths((str(self.exercise.root),)), "reply_bytes": self.reply_bytes,
                "skip": tuple(self.leave_out), "needs": tuple(self.exercise.needs)}
        pid, sock, out_fd, problems = self.zygote.spawn(spec)
        self.generation += 1
        self.worker = (pid, sock, _Output(out_fd, self.limits.output_kb * 1024))
        self._warn(problems + self._confined())
        try:
            load = self._receive("the import")
        except StudentError as exc:
            self._failed_import(type(exc), f"{self.name} could not be imported: {exc}")
        self._imported(load)

    def _imported(self, load) -> None:
        """Take in the worker's reply to the import: its functions, or why there are none."""
        if type(load) is not dict or type(load.get("functions")) is not dict and load["ok"]:
            self._stop_worker()
            self._failed_import(StudentError, f"importing {self.name} sent back a malformed reply")
        if not load["ok"]:
            self._stop_worker()
            kind = "syntax error" if load.get("kind") == "syntax" else "error while importing"
            self._failed_import(StudentError, f"{self.name} could not be imported ({kind}): "
                                              f"{str(load.get('message', ''))[:2000]}")
        self.functions = {name: info for name, info in load["functions"].items()
                          if type(info) is dict and type(info.get("params")) is list
                          and type(info.get("signature")) is str}
        self._note_cell_errors(load.get("cell_errors"))
        if not self.functions:
            self._stop_worker()
            self._failed_import(StudentError, self._defines_nothing())

    def _write_units(self) -> list[tuple[str, str]]:
        """The student's code in the private folder: (file, name shown) per unit. A module
        is the exercise's module file; a notebook's cells are files of their own."""
        units = []
        for i, unit in enumerate(self.code.units):
            file = self.exercise.module if not self.code.notebook else f"cell_{i + 1:04d}.py"
            with open(os.path.join(self.private, file), "wb") as f:
                f.write(unit.source)
            units.append((file, unit.filename))
        return units

    def _failed_import(self, kind: type, message: str):
        """The module could not be imported: every test says so; if it never was, this is
        the report's one headline (nothing could be graded)."""
        self.load_error = kind(message)
        if self.generation == 1:
            self.problem = message
        raise self.load_error.with_traceback(None)

    def _note_cell_errors(self, errors) -> None:
        if self.generation != 1 or type(errors) is not list:
            return  # a restarted worker runs the same cells again: noted once
        self.cell_failures = [str(e)[:2000] for e in errors[:20]]
        self.notes += [f"{e}\n(the rest of this cell did not run; the other cells did. A cell that is only "
                       "for exploring, such as a plot, can be tagged 'exploration' to leave it out of grading)"
                       for e in self.cell_failures]

    def _defines_nothing(self) -> str:
        if self.cell_failures:
            del self.notes[len(self.notes) - len(self.cell_failures)]  # it becomes the headline
            more = len(self.cell_failures) - 1
            return (f"{self.name} could not be imported: {self.cell_failures[0]}"
                    + (f"\n({more} more cell{'s' if more > 1 else ''} failed: see the notes)" if more else ""))
        return (f"{self.name} defines none of the functions of {self.exercise.id} "
                f"({', '.join(self.exercise.functions)}); is it the right file?")

    def _prepare_folder(self) -> str:
        """The worker's folder with the student's code (`_write_units`). A failure here is the machine's
        (a full disk, say): the grading fails and is retried, it is not the student's zero."""
        private = None
        try:
            self.private = private = tempfile.mkdtemp(prefix="grader-worker-")
            self.units = self._write_units()
        except OSError as exc:
            if private:
                shutil.rmtree(private, ignore_errors=True)
            self.private = None
            raise SandboxFailure(f"the grader could not prepare the worker's folder ({exc}); "
                                 "free some space in the temporary folder and grade again") from None
        return private

    def _confined(self) -> list[str]:
        """The worker's first frame, sent before any student code ran: the guarantees that are
        off. A worker that could not confine itself is the machine's failure (retried)."""
        try:
            ready = channel.recv_reply(self.worker[1], deadline=time.monotonic() + READY_SECONDS,
                                       max_size=1 << 20)
        except (OSError, EOFError, TimeoutError, channel.ProtocolError) as exc:
            ready = {"setup_error": f"no word from the new worker ({type(exc).__name__}: {exc})"}
        if type(ready) is not dict or "setup_error" in ready or type(ready.get("isolation_problems")) is not list:
            self._stop_worker()
            reason = ready.get("setup_error") if type(ready) is dict else None
            reason = reason or "its first frame was malformed"
            raise SandboxFailure(f"the sandbox could not start a worker: {str(reason)[:300]}")
        return [str(p)[:300] for p in ready["isolation_problems"]]

    def _warn(self, problems: list[str]) -> None:
        self.isolation_problems = problems
        for problem in problems:
            if problem not in _warned:
                _warned.add(problem)
                warnings.warn(f"the sandbox is weaker here: {problem}", IsolationWarning, stacklevel=2)

    def _stop_worker(self) -> str:
        """Kill the worker (and with it its PID namespace); describe how it ended."""
        if self.worker is None:
            return ""
        pid, sock, output = self.worker
        self.worker = None
        sock.close()
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            status, oom = self.zygote.wait(pid)
        except (OSError, EOFError, channel.ProtocolError):
            status, oom = None, False  # the zygote is gone too; the worker died with it
        self.outputs.append(output.text())
        if oom:
            return (f"killed: together its processes, shared memory and files used more than the "
                    f"memory limit of {self.limits.memory_mb} MB")
        return _describe_status(status)

    # ------------------------------------------------------------ calls

    def __getattr__(self, name: str):
        if name.startswith("_") or name not in self.exercise.functions:
            raise AttributeError(name)
        return RemoteFunction(self, name)

    def call(self, name: str, args: tuple, kwargs: dict):
        return self.call_many(name, [(args, kwargs)])[0]

    def call_many(self, name: str, calls: list[tuple[tuple, dict]]) -> list:
        """Several calls of one function in one round trip to the worker (numerical gradients
        make hundreds). Each call is checked as if it were made alone."""
        info = self._function(name)
        expected = self.signatures[name]
        positional = [expected.bind(args, kwargs) for args, kwargs in calls]
        if not info["varargs"] and any(len(info["params"]) < len(p) for p in positional):
            raise StudentError(f"wrong signature: you wrote {info['signature']}; "
                               f"expected {expected.text}")
        results, changes = self._send(name, f"{name}()", {}, positional, None)
        for sent, changed in zip(positional, changes):
            self._apply_changes(name, expected.params, sent, changed)
        return results

    def call_method(self, target: "RemoteObject", method: str, args: tuple, kwargs: dict):
        """`target.method(*args, **kwargs)` in the worker (`target` an object it returned)."""
        self._function(target.about)
        what = f"{target.about}.{method}()" if method != "__call__" else f"{target.about}(...) called"
        results, changes = self._send(target.about, what, {"method": method, "target": _to_wire(target)},
                                      [args], [kwargs])
        self._generators_back([args], changes)
        return results[0]

    def probe(self, name: str, probe, args: tuple, kwargs: dict):
        """Run the grader-owned function `probe(<the student's name>, *args, **kwargs)` in the
        worker, against the student's objects (a class to construct, a module to train).
        `probe` is sent as its source text: a plain top-level function that imports what it
        uses. What it returns is as untrusted as the student's code: decide nothing on a
        verdict it computed, only on the numbers it sent back."""
        self._function(name)
        results, changes = self._send(name, f"{name}", {"probe": _probe_source(probe)}, [args], [kwargs])
        self._generators_back([args], changes)
        return results[0]

    def _function(self, name: str) -> dict:
        """The student's `name` as the worker found it at import (started if need be)."""
        if name in self.timed_out:  # one endless loop costs one wait, not one per test
            raise StudentTimeout(self.timed_out[name])
        if self.worker is None:
            self._start()
        info = self.functions.get(name)
        if info is None or not info["callable"]:
            hint = (f" (a notebook cell that failed may have been meant to define it: see the "
                    f"notes)") if self.cell_failures else ""
            raise StudentError(f"{self.name} has no function {name}(); "
                               f"define it with the signature {self.signatures[name].text}{hint}")
        return info

    def _send(self, name: str, what: str, request: dict, calls: list, kwargs: list | None) -> tuple[list, list]:
        """One request of one or more calls; (results, what each call changed). Raises the
        student's error, time-out or crash as StudentError."""
        if any(_stale_handles(args, self.generation) for args in [*calls, *(kwargs or ())]):
            raise StudentError(f"{name}() was given a value that an earlier call returned before "
                               "your code crashed and the worker restarted; it no longer exists")
        channel.send_request(self.worker[1], {"function": name, **request,
                                              "calls": [_to_wire(tuple(args)) for args in calls],
                                              **({"kwargs": [_to_wire(k) for k in kwargs]} if kwargs else {})})
        try:
            reply = self._receive(what, calls=len(calls))
        except StudentTimeout as exc:
            if exc is self.load_error:  # the whole submission's budget: every test says so anyway
                raise
            raise self._timed_out(name, str(exc)) from None
        if not reply["ok"]:
            exc_type = str(reply.get("type", "Exception"))[:100]
            if reply.get("timeout") is True:  # the worker's own per-call limit
                self._stop_worker()  # as after any timeout: the next call gets a fresh import
                raise self._timed_out(name, _timeout_message(what, self.limits.call_seconds))
            if reply.get("not_implemented") is True:
                raise StudentError(f"{name} is not implemented yet (it raises NotImplementedError)",
                                   not_implemented=True, exc_type=exc_type)
            if exc_type == "ResultError":  # the worker refused to send what the call returned
                raise StudentError(f"{what}: {str(reply.get('message', ''))[:2000]}", exc_type=exc_type)
            hint = (f" (the worker's memory limit is {self.limits.memory_mb} MB)"
                    if exc_type == "MemoryError" else "")
            raise StudentError(f"{what.removesuffix('()')} raised {str(reply.get('message', ''))[:2000]}{hint}",
                               exc_type=exc_type)
        results, changes = reply.get("results"), reply.get("changed")
        if type(results) is not list or type(changes) is not list or \
                not len(results) == len(changes) == len(calls):
            self._stop_worker()
            raise StudentError(f"{what} sent back a malformed reply")
        return [_remote(r, self, name) for r in results], changes

    def _generators_back(self, calls: list, changes: list) -> None:
        """A method's or probe's generator arguments advance as after a local call; the
        arrays they are given are the worker's copies (nothing is copied back)."""
        for sent, changed in zip(calls, changes):
            for index, now in changed.items() if type(changed) is dict else ():
                if type(index) is int and 0 <= index < len(sent) and isinstance(sent[index], np.random.Generator) \
                        and isinstance(now, dict) and "generator_state" in now:
                    try:
                        sent[index].bit_generator.state = now["generator_state"]
                    except Exception:  # noqa: BLE001 - a forged state: leave the caller's as it is
                        pass

    def _timed_out(self, name: str, message: str) -> StudentTimeout:
        """Remember that `name` ran out of time: its later tests say so without calling it."""
        self.timed_out.setdefault(name, f"{name}() was not called again: in an earlier test, {message}")
        return StudentTimeout(message)

    def _wait_announced(self, sock, what: str, limit: float) -> None:
        """Wait until the worker starts to answer (at most `limit` s). Past a few seconds,
        call `on_slow(what, waited, call limit)` about once a second, and `on_slow(what,
        None, call limit)` when the wait is over, so a long wait is never a silent one."""
        started, step, announced = time.monotonic(), self.SLOW_NOTICE_SECONDS, False
        try:
            while (waited := time.monotonic() - started) < limit:
                if select.select([sock], [], [], min(step, limit - waited))[0]:
                    return
                waited, step = time.monotonic() - started, 1.0
                if self.SLOW_NOTICE_SECONDS <= waited < limit:
                    self.on_slow(what, waited, self.limits.call_seconds)
                    announced = True
        finally:
            if announced:
                self.on_slow(what, None, self.limits.call_seconds)

    def _receive(self, what: str, *, calls: int = 1):
        pid, sock, _ = self.worker
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            self._stop_worker()
            self.load_error = StudentTimeout(
                f"your code used up the whole {self.limits.submission_seconds:g} s time budget "
                "of this submission; the remaining tests were not run")
            raise self.load_error.with_traceback(None)
        limit = min(self.limits.call_seconds * calls, remaining)
        try:
            if self.on_slow is not None:
                self._wait_announced(sock, what, limit)
            reply, size = channel.recv_reply_sized(sock, deadline=time.monotonic() + limit,
                                                   max_size=min(self.reply_bytes, self.bytes_left))
        except (socket.timeout, TimeoutError):
            self._stop_worker()
            raise StudentTimeout(_timeout_message(what, limit)) from None
        except (EOFError, ConnectionError, OSError) as exc:
            how = self._stop_worker()
            hint = "" if how.startswith("killed:") else "; does your code call exit(), or crash?"
            raise StudentError(f"{what} ended the worker process ({how}){hint}") from exc
        except channel.TooLarge as exc:
            self._stop_worker()
            raise self._too_large(what, exc) from None
        except (channel.ProtocolError, MemoryError) as exc:
            self._stop_worker()
            raise StudentError(f"{what} sent back something that is not plain data ({exc})") from None
        self.bytes_left -= size
        if type(reply) is not dict or type(reply.get("ok")) is not bool:
            self._stop_worker()
            raise StudentError(f"{what} sent back a malformed reply")
        return reply

    def _too_large(self, what: str, exc: channel.TooLarge) -> StudentError:
        """A reply refused for its size, before it was read: say which limit, in MB."""
        mb = lambda n: f"{n / 2**20:.0f} MB" if n >= 2**20 else f"{n / 1024:.0f} KB"  # noqa: E731
        if exc.what != "a reply":
            return StudentError(f"{what} returned too many values to send back ({mb(exc.size)} of lists, "
                                f"numbers and strings; at most {mb(exc.limit)}): return numpy arrays")
        if exc.size <= self.reply_bytes:  # within one reply's limit: the submission's total is spent
            self.load_error = StudentError(
                f"your code sent back more than {mb(SUBMISSION_REPLIES_MB * 2**20)} of results in all; "
                "the remaining tests were not run")
            return self.load_error
        return StudentError(f"{what} returned {mb(exc.size)}; a result may hold at most "
                            f"{mb(self.reply_bytes)} (arrays included)")

    def _apply_changes(self, name, params, sent, changed: dict) -> None:
        """Copy back arrays the function may change; any other changed argument fails the test."""
        allowed = self.exercise.mutates.get(name, ())
        for index, now in changed.items() if type(changed) is dict else ():
            if type(index) is not int or not 0 <= index < len(sent):
                continue
            param, before = params[index], sent[index]
            if isinstance(before, np.random.Generator):
                if isinstance(now, dict) and "generator_state" in now:
                    try:
                        before.bit_generator.state = now["generator_state"]
                    except Exception:  # noqa: BLE001 - a forged state: leave the caller's as it is
                        pass
            elif param.name in allowed and type(before) is np.ndarray:
                if type(now) is not np.ndarray or now.shape != before.shape:
                    raise InputModified(f"{name} must update {param.name} in place, keeping its shape "
                                        f"{before.shape}; afterwards it was {_short(now)}")
                np.copyto(before, now, casting="unsafe")
            else:  # the worker reports only arguments the call changed
                raise InputModified(
                    f"{name} changed its argument '{param.name}' in place; it must leave its inputs "
                    f"unchanged (compute a new array, e.g. out = x * mask rather than x *= mask)")


class RemoteFunction:
    """A stand-in for one of the student's functions (or classes)."""

    def __init__(self, submission: Submission, name: str):
        self.submission = submission
        self.__name__ = name

    def __call__(self, *args, **kwargs):
        return self.submission.call(self.__name__, args, kwargs)

    def many(self, arg_tuples) -> list:
        """`[f(*args) for args in arg_tuples]` in one round trip to the worker."""
        return self.submission.call_many(self.__name__, [(tuple(a), {}) for a in arg_tuples])

    def probe(self, probe, *args, **kwargs):
        """`probe(<this function or class of the student>, *args, **kwargs)`, run in the
        worker (see `Submission.probe`); its result as plain data."""
        return self.submission.probe(self.__name__, probe, args, kwargs)

    def __repr__(self) -> str:
        return f"<student function {self.__name__}>"


class RemoteObject(channel.Opaque):
    """An object the student's code returned that is not plain data (a torch module, a
    cache): it stays in the worker; its methods run there (`m.train()`, `m(x)`,
    `m.state_dict()`), their results come back as plain data or as more such objects. Two
    stand-ins are equal when they stand for the same object of the same worker (so
    `m.eval() == m` tells that eval() returned the module itself). It travels back to the
    worker as the plain handle it is."""

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args, **kwargs: self._submission.call_method(self, name, args, kwargs)

    def __call__(self, *args, **kwargs):
        return self._submission.call_method(self, "__call__", args, kwargs)

    def __eq__(self, other):
        return isinstance(other, channel.Opaque) and (self.handle, self.generation) == (other.handle, other.generation)

    def __hash__(self):
        return hash((self.handle, self.generation))

    def __reduce__(self):
        return channel.Opaque, (self.handle, self.type_name, self.generation)

    @property
    def about(self) -> str:
        """The student's function or class whose call made it (it names it in messages)."""
        return self._about


def _remote(value, submission: Submission, about: str):
    """Opaque handles in a result as `RemoteObject`s whose methods can be called."""
    if type(value) is channel.Opaque:
        obj = RemoteObject(value.handle, value.type_name, value.generation)
        object.__setattr__(obj, "_submission", submission)
        object.__setattr__(obj, "_about", about)
        return obj
    if type(value) in (tuple, list):
        return type(value)(_remote(v, submission, about) for v in value)
    if type(value) is dict:
        return {k: _remote(v, submission, about) for k, v in value.items()}
    return value


def _to_wire(value):
    """What goes to the worker: generators as their state, torch tensors as their numbers
    (`TensorValue`), stand-ins as their handles; the rest as it is (pickled)."""
    t = type(value)
    if isinstance(value, np.random.Generator):
        return channel.GeneratorState.of(value)
    if isinstance(value, RemoteObject):
        return channel.Opaque(value.handle, value.type_name, value.generation)
    if t in (tuple, list):
        return t(_to_wire(v) for v in value)
    if t is dict:
        return {k: _to_wire(v) for k, v in value.items()}
    torch = sys.modules.get("torch")  # no tensor exists where torch was never imported
    if torch is not None and isinstance(value, torch.Tensor):
        return channel.TensorValue.of(value)
    return value


def _probe_source(probe) -> tuple[str, str]:
    """(name, source) of a probe: a plain top-level function of a trusted file (a test
    module, or the grader's own), sent as text and compiled in the worker."""
    import inspect
    import textwrap

    name = getattr(probe, "__name__", "")
    if not inspect.isfunction(probe) or probe.__closure__ or name == "<lambda>" or "." in probe.__qualname__:
        raise TypeError(f"a probe must be a top-level function (def), not {probe!r}")
    return name, textwrap.dedent(inspect.getsource(probe))


def _timeout_message(what: str, seconds: float) -> str:
    return f"{what} did not finish within {seconds:g} s (an endless loop, or much slower than it needs to be?)"


def _stale_handles(value, generation: int) -> bool:
    if isinstance(value, channel.Opaque):
        return value.generation != generation
    if type(value) in (tuple, list):
        return any(_stale_handles(v, generation) for v in value)
    if type(value) is dict:
        return any(_stale_handles(v, generation) for v in value.values())
    return False


def _short(value) -> str:
    return f"an array of shape {value.shape}" if type(value) is np.ndarray else type(value).__name__


def _force_remove(function, path, _exc) -> None:
    """rmtree's error handler: a student's chmod 000 must not leave its folder behind."""
    try:
        os.chmod(os.path.dirname(path), 0o700)
        os.chmod(path, 0o700)
        function(path)
    except OSError:
        pass


def _describe_status(status) -> str:
    if status is None:
        return "it ended"
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        names = {signal.SIGSEGV: "a segmentation fault", signal.SIGKILL: "killed",
                 signal.SIGXCPU: "CPU time limit exceeded", signal.SIGABRT: "aborted"}
        return names.get(sig, f"signal {sig}")
    if os.WIFEXITED(status):
        return f"exit status {os.WEXITSTATUS(status)}"
    return "it ended"
