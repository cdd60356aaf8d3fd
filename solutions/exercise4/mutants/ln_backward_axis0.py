"""Mutant: layernorm_backward sums over the batch (axis 0) as in batch norm.

function: layernorm_backward
mistake: layernorm.backward_sums_axis0
"""


def layernorm_backward(dout, cache):
    xhat, gamma, std = cache
    N = dout.shape[0]  # MISTAKE: the batch-norm axis
    dxhat = gamma * dout
    dx = (N * dxhat
          - dxhat.sum(axis=0)
          - xhat * (dxhat * xhat).sum(axis=0)) / (N * std)
    dgamma = (dout * xhat).sum(axis=0)
    dbeta = dout.sum(axis=0)
    return dx, dgamma, dbeta
