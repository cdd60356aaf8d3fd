"""A correct variant: explicit loops over features (batch norm) and samples (layer norm),
sums through np.einsum, layer norm's variance as E[x^2] - E[x]^2, the running
statistics written with np.copyto, and the cache an object of the student's own class
(it stays in the sandbox and crosses as a handle).
"""
import numpy as np


class Cache:
    def __init__(self, xhat, gamma, inv_std, train):
        self.xhat, self.gamma, self.inv_std, self.train = xhat, gamma, inv_std, train


def batchnorm_forward(x, gamma, beta, running_mean, running_var, train, momentum=0.1, eps=1e-5):
    N, D = x.shape
    if train and N < 2:
        raise ValueError(f"need at least two samples to train batch norm, got {N}")
    out = np.empty_like(x, dtype=float)
    xhat = np.empty_like(out)
    inv_std = np.empty(D)
    new_mean, new_var = running_mean.astype(float), running_var.astype(float)
    for j in range(D):
        col = x[:, j]
        if train:
            mean = np.einsum("i->", col) / N
            centred = col - mean
            var = np.einsum("i,i->", centred, centred) / N
            new_mean[j] = running_mean[j] + momentum * (mean - running_mean[j])
            new_var[j] = running_var[j] + momentum * (var * N / (N - 1) - running_var[j])
        else:
            mean, var = running_mean[j], running_var[j]
        inv_std[j] = 1.0 / np.sqrt(var + eps)
        xhat[:, j] = (col - mean) * inv_std[j]
        out[:, j] = gamma[j] * xhat[:, j] + beta[j]
    if train:
        np.copyto(running_mean, new_mean)
        np.copyto(running_var, new_var)
    return out, Cache(xhat, gamma, inv_std, bool(train))


def batchnorm_backward(dout, cache):
    N, D = dout.shape
    dx = np.empty_like(dout)
    dgamma = np.einsum("ij,ij->j", dout, cache.xhat)
    dbeta = np.einsum("ij->j", dout)
    for j in range(D):
        g = cache.gamma[j] * dout[:, j]
        if cache.train:
            xh = cache.xhat[:, j]
            dx[:, j] = cache.inv_std[j] * (g - g.mean() - xh * np.mean(g * xh))
        else:
            dx[:, j] = cache.inv_std[j] * g
    return dx, dgamma, dbeta


def layernorm_forward(x, gamma, beta, eps=1e-5):
    N, D = x.shape
    xhat = np.empty_like(x, dtype=float)
    inv_std = np.empty(N)
    for i in range(N):
        row = x[i]
        mean = np.einsum("j->", row) / D
        var = np.einsum("j,j->", row, row) / D - mean ** 2
        inv_std[i] = 1.0 / np.sqrt(var + eps)
        xhat[i] = (row - mean) * inv_std[i]
    return gamma * xhat + beta, Cache(xhat, gamma, inv_std, True)


def layernorm_backward(dout, cache):
    g = cache.gamma * dout
    xhat = cache.xhat
    dx = cache.inv_std[:, None] * (g - g.mean(axis=1, keepdims=True)
                                   - xhat * np.mean(g * xhat, axis=1, keepdims=True))
    return dx, np.einsum("ij,ij->j", dout, xhat), dout.sum(axis=0)
