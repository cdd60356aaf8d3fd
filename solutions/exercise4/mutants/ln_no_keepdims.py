"""Mutant: layernorm_forward computes the row statistics without keepdims (they broadcast along the wrong axis).

function: layernorm_forward
mistake: layernorm.no_keepdims
"""
import numpy as np


def layernorm_forward(x, gamma, beta, eps=1e-5):
    mu = x.mean(axis=1)  # MISTAKE: shape (N,)
    var = x.var(axis=1)
    std = np.sqrt(var + eps)
    xhat = (x - mu) / std
    out = gamma * xhat + beta
    cache = (xhat, gamma, std)
    return out, cache
