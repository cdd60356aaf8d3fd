"""the running variance is updated with the biased batch variance

function: network_loss
mistake: network.batchnorm_running_var_biased
"""
import numpy as np


def batchnorm_forward(x, gamma, beta, running_mean, running_var, train, momentum=0.1, eps=1e-5):
    if train:
        n = x.shape[0]
        if n < 2:
            raise ValueError("batch norm in training needs at least 2 samples")
        mean, var = x.mean(axis=0), x.var(axis=0)
        running_mean *= 1 - momentum
        running_mean += momentum * mean
        running_var *= 1 - momentum
        running_var += momentum * var
    else:
        mean, var = running_mean, running_var
    std = np.sqrt(var + eps)
    xhat = (x - mean) / std
    return gamma * xhat + beta, (xhat, gamma, std, bool(train))
