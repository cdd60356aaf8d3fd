"""Hidden tests of exercise 3 (dropout): more shapes (1-D, 3-D, non-square in both
orientations), more drop probabilities, and the test-mode edge cases. Instructor-only.

Same method as the public tests (whose helpers and catalogued mistakes are used here):
x = randn + 10 so the zeros of the output are the dropped units; statistical bounds fail a
correct solution with probability <= 1e-9 each.
"""
import numpy as np
import pytest

from grader.checks import N_, expect_value_error, mistake, normal_input, public_tests, seeded, tr

public = public_tests(__file__)

# (p, shape, seed): every shape holds N = 60,000 units, for the dropped-fraction bound
TRAIN_CASES = ((0.5, (30, 40, 50), 1), (0.1, (60_000,), 2), (0.9, (40, 1500), 3), (0.35, (1500, 40), 4))
TEST_CASES = ((0.5, (4, 5, 6), 5), (0.1, (11,), 6), (0.9, (3, 17), 7), (0.0, (6, 2), 8))


def check_other_shapes(student, reference, fn, *, train=None, test=None):
    """Training on TRAIN_CASES (`train(p)`: the kept units' scale, {mistake: the scale it uses},
    and how a kept unit reads) and/or test mode on TEST_CASES against the reference (`test(p)`:
    {mistake: its factor on x} and a hint), with p outside [0, 1) at test time: one round trip."""
    calls = [(public.big_input(shape, seed), p, True, seeded(100 + seed)) for p, shape, seed in TRAIN_CASES] \
        if train else []
    calls += [(normal_input(shape, seed), p, False, seeded(200 + seed)) for p, shape, seed in TEST_CASES] \
        if test else []
    bad_p = [(np.ones((3, 4)), p, False, seeded(0)) for p in (1.0, -0.1)] if test else []
    results = getattr(student, fn).each(calls + bad_p, returns=public.OUT)
    for (x, p, training, _), (out, _) in zip(calls, results):
        if training:
            scale, mistakes, value = train(p)
            public.check_dropped_fraction(out, p)
            public.check_kept(out, x, p, scale, mistakes, hint=N_("For x of shape {shape}, each output must be 0 "
                                                                  "or {value} (p = {p})"), shape=x.shape, value=value)
        else:
            mistakes, hint = test(p)
            public.check_test_output(out, x, getattr(reference, fn)(x, p, False, seeded(0))[0], mistakes,
                                     N_("x of shape {shape}, p = {p}: {what}"), shape=x.shape, p=p, what=tr(hint))
    for i, (_, p, _, _) in enumerate(bad_p, start=len(calls)):
        expect_value_error(lambda: results[i], why="for p = {p} at test time too: p must be in [0, 1) whatever "
                                                   "the mode", p=p)


@pytest.mark.points(1)
def test_dropout_other_shapes_and_p(student, reference):
    """dropout_forward: training on 1-D, 3-D and non-square inputs, other values of p"""
    check_other_shapes(student, reference, "dropout_forward", train=lambda p: (
        1 / (1 - p), {public.NOT_RESCALED: 1}, "x/(1-p)"))


@pytest.mark.points(1)
def test_dropout_test_mode_other_shapes(student, reference):
    """dropout_forward: test mode is the identity for every shape; p is checked there too"""
    check_other_shapes(student, reference, "dropout_forward", test=lambda p: (
        {mistake("dropout.test_scales_by_keep"): 1 - p}, N_("test mode returns x unchanged")))


# (p, shape, seed, train): every shape, both modes, several values of p
GRADIENT_CASES = ((0.5, (8, 5), 9, True), (0.3, (5, 8), 10, True), (0.6, (2, 3, 2), 11, True),
                  (0.25, (7,), 12, True), (0.4, (3, 4, 2), 13, False), (0.9, (9,), 14, False))


@pytest.mark.points(1)
def test_dropout_backward_other_shapes(student):
    """dropout_backward: gradient checks on non-square, 3-D and 1-D inputs, both modes"""
    public.check_gradients(student, "dropout", GRADIENT_CASES)


@pytest.mark.points(1)
def test_vanilla_other_shapes_and_modes(student, reference):
    """vanilla_dropout_forward: other shapes and p in training and at test time; p checks"""
    check_other_shapes(student, reference, "vanilla_dropout_forward", train=lambda p: (
        1.0, {mistake("vanilla.rescales_train"): 1 / (1 - p)}, "x"), test=lambda p: (
        {mistake("vanilla.test_times_p"): p}, N_("test mode returns x * (1 - p)")))


@pytest.mark.points(1)
def test_vanilla_backward_other_shapes(student):
    """vanilla_dropout_backward: gradient checks on non-square, 3-D and 1-D inputs, both modes"""
    public.check_gradients(student, "vanilla_dropout", GRADIENT_CASES)
