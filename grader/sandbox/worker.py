"""The worker: runs in the sandboxed child, imports the student's module, serves calls.

Nothing in here is trusted by the grader: whatever this process sends back is decoded as
plain data by `channel.recv_reply`, and only checks in the trusted process decide the score.
"""

from __future__ import annotations

import functools
import inspect
import os
import signal
import sys

import numpy as np
import numpy.random  # noqa: F401 - numpy loads it lazily: once in the zygote, not ~30 ms in every worker

from grader.sandbox import channel, isolate, loader, mounts

GLOBAL_SEED = 20261122  # np.random is seeded before every call, so misuse is deterministic
SMALL = 1 << 16  # arrays up to this many bytes are compared byte by byte first
FOLDER_MB = 64   # the worker's folder, in total (a tmpfs), and any one file it writes
PROCESSES = 64   # threads included; where the kernel counts them per user namespace


def serve(sock, out_fd: int, spec: dict) -> None:
    """Entry point of the worker process (after fork). Never returns.

    Its first frame, sent before any student code runs, says how it is confined (or why
    it could not be: the machine's failure, which the grader retries); the second is the
    result of importing the student's module."""
    try:
        try:
            ready = {"isolation_problems": _confine(sock, out_fd, spec)}
        except mounts.SetupError as exc:
            ready = {"setup_error": str(exc)}
        channel.send_frame(sock, channel.encode(ready))
        if "setup_error" in ready:
            os._exit(0)
        module, load = _load(spec)
        channel.send_frame(sock, channel.encode(load))
        if module is not None:
            _loop(sock, module, spec)
    except BaseException:  # noqa: BLE001 - the worker must never fall back into the zygote
        pass
    os._exit(0)


def _confine(sock, out_fd: int, spec: dict) -> list[str]:
    """Every layer, in the order each needs: limits, namespaces' settings and the
    filesystem view (these need the capabilities of the worker's user namespace), then no
    capabilities, Landlock and the system call filter. Returns the guarantees that are off."""
    os.dup2(out_fd, 1)
    os.dup2(out_fd, 2)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    isolate.close_other_fds({sock.fileno()})
    sys.stdout = os.fdopen(1, "w", buffering=1, closefd=False)
    sys.stderr = os.fdopen(2, "w", buffering=1, closefd=False)
    problems = []  # the middle process's own (namespaces, group) reach the grader from the zygote
    limits, private, namespaces = spec["limits"], spec["dir"], spec.get("namespaces", ())
    skip = frozenset(spec.get("skip", ()))
    problems += isolate.set_limits(memory_mb=limits["memory_mb"], cpu_seconds=limits["submission_seconds"] + 5,
                                   file_mb=FOLDER_MB,
                                   processes=PROCESSES if isolate.counts_processes_per_namespace(namespaces)
                                   else None)
    isolate.first_to_go_when_memory_runs_out()
    isolate.limit_namespaces(namespaces)
    if "mount" in namespaces:
        problems += mounts.build(isolate.libc(), private=private,
                                 folder_mb=FOLDER_MB, readable=spec["readable"],
                                 own_pid_namespace="pid" in namespaces)
    elif sys.platform.startswith("linux"):
        why = " (left out: a test or a benchmark)" if "mounts" in skip else ""
        problems.append(f"no mount namespace for the worker{why}: it can change course files' permissions "
                        "and times, reach the machine's UNIX sockets and fill the temporary folder (64 MB a file)")
    os.chdir(private)
    _scrub_environment(private)
    isolate.new_session_keyring()
    isolate.drop_capabilities()
    readable = spec.pop("readable")
    for layer, confine in (("landlock", lambda: isolate.landlock(readable, [private, "/dev/null"])),
                           ("seccomp", isolate.system_call_filter)):
        problem = confine() if layer not in skip else f"{layer} was left out (a test or a benchmark)"
        if problem:
            problems.append(problem)
    return problems


SAFE_ENVIRONMENT = ("LANG", "LC_ALL", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                    "PYTHONHASHSEED", "PYTHONDONTWRITEBYTECODE")


def _scrub_environment(private: str) -> None:
    """Nothing of the grader's environment: the variables the worker needs, and its own
    folder as home and temporary folder."""
    keep = {k: os.environ[k] for k in SAFE_ENVIRONMENT if k in os.environ}
    os.environ.clear()
    os.environ.update(keep, TMPDIR=private, HOME=private, PATH="/usr/bin:/bin")


def _load(spec: dict):
    """Import the student's module; report which functions exist and their signatures."""
    files = loader.student_files(spec)
    sys.path.insert(0, spec["dir"])
    try:
        _seed()
        module, cell_errors = loader.run_units(spec)
    except SyntaxError as exc:
        if exc.filename not in files:  # raised by code the student ran (exec, eval)
            return None, {"ok": False, "kind": "import", "message": loader.describe(exc, files)}
        return None, {"ok": False, "kind": "syntax", "line": exc.lineno or 0,
                      "message": loader.syntax_message(exc)[:loader.MAX_MESSAGE]}
    except BaseException as exc:  # noqa: BLE001 - SystemExit and KeyboardInterrupt included
        return None, {"ok": False, "kind": "import", "message": loader.describe(exc, files)}
    functions = {}
    for fn in spec["functions"]:
        obj = module.__dict__.get(fn)
        if obj is None:
            continue
        try:
            parsed = inspect.signature(obj)
            signature = str(parsed)
            params = parsed.parameters.values()
            arity = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
            star = any(p.kind == p.VAR_POSITIONAL for p in params)
        except (TypeError, ValueError):
            signature, arity, star = "(?)", [], True
        functions[fn] = {"signature": f"{fn}{signature}"[:300], "params": arity, "varargs": star,
                         "callable": callable(obj)}
    return module, {"ok": True, "functions": functions, "cell_errors": cell_errors}


class _Handles:
    """Worker-side objects that are not plain data; the grader gets numbered stand-ins. The
    same object always gets the same number (so the grader can tell that `m.eval()`
    returned `m`), and stays alive while the worker does."""

    def __init__(self, generation: int):
        self.generation = generation
        self.objects: dict[int, object] = {}
        self.numbers: dict[int, int] = {}  # id(object) -> its handle (the object is kept alive)
        self.generators: dict[str, list[np.random.Generator]] = {}
        self.in_use: list = []  # generators handed out in the current request
        self.slots: dict[int, np.random.Generator] = {}  # the current request's shared generators

    def wrap(self, obj):
        """A plain form of a torch value (`plain`), or a handle for anything else."""
        plain = plain_torch(obj)
        if plain is not NOT_PLAIN:
            return plain
        handle = self.numbers.get(id(obj))
        if handle is None:
            handle = self.numbers[id(obj)] = len(self.objects) + 1
            self.objects[handle] = obj
        return channel.Opaque(handle, type(obj).__name__, self.generation)

    def resolve(self, value):
        if isinstance(value, channel.Opaque):
            return self.objects[value.handle]
        if isinstance(value, channel.GeneratorState):
            return self._generator(value)
        if isinstance(value, channel.TensorValue):
            return _tensor(value)
        if type(value) in (tuple, list):
            return type(value)(self.resolve(v) for v in value)
        if type(value) is dict:
            return {k: self.resolve(v) for k, v in value.items()}
        return value


    def _generator(self, wanted: channel.GeneratorState) -> np.random.Generator:
        """The generator of a slot of this request: made in the given state at the slot's first
        use, then shared, so calls that share a generator advance it one after the other as
        local calls would. Generator objects are reused from request to request (per bit
        generator type), since numerical gradients send hundreds."""
        generator = self.slots.get(wanted.slot) if wanted.slot else None
        if generator is not None:
            return generator
        pool = self.generators.setdefault(wanted.bit_generator, [])
        taken = sum(1 for g in self.in_use if type(g.bit_generator).__name__ == wanted.bit_generator)
        if taken >= len(pool):
            pool.append(np.random.Generator(getattr(np.random, wanted.bit_generator)()))
        generator = pool[taken]
        self.in_use.append(generator)
        generator.bit_generator.state = wanted.state
        if wanted.slot:
            self.slots[wanted.slot] = generator
        return generator


NOT_PLAIN = object()


def plain_torch(obj):
    """Torch values as plain data: a tensor as an exact numpy array of its numbers (detached,
    on the CPU, bfloat16 up-cast to float32, which holds it exactly), a `torch.Size` as a
    tuple, a dtype as its name, an OrderedDict (a `state_dict()`) as a dict. Only where the
    exercise's zygote imported torch; anything else stays a handle. Whatever this sends is
    decoded by the grader as plain data, never unpickled or passed to torch.load."""
    torch = sys.modules.get("torch")
    if torch is None:
        return NOT_PLAIN
    if isinstance(obj, torch.Tensor):
        with torch._C.DisableTorchFunctionSubclass():  # a subclass's overrides do not run here
            t = torch.Tensor.detach(obj)
            if t.layout != torch.strided:
                t = t.to_dense()
            if t.is_quantized:
                t = t.dequantize()
            t = t.cpu().resolve_conj().resolve_neg()
            if t.dtype == torch.bfloat16:
                t = t.float()
            elif t.dtype == torch.complex32:
                t = t.to(torch.complex64)
            return np.array(t.numpy(), copy=True)  # an exact ndarray, not a view of the tensor
    if isinstance(obj, torch.Size):
        return tuple(int(n) for n in obj)
    if isinstance(obj, torch.dtype):
        return str(obj).removeprefix("torch.")
    if isinstance(obj, dict) and type(obj) is not dict and all(type(k) is str for k in dict.keys(obj)):
        return {k: dict.__getitem__(obj, k) for k in dict.keys(obj)}  # OrderedDict, with dict's methods
    return NOT_PLAIN


def _tensor(value: channel.TensorValue):
    """A tensor of what the grader sent (its numbers and dtype)."""
    import torch

    t = torch.from_numpy(np.array(value.array, copy=True)).to(getattr(torch, value.dtype))
    return t.requires_grad_(value.requires_grad) if t.is_floating_point() or t.is_complex() else t


class _CallTimeout(BaseException):
    """A call ran past the per-call limit (a BaseException: `except Exception` in student
    code does not swallow it)."""


def _on_alarm(signum, frame):
    raise _CallTimeout


def _loop(sock, module, spec: dict) -> None:
    handles = _Handles(spec["generation"])
    signal.signal(signal.SIGALRM, _on_alarm)
    call_seconds = float(spec["limits"]["call_seconds"])
    files = loader.student_files(spec)
    probes = _Probes()
    while True:
        try:
            request = channel.recv_request(sock)
        except EOFError:
            return
        reply = _run_calls(_target(request, module, handles, probes), request["calls"], handles,
                           files, call_seconds, request.get("kwargs"))
        try:
            payload = channel.encode_parts(reply, handles.wrap)
            problem = _too_large(payload, spec["reply_bytes"])
        except Exception as exc:  # noqa: BLE001 - e.g. a result nested too deeply
            problem = f"the result could not be sent back: {exc}"
        if problem:  # said here, so an honest student reads why (the grader would refuse it anyway)
            payload = channel.encode({"ok": False, "type": "ResultError", "not_implemented": False,
                                      "message": problem})
        sys.stdout.flush()
        channel.send_frame(sock, payload)


def _target(request: dict, module, handles: "_Handles", probes: "_Probes"):
    """What a request calls, as a function run inside each call's time limit (looking up a
    method can run the student's code too): one of the module's functions; a method of an
    object the worker holds (`{"method": name, "target": handle}`); or a grader-owned probe
    (`{"probe": (name, source)}`), called with the module's object named by "function" first."""
    name = request["function"]
    if "method" in request:
        return lambda: getattr(handles.resolve(request["target"]), request["method"])
    if "probe" in request:
        probe = probes.get(*request["probe"])
        return lambda: functools.partial(probe, getattr(module, name))
    return lambda: getattr(module, name, None)


class _Probes:
    """Grader-owned functions sent as source text: compiled once each, in a namespace of
    their own (they import what they use). They run as the student's code does, and what
    they return is as untrusted as anything else this process sends."""

    def __init__(self):
        self.compiled: dict[tuple[str, str], object] = {}

    def get(self, name: str, source: str):
        key = (name, source)
        if key not in self.compiled:
            namespace = {"__name__": f"grader_probe_{name}", "__builtins__": __builtins__}
            exec(compile(source, f"<grader probe {name}>", "exec", dont_inherit=True), namespace)
            self.compiled[key] = namespace[name]
        return self.compiled[key]


def _too_large(parts: list, limit: int) -> str | None:
    """Why the grader would refuse this reply for its size (see channel.recv_reply_sized)."""
    head, total = len(parts[1]), sum(memoryview(p).nbytes for p in parts)
    if head > channel.MAX_HEADER:
        return (f"the result holds too many values to send back ({head >> 10} KB of lists, numbers and "
                f"strings; at most {channel.MAX_HEADER >> 10} KB): return numpy arrays rather than long lists")
    if total > limit:
        return f"the result is {total / 2**20:.0f} MB; a result may hold at most {limit >> 20} MB"
    return None


def _run_calls(get_fn, calls: list, handles: _Handles, files, call_seconds: float, kwargs=None) -> dict:
    """Run one or more calls (one request, to save round trips), each to its own outcome: a
    call that raises does not stop the ones after it. np.random (and torch's generator, where
    torch is loaded) is seeded before each call, so each is independent of the others' use of
    it; a generator shared by several calls (one slot) advances from call to call. `get_fn()`
    gives what to call (looked up inside the time limit); `kwargs`: per call, keyword
    arguments (methods, probes).

    Each call has its own time limit, enforced here with SIGALRM; the first call that runs out
    of time ends the request (the calls after it are not run: the function may hang again).
    (Code that blocks the signal or swallows the exception runs into the grader's limit for
    the whole request.)"""
    handles.in_use.clear()
    handles.slots.clear()
    outcomes = []
    for i, args in enumerate(calls):
        try:
            args = handles.resolve(args)
            keywords = handles.resolve(kwargs[i]) if kwargs else {}
        except (KeyError, AttributeError):
            outcomes.append({"ok": False, "type": "ValueError", "not_implemented": False,
                             "message": "an object your code returned earlier no longer exists"})
            continue
        before = [_snapshot(a) for a in args]
        _seed()
        try:
            signal.setitimer(signal.ITIMER_REAL, call_seconds)
            try:
                result = get_fn()(*args, **keywords)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        except _CallTimeout:
            outcomes.append({"ok": False, "type": "Timeout", "not_implemented": False, "timeout": True,
                             "message": f"did not finish within {call_seconds:g} s"})
            break
        except BaseException as exc:  # noqa: BLE001 - SystemExit too: the student's call failed
            outcomes.append({"ok": False, "type": type(exc).__name__,
                             "not_implemented": isinstance(exc, NotImplementedError),
                             "message": loader.describe(exc, files), "changed": _changed(args, before)})
            continue
        outcomes.append({"ok": True, "result": result, "changed": _changed(args, before)})
    return {"ok": True, "outcomes": outcomes}


def _seed() -> None:
    np.random.seed(GLOBAL_SEED)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.manual_seed(GLOBAL_SEED)


def _snapshot(value):
    """A copy of an argument's arrays, to tell afterwards whether the call changed it."""
    if type(value) is np.ndarray:
        return value.copy()
    if type(value) is dict:
        return {k: _snapshot(v) for k, v in value.items()}
    if type(value) is list:
        return [_snapshot(v) for v in value]
    return None


def _same(before, now) -> bool:
    if type(before) is np.ndarray:
        if type(now) is not np.ndarray or before.shape != now.shape or before.dtype != now.dtype:
            return False
        if before.nbytes <= SMALL and before.dtype.kind in channel.NUMERIC_KINDS \
                and before.tobytes() == now.tobytes():
            return True  # the same bits are the same numbers; for small arrays this is quicker
        return (np.array_equal(before, now)  # fast; NaN != NaN, so look again only then
                or before.dtype.kind in "fc" and np.array_equal(before, now, equal_nan=True))
    if type(before) is dict:
        return type(now) is dict and before.keys() == now.keys() and all(_same(before[k], now[k]) for k in before)
    if type(before) is list:
        return type(now) is list and len(before) == len(now) and all(map(_same, before, now))
    return True


def _changed(args, before) -> dict:
    """Arguments the call changed, by position: the grader copies back those it allows
    (batch norm's running statistics) and fails the test for any other. Generators
    always come back, as their state (plain integers), so the caller's advances too."""
    out = {}
    for i, (a, snapshot) in enumerate(zip(args, before)):
        if isinstance(a, np.random.Generator):
            out[i] = {"generator_state": a.bit_generator.state}
        elif snapshot is not None and not _same(snapshot, a):
            out[i] = a
    return out
