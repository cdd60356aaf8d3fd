"""a number given as init is used as the variance (weights of std sqrt(init))

function: init_network
mistake: init.std_as_variance
"""
import numpy as np


def init_network(sizes, init, use_batchnorm, rng):
    params = {}
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        if isinstance(init, str):
            params[f"W{i}"] = INITIALIZERS[init](fan_in, fan_out, rng)
        else:
            params[f"W{i}"] = np.sqrt(init) * rng.standard_normal((fan_in, fan_out))
        params[f"b{i}"] = np.zeros(fan_out)
        if use_batchnorm and i < len(sizes) - 1:
            params[f"gamma{i}"] = np.ones(fan_out)
            params[f"beta{i}"] = np.zeros(fan_out)
    return params
