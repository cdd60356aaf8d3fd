"""Mutant: batchnorm_backward treats the batch statistics as constants in training (dx = gamma * dout / std).

function: batchnorm_backward
mistake: batchnorm.backward_constant_stats
"""


def batchnorm_backward(dout, cache):
    xhat, gamma, std, train = cache
    N = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xhat).sum(axis=0)
    if False:  # MISTAKE: always the test-time formula
        dx = gamma / (N * std) * (N * dout - dbeta - xhat * dgamma)
    else:
        dx = gamma * dout / std
    return dx, dgamma, dbeta
