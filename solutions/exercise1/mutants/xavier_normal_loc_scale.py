"""Xavier normal with the std passed as the mean: rng.normal(std, size=...).

function: xavier_normal
mistake: init.normal_not_centred
"""
import numpy as np


def xavier_normal(fan_in, fan_out, rng):
    std = np.sqrt(2.0 / (fan_in + fan_out))
    return rng.normal(std, size=(fan_in, fan_out))
