"""A correct variant: standard draws scaled by hand, transposed draws, a loop with if/elif.

Normal weights are rng.standard_normal() * std; uniform ones are (2 u - 1) * a with
u = rng.random(); some are drawn in torch's (out, in) layout and transposed. init_mlp
checks the sizes before the method and dispatches with if/elif in a loop.
"""
import math

import numpy as np


def xavier_normal(fan_in, fan_out, rng):
    std = math.sqrt(2 / (fan_in + fan_out))
    return std * rng.standard_normal((fan_in, fan_out))


def xavier_uniform(fan_in, fan_out, rng):
    a = math.sqrt(3.0) * math.sqrt(2 / (fan_in + fan_out))
    return ((2.0 * rng.random((fan_out, fan_in)) - 1.0) * a).T


def he_normal(fan_in, fan_out, rng):
    return rng.standard_normal((fan_out, fan_in)).T * (2.0 / fan_in) ** 0.5


def he_uniform(fan_in, fan_out, rng):
    a = (6.0 / fan_in) ** 0.5
    return a * (2.0 * rng.random(fan_in * fan_out) - 1.0).reshape(fan_in, fan_out)


def init_mlp(layer_sizes, method, rng):
    sizes = list(layer_sizes)
    if len(sizes) < 2:
        raise ValueError("init_mlp needs at least an input size and an output size")
    if method not in ("xavier_normal", "xavier_uniform", "he_normal", "he_uniform"):
        raise ValueError("unknown initialization method: " + repr(method))
    params = []
    for i in range(len(sizes) - 1):
        d_in, d_out = sizes[i], sizes[i + 1]
        if method == "xavier_normal":
            W = xavier_normal(d_in, d_out, rng)
        elif method == "xavier_uniform":
            W = xavier_uniform(d_in, d_out, rng)
        elif method == "he_normal":
            W = he_normal(d_in, d_out, rng)
        else:
            W = he_uniform(d_in, d_out, rng)
        params.append((W, np.zeros(d_out)))
    return params
