"""The shared check that a random function draws everything from its generator argument."""

from __future__ import annotations

import numpy as np

from grader.checks.arrays import fail
from grader.checks.inputs import seeded
from grader.checks.mistakes import mistake
from grader.i18n import N_, _

SAME_SEED = mistake("rng.same_seed_differs", (
    "two calls with generators seeded the same way did not give the same {what}, but the same seed must "
    "give the same result: draw every random number from the rng argument, not from a generator of your "
    "own (np.random.default_rng() without a seed) or from the clock"))
NOT_FROM_RNG = mistake("rng.not_from_rng", (
    "different seeds gave exactly the same {what}, so your draws do not depend on rng: draw every random "
    "number from the rng argument (e.g. {draw}), not from np.random (np.random.rand, np.random.normal, "
    "np.random.binomial, ...) or from a generator with a fixed seed"))
NOT_ADVANCING = mistake("rng.not_advancing", (
    "two successive calls with the same generator gave the same {what}: every call must draw new numbers "
    "from rng, which then advances; do not copy or reseed the generator"))


def check_draws_from_rng(function, make_args, *, returns=None, pick=lambda r: r, what: str = N_("output"),
                         draw: str = "rng.random(shape)", seeds=(7, 8, 11)) -> None:
    """Same seed, same result; another seed, another result; two successive calls with one
    generator, two results (the generator advances). `make_args(rng)` is a call's arguments;
    `pick(result)` the part compared (e.g. out of (out, cache)); `draw` how the function
    should draw from rng, for the message. All five calls in one round trip; for a correct
    function, results of different draws must differ (choose inputs large enough that equal
    draws are impossible in practice, and say so where you call this). `what` is a msgid
    (shown in the student's language)."""
    a_seed, b_seed, shared_seed = seeds
    rng = seeded(shared_seed)
    results = function.each([make_args(seeded(a_seed)), make_args(seeded(a_seed)), make_args(seeded(b_seed)),
                             make_args(rng), make_args(rng)], returns=returns)
    a, b, c, d, e = (np.asarray(pick(r)) for r in results)
    if not np.array_equal(a, b):
        fail(SAME_SEED, what=_(what))
    if np.array_equal(a, c):
        fail(NOT_FROM_RNG, what=_(what), draw=draw)
    if np.array_equal(d, e):
        fail(NOT_ADVANCING, what=_(what))
