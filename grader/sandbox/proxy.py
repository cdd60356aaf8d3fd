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
from dataclasses import asdict
from pathlib import Path

import numpy as np

from grader.course import Exercise
from grader.errors import SandboxFailure
from grader.i18n import N_, _, n_
from grader.sandbox import channel, isolate
from grader.sandbox.spawn import Zygote  # noqa: F401 - re-exported: the seam's other half
from grader.sandbox.signatures import read_signatures
from grader.submission import StudentCode, read


class StudentError(Exception):
    """The student's code raised, could not be imported, or ended its process."""

    def __init__(self, message: str, *, not_implemented: str = "", exc_type: str | None = None):
        super().__init__(message)
        self.not_implemented = not_implemented  # the function that is not implemented yet, if that is why
        self.exc_type = exc_type  # the student's exception class name, when it raised one


class StudentTimeout(StudentError):
    """The student's code ran past a time limit."""


# What the worker's replies may hold, checked before they are read: one reply (arrays and
# all; the largest of a real exercise is 8 MB) and all replies of one submission (a real
# exercise's total is under 60 MB): what the trusted process receives and decodes for a student.
REPLY_MB = 64
SUBMISSION_REPLIES_MB = 1024
READY_SECONDS = 60  # a worker confines itself in milliseconds; past this, the machine is at fault


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
            text += "\n" + _("[... {count} more bytes of output dropped]", count=self.dropped)
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
        self.isolation_problems: list[str] = []  # the current worker's
        self.warnings: list[str] = []  # every worker's, for the report
        self.timed_out: dict[str, str] = {}  # function -> why it is not called again
        self.killed_for_memory = False  # how the last worker stopped
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
            raise StudentError(_("your code crashed the worker process too many times; grading stopped"))
        if self.deadline is None:
            self.deadline = time.monotonic() + self.limits.submission_seconds
        elif time.monotonic() >= self.deadline:
            self.load_error = StudentTimeout(self._budget_spent())
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
            load = self._receive(_("the import"))
        except StudentError as exc:
            self._failed_import(type(exc), _("{file} could not be imported: {error}", file=self.name, error=exc))
        self._imported(load)

    def _imported(self, load) -> None:
        """Take in the worker's reply to the import: its functions, or why there are none."""
        if type(load) is not dict or type(load.get("functions")) is not dict and load["ok"]:
            self._stop_worker()
            self._failed_import(StudentError, _("importing {file} sent back a malformed reply", file=self.name))
        if not load["ok"]:
            self._stop_worker()
            kind = _("syntax error") if load.get("kind") == "syntax" else _("error while importing")
            self._failed_import(StudentError, _("{file} could not be imported ({kind}): {error}", file=self.name,
                                                kind=kind, error=str(load.get("message", ""))[:2000]))
        self.functions = {name: info for name, info in load["functions"].items()
                          if type(info) is dict and type(info.get("params")) is list
                          and type(info.get("signature")) is str}
        self._note_cell_errors(load.get("cell_errors"))
        if not self.functions:
            self._stop_worker()
            self._failed_import(StudentError, self._defines_nothing())

    def _write_units(self) -> list[tuple[str, str]]:
        """The student's code in the private folder: (file, name shown) per unit. A module
        is the exercise's module file; a notebook's cells (or a kernel's, from
        grader.notebook) are files of their own."""
        units = []
        for i, unit in enumerate(self.code.units):
            one_file = len(self.code.units) == 1 and not self.code.notebook
            file = self.exercise.module if one_file else f"cell_{i + 1:04d}.py"
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
        self.notes += [_("{error}\n(the rest of this cell did not run; the other cells did. A cell that is "
                         "only for exploring, such as a plot, can be tagged 'exploration' to leave it out of "
                         "grading)", error=e) for e in self.cell_failures]

    def _defines_nothing(self) -> str:
        if self.cell_failures:
            del self.notes[len(self.notes) - len(self.cell_failures)]  # it becomes the headline
            more = len(self.cell_failures) - 1
            first = _("{file} could not be imported: {error}", file=self.name, error=self.cell_failures[0])
            return first + ("\n" + n_("({n} more cell failed: see the notes)", "({n} more cells failed: see the notes)",
                                      more) if more else "")
        return _("{file} defines none of the functions of {exercise} ({functions}); is it the right file?",
                 file=self.name, exercise=self.exercise.id, functions=", ".join(self.exercise.functions))

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
        """What the sandbox could not do for this worker: the report's warnings (each once)."""
        self.isolation_problems = problems
        for problem in problems:
            text = _("the sandbox is weaker here: {problem}", problem=problem)
            if text not in self.warnings:
                self.warnings.append(text)

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
        self.killed_for_memory = oom
        if oom:
            return _("killed: together its processes, shared memory and files used more than the memory "
                     "limit of {mb} MB", mb=self.limits.memory_mb)
        return _describe_status(status)

    # ------------------------------------------------------------ calls

    def __getattr__(self, name: str):
        if name.startswith("_") or name not in self.exercise.functions:
            raise AttributeError(name)
        return RemoteFunction(self, name)

    def outcomes(self, name: str, calls: list[tuple[tuple, dict]]) -> list["Outcome"]:
        """Several calls of one function in one round trip to the worker, an `Outcome` each:
        a call that raises does not stop the ones after it, and its error is raised only when
        its outcome is taken, so each call reads as if it were made alone. A generator passed
        to several calls advances from one to the next, as with local calls. Errors that
        concern every call (no such function, a wrong signature, a crash or time-out of the
        worker) are raised at once."""
        info = self._function(name)
        expected = self.signatures[name]
        positional = [expected.bind(args, kwargs) for args, kwargs in calls]
        if not info["varargs"] and any(len(info["params"]) < len(p) for p in positional):
            raise StudentError(_("wrong signature: you wrote {yours}; expected {expected}",
                                 yours=info["signature"], expected=expected.text))
        raw = self._send(name, f"{name}()", {}, positional, None)
        return [self._outcome(name, expected.params, sent, outcome) for sent, outcome in zip(positional, raw)]

    def call_method(self, target: "RemoteObject", method: str, args: tuple, kwargs: dict):
        """`target.method(*args, **kwargs)` in the worker (`target`: an object it returned)."""
        self._function(target.about)
        what = f"{target.about}.{method}()" if method != "__call__" else f"{target.about}(...)"
        outcome, = self._send(target.about, what, {"method": method, "target": _to_wire(target, {})},
                              [args], [kwargs])
        return self._outcome(target.about, None, args, outcome, what=what).value()

    def probe(self, name: str, probe, args: tuple, kwargs: dict):
        """Run the grader-owned function `probe(<the student's name>, *args, **kwargs)` in the
        worker, against the student's objects (a class to construct, a module to train).
        `probe` is sent as its source text: a plain top-level function that imports what it
        uses. What it returns is as untrusted as the student's code: decide nothing on a
        verdict it computed, only on the numbers it sent back."""
        self._function(name)
        outcome, = self._send(name, name, {"probe": _probe_source(probe)}, [args], [kwargs])
        return self._outcome(name, None, args, outcome, what=name).value()

    def _function(self, name: str) -> dict:
        """The student's `name` as the worker found it at import (the worker started if need be)."""
        if name in self.timed_out:  # one endless loop costs one wait, not one per test
            raise StudentTimeout(self.timed_out[name])
        if self.worker is None:
            self._start()
        info = self.functions.get(name)
        if info is None or not info["callable"]:
            hint = (" " + _("(a notebook cell that failed may have been meant to define it: see the notes)")
                    if self.cell_failures else "")
            raise StudentError(_("{file} has no function {name}(); define it with the signature {signature}",
                                 file=self.name, name=name, signature=self.signatures[name].text) + hint)
        return info

    def _send(self, name: str, what: str, request: dict, calls: list, kwargs: list | None) -> list[dict]:
        """One request of one or more calls (of `name`, of a method, or of a probe); the raw
        outcome of each. Errors that concern every call (a crash or time-out of the worker, a
        malformed reply) are raised at once."""
        if any(_stale_handles(args, self.generation) for args in [*calls, *(kwargs or ())]):
            raise StudentError(_("{name}() was given a value that an earlier call returned before your code "
                                 "crashed and the worker restarted; it no longer exists", name=name))
        slots: dict[int, int] = {}  # id(generator) -> its slot in this request
        channel.send_request(self.worker[1], {
            "function": name, **request, "calls": [_to_wire(tuple(args), slots) for args in calls],
            **({"kwargs": [_to_wire(k, slots) for k in kwargs]} if kwargs else {})})
        try:
            reply = self._receive(what, calls=len(calls))
        except StudentTimeout as exc:
            if exc is self.load_error:  # the whole submission's budget: every test says so anyway
                raise
            raise self._timed_out(name, str(exc)) from None
        if not reply["ok"]:  # the request as a whole: the worker refused to send the results
            raise StudentError(f"{what}: {str(reply.get('message', ''))[:2000]}",
                               exc_type=str(reply.get("type", "ResultError"))[:100])
        raw = reply.get("outcomes")
        if type(raw) is not list or not 0 < len(raw) <= len(calls) or \
                any(type(o) is not dict or type(o.get("ok")) is not bool for o in raw):
            self._stop_worker()
            raise StudentError(_("{what} sent back a malformed reply", what=what))
        if len(raw) < len(calls):  # a call ran out of time: the ones after it were not run
            raw = raw + [raw[-1]] * (len(calls) - len(raw))
        return raw

    def _outcome(self, name: str, params, sent, outcome: dict, *, what: str | None = None) -> "Outcome":
        """One call's outcome; the caller's generators advance as the call left them. The
        other arguments the call changed are the checks' to judge (`changed`: by position;
        a method's or a probe's arguments are the worker's copies: nothing to judge). Objects
        it returned that are not plain data come as `RemoteObject`s."""
        changed = outcome.get("changed") if type(outcome.get("changed")) is dict else {}
        self._apply_generators(params, sent, changed)
        if not outcome["ok"]:
            return Outcome(error=self._call_error(name, outcome, what or f"{name}()"))
        changed = {i: v for i, v in changed.items() if type(i) is int and 0 <= i < len(sent)
                   and not isinstance(sent[i], np.random.Generator)} if what is None else {}
        return Outcome(result=_remote(outcome.get("result"), self, name), sent=sent, changed=changed)

    def _call_error(self, name: str, outcome: dict, what: str) -> StudentError:
        exc_type = str(outcome.get("type", "Exception"))[:100]
        if outcome.get("timeout") is True:  # the worker's own per-call limit
            self._stop_worker()  # as after any timeout: the next call gets a fresh import
            return self._timed_out(name, _timeout_message(what, self.limits.call_seconds))
        if outcome.get("not_implemented") is True:
            return StudentError(_("{fn} is not implemented yet (it raises NotImplementedError)", fn=name),
                                not_implemented=name, exc_type=exc_type)
        hint = (" " + _("(the worker's memory limit is {mb} MB)", mb=self.limits.memory_mb)
                if exc_type == "MemoryError" else "")
        return StudentError(_("{name} raised {error}", name=what.removesuffix("()"),
                              error=str(outcome.get("message", ""))[:2000])
                            + hint, exc_type=exc_type)

    def _timed_out(self, name: str, message: str) -> StudentTimeout:
        """Remember that `name` ran out of time: its later tests say so without calling it."""
        self.timed_out.setdefault(name, _("{name}() was not called again: in an earlier test, {why}",
                                          name=name, why=message))
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
        pid, sock, _output = self.worker
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            self._stop_worker()
            self.load_error = StudentTimeout(self._budget_spent())
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
            hint = "" if self.killed_for_memory else _("; does your code call exit(), or crash?")
            raise StudentError(_("{what} ended the worker process ({how})", what=what, how=how) + hint) from exc
        except channel.TooLarge as exc:
            self._stop_worker()
            raise self._too_large(what, exc) from None
        except (channel.ProtocolError, MemoryError) as exc:
            self._stop_worker()
            raise StudentError(_("{what} sent back something that is not plain data ({error})",
                                 what=what, error=exc)) from None
        self.bytes_left -= size
        if type(reply) is not dict or type(reply.get("ok")) is not bool:
            self._stop_worker()
            raise StudentError(_("{what} sent back a malformed reply", what=what))
        return reply

    def _budget_spent(self) -> str:
        return _("your code used up the whole {seconds} s time budget of this submission; the remaining "
                 "tests were not run", seconds=f"{self.limits.submission_seconds:g}")

    def _too_large(self, what: str, exc: channel.TooLarge) -> StudentError:
        """A reply refused for its size, before it was read: say which limit, in MB."""
        mb = lambda n: f"{n / 2**20:.0f} MB" if n >= 2**20 else f"{n / 1024:.0f} KB"  # noqa: E731
        if exc.what != "a reply":
            return StudentError(_("{what} returned too many values to send back ({size} of lists, numbers and "
                                  "strings; at most {limit}): return numpy arrays", what=what,
                                  size=mb(exc.size), limit=mb(exc.limit)))
        if exc.size <= self.reply_bytes:  # within one reply's limit: the submission's total is spent
            self.load_error = StudentError(_(
                "your code sent back more than {limit} of results in all; the remaining tests were not run",
                limit=mb(SUBMISSION_REPLIES_MB * 2**20)))
            return self.load_error
        return StudentError(_("{what} returned {size}; a result may hold at most {limit} (arrays included)",
                              what=what, size=mb(exc.size), limit=mb(self.reply_bytes)))

    @staticmethod
    def _apply_generators(params, sent, changed: dict) -> None:
        """Set the caller's generators to the states the call left them in."""
        for index, now in changed.items():
            if type(index) is int and 0 <= index < len(sent) and isinstance(sent[index], np.random.Generator) \
                    and isinstance(now, dict) and "generator_state" in now:
                try:
                    sent[index].bit_generator.state = now["generator_state"]
                except Exception:  # noqa: BLE001 - a forged state: leave the caller's as it is
                    pass



class Outcome:
    """What one call of a batch came to: its result, or the error it raised (raised again by
    `value()`, when the test takes the result)."""

    __slots__ = ("result", "error", "sent", "changed")

    def __init__(self, result=None, error: BaseException | None = None, sent: tuple = (), changed=None):
        self.result, self.error = result, error
        self.sent = sent                # the call's arguments, in the order of the contract
        self.changed = changed or {}    # position -> what the call left in that argument

    def value(self):
        if self.error is not None:
            raise self.error.with_traceback(None)
        return self.result


class RemoteFunction:
    """A stand-in for one of the student's functions."""

    def __init__(self, submission: Submission, name: str):
        self.submission = submission
        self.__name__ = name

    def __call__(self, *args, **kwargs):
        from grader.checks.calls import Call, Results
        return Results(self, [Call(args, kwargs)])[0]

    def each(self, calls, returns=None):
        """`[f(*args) for args in calls]` in one round trip to the worker, as a sequence of
        results, each validated by `returns` and raising its own call's error when it is
        taken (see `grader.checks.Results`)."""
        from grader.checks.calls import Results
        return Results(self, calls, returns)

    def probe(self, probe, *args, **kwargs):
        """`probe(<this function or class of the student>, *args, **kwargs)`, run in the
        worker (see `Submission.probe`); its result as plain data."""
        return self.submission.probe(self.__name__, probe, args, kwargs)

    def __repr__(self) -> str:
        return f"<student function {self.__name__}>"


class RemoteObject(channel.Opaque):
    """An object the student's code returned that is not plain data (a torch module, a
    cache): it stays in the worker; its methods run there (`m.train()`, `m(x)`,
    `m.state_dict()`), and their results come back as plain data or as more such objects.
    Two stand-ins are equal when they stand for the same object of the same worker (so
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


def _to_wire(value, slots: dict):
    """What goes to the worker: generators as their state (a generator passed to several calls
    of one request shares a slot), torch tensors as their numbers (`TensorValue`), stand-ins
    as their handles; the rest as it is (pickled)."""
    t = type(value)
    if isinstance(value, np.random.Generator):
        return channel.GeneratorState.of(value, slots.setdefault(id(value), len(slots) + 1))
    if isinstance(value, RemoteObject):
        return channel.Opaque(value.handle, value.type_name, value.generation)
    if t in (tuple, list):
        return t(_to_wire(v, slots) for v in value)
    if t is dict:
        return {k: _to_wire(v, slots) for k, v in value.items()}
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
    return _("{what} did not finish within {seconds} s (an endless loop, or much slower than it needs to be?)",
             what=what, seconds=f"{seconds:g}")


def _stale_handles(value, generation: int) -> bool:
    if isinstance(value, channel.Opaque):
        return value.generation != generation
    if type(value) in (tuple, list):
        return any(_stale_handles(v, generation) for v in value)
    if type(value) is dict:
        return any(_stale_handles(v, generation) for v in value.values())
    return False


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
        return _("it ended")
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        names = {signal.SIGSEGV: N_("a segmentation fault"), signal.SIGKILL: N_("killed"),
                 signal.SIGXCPU: N_("CPU time limit exceeded"), signal.SIGABRT: N_("aborted")}
        return _(names[sig]) if sig in names else _("signal {number}", number=sig)
    if os.WIFEXITED(status):
        return _("exit status {code}", code=os.WEXITSTATUS(status))
    return _("it ended")
