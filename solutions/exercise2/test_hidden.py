"""Hidden tests of exercise2: more shapes, edge values of lam, lr and weight_decay, and
several SGD steps in a row, against the reference solution (with the public tests'
mistake catalogue, loaded from test_public.py next to this file).
"""
import numpy as np
import pytest

from grader.checks import public_tests, seeded

public = public_tests(__file__)

# 3-D and 1-D arrays, a single array, and lam = 0
PENALTY_CASES = [(21, [(2, 3, 4), (5,), (1, 7)], 0.05), (22, [(8, 5)], 1.0), (23, [(3, 3), (2,)], 0.0)]
GRAD_CASES = [(24, (2, 3, 4), 0.05), (25, (7,), 1.0), (26, (8, 5), 0.0), (27, (1, 1), 3.0)]


@pytest.mark.points(1)
def test_l2_penalty_more_inputs(student, reference):
    """l2_penalty: 3-D and 1-D arrays, a single array, lam = 0"""
    public.check_penalties(student.l2_penalty, reference.l2_penalty, PENALTY_CASES, public.l2_penalty_mistakes)


@pytest.mark.points(1)
def test_l1_penalty_more_inputs(student, reference):
    """l1_penalty: 3-D and 1-D arrays, a single array, lam = 0"""
    public.check_penalties(student.l1_penalty, reference.l1_penalty, PENALTY_CASES, public.l1_penalty_mistakes)


@pytest.mark.points(1)
def test_l2_grad_more_inputs(student, reference):
    """l2_grad: 3-D and 1-D arrays, lam = 0, and a numerical check on a 3-D array"""
    cases = [(public.weight_list(seed, [shape])[0], lam) for seed, shape, lam in GRAD_CASES]
    public.check_grad_values(student.l2_grad, reference.l2_grad, student.l2_penalty, cases, public.l2_grad_mistakes)
    public.check_numerical(student.l2_grad, reference.l2_grad, student.l2_penalty,
                           public.weight_list(28, [(2, 3, 2)])[0], 1.3, public.l2_grad_mistakes)


@pytest.mark.points(1)
def test_l1_grad_more_inputs(student, reference):
    """l1_grad: 3-D and 1-D arrays with zeros, an all-zero array, lam = 0"""
    cases = [(public.with_zeros(seed, shape), lam) for seed, shape, lam in GRAD_CASES] + [(np.zeros((4, 3)), 0.5)]
    public.check_grad_values(student.l1_grad, reference.l1_grad, student.l1_penalty, cases, public.l1_grad_mistakes)


@pytest.mark.points(1)
def test_sgd_step_more_cases(student, reference):
    """sgd_step: three layers, weight_decay = 0, lr = 0, and two steps in a row"""
    rng = seeded(29)
    shapes = {"W1": (5, 4), "b1": (4,), "W2": (4, 3), "b2": (3,), "W3": (3, 1), "b3": (1,)}
    params, grads, grads2 = ({k: rng.normal(size=s) for k, s in shapes.items()} for _ in range(3))
    # a second step from the reference's first step (inputs the test made, never the student's)
    step1 = reference.sgd_step(params, grads, 0.2, 0.01)
    public.check_steps(student, reference, [(params, grads, lr, wd) for lr, wd in [(0.2, 0.01), (0.1, 0.0), (0.0, 0.4)]]
                       + [(step1, grads2, 0.2, 0.01)])
