"""Hidden tests of exercise 5: what the public tests do not show, against torch's own modules
(batch norm) and the student's own mask (dropout)."""
import numpy as np
import pytest

from grader.checks import assert_close, fail, mistake, normal_input, public_tests, tr
from grader.checks.modules import output

public = public_tests(__file__)
big_input, bn_input, batchnorm, dropout, reference = (public.big_input, public.bn_input, public.batchnorm,
                                                      public.dropout, public.reference)
check_counter, check_dropped_fraction, check_identity = (public.check_counter, public.check_dropped_fraction,
                                                         public.check_identity)
check_state, check_training_output, compare, compare_grads = (public.check_state, public.check_training_output,
                                                              public.compare, public.compare_grads)


@pytest.mark.points(2)
def test_batchnorm_momentum_none(student):
    """BatchNorm1d: momentum=None keeps the cumulative average of the batch statistics"""
    xs = [bn_input((9, 4), 560 + i) for i in range(3)]
    script = [("double",), *[("forward", x, None, True) for x in xs], ("state",)]
    mine, theirs = batchnorm(student, script, 4, momentum=None), reference(script, 4, momentum=None)
    for i in range(1, 4):
        output(mine[i], "BatchNorm1d", shape=xs[0].shape,
               context=tr("with momentum=None (training step {i})", i=i))
    values = check_state(mine[-1], theirs[-1], tr(" with momentum=None"))
    means = np.mean([x.mean(axis=0) for x in xs], axis=0)
    counted_init = (np.zeros(4) + sum(x.mean(axis=0) for x in xs)) / 4  # the initial 0 as a batch
    ignored, counted = mistake("batchnorm.momentum_none_ignored"), mistake("batchnorm.momentum_none_counts_init")
    ema_mean, ema_var = _ema(xs)
    for key, wrong in (("running_mean", {ignored: ema_mean, counted: counted_init}),
                       ("running_var", {ignored: ema_var})):
        compare(mine[-1]["values"], theirs[-1]["values"], tr("{key} after 3 steps with momentum=None", key=key),
                key=key, mistakes=wrong)
    assert np.allclose(theirs[-1]["values"]["running_mean"], means)  # the oracle is what we think
    check_counter(values, theirs[-1]["values"], 3, tr("after 3 steps with momentum=None"))


def _ema(xs, m=0.1):
    """running_mean and running_var with momentum 0.1 (momentum=None ignored)."""
    mean, var = np.zeros(xs[0].shape[1]), np.ones(xs[0].shape[1])
    for x in xs:
        n = x.shape[0]
        mean = (1 - m) * mean + m * x.mean(axis=0)
        var = (1 - m) * var + m * x.var(axis=0) * n / (n - 1)
    return mean, var


@pytest.mark.points(2)
def test_batchnorm_without_running_statistics(student):
    """BatchNorm1d: with track_running_stats=False, eval mode uses the batch's statistics"""
    x1, x2 = bn_input((10, 3, 4), 565), bn_input((10, 3, 4), 566)
    dout = normal_input((10, 3, 4), 567)
    script = [("double",), ("forward", x1, None, True), ("eval",), ("forward", x2, dout, True), ("state",)]
    mine, theirs = (batchnorm(student, script, 3, track_running_stats=False),
                    reference(script, 3, track_running_stats=False))
    output(mine[3], "BatchNorm1d", shape=x2.shape, raised_mistake=mistake("batchnorm.no_stats_eval"))
    compare(mine[3], theirs[3], tr("the output after eval() without running statistics (batch statistics)"))
    compare_grads(mine[3], theirs[3], tr(" after eval() without running statistics"))


@pytest.mark.points(2)
def test_batchnorm_no_affine_3d_train_then_eval(student):
    """BatchNorm1d: affine=False on (N, C, L), training steps then eval, in float64"""
    xs = [bn_input((5, 6, 3), 570 + i) for i in range(4)]
    dout = normal_input((5, 6, 3), 575)
    script = [("double",), ("forward", xs[0], dout, True), ("forward", xs[1], None, True),
              ("forward", xs[2], None, True), ("eval",), ("forward", xs[3], dout, True), ("state",)]
    options = dict(affine=False, momentum=0.25, eps=1e-3)
    mine, theirs = batchnorm(student, script, 6, **options), reference(script, 6, **options)
    compare(mine[1], theirs[1], tr("the training output (affine=False, eps=1e-3)"))
    compare(mine[1], theirs[1], tr("the gradient of x in training (affine=False)"), key="grad_x")
    compare(mine[5], theirs[5], tr("the eval output (affine=False, eps=1e-3)"))
    compare(mine[5], theirs[5], tr("the gradient of x in eval mode (affine=False)"), key="grad_x")
    check_state(mine[6], theirs[6], tr(" (affine=False)"))
    for key in ("running_mean", "running_var"):
        compare(mine[6]["values"], theirs[6]["values"], tr("{key} after 3 steps (momentum 0.25, (N, C, L))", key=key),
                key=key)


@pytest.mark.points(2)
def test_dropout_three_dimensional_input(student):
    """Dropout: an (N, C, L) input, training then eval, and the gradient of each"""
    p = 0.2
    x, dout = big_input((100, 50, 50), 580), normal_input((100, 50, 50), 581)
    train, _, test = dropout(student, p, [("forward", x, dout, True), ("eval",), ("forward", x, dout, True)])
    out = output(train, "Dropout", shape=x.shape, context=tr("for an (N, C, L) input"))
    check_dropped_fraction(out, p)
    check_training_output(out, x, p, context=tr(" for an (N, C, L) input"))
    assert_close(output(train, "Dropout", "grad_x", shape=x.shape, detached=public.DETACHED), np.where(out == 0, 0.0, dout / (1 - p)),
                 fn="Dropout", name=tr("the gradient of x for an (N, C, L) input"), rtol=1e-12, atol=0)
    check_identity(output(test, "Dropout", shape=x.shape), x, p, tr("after eval() for an (N, C, L) input"))
    grad = output(test, "Dropout", "grad_x", shape=x.shape, context=tr("after eval()"))
    if not np.array_equal(grad, dout):
        fail("Dropout: after eval() the gradient of x must be dout itself (the identity passes the "
             "gradient through unchanged)")
