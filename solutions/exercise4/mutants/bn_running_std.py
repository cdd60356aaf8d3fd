"""Mutant: batchnorm_forward averages the standard deviation into running_var.

function: batchnorm_forward
diagnosis: not of the standard deviation
"""
import numpy as np


def batchnorm_forward(x, gamma, beta, running_mean, running_var, train, momentum=0.1, eps=1e-5):
    """Batch normalization, forward pass.

    x: (N, D). gamma, beta: (D,) scale and shift.
    running_mean, running_var: (D,) running statistics, updated IN PLACE in training.
    train: True to use (and learn from) batch statistics, False to use the running ones.

    Training (N >= 2, else ValueError):
        mu, var = batch mean and biased batch variance of each column
        out = gamma * (x - mu) / sqrt(var + eps) + beta
        running_mean[...] = (1 - momentum) * running_mean + momentum * mu
        running_var[...]  = (1 - momentum) * running_var + momentum * var * N / (N - 1)
    Test:
        out = gamma * (x - running_mean) / sqrt(running_var + eps) + beta
        (running statistics unchanged)

    Returns (out, cache); out has shape (N, D).
    """
    ### BEGIN SOLUTION
    N = x.shape[0]
    if train:
        if N < 2:
            raise ValueError(f"batch norm needs at least 2 samples in training, got N={N}")
        mu = x.mean(axis=0)
        var = x.var(axis=0)  # biased: divides by N
        running_mean[...] = (1 - momentum) * running_mean + momentum * mu
        running_var[...] = (1 - momentum) * running_var + momentum * np.sqrt(var * N / (N - 1))  # MISTAKE
    else:
        mu, var = running_mean, running_var
    std = np.sqrt(var + eps)
    xhat = (x - mu) / std
    out = gamma * xhat + beta
    cache = (xhat, gamma, std, bool(train))
    return out, cache
    ### END SOLUTION


def batchnorm_backward(dout, cache):
    """Batch normalization, backward pass, for a training or a test cache.

    dout: (N, D) upstream gradient. cache: from batchnorm_forward.

    Training: dx = gamma / (N * std) * (N * dout - sum(dout) - xhat * sum(dout * xhat))
              (sums over the batch, axis 0; std = sqrt(var + eps))
    Test:     dx = gamma * dout / sqrt(running_var + eps)  (the statistics are constants)
    Both:     dgamma = sum(dout * xhat, axis=0), dbeta = sum(dout, axis=0)

    Returns (dx, dgamma, dbeta) of shapes (N, D), (D,), (D,).
    """
    ### BEGIN SOLUTION
    xhat, gamma, std, train = cache
    N = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xhat).sum(axis=0)
    if train:
        dx = gamma / (N * std) * (N * dout - dbeta - xhat * dgamma)
    else:
        dx = gamma * dout / std
    return dx, dgamma, dbeta
    ### END SOLUTION


def layernorm_forward(x, gamma, beta, eps=1e-5):
    """Layer normalization, forward pass (the same in training and at test time).

    x: (N, D). gamma, beta: (D,) scale and shift.

        mu, var = mean and biased variance of each row (axis 1)
        out = gamma * (x - mu) / sqrt(var + eps) + beta

    Returns (out, cache); out has shape (N, D).
    """
    ### BEGIN SOLUTION
    mu = x.mean(axis=1, keepdims=True)
    var = x.var(axis=1, keepdims=True)  # biased: divides by D
    std = np.sqrt(var + eps)
    xhat = (x - mu) / std
    out = gamma * xhat + beta
    cache = (xhat, gamma, std)
    return out, cache
    ### END SOLUTION


def layernorm_backward(dout, cache):
    """Layer normalization, backward pass.

    dout: (N, D) upstream gradient. cache: from layernorm_forward.

    With dxhat = gamma * dout and sums over each row (axis 1):
        dx = (D * dxhat - sum(dxhat) - xhat * sum(dxhat * xhat)) / (D * std)
    dgamma = sum(dout * xhat, axis=0), dbeta = sum(dout, axis=0)

    Returns (dx, dgamma, dbeta) of shapes (N, D), (D,), (D,).
    """
    ### BEGIN SOLUTION
    xhat, gamma, std = cache
    D = dout.shape[1]
    dxhat = gamma * dout
    dx = (D * dxhat
          - dxhat.sum(axis=1, keepdims=True)
          - xhat * (dxhat * xhat).sum(axis=1, keepdims=True)) / (D * std)
    dgamma = (dout * xhat).sum(axis=0)
    dbeta = dout.sum(axis=0)
    return dx, dgamma, dbeta
    ### END SOLUTION
