"""The zygote keeps each worker's exit status until the grader asks for it, even when the
worker ended before the grader asked (os._exit at import, on a loaded machine, ends
before the grader has read the worker's reply)."""

import os
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path

from grader.course import load_course
from grader.sandbox import isolate
from grader.sandbox.spawn import Zygote
from tests.conftest import ROOT as REPO



def spawn(zygote, exercise, code: str):
    private = tempfile.mkdtemp(prefix="grader-test-")
    Path(private, exercise.module).write_text(code)
    spec = {"dir": private, "module_file": exercise.module, "module_name": exercise.module_name,
            "functions": list(exercise.functions), "limits": asdict(exercise.limits), "generation": 1,
            "exclude": [str(exercise.root)], "units": [(exercise.module, exercise.module)],
            "fail_alone": False, "readable": isolate.readable_paths((str(exercise.root),)),
            "reply_bytes": 1 << 20}
    pid, sock, out_fd, _ = zygote.spawn(spec)
    return pid, sock, out_fd, private


def test_a_worker_that_ended_early_keeps_its_exit_status():
    exercise = load_course(REPO).exercise("exercise3")
    zygote = Zygote()
    opened = []
    try:
        pid, sock, out_fd, private = spawn(zygote, exercise, "import os\nos._exit(3)\n")
        opened.append((sock, out_fd, private))
        sock.settimeout(60)  # a regression fails here, it does not hang the suite
        while sock.recv(1 << 16):  # its confinement report, then the end: its channel closes
            pass
        # another spawn makes the zygote collect the children that ended, this one too
        opened.append(spawn(zygote, exercise, "x = 1\n")[1:])
        status, _ = zygote.wait(pid)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 3
    finally:
        for sock, out_fd, private in opened:
            sock.close()
            os.close(out_fd)
            shutil.rmtree(private, ignore_errors=True)
        zygote.close()
