"""init_mlp starting the biases at 0.01 (a habit for ReLU) instead of 0.

function: init_mlp
mistake: init.mlp_bias_not_zero
"""
import numpy as np


def init_mlp(layer_sizes, method, rng):
    initializers = {
        "xavier_normal": xavier_normal,
        "xavier_uniform": xavier_uniform,
        "he_normal": he_normal,
        "he_uniform": he_uniform,
    }
    if method not in initializers:
        raise ValueError(f"unknown method {method!r}; expected one of {sorted(initializers)}")
    if len(layer_sizes) < 2:
        raise ValueError(f"need at least two layer sizes (input, output), got {list(layer_sizes)}")
    init = initializers[method]
    return [(init(d_in, d_out, rng), np.full(d_out, 0.01))
            for d_in, d_out in zip(layer_sizes[:-1], layer_sizes[1:])]
