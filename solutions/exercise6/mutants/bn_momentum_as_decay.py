"""the running statistics use momentum as a decay (0.1 * old + 0.9 * batch), as in some course notes

function: network_loss
mistake: network.batchnorm_momentum_decay
"""
import numpy as np


def batchnorm_forward(x, gamma, beta, running_mean, running_var, train, momentum=0.1, eps=1e-5):
    if train:
        n = x.shape[0]
        if n < 2:
            raise ValueError("batch norm in training needs at least 2 samples")
        mean, var = x.mean(axis=0), x.var(axis=0)
        running_mean *= momentum
        running_mean += (1 - momentum) * mean
        running_var *= momentum
        running_var += (1 - momentum) * var * n / (n - 1)
    else:
        mean, var = running_mean, running_var
    std = np.sqrt(var + eps)
    xhat = (x - mean) / std
    return gamma * xhat + beta, (xhat, gamma, std, bool(train))
