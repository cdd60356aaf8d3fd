"""Hidden tests of exercise4: more shapes and edge cases against the reference solution, with
the inputs, the formulas and the named mistakes of test_public.py (`pub`)."""
import numpy as np
import pytest

from grader.checks import against_reference, assert_close, call, public_tests, seeded

pub = public_tests(__file__)


@pytest.mark.points(1.5)
def test_batchnorm_more_shapes(student, reference):
    """batchnorm_forward: training and test outputs match the reference on more shapes (N = 2, D = 1, large)"""
    cases = [(pub.make_batch(seed, shape), dict(momentum=momentum, eps=eps)) for seed, shape, momentum, eps in
             [(200, (2, 3), 0.1, 1e-5), (201, (9, 1), 0.1, 1e-5), (202, (64, 32), 0.1, 1e-5),
              (203, (3, 10), 0.05, 1e-4), (204, (12, 12), 0.5, 1e-3)]]
    stats = [(rm.copy(), rv.copy()) for (*_, rm, rv), _ in cases]  # the student's, updated in place
    against_reference(student.batchnorm_forward, reference, returns=pub.OUT, mistakes=pub.bn_mistakes,
                      calls=[call(x, g, b, *mine, True, **kw) for ((x, g, b, _, _), kw), mine in zip(cases, stats)])
    tests = []  # then test mode with what each side learned: (x, gamma, beta, student's, reference's, kw)
    for ((x, gamma, beta, rm, rv), kw), (mean_s, var_s) in zip(cases, stats):
        mean_r, var_r = rm.copy(), rv.copy()
        reference.batchnorm_forward(x, gamma, beta, mean_r, var_r, True, **kw)
        pub.check_running_step(x, mean_s, var_s, rm, rv, kw["momentum"])
        assert_close(mean_s, mean_r, name="running_mean")
        assert_close(var_s, var_r, name="running_var")
        tests += [(x[rows] + 0.5, gamma, beta, (mean_s, var_s), (mean_r, var_r), kw) for rows in (slice(None), slice(0, 1))]
    results = student.batchnorm_forward.each([call(x, g, b, *mine, False, **kw) for x, g, b, mine, _, kw in tests],
                                             returns=pub.OUT)
    for (x, gamma, beta, _, (mean_r, var_r), kw), (out, _) in zip(tests, results):
        expected, _ = reference.batchnorm_forward(x, gamma, beta, mean_r, var_r, False, **kw)
        assert_close(out, expected, mistakes=pub.bn_mistakes(x, gamma, beta, mean_r, var_r, False, **kw))


@pytest.mark.points(1)
def test_batchnorm_running_statistics_vary_batch_size(student, reference):
    """batchnorm_forward: running statistics match the reference over steps with different batch sizes"""
    rng = seeded(210)
    D = 4
    mean_s, var_s = np.zeros(D), np.ones(D)
    mean_r, var_r = np.zeros(D), np.ones(D)
    gamma, beta = np.ones(D), np.zeros(D)
    for N in (2, 5, 17, 3):  # the unbiased factor N / (N - 1) changes from step to step
        x = rng.normal(0.0, 2.0, size=(N, D)) + rng.normal(0.0, 3.0, size=D)
        old_mean, old_var = mean_s.copy(), var_s.copy()
        student.batchnorm_forward.each([(x, gamma, beta, mean_s, var_s, True)], returns=pub.OUT)[0]
        reference.batchnorm_forward(x, gamma, beta, mean_r, var_r, True)
        pub.check_running_step(x, mean_s, var_s, old_mean, old_var)
        assert_close(mean_s, mean_r, name="running_mean")
        assert_close(var_s, var_r, name="running_var")


@pytest.mark.points(1.5)
def test_batchnorm_backward_more_shapes(student, reference):
    """batchnorm_backward: gradients match the reference on more shapes and modes (N = 3, D = 2, N = 1 at test time)"""
    for seed, shape, train in [(220, (3, 7), True), (221, (12, 2), True), (222, (16, 16), True),
                               (223, (1, 5), False), (224, (9, 3), False)]:
        pub.check_bn_backward(student, reference, seed, shape, train)


@pytest.mark.points(1)
def test_layernorm_more_shapes(student, reference):
    """layernorm_forward: output matches the reference on more shapes and eps (N = 1, D = 3, large)"""
    cases = [call(*pub.make_rows(seed, shape), eps=eps) for seed, shape, eps in
             [(230, (1, 9), 1e-5), (231, (7, 3), 1e-5), (232, (32, 64), 1e-5), (233, (5, 5), 1e-3)]]
    against_reference(student.layernorm_forward, reference, cases, returns=pub.OUT, mistakes=pub.ln_mistakes)


@pytest.mark.points(1)
def test_layernorm_backward_more_shapes(student, reference):
    """layernorm_backward: gradients match the reference on more shapes and eps"""
    for seed, shape, eps in [(240, (3, 6), 1e-5), (241, (10, 4), 1e-5), (242, (5, 5), 1e-3)]:
        pub.check_ln_backward(student, reference, seed, shape, eps=eps)
