"""A correct variant: one column-normalizing helper for both; layer norm transposes its
input so that each sample becomes a column and reuses the batch-norm code, then
transposes back. The running statistics are updated with augmented assignment, the cache
is a list, and gamma/beta are applied through a (D, 1)-shaped view in layer norm.
"""
import numpy as np


def _normalize_columns(x, eps):
    """Per column: (x - mean) / sqrt(var + eps), the biased variance; also returns the std."""
    n = x.shape[0]
    mean = x.sum(axis=0) / n
    var = ((x - mean) ** 2).sum(axis=0) / n
    std = (var + eps) ** 0.5
    return (x - mean) / std, mean, var, std


def _columns_backward(dxhat, xhat, std):
    """Gradient through _normalize_columns, per column."""
    n = dxhat.shape[0]
    return (dxhat - dxhat.sum(axis=0) / n - xhat * (dxhat * xhat).sum(axis=0) / n) / std


def batchnorm_forward(x, gamma, beta, running_mean, running_var, train, momentum=0.1, eps=1e-5):
    n = len(x)
    if train:
        if n <= 1:
            raise ValueError("batch norm in training needs a batch of at least 2")
        xhat, mean, var, std = _normalize_columns(x, eps)
        running_mean -= momentum * (running_mean - mean)
        running_var -= momentum * (running_var - var * n / (n - 1))
    else:
        std = np.sqrt(running_var + eps)
        xhat = (x - running_mean) / std
    return xhat * gamma + beta, [xhat, gamma, std, "train" if train else "test"]


def batchnorm_backward(dout, cache):
    xhat, gamma, std, mode = cache
    dxhat = dout * gamma
    dx = _columns_backward(dxhat, xhat, std) if mode == "train" else dxhat / std
    return dx, (xhat * dout).sum(axis=0), dout.sum(axis=0)


def layernorm_forward(x, gamma, beta, eps=1e-5):
    xhat_t, _, _, std = _normalize_columns(x.T, eps)  # (D, N): one column per sample
    out_t = gamma.reshape(-1, 1) * xhat_t + beta.reshape(-1, 1)
    return out_t.T, [xhat_t, gamma, std]


def layernorm_backward(dout, cache):
    xhat_t, gamma, std = cache
    dxhat_t = gamma.reshape(-1, 1) * dout.T
    dx = _columns_backward(dxhat_t, xhat_t, std).T
    return dx, (dout * xhat_t.T).sum(axis=0), dout.sum(axis=0)
