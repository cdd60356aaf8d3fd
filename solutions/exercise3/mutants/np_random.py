"""the mask drawn from np.random instead of the rng argument

function: dropout_forward
mistake: rng.not_from_rng
"""
import numpy as np


def dropout_forward(x, p, train, rng):
    if not 0 <= p < 1:
        raise ValueError(f"p is the drop probability and must be in [0, 1), got {p}")
    if train:
        mask = (np.random.rand(*x.shape) >= p) / (1 - p)
        out = x * mask
    else:
        mask = None
        out = x.copy()
    cache = (mask, p, bool(train))
    return out, cache
