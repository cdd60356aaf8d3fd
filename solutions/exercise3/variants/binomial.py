"""Dropout with the mask drawn by rng.binomial and a dict as the cache (a correct variant)."""
import numpy as np


def _check(p):
    if p < 0 or p >= 1:
        raise ValueError("dropout probability p must satisfy 0 <= p < 1")


def dropout_forward(x, p, train, rng):
    _check(p)
    if not train:
        return np.array(x, copy=True), {"train": False}
    keep = rng.binomial(1, 1 - p, size=x.shape)  # 1 = kept, with probability 1 - p
    mask = keep / (1 - p)
    return x * mask, {"train": True, "mask": mask}


def dropout_backward(dout, cache):
    if cache["train"]:
        return dout * cache["mask"]
    return np.array(dout, copy=True)


def vanilla_dropout_forward(x, p, train, rng):
    _check(p)
    if not train:
        return (1 - p) * x, {"train": False, "p": p}
    keep = rng.binomial(1, 1 - p, size=x.shape).astype(x.dtype)
    return keep * x, {"train": True, "keep": keep, "p": p}


def vanilla_dropout_backward(dout, cache):
    if cache["train"]:
        return cache["keep"] * dout
    return (1 - cache["p"]) * dout
