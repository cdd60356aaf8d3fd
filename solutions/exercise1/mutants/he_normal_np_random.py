"""He normal drawn from np.random instead of rng.

function: he_normal
mistake: rng.not_from_rng
"""
import numpy as np


def he_normal(fan_in, fan_out, rng):
    std = np.sqrt(2.0 / fan_in)
    return np.random.normal(0.0, std, size=(fan_in, fan_out))
