"""Mutant: batchnorm_forward uses momentum as the weight of the old running value (swapped).

function: batchnorm_forward
mistake: batchnorm.momentum_as_decay
"""
import numpy as np


def batchnorm_forward(x, gamma, beta, running_mean, running_var, train, momentum=0.1, eps=1e-5):
    N = x.shape[0]
    if train:
        if N < 2:
            raise ValueError(f"batch norm needs at least 2 samples in training, got N={N}")
        mu = x.mean(axis=0)
        var = x.var(axis=0)  # biased: divides by N
        running_mean[...] = momentum * running_mean + (1 - momentum) * mu  # MISTAKE
        running_var[...] = momentum * running_var + (1 - momentum) * var * N / (N - 1)  # MISTAKE
    else:
        mu, var = running_mean, running_var
    std = np.sqrt(var + eps)
    xhat = (x - mu) / std
    out = gamma * xhat + beta
    cache = (xhat, gamma, std, bool(train))
    return out, cache
