"""Xavier normal reading the slide's 'Var(W) = sqrt(2/(n_in+n_out))' as the variance (std = its square root).

function: xavier_normal
mistake: init.variance_as_std
"""
import numpy as np


def xavier_normal(fan_in, fan_out, rng):
    var = np.sqrt(2.0 / (fan_in + fan_out))
    std = np.sqrt(var)
    return rng.normal(0.0, std, size=(fan_in, fan_out))
