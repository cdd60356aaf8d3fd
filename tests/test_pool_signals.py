"""Ctrl-C and the batch's grading processes: a Ctrl-C is never lost, and never kills a
grading process (the batch alone decides how to stop). These pin down the race that made
`grade batch` run to the end after Ctrl-C on a loaded machine: the batch used to ignore
SIGINT while it started a grading process, so a Ctrl-C in that window vanished."""

import multiprocessing.process
import os
import signal

import pytest

from grader import pool
from grader.course import load_course
from tests.conftest import ROOT as REPO



def test_a_ctrl_c_while_a_grading_process_starts_is_not_lost(monkeypatch):
    # Ctrl-C handled as in a terminal's foreground job, also where these tests run with
    # SIGINT ignored (a background job of a shell without job control)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    workers = pool._Pool(load_course(REPO), "exercise3", False, 1)
    try:
        real_start = multiprocessing.process.BaseProcess.start

        def start_then_ctrl_c(process):
            real_start(process)
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C reaches the batch in the window

        monkeypatch.setattr(multiprocessing.process.BaseProcess, "start", start_then_ctrl_c)
        with pytest.raises(KeyboardInterrupt):
            workers._start()
    finally:
        monkeypatch.undo()
        workers.close(now=True)
        signal.signal(signal.SIGINT, previous)


def test_a_grading_process_ignores_ctrl_c_from_its_first_instant():
    workers = pool._Pool(load_course(REPO), "exercise3", False, 1)
    try:
        (worker,) = workers.workers
        os.kill(worker.process.pid, signal.SIGINT)  # at once: it may still be starting up
        assert workers.assign(worker, ("ann", str(REPO / "solutions" / "exercise3")))
        outcome = worker.conn.recv()
        assert outcome["report"]["score"] == outcome["report"]["max_score"] > 0
        assert worker.process.is_alive()
    finally:
        workers.close(now=False)
