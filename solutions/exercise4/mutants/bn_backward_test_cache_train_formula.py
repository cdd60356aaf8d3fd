"""Mutant: batchnorm_backward uses the training formula for a test-mode cache.

function: batchnorm_backward
mistake: batchnorm.backward_test_cache_train_formula
"""


def batchnorm_backward(dout, cache):
    xhat, gamma, std, train = cache
    N = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xhat).sum(axis=0)
    if True:  # MISTAKE: ignores the mode
        dx = gamma / (N * std) * (N * dout - dbeta - xhat * dgamma)
    else:
        dx = gamma * dout / std
    return dx, dgamma, dbeta
