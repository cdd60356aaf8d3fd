"""Answers a student has seen are never the only evidence (SPEC, Decisions).

A student's release holds the reference's recorded answers to every call of the public
tests (expected.dat). A submission with no implementation at all can carry those answers
and give them back whenever it recognises a call. Where solutions/ is present, the tests
draw their inputs with the course's secret (grader/checks/inputs.py), so such a
submission must score no more than the untouched stub there."""

import base64
import inspect
import pickle
from pathlib import Path

from grader.course import load_course
from grader.grade import grade
from grader.reference import Reference, fingerprint
from tests.conftest import ROOT as REPO

COURSE = load_course(REPO)

REPLAY = '''\
import base64, copy, hashlib, pickle, sys, types
import numpy as np

channel = sys.modules["_channel"] = types.ModuleType("_channel")  # the grader's codec, carried along
exec(compile({codec!r}, "_channel", "exec"), channel.__dict__)

{fingerprint}

ANSWERS = pickle.loads(base64.b64decode({blob!r}))


def _replay(name, args, kwargs):
    key = fingerprint(name, args, kwargs)
    if key not in ANSWERS:
        raise NotImplementedError
    result, after = ANSWERS[key]
    for i, value in after:  # what the recorded call left in its arguments
        if isinstance(args[i], np.random.Generator):
            args[i].bit_generator.state = value["generator_state"]
        else:
            np.copyto(args[i], value)
    return copy.deepcopy(result)
'''


def replaying_submission(exercise, folder: Path) -> Path:
    answers = Reference(exercise, mode="replay").records
    code = REPLAY.format(blob=base64.b64encode(pickle.dumps(answers)).decode(),
                         codec=(REPO / "grader" / "sandbox" / "channel.py").read_text(),
                         fingerprint=inspect.getsource(fingerprint))
    for name in exercise.functions:
        code += f"\n\ndef {name}(*args, **kwargs):\n    return _replay({name!r}, args, kwargs)\n"
    path = folder / exercise.module
    path.write_text(code)
    return path


def test_replayed_public_answers_earn_nothing_where_solutions_are(tmp_path):
    local_scores = {}
    for exercise in COURSE.exercises:
        folder = tmp_path / exercise.id
        folder.mkdir()
        replay = replaying_submission(exercise, folder)
        local = grade(COURSE, exercise.id, replay, hidden=False,
                      reference=Reference(exercise, mode="replay"))
        local_scores[exercise.id] = local.score
        stub = grade(COURSE, exercise.id, exercise.student_dir / exercise.module)
        instructor = grade(COURSE, exercise.id, replay)
        assert instructor.score <= stub.score, \
            (exercise.id, [(t.name, t.outcome) for t in instructor.tests if t.points])
    # the attack is real: on a student's own machine the public tests fall for some of it
    assert sum(local_scores.values()) > 0, local_scores


def test_validate_refuses_test_inputs_from_a_fixed_seed(tmp_path):
    import shutil

    from grader.validate import _unsalted_seeds

    shutil.copytree(REPO / "solutions" / "exercise2", tmp_path / "solutions" / "exercise2")
    shutil.copy(REPO / "course.yml", tmp_path / "course.yml")
    tests = tmp_path / "solutions" / "exercise2" / "test_hidden.py"
    tests.write_text(tests.read_text() + "\nX = np.random.default_rng(3).normal(size=4)\n")
    problems = _unsalted_seeds(load_course(tmp_path).exercise("exercise2"))
    assert len(problems) == 1 and problems[0].startswith("test_hidden.py:") \
        and "grader.checks.seeded(seed)" in problems[0]


def test_a_reference_answer_that_is_not_plain_data_stops_the_build_with_a_message(tmp_path):
    # Live, the reference may return any object; recorded for a release, it must be plain data.
    from click.testing import CliRunner

    from grader.cli import main
    from tests.conftest import copy_course

    course = copy_course(tmp_path / "course")
    solution = course / "solutions" / "exercise3" / "dropout.py"
    solution.write_text(solution.read_text() + '''

class _Cache:
    pass

_forward = dropout_forward
def dropout_forward(x, p, train, rng):
    out, _ = _forward(x, p, train, rng)
    return out, _Cache()
''')
    result = CliRunner().invoke(main, ["build", "exercise3", "--course", str(course)])
    assert result.exit_code == 2, result.output
    assert "calls the reference's dropout_forward(), which returned tuple" in result.output
    assert "must be plain data" in result.output and "Traceback" not in result.output
