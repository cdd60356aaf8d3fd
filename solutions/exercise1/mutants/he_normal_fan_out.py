"""He normal with fan_out instead of fan_in.

function: he_normal
mistake: init.he_fan_out
"""
import numpy as np


def he_normal(fan_in, fan_out, rng):
    std = np.sqrt(2.0 / fan_out)
    return rng.normal(0.0, std, size=(fan_in, fan_out))
