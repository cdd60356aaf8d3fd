"""A correct variant in torch.nn.init's style: a gain and a fan mode, float32 draws.

std = gain / sqrt(fan) with gain 1 * sqrt(2) for Xavier (fan = mean of fan_in and fan_out)
and sqrt(2) for He (fan = fan_in); the uniform bound is sqrt(3) * std. init_mlp looks the
initializer up in globals() and returns tuples built by a comprehension.
"""
import numpy as np

_GAIN = {"xavier": 1.0, "he": np.sqrt(2.0)}


def _std(kind, fan_in, fan_out):
    fan = (fan_in + fan_out) / 2.0 if kind == "xavier" else fan_in
    return _GAIN[kind] / np.sqrt(fan)


def xavier_normal(fan_in, fan_out, rng):
    return rng.normal(size=(fan_in, fan_out), scale=_std("xavier", fan_in, fan_out))


def xavier_uniform(fan_in, fan_out, rng):
    bound = np.sqrt(3.0) * _std("xavier", fan_in, fan_out)
    return rng.uniform(low=-bound, high=bound, size=(fan_in, fan_out))


def he_normal(fan_in, fan_out, rng):
    return rng.standard_normal((fan_in, fan_out), dtype=np.float32) * np.float32(_std("he", fan_in, fan_out))


def he_uniform(fan_in, fan_out, rng):
    bound = np.sqrt(3.0) * _std("he", fan_in, fan_out)
    return rng.uniform(-bound, bound, (fan_in, fan_out)).astype(np.float32)


_METHODS = ("xavier_normal", "xavier_uniform", "he_normal", "he_uniform")


def init_mlp(layer_sizes, method, rng):
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, not {method!r}")
    if len(layer_sizes) < 2:
        raise ValueError("layer_sizes needs at least two entries")
    init = globals()[method]
    return [(init(n_in, n_out, rng), np.zeros((n_out,)))
            for n_in, n_out in zip(layer_sizes, layer_sizes[1:])]
