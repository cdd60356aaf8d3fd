"""He initialization scaled by fan_out instead of fan_in

function: init_network
mistake: init.he_fan_out
"""
import numpy as np


def he_normal(fan_in, fan_out, rng):
    return rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_out)
