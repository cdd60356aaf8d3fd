"""Hidden tests of exercise 3 (dropout): more shapes (1-D, 3-D, non-square in both
orientations), more drop probabilities, and the test-mode edge cases. Instructor-only.

Same method as the public tests: x = randn + 10 so the zeros of the output are the
dropped units; statistical bounds fail a correct solution with probability <= 1e-9 each.
The calls of a loop share one round trip to the sandbox, with the helpers of test_public.py
next to this file (`forwards`, `forward_backward`: the feedback is that of separate calls).
"""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from grader.checks import (assert_close, expect_value_error, fail, normal_input,
                           seeded, stats)

_spec = importlib.util.spec_from_file_location("_exercise3_public_checks",
                                               Path(__file__).with_name("test_public.py"))
public = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(public)

INV, VAN = "dropout_forward", "vanilla_dropout_forward"
INV_B, VAN_B = "dropout_backward", "vanilla_dropout_backward"

# (p, shape, seed): every shape holds N = 60,000 units, for the dropped-fraction bound
TRAIN_CASES = ((0.5, (30, 40, 50), 1), (0.1, (60_000,), 2), (0.9, (40, 1500), 3),
               (0.35, (1500, 40), 4))


def check_fraction(out, p, fn):
    # N independent Bernoulli(p) drops: Hoeffding (values in [0, 1]) puts the dropped
    # fraction within stats.hoeffding(N, 1) = 0.0134 of p (N = 60,000) with probability
    # >= 1 - 1e-9. Every mistake measured moves it by 0.1 or more.
    frac = float(np.mean(out == 0))
    t = stats.hoeffding(out.size, 1.0)
    if abs(frac - p) > t:
        extra = (" That is about 1 - p: p is the probability of DROPPING a unit, not the keep "
                 "probability" if abs(frac - (1 - p)) <= t else "")
        fail(f"{fn}: with p = {p} and x of shape {out.shape} you dropped a fraction {frac:.4f} of "
             f"the units; expected {p} (within {t:.4f}).{extra}")


@pytest.mark.points(1)
def test_dropout_other_shapes_and_p(student):
    """dropout_forward: training on 1-D, 3-D and non-square inputs, other values of p"""
    xs = [public.big_input(shape, seed) for _, shape, seed in TRAIN_CASES]
    results = public.forwards(student, INV, [(x, p, True, seeded(100 + seed))
                                             for x, (p, _, seed) in zip(xs, TRAIN_CASES)])
    for x, (p, shape, _), (out, _) in zip(xs, TRAIN_CASES, results):
        check_fraction(out, p, INV)
        kept = out != 0
        assert_close(out, np.where(kept, x / (1 - p), 0.0), fn=INV, mistakes={
            "the kept units are not rescaled by 1/(1-p)": np.where(kept, x, 0.0)},
            hint=f"For x of shape {shape}, each output must be 0 or x/(1-p) (p = {p})")


@pytest.mark.points(1)
def test_dropout_test_mode_other_shapes(student, reference):
    """dropout_forward: test mode is the identity for every shape; p is checked there too"""
    cases = [(p, shape, normal_input(shape, seed), seed)
             for p, shape, seed in ((0.5, (4, 5, 6), 5), (0.1, (11,), 6), (0.9, (3, 17), 7),
                                    (0.0, (6, 2), 8))]
    results = public.forwards(student, INV, [(x, p, False, seeded(100 + seed))
                                             for p, _, x, seed in cases])
    for (p, shape, x, _), (out, _) in zip(cases, results):
        expected, _ = reference.dropout_forward(x, p, False, seeded(0))
        if (out == 0).any():
            fail(f"{INV}: at test time (train=False) your output has zeros for x of shape {shape}: "
                 "at test time every unit is active; apply no mask")
        assert_close(out, expected, fn=INV, mistakes={
            "test-time output equals x*(1-p): inverted dropout must not rescale at test time":
                x * (1 - p)}, hint=f"x of shape {shape}, p = {p}: test mode returns x unchanged")
    x = np.ones((3, 4))
    for p in (1.0, -0.1):
        expect_value_error(lambda: student.dropout_forward(x, p, False, seeded(0)),
                           fn=INV, why=f"for p = {p} at test time too: p must be in [0, 1) whatever "
                           "the mode")


def check_gradients(student, fn_f, fn_b, inverted):
    """dx against the gradient through the student's own mask, on several shapes and both
    modes; where dx is wrong, the gradient of the student's own forward pass (along random
    directions, at every size) tells a wrong backward pass from a wrong forward pass."""
    cases = [(p, public.big_input(shape, seed), normal_input(shape, 200 + seed),
              seed, train)
             for p, shape, seed, train in ((0.5, (8, 5), 9, True), (0.3, (5, 8), 10, True),
                                           (0.6, (2, 3, 2), 11, True), (0.25, (7,), 12, True),
                                           (0.4, (3, 4, 2), 13, False), (0.9, (9,), 14, False))]
    results = public.forward_backward(student, fn_f, fn_b, [
        (x, p, train, seeded(100 + seed), dout) for p, x, dout, seed, train in cases])
    any_kept = False
    for (p, x, dout, seed, train), (out, _, dx) in zip(cases, results):
        if train:
            kept = out != 0
            any_kept = any_kept or bool(kept.any())
            # the four training cases (99 units) all dropped: probability 0.5^40 0.3^40 0.6^12
            # 0.25^7 < 1e-40 for a correct mask; otherwise a zero dx would pass vacuously
            if x is cases[3][1] and not any_kept:
                fail(f"{fn_b}: dx cannot be checked in training: your {fn_f} dropped every unit "
                     f"(its outputs are all zeros), so any dx that is 0 would look right: fix {fn_f} first")
            expected = dout * kept / (1 - p) if inverted else dout * kept
        else:
            expected = dout if inverted else dout * (1 - p)
        # the gradient of the student's own forward pass (12 calls in one round trip, the same
        # seed on every call replays the mask), computed only where dx is wrong
        public.check_gradient(dx, expected, public.own_gradient(student, fn_f, x, dout, p, train, 100 + seed),
                              fn_b, fn_f)


@pytest.mark.points(1)
def test_dropout_backward_other_shapes(student):
    """dropout_backward: gradient checks on non-square, 3-D and 1-D inputs, both modes"""
    check_gradients(student, INV, INV_B, inverted=True)


@pytest.mark.points(1)
def test_vanilla_other_shapes_and_modes(student, reference):
    """vanilla_dropout_forward: other shapes and p in training and at test time; p checks"""
    xs = [public.big_input(shape, seed) for _, shape, seed in TRAIN_CASES]
    test_cases = [(p, shape, normal_input(shape, seed), seed)
                  for p, shape, seed in ((0.5, (4, 5, 6), 13), (0.1, (11,), 14), (0.9, (3, 17), 15),
                                         (0.0, (6, 2), 16))]
    # training, then test mode: one round trip
    results = public.forwards(student, VAN, [
        *((x, p, True, seeded(300 + seed)) for x, (p, _, seed) in zip(xs, TRAIN_CASES)),
        *((x, p, False, seeded(100 + seed)) for p, _, x, seed in test_cases)])
    for x, (p, shape, _), (out, _) in zip(xs, TRAIN_CASES, results):
        check_fraction(out, p, VAN)
        kept = out != 0
        assert_close(out, np.where(kept, x, 0.0), fn=VAN, mistakes={
            "the kept units are divided by (1-p): that is inverted dropout": np.where(kept, x / (1 - p), 0.0)},
            hint=f"For x of shape {shape}, each output must be 0 or x (p = {p})")
    for (p, shape, x, _), (out, _) in zip(test_cases, results):
        expected, _ = reference.vanilla_dropout_forward(x, p, False, seeded(0))
        assert_close(out, expected, fn=VAN, mistakes={
            "test-time output equals x*p: scale by the keep probability 1 - p": x * p},
            hint=f"x of shape {shape}, p = {p}: test mode returns x * (1 - p)")
    x = np.ones((3, 4))
    for p in (1.0, -0.1):
        expect_value_error(lambda: student.vanilla_dropout_forward(x, p, False, seeded(0)),
                           fn=VAN, why=f"for p = {p} at test time too: p must be in [0, 1) whatever "
                           "the mode")


@pytest.mark.points(1)
def test_vanilla_backward_other_shapes(student):
    """vanilla_dropout_backward: gradient checks on non-square, 3-D and 1-D inputs, both modes"""
    check_gradients(student, VAN, VAN_B, inverted=False)
