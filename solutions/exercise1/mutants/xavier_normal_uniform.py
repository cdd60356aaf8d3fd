"""Xavier normal drawn from the uniform distribution with the same std.

function: xavier_normal
mistake: init.uniform_for_normal
"""
import numpy as np


def xavier_normal(fan_in, fan_out, rng):
    std = np.sqrt(2.0 / (fan_in + fan_out))
    return rng.uniform(-np.sqrt(3) * std, np.sqrt(3) * std, size=(fan_in, fan_out))
