"""Dropout with explicit loops over the elements, one rng.random() draw each, and a small
class as the cache (it stays in the worker and crosses as a handle); a correct variant."""
import numpy as np


class DropoutCache:
    def __init__(self, keep, scale, train, p):
        self.keep, self.scale, self.train, self.p = keep, scale, train, p


def _validate(p):
    if not 0 <= p < 1:
        raise ValueError("p must be in [0, 1)")


def _draw_keep(shape, p, rng):
    keep = np.zeros(shape, dtype=bool)
    for idx in np.ndindex(*shape):
        keep[idx] = rng.random() >= p
    return keep


def _apply(values, keep, scale):
    out = np.zeros(values.shape)
    for idx in np.ndindex(*values.shape):
        if keep[idx]:
            out[idx] = values[idx] * scale
    return out


def dropout_forward(x, p, train, rng):
    _validate(p)
    if train:
        keep = _draw_keep(x.shape, p, rng)
        return _apply(x, keep, 1 / (1 - p)), DropoutCache(keep, 1 / (1 - p), True, p)
    return _apply(x, np.ones(x.shape, dtype=bool), 1.0), DropoutCache(None, 1.0, False, p)


def dropout_backward(dout, cache):
    if cache.train:
        return _apply(dout, cache.keep, cache.scale)
    return _apply(dout, np.ones(dout.shape, dtype=bool), 1.0)


def vanilla_dropout_forward(x, p, train, rng):
    _validate(p)
    if train:
        keep = _draw_keep(x.shape, p, rng)
        return _apply(x, keep, 1.0), DropoutCache(keep, 1.0, True, p)
    return _apply(x, np.ones(x.shape, dtype=bool), 1 - p), DropoutCache(None, 1 - p, False, p)


def vanilla_dropout_backward(dout, cache):
    if cache.train:
        return _apply(dout, cache.keep, 1.0)
    return _apply(dout, np.ones(dout.shape, dtype=bool), cache.scale)
