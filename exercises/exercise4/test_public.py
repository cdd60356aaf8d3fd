"""Public tests of exercise4: batch normalization and layer normalization.

Run them with `grade exercise4`. Every input is made here from a fixed seed. Batch-norm
inputs always hold one feature (column 1) whose standard deviation is 1e-3, far below
sqrt(eps) = 3.2e-3: putting eps in the wrong place is invisible on ordinary features and
changes that one completely. Layer-norm inputs hold such a sample (row 1) instead.

When your result equals what a common mistake produces on these inputs, the message
names the mistake. Gradients are checked in float64 against the correct gradient with the
norm-wise relative error ||a - b|| / (||a|| + ||b||) <= 1e-6; when yours is off, it is
also compared with a numerical gradient of your own forward pass, to tell you whether
the forward or the backward pass is wrong.
"""
from dataclasses import replace

import numpy as np
import pytest

from grader.checks import (N_, Failures, against_reference, array, assert_close, call, check_per_sample,
                           expect_value_error, gradcheck, mistake, seeded)

OUT = (array("out", like="x"), "cache")
EPS = 1e-5
LOW = 1  # the low-variance feature (batch norm) or sample (layer norm)

# ----------------------------------------------------------------------- the mistakes, named
# Mistakes both normalizations share carry batchnorm ids here; `as_layernorm` renames them.
BN_UNBIASED_NORM = mistake("batchnorm.unbiased_normalize")
EPS_OUTSIDE = mistake("batchnorm.eps_outside_sqrt")
NO_EPS = mistake("batchnorm.no_eps")
BN_AXIS1 = mistake("batchnorm.normalizes_rows")
GAMMA_BETA_SWAPPED = mistake("batchnorm.gamma_beta_swapped")
NO_AFFINE = mistake("batchnorm.no_affine")
TRAIN_USES_RUNNING = mistake("batchnorm.train_uses_running")
TEST_USES_BATCH = mistake("batchnorm.test_uses_batch")
RUNNING_UNCHANGED = mistake("batchnorm.running_not_in_place")
MOMENTUM_SWAPPED = mistake("batchnorm.momentum_as_decay")
RUNNING_VAR_BIASED = mistake("batchnorm.running_var_biased")
CS231N_BOTH = mistake("batchnorm.cs231n_running_var")
RUNNING_STD = mistake("batchnorm.running_std")
RUNNING_REPLACED = mistake("batchnorm.running_replaced")
MOMENTUM_IGNORED = mistake("batchnorm.momentum_ignored")
EPS_IGNORED = mistake("batchnorm.eps_ignored")
DX_NO_GAMMA = mistake("batchnorm.backward_no_gamma")
TEST_CACHE_TRAIN_FORMULA = mistake("batchnorm.backward_test_cache_train_formula")


def as_layernorm(mistakes):
    """The same mistakes under layernorm ids (the shared ones are written as batchnorm's)."""
    return {replace(m, id="layernorm." + m.id.split(".", 1)[1]): value for m, value in mistakes.items()}


# ----------------------------------------------------------------------- inputs and formulas

def make_batch(seed, shape, low_std=1e-3):
    """x (N, D) with per-feature offsets and scales, feature LOW with std `low_std`; gamma of
    both signs, beta; and running statistics far from torch's start (0, 1)."""
    rng = seeded(seed)
    N, D = shape
    x = rng.normal(0.0, 2.0, size=shape) * rng.uniform(0.5, 2.0, size=D) + rng.normal(0.0, 3.0, size=D)
    x[:, LOW % D] = 5.0 + low_std * rng.normal(size=N)
    gamma = rng.uniform(0.5, 2.0, size=D) * rng.choice([-1.0, 1.0], size=D)
    beta = rng.normal(size=D)
    running_mean = rng.normal(0.0, 2.0, size=D)
    running_var = rng.uniform(0.5, 4.0, size=D)
    running_var[LOW % D] = 1e-6  # a feature that barely varied during training
    return x, gamma, beta, running_mean, running_var


def make_rows(seed, shape, low_std=1e-3):
    """x (N, D) for layer norm, sample LOW with std `low_std`; gamma, beta of shape (D,)."""
    rng = seeded(seed)
    N, D = shape
    x = rng.normal(0.0, 2.0, size=shape) * rng.uniform(0.5, 2.0, size=(N, 1)) + rng.normal(0.0, 3.0, size=(N, 1))
    x[LOW % N] = 5.0 + low_std * rng.normal(size=D)
    gamma = rng.uniform(0.5, 2.0, size=D) * rng.choice([-1.0, 1.0], size=D)
    beta = rng.normal(size=D)
    return x, gamma, beta


def norm(x, gamma, beta, mu, var, eps=EPS):
    return gamma * (x - mu) / np.sqrt(var + eps) + beta


def normalization_mistakes(x, gamma, beta, mu, var, eps=EPS):
    """What the usual slips in `gamma * (x - mu) / sqrt(var + eps) + beta` produce."""
    return {
        EPS_OUTSIDE: gamma * (x - mu) / (np.sqrt(var) + eps) + beta,
        NO_EPS: gamma * (x - mu) / np.sqrt(var) + beta,
        mistake("batchnorm.sqrt_missing"): gamma * (x - mu) / (var + eps) + beta,
        GAMMA_BETA_SWAPPED: beta * (x - mu) / np.sqrt(var + eps) + gamma,
        NO_AFFINE: (x - mu) / np.sqrt(var + eps),
    }


def bn_mistakes(x, gamma, beta, running_mean, running_var, train, momentum=0.1, eps=EPS):
    """What the usual slips in batchnorm_forward produce on these arguments."""
    mu, var = x.mean(axis=0), x.var(axis=0)
    if not train:
        return {TEST_USES_BATCH: norm(x, gamma, beta, mu, var, eps),
                **normalization_mistakes(x, gamma, beta, running_mean, running_var, eps),
                EPS_IGNORED: norm(x, gamma, beta, running_mean, running_var)}
    unbiased = var * x.shape[0] / (x.shape[0] - 1)
    updated_mean = (1 - momentum) * running_mean + momentum * mu
    updated_var = (1 - momentum) * running_var + momentum * unbiased
    return {
        BN_UNBIASED_NORM: norm(x, gamma, beta, mu, unbiased, eps),
        **normalization_mistakes(x, gamma, beta, mu, var, eps),
        BN_AXIS1: norm(x, gamma, beta, x.mean(axis=1, keepdims=True), x.var(axis=1, keepdims=True), eps),
        TRAIN_USES_RUNNING: norm(x, gamma, beta, running_mean, running_var, eps),
        TRAIN_USES_RUNNING.variant(N_(" (you used them just after updating them)")):
            norm(x, gamma, beta, updated_mean, updated_var, eps),
        EPS_IGNORED: norm(x, gamma, beta, mu, var),
    }


def running_mistakes(name, old, stat, N, momentum=0.1):
    """What the usual slips in the running-statistics update produce (stat: the batch mean,
    or the biased batch variance for running_var)."""
    m = momentum
    new = stat * N / (N - 1) if name == "running_var" else stat  # what is averaged
    out = {RUNNING_UNCHANGED.variant(name=name): old,
           MOMENTUM_SWAPPED.variant(name=name): m * old + (1 - m) * new,
           RUNNING_REPLACED.variant(name=name): new,
           MOMENTUM_IGNORED: 0.9 * old + 0.1 * new}
    if name == "running_var":
        out.update({CS231N_BOTH: m * old + (1 - m) * stat, RUNNING_VAR_BIASED: (1 - m) * old + m * stat,
                    RUNNING_STD: (1 - m) * old + m * np.sqrt(new),
                    RUNNING_STD.variant(N_(" (and use the unbiased variance)")): (1 - m) * old + m * np.sqrt(stat)})
    return out


def dx_through_stats(g, xhat, std, axis, mean=True, var=True):
    """(n g - sum(g) - xhat * sum(g * xhat)) / (n std), sums over `axis` (n entries): dx of a
    normalization over `axis` for g = gamma * dout, without the path through the mean or the
    variance if asked."""
    n, total = xhat.shape[axis], xhat.shape[axis] * g
    if mean:
        total = total - g.sum(axis=axis, keepdims=True)
    if var:
        total = total - xhat * (g * xhat).sum(axis=axis, keepdims=True)
    return total / (n * std)


def bn_backward_mistakes(dout, x, gamma, running_mean, running_var, train, eps=EPS):
    """dx, dgamma and dbeta as the usual slips in the backward pass give them."""
    std = np.sqrt(x.var(axis=0) + eps)
    xhat = (x - x.mean(axis=0)) / std
    if train:
        dx = {mistake("batchnorm.backward_no_mean_term"): dx_through_stats(gamma * dout, xhat, std, 0, mean=False),
              mistake("batchnorm.backward_no_var_term"): dx_through_stats(gamma * dout, xhat, std, 0, var=False),
              mistake("batchnorm.backward_constant_stats"): gamma * dout / std,
              DX_NO_GAMMA: dx_through_stats(dout, xhat, std, 0)}
    else:
        batch_dx = dx_through_stats(gamma * dout, xhat, std, 0) if x.shape[0] > 1 else None
        std = np.sqrt(running_var + eps)
        xhat = (x - running_mean) / std
        dx = {TEST_CACHE_TRAIN_FORMULA: dx_through_stats(gamma * dout, xhat, std, 0), DX_NO_GAMMA: dout / std}
        if batch_dx is not None:  # the training formula computed from the batch statistics of x
            dx[TEST_CACHE_TRAIN_FORMULA.variant(N_(" (here with the batch statistics of x)"))] = batch_dx
    return {"dx": dx, **param_grad_mistakes(dout, x, xhat)}


def param_grad_mistakes(dout, x, xhat):
    return {"dgamma": {mistake("batchnorm.dgamma_sum_dout"): dout.sum(axis=0),
                       mistake("batchnorm.dgamma_uses_x"): (dout * x).sum(axis=0)},
            "dbeta": {mistake("batchnorm.dbeta_is_dgamma"): (dout * xhat).sum(axis=0),
                      mistake("batchnorm.dbeta_mean"): dout.mean(axis=0)}}


def ln_mistakes(x, gamma, beta, eps=EPS):
    D = x.shape[1]
    mu, var = x.mean(axis=1, keepdims=True), x.var(axis=1, keepdims=True)
    wrong = {
        mistake("layernorm.normalizes_columns"): norm(x, gamma, beta, x.mean(axis=0), x.var(axis=0), eps),
        mistake("layernorm.unbiased_variance"): norm(x, gamma, beta, mu, var * D / (D - 1), eps) if D > 1 else None,
        **normalization_mistakes(x, gamma, beta, mu, var, eps),
        EPS_IGNORED: norm(x, gamma, beta, mu, var),
    }
    if x.shape[0] == D:  # without keepdims the (N,) statistics broadcast along the rows
        wrong[mistake("layernorm.no_keepdims")] = norm(x, gamma, beta, mu.ravel(), var.ravel(), eps)
    return as_layernorm({k: v for k, v in wrong.items() if v is not None})


def ln_backward_mistakes(dout, x, gamma, eps=EPS):
    std = np.sqrt(x.var(axis=1, keepdims=True) + eps)
    xhat = (x - x.mean(axis=1, keepdims=True)) / std
    g = gamma * dout
    dx = {mistake("layernorm.backward_sums_axis0"): dx_through_stats(g, xhat, std, 0),
          mistake("layernorm.backward_no_mean_term"): dx_through_stats(g, xhat, std, 1, mean=False),
          mistake("layernorm.backward_no_var_term"): dx_through_stats(g, xhat, std, 1, var=False),
          DX_NO_GAMMA: dx_through_stats(dout, xhat, std, 1)}
    return {name: as_layernorm(m) for name, m in {"dx": dx, **param_grad_mistakes(dout, x, xhat)}.items()}


# ----------------------------------------------------------------------- checks

# Steps of the directional gradient checks (see grader.checks.gradients): moving every entry of
# x at once shifts the variance of a low-variance feature (std 1e-2 here) more than one entry
# does, so x takes h = 1e-6 and gamma, beta the usual 1e-5. Calibrated on the reference over
# 200 seeds of every backward case: the largest norm-wise error was 2.9e-8 for dx and 4.0e-8
# for dgamma and dbeta, 25x under GRAD_TOL (with h = 1e-5, dx reached 2.9e-6).
STEPS = {"dx": 1e-6, "dgamma": 1e-5, "dbeta": 1e-5}


def check_bn_backward(student, reference, seed, shape, train):
    """batchnorm_backward on the student's own cache against the reference's gradients."""
    x, gamma, beta, rm, rv = make_batch(seed, shape, low_std=1e-2)  # 1e-2: numerical gradients stay exact
    dout = seeded(seed + 1).normal(size=shape)
    gradcheck(student.batchnorm_forward, student.batchnorm_backward, (x, gamma, beta, rm, rv, train), oracle=reference,
              wrt=("x", "gamma", "beta"), dout=dout, mistakes=bn_backward_mistakes(dout, x, gamma, rm, rv, train),
              steps=STEPS, forward_label=f"batchnorm_forward ({'training' if train else 'test'} mode)")


def check_ln_backward(student, reference, seed, shape, eps=EPS):
    """layernorm_backward on the student's own cache against the reference's gradients."""
    x, gamma, beta = make_rows(seed, shape, low_std=1e-2)
    dout = seeded(seed + 1).normal(size=shape)
    gradcheck(student.layernorm_forward, student.layernorm_backward, call(x, gamma, beta, eps=eps), oracle=reference,
              wrt=("x", "gamma", "beta"), dout=dout, mistakes=ln_backward_mistakes(dout, x, gamma, eps), steps=STEPS)


def check_running_step(x, running_mean, running_var, old_mean, old_var, momentum=0.1):
    """One update of both running statistics against the formula, from the student's own old
    values; a failure reports both, so that each mistake is named."""
    N = x.shape[0]
    failures = Failures()
    for name, after, old, stat in (("running_mean", running_mean, old_mean, x.mean(axis=0)),
                                   ("running_var", running_var, old_var, x.var(axis=0))):
        want = (1 - momentum) * old + momentum * (stat * N / (N - 1) if name == "running_var" else stat)
        with failures:
            assert_close(after, want, name=name, mistakes=running_mistakes(name, old, stat, N, momentum),
                         hint="expected {param} = (1 - momentum) * {param} + momentum * {stat}", param=name,
                         stat="var * N / (N - 1)" if name == "running_var" else "mean")
    failures.raise_all()


# ----------------------------------------------------------------------- batchnorm_forward

@pytest.mark.points(2)
def test_batchnorm_train_values(student, reference):
    """batchnorm_forward: training output matches the reference (several shapes)"""
    cases = [(*make_batch(seed, shape), True) for seed, shape in [(10, (8, 5)), (11, (5, 8)), (12, (16, 3))]]
    against_reference(student.batchnorm_forward, reference, cases, returns=OUT, mistakes=bn_mistakes,
                      hint="training: out = gamma * (x - mean) / sqrt(var + eps) + beta with the batch "
                           "mean and biased variance of each feature (axis 0)")


@pytest.mark.points(1)
def test_batchnorm_train_output_statistics(student):
    """batchnorm_forward: in training each feature's output has mean beta and std |gamma|*sqrt(var/(var+eps))"""
    x, gamma, beta, rm, rv = make_batch(20, (10, 4))
    N = x.shape[0]
    out, _ = student.batchnorm_forward.each([(x, gamma, beta, rm, rv, True)], returns=OUT)[0]
    assert_close(out.mean(axis=0), beta, name="the per-feature mean of out", atol=1e-8,
                 mistakes={TRAIN_USES_RUNNING: norm(x, gamma, beta, rm, rv).mean(axis=0),
                           GAMMA_BETA_SWAPPED: gamma, NO_AFFINE: np.zeros_like(beta)},
                 hint="after subtracting each feature's batch mean, the shift beta is the output's mean")
    var, a = x.var(axis=0), np.abs(gamma)
    # the std is |gamma| for ordinary features but 0.30*|gamma| for feature 1 (std 1e-3):
    # var / (var + eps) = 1e-6 / 1.1e-5
    assert_close(out.std(axis=0), a * np.sqrt(var / (var + EPS)), name="the per-feature std of out",
                 mistakes={EPS_OUTSIDE: a * np.sqrt(var) / (np.sqrt(var) + EPS), NO_EPS: a,
                           BN_UNBIASED_NORM: a * np.sqrt(var / (var * N / (N - 1) + EPS)),
                           NO_AFFINE: np.sqrt(var / (var + EPS))},
                 hint="each feature's output std must be |gamma| * sqrt(var / (var + eps))")


@pytest.mark.points(2)
def test_batchnorm_running_statistics(student):
    """batchnorm_forward: training updates running_mean and running_var in place, step after step"""
    x, gamma, beta, running_mean, running_var = make_batch(30, (6, 4))
    rng = seeded(31)
    for step in range(3):  # one call per step: each starts from the statistics the last one left
        old_mean, old_var = running_mean.copy(), running_var.copy()
        student.batchnorm_forward.each([(x, gamma, beta, running_mean, running_var, True)], returns=OUT)[0]
        check_running_step(x, running_mean, running_var, old_mean, old_var)
        x = rng.normal(0.0, 2.0, size=x.shape) + rng.normal(0.0, 3.0, size=x.shape[1])


@pytest.mark.points(1.5)
def test_batchnorm_test_mode(student, reference):
    """batchnorm_forward: test mode normalizes with the running statistics and leaves them unchanged"""
    cases = [make_batch(seed, shape) for seed, shape in [(40, (7, 4)), (41, (4, 7))]]
    cases = [(x + rm, g, b, rm, rv, False) for x, g, b, rm, rv in cases]  # test data around what training saw
    against_reference(student.batchnorm_forward, reference, cases, returns=OUT, mistakes=bn_mistakes,
                      hint="test mode: out = gamma * (x - running_mean) / sqrt(running_var + eps) + beta",
                      unchanged=("running_mean", "running_var"), changed=mistake("batchnorm.test_modifies_running"))


@pytest.mark.points(1)
def test_batchnorm_test_mode_per_sample(student, reference):
    """batchnorm_forward: in test mode a sample's output does not depend on the rest of the batch (N = 1 works)"""
    x, gamma, beta, rm, rv = make_batch(50, (6, 5))
    check_per_sample(student.batchnorm_forward, reference,
                     lambda part: (part, gamma, beta, rm.copy(), rv.copy(), False), x, [slice(0, 1), slice(3, 5)], returns=OUT, mistakes=bn_mistakes,
                     name=N_("out for a batch of {n} test sample(s)"),
                     raises=N_("raised ValueError for {n} sample(s) in test mode ({error}); only training needs N >= 2: "
                               "test mode normalizes each sample with the running statistics"),
                     hint="in test mode a sample's output must not depend on the other samples in the "
                          "batch: normalize with the running statistics only")


@pytest.mark.points(1.5)
def test_batchnorm_test_uses_what_training_learned(student):
    """batchnorm_forward: after training steps on one batch, test mode normalizes with the learned statistics"""
    x, gamma, beta, _, _ = make_batch(60, (8, 5))
    N, D = x.shape
    running_mean, running_var = np.zeros(D), np.ones(D)  # torch's starting values
    k = 10
    for _ in range(k):  # one call per step: each starts from the statistics the last one left
        student.batchnorm_forward.each([(x, gamma, beta, running_mean, running_var, True)], returns=OUT)[0]
    out, _ = student.batchnorm_forward.each([(x, gamma, beta, running_mean, running_var, False)], returns=OUT)[0]
    # After k steps with momentum m on the same batch, from (0, 1), exactly:
    # running = (1 - m)^k * start + (1 - (1 - m)^k) * batch statistic.
    mu, var = x.mean(axis=0), x.var(axis=0)

    def learned(m, var_stat):
        r = (1 - m) ** k
        return norm(x, gamma, beta, (1 - r) * mu, r * 1.0 + (1 - r) * var_stat)

    unbiased = var * N / (N - 1)
    assert_close(out, learned(0.1, unbiased), mistakes={
        TEST_USES_BATCH: norm(x, gamma, beta, mu, var),
        RUNNING_UNCHANGED.variant(name="running_mean"): norm(x, gamma, beta, 0.0, 1.0),
        CS231N_BOTH: learned(0.9, var),
        MOMENTUM_SWAPPED.variant(name="running_mean"): learned(0.9, unbiased),
        RUNNING_VAR_BIASED: learned(0.1, var),
        RUNNING_STD: learned(0.1, np.sqrt(unbiased)),
        **normalization_mistakes(x, gamma, beta, (1 - 0.9 ** k) * mu, 0.9 ** k + (1 - 0.9 ** k) * unbiased),
    }, hint="after {k} training steps on one batch from running_mean = 0, running_var = 1, test mode must use "
            "running_mean = (1 - 0.9**{k}) * mean and running_var = 0.9**{k} + (1 - 0.9**{k}) * var * N / (N - 1)",
        k=k)


@pytest.mark.points(0.5)
def test_batchnorm_one_sample_in_training(student):
    """batchnorm_forward: a training batch of one sample raises ValueError"""
    x, gamma, beta, rm, rv = make_batch(70, (1, 4))
    expect_value_error(lambda: student.batchnorm_forward(x, gamma, beta, rm, rv, True),
                       why="in training with a batch of one sample (N = 1): its variance is 0 and "
                           "N / (N - 1) is undefined, there is nothing to learn from (torch refuses too)")


@pytest.mark.points(1)
def test_batchnorm_momentum_and_eps(student, reference):
    """batchnorm_forward: uses the momentum and eps it is given"""
    x, gamma, beta, rm, rv = make_batch(80, (6, 5))
    running_mean, running_var = rm.copy(), rv.copy()
    against_reference(student.batchnorm_forward, reference, returns=OUT, mistakes=bn_mistakes, calls=[
        call(x, gamma, beta, running_mean, running_var, True, momentum=0.3, eps=1e-3),
        call(x, gamma, beta, rm.copy(), rv.copy(), False, momentum=0.3, eps=1e-3)])
    check_running_step(x, running_mean, running_var, rm, rv, momentum=0.3)


# ----------------------------------------------------------------------- batchnorm_backward

@pytest.mark.points(2.5)
def test_batchnorm_backward_train(student, reference):
    """batchnorm_backward: dx, dgamma, dbeta for a training cache match the correct gradients"""
    for seed, shape in [(90, (8, 5)), (91, (5, 7))]:
        check_bn_backward(student, reference, seed, shape, train=True)


@pytest.mark.points(1.5)
def test_batchnorm_backward_test_mode(student, reference):
    """batchnorm_backward: dx, dgamma, dbeta for a test-mode cache match the correct gradients"""
    check_bn_backward(student, reference, 100, (7, 4), train=False)


# ----------------------------------------------------------------------- layer norm

@pytest.mark.points(2)
def test_layernorm_values(student, reference):
    """layernorm_forward: output matches the reference (several shapes)"""
    # square first: see layernorm.no_keepdims in ln_mistakes
    cases = [make_rows(seed, shape) for seed, shape in [(112, (6, 6)), (110, (4, 9)), (111, (9, 4))]]
    against_reference(student.layernorm_forward, reference, cases, returns=OUT, mistakes=ln_mistakes,
                      hint="out = gamma * (x - mean) / sqrt(var + eps) + beta with the mean and biased "
                           "variance of each sample (row, axis 1)")


@pytest.mark.points(0.5)
def test_layernorm_per_sample(student, reference):
    """layernorm_forward: a sample's output does not depend on the rest of the batch (N = 1 works)"""
    x, gamma, beta = make_rows(120, (5, 7))
    check_per_sample(student.layernorm_forward, reference, lambda part: (part, gamma, beta), x,
                     [slice(2, 3), slice(0, 2)], returns=OUT, mistakes=ln_mistakes,
                     hint="layer norm normalizes each sample on its own, so it needs no batch")


@pytest.mark.points(2)
def test_layernorm_backward(student, reference):
    """layernorm_backward: dx, dgamma, dbeta match the correct gradients"""
    for seed, shape in [(130, (6, 5)), (131, (4, 7))]:
        check_ln_backward(student, reference, seed, shape)
