"""Torch in the sandbox: the zygote that imported torch, the channel for tensors, probes, and
student modules that attack them.

An exercise that `needs: [torch]` (course.yml) gets workers forked from a zygote that
imported torch with one thread before any fork; a course without it never imports torch,
in the grader or in a worker. Tensors cross the channel as exact numpy arrays; the student's
objects stay in the worker as handles whose methods run there; probes (grader-owned
functions sent as source text) run against them and return plain data. Everything here
runs real sandboxed workers.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from grader.course import load_course
from grader.grade import grade
from grader.sandbox import channel
from grader.sandbox.proxy import RemoteObject, StudentError, Submission
from grader.sandbox.spawn import Zygote
from tests.conftest import ROOT, copy_course

torch = pytest.importorskip("torch")

REFERENCE = (ROOT / "solutions" / "exercise5" / "modules.py").read_text()


@pytest.fixture(scope="module")
def course_dir(tmp_path_factory):
    """The course with tight limits: 2 s a call, 256 MB on top of what the worker starts with."""
    return copy_course(tmp_path_factory.mktemp("course"), limits="""limits:
  call_seconds: 2
  submission_seconds: 60
  memory_mb: 256
  output_kb: 16
""")


@pytest.fixture(scope="module")
def exercise5(course_dir):
    return load_course(course_dir).exercise("exercise5")


@pytest.fixture(scope="module")
def zygote():
    z = Zygote(needs=("torch",))
    yield z
    z.close()


def submission(tmp_path, code: str) -> Path:
    path = tmp_path / "modules.py"
    path.write_text(textwrap.dedent(code))
    return path


# ------------------------------------------------------------------ lazy start, threads, memory

def test_a_numpy_only_grading_never_imports_torch(tmp_path):
    """Grading exercise3 (no `needs`) imports torch neither in the grader's process nor in the
    worker: the grader's sys.modules afterwards, and the worker's as the student's code sees it."""
    code = (ROOT / "solutions" / "exercise3" / "dropout.py").read_text() + \
        "\nimport sys\nprint('torch in the worker:', 'torch' in sys.modules)\n"
    (tmp_path / "dropout.py").write_text(code)
    script = textwrap.dedent(f"""
        import json, sys
        from pathlib import Path
        from grader.course import load_course
        from grader.grade import grade
        report = grade(load_course(Path({str(ROOT)!r})), "exercise3", Path({str(tmp_path / 'dropout.py')!r}),
                       hidden=False)
        print(json.dumps({{"torch": "torch" in sys.modules, "score": report.score,
                          "max": report.max_score, "output": report.output}}))
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["score"] == result["max"]  # it graded for real
    assert result["torch"] is False, "grading a numpy-only exercise imported torch"
    assert "torch in the worker: False" in result["output"]


def test_the_torch_zygote_starts_only_when_an_exercise_needs_it(exercise5):
    plain = Zygote()
    try:
        assert list(plain.processes) == [()]
        with Submission(exercise5, Path(ROOT / "solutions" / "exercise5" / "modules.py"), zygote=plain) as s:
            s.Dropout(0.5)  # the first worker of exercise5 starts the torch zygote now
        assert sorted(plain.processes) == [(), ("torch",)]
        assert plain.alive()
    finally:
        plain.close()
    assert not plain.alive()


def threads_and_memory(cls):
    import resource
    import torch

    return {"threads": torch.get_num_threads(), "interop": torch.get_num_interop_threads(),
            "address_limit": resource.getrlimit(resource.RLIMIT_AS)[0]}


def test_torch_workers_run_on_one_thread_with_the_courses_memory_limit(exercise5, zygote, tmp_path):
    """One intra-op and one inter-op thread (set before any fork); the address-space limit is
    what the worker had mapped after importing torch (about 600 MiB) plus the course's 256 MB:
    a 64 MB tensor works, a 512 MB one fails with a message, and the worker goes on."""
    code = REFERENCE + textwrap.dedent("""

        def allocate(mb):
            return float(torch.ones(mb * 2**20 // 8, dtype=torch.float64).sum())
    """)
    with Submission(exercise5, submission(tmp_path, code), zygote=zygote) as s:
        info = s.Dropout.probe(threads_and_memory)
        assert info["threads"] == 1 and info["interop"] == 1
        assert 500 * 2**20 < info["address_limit"] - 256 * 2**20 < 2000 * 2**20
        assert s.Dropout.probe(allocate_probe, 64) == 64 * 2**20 // 8
        with pytest.raises(StudentError, match="memory|allocate|MemoryError|bad_alloc"):
            s.Dropout.probe(allocate_probe, 512)
        assert s.Dropout.probe(allocate_probe, 8) == 8 * 2**20 // 8  # the same worker (or a fresh one) goes on


def allocate_probe(cls, mb):
    import torch

    return float(torch.ones(mb * 2**20 // 8, dtype=torch.float64).sum())


# ------------------------------------------------------------------ the channel and probes

def tensors_of_every_kind(cls):
    import torch

    x = torch.arange(6, dtype=torch.float64).reshape(2, 3).requires_grad_(True)
    return {"grad_tensor": x * 2, "bfloat16": torch.tensor([1.5, -2.25, 3.0e38], dtype=torch.bfloat16),
            "int64": torch.tensor(7, dtype=torch.int64), "half": torch.tensor([0.5], dtype=torch.float16),
            "bool": torch.tensor([True, False]), "size": x.shape, "dtype": x.dtype,
            "transposed": torch.arange(6.0).reshape(2, 3).t(), "state": torch.nn.BatchNorm1d(2).state_dict()}


def test_tensors_come_back_as_exact_numpy_arrays(exercise5, zygote):
    with Submission(exercise5, ROOT / "solutions" / "exercise5" / "modules.py", zygote=zygote) as s:
        got = s.Dropout.probe(tensors_of_every_kind)
    assert type(got["grad_tensor"]) is np.ndarray and got["grad_tensor"].dtype == np.float64
    assert np.array_equal(got["grad_tensor"], np.arange(6.0).reshape(2, 3) * 2)
    assert got["bfloat16"].dtype == np.float32  # numpy has no bfloat16; float32 holds it exactly
    assert np.array_equal(got["bfloat16"], torch.tensor([1.5, -2.25, 3.0e38], dtype=torch.bfloat16).float().numpy())
    assert got["int64"].dtype == np.int64 and got["int64"].shape == () and int(got["int64"]) == 7
    assert got["half"].dtype == np.float16 and got["bool"].dtype == np.bool_
    assert got["size"] == (2, 3) and got["dtype"] == "float64"
    assert np.array_equal(got["transposed"], np.arange(6.0).reshape(2, 3).T)
    assert sorted(got["state"]) == ["bias", "num_batches_tracked", "running_mean", "running_var", "weight"]
    assert all(type(v) is np.ndarray for v in got["state"].values())


def test_module_objects_stay_in_the_worker_as_handles(exercise5, zygote):
    """`m.eval()` returns the module itself (the same handle), methods run in the worker,
    tensors sent from here arrive as tensors, and a handle goes back as the object."""
    with Submission(exercise5, ROOT / "solutions" / "exercise5" / "modules.py", zygote=zygote) as s:
        m = s.BatchNorm1d(3)
        assert isinstance(m, RemoteObject) and m.type_name == "BatchNorm1d"
        assert m.double() == m and m.eval() == m and m.train() == m
        x = torch.randn(5, 3, dtype=torch.float64)
        out = m(x)
        assert type(out) is np.ndarray and out.dtype == np.float64
        np.testing.assert_allclose(out, torch.nn.BatchNorm1d(3).double()(x).detach().numpy(), rtol=1e-12, atol=1e-12)
        assert int(m.state_dict()["num_batches_tracked"]) == 1
        other = s.BatchNorm1d(3)
        assert other != m
        assert s.Dropout.probe(same_object, m, m) is True


def same_object(cls, a, b):
    return a is b and type(a).__name__ == "BatchNorm1d"


def test_a_probe_must_be_a_plain_top_level_function(exercise5, zygote):
    with Submission(exercise5, ROOT / "solutions" / "exercise5" / "modules.py", zygote=zygote) as s:
        with pytest.raises(TypeError, match="top-level function"):
            s.Dropout.probe(lambda cls: 1)
        factor = 2

        def closure(cls):
            return factor
        with pytest.raises(TypeError, match="top-level function"):
            s.Dropout.probe(closure)


def test_a_stub_is_not_implemented_inside_a_probe(exercise5, zygote):
    stub = ROOT / "exercises" / "exercise5" / "modules.py"
    with Submission(exercise5, stub, zygote=zygote) as s:
        with pytest.raises(StudentError, match="not implemented yet") as caught:
            s.Dropout.probe(threads_and_memory_and_construct)
        assert caught.value.not_implemented


def threads_and_memory_and_construct(cls):
    return cls(0.5)


# ------------------------------------------------------------------ hostile modules

HOSTILE = {
    # forward returns a tensor subclass that says it equals anything, with a pickle payload that
    # would write a file if anything unpickled it, and patches torch's comparisons for good measure
    "lying_tensor": """
        import os, torch
        from torch import nn

        class Liar(torch.Tensor):
            def __eq__(self, other):
                return True
            def __reduce_ex__(self, protocol):
                return (os.system, ("touch {marker}",))

        torch.equal = lambda a, b: True
        torch.allclose = lambda *a, **k: True
        torch.Tensor.__eq__ = lambda self, other: torch.ones_like(self, dtype=torch.bool)

        class Dropout(nn.Module):
            def __init__(self, p=0.5):
                super().__init__()
                self.p = p
            def forward(self, x):
                return (x * 3).as_subclass(Liar)

        class BatchNorm1d(nn.Module):
            def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True):
                super().__init__()
            def forward(self, x):
                return (x + 1).as_subclass(Liar)
    """,
    # torch.nn.functional patched to do nothing, torch.load and pickle available to the student:
    # none of it reaches the grader, whose oracle is its own torch
    "patched_functional": """
        import io, pickle, torch
        import torch.nn.functional as F
        from torch import nn
        F.dropout = lambda x, p=0.5, training=True, inplace=False: x
        F.batch_norm = lambda x, *a, **k: x
        torch.nn.BatchNorm1d.forward = lambda self, x: x
        buffer = io.BytesIO()
        torch.save({{"weights": torch.ones(3)}}, buffer)
        PICKLED = pickle.dumps(buffer.getvalue())

        class Dropout(nn.Module):
            def __init__(self, p=0.5):
                super().__init__()
                self.p = p
            def forward(self, x):
                return F.dropout(x, self.p, self.training)

        class BatchNorm1d(nn.Module):
            def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True):
                super().__init__()
                self.weight = nn.Parameter(torch.ones(num_features))
            def forward(self, x):
                return F.batch_norm(x) * self.weight.reshape(1, -1, *([1] * (x.dim() - 2)))
            def state_dict(self, *args, **kwargs):
                return {{"payload": PICKLED}}
    """,
    # state_dict returns an object that contains itself, and a huge one; forward of Dropout
    # forks a child that loops (the PID namespace ends it); BatchNorm1d's forward hangs
    "recursive_huge_fork_hang": """
        import os, torch
        from torch import nn

        class Dropout(nn.Module):
            def __init__(self, p=0.5):
                super().__init__()
                self.p = p
            def forward(self, x):
                if os.fork() == 0:
                    while True:
                        pass
                return x
            def state_dict(self, *args, **kwargs):
                d = {{}}
                d["self"] = d
                return d

        class BatchNorm1d(nn.Module):
            def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True):
                super().__init__()
            def forward(self, x):
                while True:
                    pass
            def state_dict(self, *args, **kwargs):
                return {{"huge": torch.zeros(100 * 2**20 // 8, dtype=torch.float64)}}
    """,
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_modules_earn_nothing_and_end_cleanly(course_dir, tmp_path, name):
    marker = tmp_path / "unpickled"
    path = submission(tmp_path, HOSTILE[name].format(marker=marker))
    report = grade(load_course(course_dir), "exercise5", path, hidden=True)
    assert report.score == 0, [(t.name, t.message) for t in report.tests if t.outcome == "passed"]
    assert all(t.message for t in report.tests)
    assert not marker.exists(), "something the worker sent was unpickled"
    if name == "recursive_huge_fork_hang":
        bn = [t for t in report.tests if t.function == "BatchNorm1d"]
        assert bn[0].outcome == "timeout" and all("not called again" in t.message or t.outcome == "timeout"
                                                  for t in bn)


def test_hostile_handles_fail_one_call_each(exercise5, zygote, tmp_path):
    """A recursive state_dict and a 100 MB one are refused with a message; the worker goes on."""
    path = submission(tmp_path, HOSTILE["recursive_huge_fork_hang"].format(marker=tmp_path / "m"))
    with Submission(exercise5, path, zygote=zygote) as s:
        with pytest.raises(StudentError, match="could not be sent back|nested too deeply"):
            s.Dropout(0.5).state_dict()
        with pytest.raises(StudentError, match="MB"):
            s.BatchNorm1d(3).state_dict()
        assert isinstance(s.Dropout(0.1), RemoteObject)


def test_nothing_the_worker_sends_is_a_torch_object():
    """The decoder builds numpy arrays and plain values only: a frame naming a torch dtype or
    a pickle is refused, whatever the worker writes."""
    for header in (["a", "torch.float32", [1], 0], ["p", "cos\nsystem\n(S'true'\ntR."]):
        import struct
        head = json.dumps(header).encode()
        frame = struct.pack("!II", len(head), 1) + head + struct.pack("!Q", 4) + bytes(4)
        with pytest.raises(channel.ProtocolError):
            channel.decode(frame)


def test_without_torch_the_exercise_says_what_to_install_and_grade_all_goes_on(course_dir, monkeypatch):
    """Where torch is not installed (simulated: find_spec finds no torch), `grade exercise5` is
    one line and exit 2 before anything imports torch; `grade all` grades the other exercises
    and says, on stderr, what to install for this one."""
    import importlib.util

    from click.testing import CliRunner

    from grader.cli import main
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a))
    one = CliRunner().invoke(main, ["exercise5", "--course", str(course_dir)])
    assert one.exit_code == 2
    assert one.stderr.strip().count("\n") == 0 and 'pip install -e ".[torch]"' in one.stderr
    every = CliRunner().invoke(main, ["all", "-q", "--course", str(course_dir)])
    assert every.exit_code == 0, every.output
    assert [line.split(":")[0] for line in every.stdout.splitlines()[:4]] == \
        ["exercise1", "exercise2", "exercise3", "exercise4"]
    assert "exercise5 was not graded: exercise5 needs torch" in every.stderr
