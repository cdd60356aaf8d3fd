"""backward draws a new mask instead of reusing the forward pass's

function: dropout_backward
diagnosis: not draw a new one
"""
import numpy as np


def dropout_forward(x, p, train, rng):
    """Inverted dropout, forward pass.

    x: array of any shape. p: drop probability, 0 <= p < 1 (else ValueError).
    train: True in training, False at test time. rng: numpy Generator for the mask.

    Training: mask = (rng.random(x.shape) >= p) / (1 - p)    (keep with prob 1 - p)
              out = x * mask
    Test:     out = x (no mask, no scaling)

    Returns (out, cache); out has x's shape, cache is what dropout_backward needs.
    """
    ### BEGIN SOLUTION
    if not 0 <= p < 1:
        raise ValueError(f"p is the drop probability and must be in [0, 1), got {p}")
    if train:
        mask = (rng.random(x.shape) >= p) / (1 - p)
        out = x * mask
    else:
        mask = None
        out = x.copy()
    cache = (mask, p, bool(train))
    return out, cache
    ### END SOLUTION


def dropout_backward(dout, cache):
    """Inverted dropout, backward pass.

    dout: upstream gradient, the shape of the forward output.
    cache: from the dropout_forward call that produced the output.

    Training: dx = dout * mask (the same scaled mask)    Test: dx = dout
    Returns dx, the shape of dout.
    """
    ### BEGIN SOLUTION
    mask, p, train = cache
    if train:
        new_mask = (np.random.rand(*dout.shape) >= p) / (1 - p)
        return dout * new_mask
    return dout.copy()
    ### END SOLUTION


def vanilla_dropout_forward(x, p, train, rng):
    """Vanilla (original) dropout, forward pass.

    x: array of any shape. p: drop probability, 0 <= p < 1 (else ValueError).
    train: True in training, False at test time. rng: numpy Generator for the mask.

    Training: mask = rng.random(x.shape) >= p    (keep with prob 1 - p, no scaling)
              out = x * mask
    Test:     out = x * (1 - p), the expected training output

    Returns (out, cache); out has x's shape.
    """
    ### BEGIN SOLUTION
    if not 0 <= p < 1:
        raise ValueError(f"p is the drop probability and must be in [0, 1), got {p}")
    if train:
        mask = rng.random(x.shape) >= p  # True = kept
        out = x * mask
    else:
        mask = None
        out = x * (1 - p)
    cache = (mask, p, bool(train))
    return out, cache
    ### END SOLUTION


def vanilla_dropout_backward(dout, cache):
    """Vanilla dropout, backward pass.

    Training: dx = dout * mask    Test: dx = dout * (1 - p)
    Returns dx, the shape of dout.
    """
    ### BEGIN SOLUTION
    mask, p, train = cache
    if train:
        return dout * mask
    return dout * (1 - p)
    ### END SOLUTION
