"""dropout_backward draws a new mask instead of reusing the forward pass's

function: network_loss
mistake: network.dropout_backward_mask
"""
import numpy as np


def dropout_backward(dout, cache):
    mask = cache
    if mask is None:
        return dout.copy()
    scale = mask.max()  # 1 / (1 - p)
    return dout * (np.random.random(dout.shape) < 1 / scale) * scale
