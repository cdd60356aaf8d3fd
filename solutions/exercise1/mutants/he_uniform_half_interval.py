"""He uniform drawing from [0, a) with rng.random() * a.

function: he_uniform
mistake: init.uniform_not_centred
"""
import numpy as np


def he_uniform(fan_in, fan_out, rng):
    a = np.sqrt(6.0 / fan_in)
    return rng.random((fan_in, fan_out)) * a
