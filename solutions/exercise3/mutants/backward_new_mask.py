"""backward draws a new mask instead of reusing the forward pass's

function: dropout_backward
mistake: dropout.backward_new_mask
"""
import numpy as np


def dropout_backward(dout, cache):
    mask, p, train = cache
    if train:
        new_mask = (np.random.rand(*dout.shape) >= p) / (1 - p)
        return dout * new_mask
    return dout.copy()
