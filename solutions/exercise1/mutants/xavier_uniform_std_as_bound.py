"""Xavier uniform using the normal std sqrt(2 / (fan_in + fan_out)) as the bound.

function: xavier_uniform
mistake: init.std_as_bound
"""
import numpy as np


def xavier_uniform(fan_in, fan_out, rng):
    a = np.sqrt(2.0 / (fan_in + fan_out))
    return rng.uniform(-a, a, size=(fan_in, fan_out))
