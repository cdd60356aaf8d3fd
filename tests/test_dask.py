"""`grade batch --scheduler`: a class graded on a real Dask cluster.

A LocalCluster with two worker processes (one thread each) stands for the cluster; the
coordinator is the real `grade batch` command in a process of its own, so it can be killed.
Questions: does the cluster write the very bytes of a local `grade batch` for the same 40
exercise3 hand-ins? Do a worker killed in the middle of the batch, and the coordinator
killed and started again, end with the same gradebook? Is a grading process that dies
retried on its worker as in a local batch (not a lost worker for Dask)? Does a worker whose
grader differs refuse to grade? Is dask left alone when no scheduler is given?

The tests that need a cluster skip when Dask's distributed is not installed; the project's
`dev` extra installs it, so CI runs them.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import ROOT, copy_course, exercise3_class
from grader import cluster as grader_cluster
from grader.batch import setup_digest
from grader.cli import main
from grader.course import load_course

CLASS_SIZE = 40
NO_DASK = "Dask's distributed is not installed (pip install -e '.[dask]')"


@pytest.fixture(scope="module")
def dask_cluster():
    distributed = pytest.importorskip("distributed", reason=NO_DASK)
    import dask

    # a task is run again once when its worker is lost (docs/scaling.md), then KilledWorker
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           dashboard_address=None)
    client = distributed.Client(cluster)
    yield cluster, client
    client.close()
    cluster.close()


@pytest.fixture(scope="module")
def classroom(tmp_path_factory):
    return exercise3_class(tmp_path_factory.mktemp("class") / "submitted", CLASS_SIZE)


@pytest.fixture(scope="module")
def local(classroom, tmp_path_factory):
    """The gradebook of one machine: `grade batch --jobs 2`."""
    out = tmp_path_factory.mktemp("local") / "grades.json"
    result = CliRunner().invoke(main, ["batch", "exercise3", str(classroom), "--out", str(out), "--jobs", "2",
                                       "--course", str(ROOT)])
    assert result.exit_code == 0, result.output
    return out.read_bytes()


def coordinator(classroom, out, address, *, course=ROOT, env=None):
    """`grade batch ... --scheduler` as a process of its own (its own group, to kill it whole)."""
    return subprocess.Popen(
        [sys.executable, "-m", "grader", "batch", "exercise3", str(classroom), "--out", str(out),
         "--scheduler", address, "--course", str(course)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        env={**os.environ, **(env or {})}, cwd=out.parent)  # not the repository: `-m` imports from the cwd


def finish(process, timeout=600):
    stdout, stderr = process.communicate(timeout=timeout)
    return process.returncode, stderr


def wait_for_results(out: Path, count: int, process, timeout=300):
    state = out.with_name(out.name + ".partial")
    deadline = time.monotonic() + timeout
    while len(list(state.glob("*.json"))) < count:
        assert process.poll() is None, process.communicate()[1]
        assert time.monotonic() < deadline, "the batch made no progress"
        time.sleep(0.05)


def worker_pids(client) -> dict:
    return client.run(os.getpid)


def test_the_cluster_writes_the_gradebook_of_a_local_batch(dask_cluster, classroom, local, tmp_path):
    cluster, client = dask_cluster
    out = tmp_path / "grades.json"
    code, stderr = finish(coordinator(classroom, out, cluster.scheduler_address))
    assert code == 0, stderr
    assert out.read_bytes() == local
    assert f"Graded {CLASS_SIZE} students" in stderr and "with 2 workers" in stderr
    assert (tmp_path / "grades.skipped.json").is_file() and not out.with_name("grades.json.partial").exists()
    assert "without TLS" not in stderr  # a loopback scheduler
    assert "allowed-failures" not in stderr  # it retries a lost worker's student once


def test_a_worker_killed_mid_batch_changes_nothing(dask_cluster, classroom, local, tmp_path):
    cluster, client = dask_cluster
    client.wait_for_workers(2, timeout=120)
    out = tmp_path / "grades.json"
    process = coordinator(classroom, out, cluster.scheduler_address)
    wait_for_results(out, 4, process)
    deadline = time.monotonic() + 120
    while not (busy := [w for w, keys in client.processing().items() if keys]):
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.02)
    pids = worker_pids(client)
    victim = pids[busy[0]]
    os.kill(victim, signal.SIGKILL)  # a worker lost with a student in hand
    code, stderr = finish(process)
    assert code == 0, stderr
    assert len(list(out.with_name("grades.json.partial").glob("*.json"))) == 0
    assert out.read_bytes() == local  # the lost student was graded again, elsewhere
    client.wait_for_workers(2, timeout=120)  # the nanny started a new worker in its place
    assert victim not in worker_pids(client).values()


def test_the_coordinator_killed_and_started_again_writes_the_same_gradebook(dask_cluster, classroom, local,
                                                                            tmp_path):
    cluster, client = dask_cluster
    out = tmp_path / "grades.json"
    process = coordinator(classroom, out, cluster.scheduler_address)
    wait_for_results(out, 5, process)
    os.killpg(process.pid, signal.SIGKILL)  # as a power cut would
    process.communicate()
    kept = len(list(out.with_name("grades.json.partial").glob("*.json")))
    assert kept >= 5 and not out.exists()
    code, stderr = finish(coordinator(classroom, out, cluster.scheduler_address))
    assert code == 0, stderr
    assert out.read_bytes() == local
    assert f"{kept} results came from an interrupted earlier run" in stderr


def test_a_grading_process_that_dies_is_retried_on_its_worker_not_as_a_lost_worker(dask_cluster, tmp_path):
    """test_batch's course kills the grading process for a marked submission: locally, that
    student is retried once on a fresh process and then gets a row that says so. On the
    cluster the same happens inside the worker; the Dask workers themselves live on."""
    from test_batch import CRASH_MARKER, COURSE_YML, HIDDEN_TESTS, PUBLIC_TESTS, REFERENCE

    cluster, client = dask_cluster
    client.wait_for_workers(2, timeout=120)
    course = tmp_path / "course"
    solutions = course / "solutions" / "exercise3"
    solutions.mkdir(parents=True)
    (course / "course.yml").write_text(COURSE_YML)
    (solutions / "dropout.py").write_text(REFERENCE.read_text())
    (solutions / "test_public.py").write_text(PUBLIC_TESTS)
    (solutions / "test_hidden.py").write_text(HIDDEN_TESTS)
    subs = tmp_path / "subs"
    ref = REFERENCE.read_text()
    for name, text in {"alice": ref, "zed": ref,
                       "mallory": ref.replace("    return out, cache", f"    return x * 0 + {CRASH_MARKER}, cache", 1)
                       }.items():
        (subs / name).mkdir(parents=True)
        (subs / name / "dropout.py").write_text(text)
    local_out, dask_out = tmp_path / "local.csv", tmp_path / "dask.csv"
    result = CliRunner().invoke(main, ["batch", "exercise3", str(subs), "--out", str(local_out), "--jobs", "1",
                                       "--course", str(course)])
    assert result.exit_code == 0, result.output
    pids = worker_pids(client)
    code, stderr = finish(coordinator(subs, dask_out, cluster.scheduler_address, course=course))
    assert code == 0, stderr
    assert dask_out.read_bytes() == local_out.read_bytes()
    assert "the grading process died (signal 9), twice on this submission" in dask_out.read_text()
    assert worker_pids(client) == pids  # no Dask worker was lost


def test_a_worker_whose_grader_differs_refuses_to_grade(dask_cluster, tmp_path):
    """The coordinator runs a grader that differs by one comment from the workers' (a copy
    first on its PYTHONPATH): its setup hash is not theirs, also on workers that have just
    graded this very course for a coordinator like theirs."""
    cluster, _ = dask_cluster
    import shutil

    subs = exercise3_class(tmp_path / "subs", 3)
    code, stderr = finish(coordinator(subs, tmp_path / "first.csv", cluster.scheduler_address))
    assert code == 0, stderr
    shutil.copytree(ROOT / "grader", tmp_path / "other" / "grader", ignore=shutil.ignore_patterns("__pycache__"))
    with open(tmp_path / "other" / "grader" / "report.py", "a") as f:
        f.write("\n# another version of the grader\n")
    code, stderr = finish(coordinator(subs, tmp_path / "g.csv", cluster.scheduler_address,
                                      env={"PYTHONPATH": str(tmp_path / "other")}))
    assert code == 2, stderr
    lines = stderr.strip().splitlines()
    assert lines[-1].startswith("Error: a Dask worker (tcp://") and "computes the setup hash" in lines[-1], stderr
    assert "install the same dl-grader on every worker" in lines[-1]
    assert "Traceback" not in stderr and not (tmp_path / "g.csv").exists()


def _set_allowed_failures(dask_scheduler, n):
    dask_scheduler.allowed_failures = n


def test_a_scheduler_that_retries_more_than_once_is_warned_about(dask_cluster, tmp_path):
    cluster, client = dask_cluster
    subs = exercise3_class(tmp_path / "subs", 1)
    client.run_on_scheduler(_set_allowed_failures, n=3)  # Dask's default
    try:
        code, stderr = finish(coordinator(subs, tmp_path / "g.csv", cluster.scheduler_address))
    finally:
        client.run_on_scheduler(_set_allowed_failures, n=1)
    assert code == 0, stderr
    assert ("Warning: the scheduler tcp://127.0.0.1:" in stderr and "up to 3 more times" in stderr
            and "ALLOWED_FAILURES=1" in stderr), stderr


def test_an_unreachable_scheduler_is_one_line(classroom, tmp_path):
    pytest.importorskip("distributed", reason=NO_DASK)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nobody listens there once it is closed
    code, stderr = finish(coordinator(classroom, tmp_path / "g.csv", f"tcp://127.0.0.1:{port}",
                                      env={"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "3s"}))
    assert code == 2
    assert stderr.strip().splitlines()[-1].startswith(f"Error: cannot reach the Dask scheduler at tcp://127.0.0.1:{port}")
    assert "Traceback" not in stderr


# ---------------------------------------------------------------- without a cluster

def test_the_course_archive_is_checked_by_its_setup_hash_on_arrival(tmp_path):
    course = load_course(ROOT)
    exercise = course.exercise("exercise3")
    archive = grader_cluster.course_archive(course, exercise)
    names = zipfile.ZipFile(__import__("io").BytesIO(archive)).namelist()
    assert {"course.yml", "solutions/exercise3/test_public.py", "solutions/exercise3/test_hidden.py",
            "solutions/exercise3/dropout.py", "exercises/exercise3/expected.dat"} <= set(names)
    assert archive == grader_cluster.course_archive(course, exercise)  # the same bytes every time
    setup = setup_digest(exercise, True)
    sha = __import__("hashlib").sha256(archive).hexdigest()
    unpacked = grader_cluster.unpack_course(archive, sha, setup, "exercise3", True, tmp_path)
    assert setup_digest(unpacked.exercise("exercise3"), True) == setup and unpacked.root != course.root

    other = copy_course(tmp_path / "v2")
    with open(other / "solutions" / "exercise3" / "test_hidden.py", "a") as f:
        f.write("\n# changed after the coordinator hashed it\n")
    changed = grader_cluster.course_archive(load_course(other), load_course(other).exercise("exercise3"))
    changed_sha = __import__("hashlib").sha256(changed).hexdigest()
    with pytest.raises(grader_cluster.CourseMismatch, match="computes the setup hash"):
        grader_cluster.unpack_course(changed, changed_sha, setup, "exercise3", True, tmp_path)
    with pytest.raises(grader_cluster.CourseMismatch, match="damaged"):
        grader_cluster.unpack_course(changed[:-10] + b"0" * 10, changed_sha, setup, "exercise3", True, tmp_path)


@pytest.mark.parametrize("address, warns", [("tcp://127.0.0.1:8786", False), ("tcp://localhost:8786", False),
                                            ("tcp://10.0.0.5:8786", True), ("tls://10.0.0.5:8786", False)])
def test_a_scheduler_off_this_machine_without_tls_is_warned_about(address, warns):
    assert bool(grader_cluster.check_address(address)) == warns


@pytest.mark.parametrize("address", ["10.0.0.5", "tcp://10.0.0.5", "http://10.0.0.5:8786", "scheduler.json"])
def test_a_bad_scheduler_address_is_one_line(address, classroom, tmp_path):
    result = CliRunner().invoke(main, ["batch", "exercise3", str(classroom), "--out", str(tmp_path / "g.csv"),
                                       "--scheduler", address, "--course", str(ROOT)])
    assert result.exit_code == 2 and result.stderr.startswith(f"Error: --scheduler {address}: give the Dask")
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "g.csv.partial").exists() or not list((tmp_path / "g.csv.partial").glob("*.json"))


def test_dask_is_never_imported_for_a_local_batch(tmp_path):
    subs = exercise3_class(tmp_path / "subs", 2)
    code = f"""
import sys
from pathlib import Path
from grader.batch import run_batch
from grader.course import load_course
run_batch(load_course(Path({str(ROOT)!r})), "exercise3", Path({str(subs)!r}), Path({str(tmp_path / 'g.csv')!r}), jobs=1)
print(sorted(m for m in sys.modules if m.split(".")[0] in ("dask", "distributed")))
"""
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"
    assert (tmp_path / "g.csv").is_file()


def test_a_scheduler_without_dask_installed_says_how_to_install_it(tmp_path):
    subs = exercise3_class(tmp_path / "subs", 2)
    code = f"""
import sys
sys.modules["distributed"] = None  # as if it were not installed
from grader.cli import main
main(["batch", "exercise3", {str(subs)!r}, "--out", {str(tmp_path / 'g.csv')!r},
      "--scheduler", "tcp://127.0.0.1:8786", "--course", {str(ROOT)!r}])
"""
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert run.returncode == 2
    assert run.stderr.strip() == ("Error: --scheduler needs Dask's distributed package: pip install "
                                  "'dl-grader[dask]' (on this machine and on every worker)")


def test_a_korean_batch_is_graded_in_korean_on_the_workers(dask_cluster, tmp_path):
    """GRADER_LANG=ko on the coordinator: the workers grade in Korean (the setup hashes, which
    include the language, agree), and the gradebook is the local Korean batch's, byte for byte."""
    cluster, client = dask_cluster
    client.wait_for_workers(2, timeout=120)
    subs = exercise3_class(tmp_path / "subs", 4)
    local_out, dask_out = tmp_path / "local.json", tmp_path / "dask.json"
    result = CliRunner().invoke(main, ["batch", "exercise3", str(subs), "--out", str(local_out), "--jobs", "1",
                                       "--course", str(ROOT), "--lang", "ko"])
    assert result.exit_code == 0, result.output
    code, stderr = finish(coordinator(subs, dask_out, cluster.scheduler_address, env={"GRADER_LANG": "ko"}))
    assert code == 0, stderr
    assert dask_out.read_bytes() == local_out.read_bytes()
    reports = json.loads(dask_out.read_text())
    assert reports and all(r.get("language") == "ko" for r in reports if r.get("tests"))
