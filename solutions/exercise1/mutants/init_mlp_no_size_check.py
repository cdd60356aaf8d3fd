"""init_mlp accepting fewer than two sizes (returns an empty list).

function: init_mlp
mistake: args.no_value_error
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
    init = initializers[method]
    return [(init(d_in, d_out, rng), np.zeros(d_out))
            for d_in, d_out in zip(layer_sizes[:-1], layer_sizes[1:])]
