"""Xavier normal with the std passed as the mean: rng.normal(std, size=...).

function: xavier_normal
diagnosis: order of rng.normal(loc, scale)
"""
import numpy as np


def xavier_normal(fan_in, fan_out, rng):
    std = np.sqrt(2.0 / (fan_in + fan_out))
    return rng.normal(std, size=(fan_in, fan_out))
