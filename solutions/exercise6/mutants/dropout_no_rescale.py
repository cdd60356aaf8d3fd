"""dropout's kept units are not divided by (1 - p) in training (and test time is the identity)

function: network_loss
mistake: network.dropout_not_rescaled
"""
import numpy as np


def dropout_forward(x, p, train, rng):
    if not 0 <= p < 1:
        raise ValueError(f"p is the drop probability and must be in [0, 1), got {p}")
    if not train:
        return x.copy(), None
    mask = (rng.random(x.shape) >= p) * 1.0
    return x * mask, mask
