"""The seeds of test inputs, and the course's secret that varies them where it is known.

Public tests ship to students together with the reference's recorded answers to every
call they make (`expected.dat`). A submission could carry those answers and replay them.
So where `solutions/` is present (an instructor's or CI's grading, with the live reference)
every seed a test draws its inputs from is mixed with a secret of the course: a hash of
the reference solution, which students never see. The tests then check the same
behaviours on inputs no student has seen, and recorded answers match none of them. In a
student's release (answers replayed) and when the build records the answers, the secret
is 0 and the seeds are exactly the ones written in the tests.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
from pathlib import Path

import numpy as np

_secret = 0  # set for one pytest session by grader.grade (`course_secret`)


def seeded(seed: int) -> np.random.Generator:
    """`np.random.default_rng(seed)` for a test's inputs (and generators it passes to the
    student): the same for every student in one grading setup, varied by the course's secret."""
    return np.random.default_rng(_entropy(seed))


def _entropy(seed: int):
    return int(seed) if not _secret else [int(seed), _secret]


@contextlib.contextmanager
def course_secret(secret: int):
    """Draw every seeded input of the tests run inside with `secret` mixed in."""
    global _secret
    previous, _secret = _secret, int(secret)
    try:
        yield
    finally:
        _secret = previous


def secret_of(reference_file: Path) -> int:
    """The secret of a course's exercise: 63 bits of the hash of its reference solution."""
    return int.from_bytes(hashlib.sha256(Path(reference_file).read_bytes()).digest()[:8], "big") >> 1


def normal_input(shape, seed: int, loc: float = 0.0) -> np.ndarray:
    """`seeded(seed).standard_normal(shape) + loc`, as a new array.

    Tests make the same inputs for every student, and drawing 250,000 normals costs
    several times more than copying them, so the draws are kept per process (they are a
    pure function of the arguments and the secret) and each caller gets its own copy."""
    shape = (int(shape),) if np.ndim(shape) == 0 else tuple(int(n) for n in shape)
    return _normal_draws(shape, int(seed), float(loc), _secret).copy()


@functools.lru_cache(maxsize=256)
def _normal_draws(shape: tuple, seed: int, loc: float, secret: int) -> np.ndarray:
    draws = seeded(seed).standard_normal(shape)
    if loc:
        draws += loc
    draws.flags.writeable = False
    return draws
