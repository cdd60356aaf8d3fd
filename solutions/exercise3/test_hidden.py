"""Hidden tests of exercise 3 (dropout): more shapes (1-D, 3-D, non-square in both
orientations), more drop probabilities, and the test-mode edge cases. Instructor-only.

Same method as the public tests (whose helpers and catalogued mistakes are used here):
x = randn + 10 so the zeros of the output are the dropped units; statistical bounds fail a
correct solution with probability <= 1e-9 each.
"""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from grader.checks import (N_, assert_close, expect_value_error, fail, gradcheck, mistake, normal_input, seeded,
                           stats, tr)

_spec = importlib.util.spec_from_file_location("_exercise3_public_checks", Path(__file__).with_name("test_public.py"))
public = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(public)

# (p, shape, seed): every shape holds N = 60,000 units, for the dropped-fraction bound
TRAIN_CASES = ((0.5, (30, 40, 50), 1), (0.1, (60_000,), 2), (0.9, (40, 1500), 3), (0.35, (1500, 40), 4))
TEST_CASES = ((0.5, (4, 5, 6), 5), (0.1, (11,), 6), (0.9, (3, 17), 7), (0.0, (6, 2), 8))


def check_fraction(out, p):
    # N independent Bernoulli(p) drops: Hoeffding (values in [0, 1]) puts the dropped
    # fraction within stats.hoeffding(N, 1) = 0.0134 of p (N = 60,000) with probability
    # >= 1 - 1e-9. Every mistake measured moves it by 0.1 or more.
    frac = float(np.mean(out == 0))
    t = stats.hoeffding(out.size, 1.0)
    if abs(frac - p) > t:
        swapped = abs(frac - (1 - p)) <= t
        values = dict(p=p, shape=out.shape, frac=f"{frac:.4f}", t=f"{t:.4f}")
        if swapped:
            fail("with p = {p} and x of shape {shape} you dropped a fraction {frac} of the units; expected {p} "
                 "(within {t}). That is about 1 - p: {mistake}", mistake=public.KEEP_PROB, **values)
        fail("with p = {p} and x of shape {shape} you dropped a fraction {frac} of the units; expected {p} "
             "(within {t}).", **values)


def check_other_shapes(student, reference, fn, *, train_mistakes=None, test_mistakes=None):
    """Training on TRAIN_CASES (`train_mistakes(x, p, kept)`: the kept units' value and the
    mistakes), and/or test mode on TEST_CASES against the reference (`test_mistakes(x, p)`)
    with p outside [0, 1) at test time: one round trip."""
    xs = [public.big_input(shape, seed) for _, shape, seed in TRAIN_CASES] if train_mistakes else []
    tests = [normal_input(shape, seed) for _, shape, seed in TEST_CASES] if test_mistakes else []
    bad_p = (1.0, -0.1) if test_mistakes else ()
    results = getattr(student, fn).each(
        [(x, p, True, seeded(100 + seed)) for x, (p, _, seed) in zip(xs, TRAIN_CASES)]
        + [(x, p, False, seeded(200 + seed)) for x, (p, _, seed) in zip(tests, TEST_CASES)]
        + [(np.ones((3, 4)), p, False, seeded(0)) for p in bad_p], returns=public.OUT)
    for i, (x, (p, shape, _)) in enumerate(zip(xs, TRAIN_CASES)):
        out, _ = results[i]
        check_fraction(out, p)
        kept = out != 0
        want, mistakes, hint = train_mistakes(x, p, kept)
        assert_close(out, want, mistakes=mistakes, hint="For x of shape {shape}, each output must be 0 or "
                     "{value} (p = {p})", shape=shape, value=hint, p=p)
    for i, (x, (p, shape, _)) in enumerate(zip(tests, TEST_CASES), start=len(xs)):
        out, _ = results[i]
        if (out == 0).any():
            fail(public.TEST_MASKS)
        expected, _ = getattr(reference, fn)(x, p, False, seeded(0))
        mistakes, hint = test_mistakes(x, p)
        assert_close(out, expected, mistakes=mistakes, hint="x of shape {shape}, p = {p}: {what}", shape=shape,
                     p=p, what=tr(hint))
    for i, p in enumerate(bad_p, start=len(xs) + len(tests)):
        expect_value_error(lambda: results[i], why="for p = {p} at test time too: p must be in [0, 1) whatever "
                                                   "the mode", p=p)


@pytest.mark.points(1)
def test_dropout_other_shapes_and_p(student, reference):
    """dropout_forward: training on 1-D, 3-D and non-square inputs, other values of p"""
    check_other_shapes(student, reference, "dropout_forward", train_mistakes=lambda x, p, kept: (
        np.where(kept, x / (1 - p), 0.0), {public.NOT_RESCALED: np.where(kept, x, 0.0)}, "x/(1-p)"))


@pytest.mark.points(1)
def test_dropout_test_mode_other_shapes(student, reference):
    """dropout_forward: test mode is the identity for every shape; p is checked there too"""
    check_other_shapes(student, reference, "dropout_forward", test_mistakes=lambda x, p: (
        {mistake("dropout.test_scales_by_keep"): x * (1 - p)}, N_("test mode returns x unchanged")))


def check_gradients(student, fn_f, fn_b, inverted):
    """dx against the gradient through the student's own mask, on several shapes and both
    modes (gradcheck: where dx is wrong, the gradient of the student's own forward pass tells
    a wrong backward pass from a wrong forward pass)."""
    kept_any = []
    for p, shape, seed, train in ((0.5, (8, 5), 9, True), (0.3, (5, 8), 10, True), (0.6, (2, 3, 2), 11, True),
                                  (0.25, (7,), 12, True), (0.4, (3, 4, 2), 13, False), (0.9, (9,), 14, False)):
        x, dout = public.big_input(shape, seed), normal_input(shape, 200 + seed)

        def expected(out):
            if not train:
                return dout if inverted else dout * (1 - p)
            kept_any.append(bool(out.any()))
            # the four training cases (99 units) all dropped: probability 0.5^40 0.3^40 0.6^12
            # 0.25^7 < 1e-40 for a correct mask; otherwise a zero dx would pass vacuously
            if len(kept_any) == 4 and not any(kept_any):
                fail("dx cannot be checked in training: your {forward} dropped every unit (its outputs are all "
                     "zeros), so any dx that is 0 would look right: fix {forward} first", forward=fn_f)
            return dout * (out != 0) * (1 / (1 - p) if inverted else 1.0)
        gradcheck(getattr(student, fn_f), getattr(student, fn_b), (x, p, train, seeded(100 + seed)), wrt="x",
                  dout=dout, expected=expected)


@pytest.mark.points(1)
def test_dropout_backward_other_shapes(student):
    """dropout_backward: gradient checks on non-square, 3-D and 1-D inputs, both modes"""
    check_gradients(student, "dropout_forward", "dropout_backward", inverted=True)


@pytest.mark.points(1)
def test_vanilla_other_shapes_and_modes(student, reference):
    """vanilla_dropout_forward: other shapes and p in training and at test time; p checks"""
    check_other_shapes(student, reference, "vanilla_dropout_forward", train_mistakes=lambda x, p, kept: (
        np.where(kept, x, 0.0), {mistake("vanilla.rescales_train"): np.where(kept, x / (1 - p), 0.0)}, "x"),
        test_mistakes=lambda x, p: ({mistake("vanilla.test_times_p"): x * p}, N_("test mode returns x * (1 - p)")))


@pytest.mark.points(1)
def test_vanilla_backward_other_shapes(student):
    """vanilla_dropout_backward: gradient checks on non-square, 3-D and 1-D inputs, both modes"""
    check_gradients(student, "vanilla_dropout_forward", "vanilla_dropout_backward", inverted=False)
