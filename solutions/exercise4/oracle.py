"""exercise4's reference solution against torch in float64 (the micrograd way): batch norm's
and layer norm's outputs, running statistics and gradients against torch.nn.functional
and autograd.

tests/test_oracles.py runs it, as it runs every solutions/<id>/oracle.py; like everything
in solutions/, it never reaches students.
"""

import numpy as np
import pytest
import torch.nn.functional as F

from grader.oracle import close, reference, tensor as t


norm = reference(__file__, "normalization")


# ----------------------------------------------------------------- batch / layer norm

def batch(rng, shape):
    """Inputs with an offset, and a low-variance column (std 1e-3, far below sqrt(eps))
    where misplacing eps changes the result at O(1)."""
    x = rng.normal(0.0, 2.0, size=shape) + rng.normal(0.0, 3.0, size=shape[1])
    x[:, 1] = 5.0 + 1e-3 * rng.normal(size=shape[0])
    return x


@pytest.mark.parametrize("shape, momentum, eps", [((7, 3), 0.1, 1e-5), ((4, 11), 0.1, 1e-5),
                                                  ((5, 4), 0.3, 1e-3)])
def test_batchnorm_train_and_eval_match_torch(shape, momentum, eps):
    rng = np.random.default_rng(0)
    D = shape[1]
    gamma, beta = rng.normal(size=D), rng.normal(size=D)
    running_mean, running_var = np.zeros(D), np.ones(D)  # torch's starting values
    torch_mean, torch_var = t(running_mean), t(running_var)
    for step in range(4):  # several steps: the running statistics accumulate
        x, dout = batch(rng, shape), rng.normal(size=shape)
        x_before, gamma_before = x.copy(), gamma.copy()
        out, cache = norm.batchnorm_forward(x, gamma, beta, running_mean, running_var,
                                            True, momentum=momentum, eps=eps)
        dx, dgamma, dbeta = norm.batchnorm_backward(dout, cache)

        xt, gt, bt = t(x, True), t(gamma, True), t(beta, True)
        out_t = F.batch_norm(xt, torch_mean, torch_var, gt, bt, training=True,
                             momentum=momentum, eps=eps)
        out_t.backward(t(dout))
        close(out, out_t)
        close(running_mean, torch_mean)
        close(running_var, torch_var)
        close(dx, xt.grad, atol=1e-9)
        close(dgamma, gt.grad)
        close(dbeta, bt.grad)
        assert np.array_equal(x, x_before) and np.array_equal(gamma, gamma_before)

    # Test mode: normalize with what training learned, and leave it unchanged.
    x, dout = batch(rng, shape), rng.normal(size=shape)
    saved_mean, saved_var = running_mean.copy(), running_var.copy()
    out, cache = norm.batchnorm_forward(x, gamma, beta, running_mean, running_var,
                                        False, momentum=momentum, eps=eps)
    dx, dgamma, dbeta = norm.batchnorm_backward(dout, cache)
    xt, gt, bt = t(x, True), t(gamma, True), t(beta, True)
    out_t = F.batch_norm(xt, torch_mean, torch_var, gt, bt, training=False,
                         momentum=momentum, eps=eps)
    out_t.backward(t(dout))
    close(out, out_t)
    close(dx, xt.grad)
    close(dgamma, gt.grad)
    close(dbeta, bt.grad)
    assert np.array_equal(running_mean, saved_mean) and np.array_equal(running_var, saved_var)


def test_batchnorm_updates_the_callers_arrays_in_place():
    rng = np.random.default_rng(1)
    running_mean, running_var = np.zeros(3), np.ones(3)
    ids = id(running_mean), id(running_var)
    norm.batchnorm_forward(rng.normal(size=(6, 3)), np.ones(3), np.zeros(3),
                           running_mean, running_var, True)
    assert (id(running_mean), id(running_var)) == ids
    assert not np.array_equal(running_mean, np.zeros(3))


def test_batchnorm_one_sample_is_an_error_in_training_only():
    x = np.ones((1, 3))
    with pytest.raises(ValueError):
        norm.batchnorm_forward(x, np.ones(3), np.zeros(3), np.zeros(3), np.ones(3), True)
    out, _ = norm.batchnorm_forward(x, np.ones(3), np.zeros(3), np.zeros(3), np.ones(3), False)
    close(out, x / np.sqrt(1 + 1e-5))


@pytest.mark.parametrize("shape, eps", [((7, 3), 1e-5), ((4, 11), 1e-5), ((3, 5), 1e-3)])
def test_layernorm_matches_torch(shape, eps):
    rng = np.random.default_rng(2)
    D = shape[1]
    x = rng.normal(0.0, 2.0, size=shape) + rng.normal(0.0, 3.0, size=(shape[0], 1))
    x[1] = 5.0 + 1e-3 * rng.normal(size=D)  # a low-variance row: eps placement matters
    gamma, beta, dout = rng.normal(size=D), rng.normal(size=D), rng.normal(size=shape)
    x_before = x.copy()
    out, cache = norm.layernorm_forward(x, gamma, beta, eps=eps)
    dx, dgamma, dbeta = norm.layernorm_backward(dout, cache)

    xt, gt, bt = t(x, True), t(gamma, True), t(beta, True)
    out_t = F.layer_norm(xt, (D,), gt, bt, eps=eps)
    out_t.backward(t(dout))
    close(out, out_t)
    close(dx, xt.grad, atol=1e-9)
    close(dgamma, gt.grad)
    close(dbeta, bt.grad)
    assert np.array_equal(x, x_before)
