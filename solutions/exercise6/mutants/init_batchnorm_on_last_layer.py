"""gamma and beta for the last layer too (batch norm on the class scores)

function: init_network
mistake: init.batchnorm_on_last_layer
"""
import numpy as np


def init_network(sizes, init, use_batchnorm, rng):
    params = {}
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        if isinstance(init, str):
            params[f"W{i}"] = INITIALIZERS[init](fan_in, fan_out, rng)
        else:
            params[f"W{i}"] = init * rng.standard_normal((fan_in, fan_out))
        params[f"b{i}"] = np.zeros(fan_out)
        if use_batchnorm:
            params[f"gamma{i}"] = np.ones(fan_out)
            params[f"beta{i}"] = np.zeros(fan_out)
    return params
