"""He uniform drawing from a normal distribution with He's std.

function: he_uniform
mistake: init.normal_for_uniform
"""
import numpy as np


def he_uniform(fan_in, fan_out, rng):
    std = np.sqrt(2.0 / fan_in)
    return rng.normal(0.0, std, size=(fan_in, fan_out))
