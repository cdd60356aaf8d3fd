"""Mutant: layernorm_forward normalizes over the batch (axis 0), like batch norm.

function: layernorm_forward
mistake: layernorm.normalizes_columns
"""
import numpy as np


def layernorm_forward(x, gamma, beta, eps=1e-5):
    mu = x.mean(axis=0, keepdims=True)  # MISTAKE
    var = x.var(axis=0, keepdims=True)
    std = np.sqrt(var + eps)
    xhat = (x - mu) / std
    out = gamma * xhat + beta
    cache = (xhat, gamma, std)
    return out, cache
