"""Xavier normal with std sqrt(1 / (fan_in + fan_out)).

function: xavier_normal
mistake: init.xavier_no_2
"""
import numpy as np


def xavier_normal(fan_in, fan_out, rng):
    std = np.sqrt(1.0 / (fan_in + fan_out))
    return rng.normal(0.0, std, size=(fan_in, fan_out))
