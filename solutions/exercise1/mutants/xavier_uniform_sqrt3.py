"""Xavier uniform with bound sqrt(3 / (fan_in + fan_out)).

function: xavier_uniform
mistake: init.bound_sqrt3
"""
import numpy as np


def xavier_uniform(fan_in, fan_out, rng):
    a = np.sqrt(3.0 / (fan_in + fan_out))
    return rng.uniform(-a, a, size=(fan_in, fan_out))
