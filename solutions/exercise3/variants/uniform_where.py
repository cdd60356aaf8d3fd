"""Dropout with np.where on a uniform draw (inverted) and rng.choice (vanilla); a correct variant."""
import numpy as np


def dropout_forward(x, p, train, rng):
    if not (0.0 <= p < 1.0):
        raise ValueError(f"invalid dropout probability {p}")
    if train:
        u = rng.uniform(0.0, 1.0, size=x.shape)
        keep = u < 1.0 - p
        out = np.where(keep, x / (1.0 - p), 0.0)
    else:
        keep = None
        out = x + 0.0
    return out, (keep, p)


def dropout_backward(dout, cache):
    keep, p = cache
    if keep is None:
        return dout + 0.0
    return np.where(keep, dout / (1.0 - p), 0.0)


def vanilla_dropout_forward(x, p, train, rng):
    if not (0.0 <= p < 1.0):
        raise ValueError(f"invalid dropout probability {p}")
    if train:
        keep = rng.choice([False, True], size=x.shape, p=[p, 1.0 - p])
        out = np.where(keep, x, 0.0)
        return out, ("train", keep)
    return x - p * x, ("test", p)


def vanilla_dropout_backward(dout, cache):
    mode, value = cache
    if mode == "train":
        return np.where(value, dout, 0.0)
    return dout - value * dout
