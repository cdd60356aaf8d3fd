"""Mutant: batchnorm_backward returns dgamma = sum(dout) (forgets xhat).

function: batchnorm_backward
mistake: batchnorm.dgamma_sum_dout
"""


def batchnorm_backward(dout, cache):
    xhat, gamma, std, train = cache
    N = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = dout.sum(axis=0)  # MISTAKE
    if train:
        dx = gamma / (N * std) * (N * dout - dbeta - xhat * (dout * xhat).sum(axis=0))
    else:
        dx = gamma * dout / std
    return dx, dgamma, dbeta
