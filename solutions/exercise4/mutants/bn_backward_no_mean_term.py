"""Mutant: batchnorm_backward drops the gradient path through the batch mean.

function: batchnorm_backward
mistake: batchnorm.backward_no_mean_term
"""


def batchnorm_backward(dout, cache):
    xhat, gamma, std, train = cache
    N = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xhat).sum(axis=0)
    if train:
        dx = gamma / (N * std) * (N * dout - xhat * dgamma)  # MISTAKE
    else:
        dx = gamma * dout / std
    return dx, dgamma, dbeta
