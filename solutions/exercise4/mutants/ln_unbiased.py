"""Mutant: layernorm_forward uses the unbiased variance of each row.

function: layernorm_forward
mistake: layernorm.unbiased_variance
"""
import numpy as np


def layernorm_forward(x, gamma, beta, eps=1e-5):
    mu = x.mean(axis=1, keepdims=True)
    var = x.var(axis=1, ddof=1, keepdims=True)  # MISTAKE
    std = np.sqrt(var + eps)
    xhat = (x - mu) / std
    out = gamma * xhat + beta
    cache = (xhat, gamma, std)
    return out, cache
