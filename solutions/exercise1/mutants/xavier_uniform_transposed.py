"""Xavier uniform returning shape (fan_out, fan_in), torch's layout.

function: xavier_uniform
mistake: init.transposed
"""
import numpy as np


def xavier_uniform(fan_in, fan_out, rng):
    a = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-a, a, size=(fan_out, fan_in))
