"""init_mlp mapping 'he_uniform' to he_normal (copy-paste slip).

function: init_mlp
mistake: init.mlp_wrong_method
"""
import numpy as np


def init_mlp(layer_sizes, method, rng):
    initializers = {
        "xavier_normal": xavier_normal,
        "xavier_uniform": xavier_uniform,
        "he_normal": he_normal,
        "he_uniform": he_normal,
    }
    if method not in initializers:
        raise ValueError(f"unknown method {method!r}; expected one of {sorted(initializers)}")
    if len(layer_sizes) < 2:
        raise ValueError(f"need at least two layer sizes (input, output), got {list(layer_sizes)}")
    init = initializers[method]
    return [(init(d_in, d_out, rng), np.zeros(d_out))
            for d_in, d_out in zip(layer_sizes[:-1], layer_sizes[1:])]
