"""Dropout: train an ensemble of thinned networks, test with the whole one.

In training, dropout sets each unit to 0 independently with probability `p` (here `p` is
the probability of DROPPING a unit, as in torch's `nn.Dropout(p)`; some slides and
TensorFlow's `keep_prob` use the keep probability `1 - p` instead). Every mini-batch
trains a different random sub-network, so no unit can rely on a particular other unit
being there (less co-adaptation), and the network behaves like an average, a "vote", of
many sub-networks that share their weights.

At test time every unit is active, and the output must match the training output on
average. A kept unit survives with probability 1 - p, so E[mask * x] = (1 - p) * x:

    vanilla dropout   train: out = mask * x             test: out = (1 - p) * x
    inverted dropout  train: out = mask * x / (1 - p)   test: out = x

where mask[i] = 1 with probability 1 - p, else 0. Inverted dropout does the scaling
during training, so prediction does nothing at all; it is what torch implements.

Backward: out = m * x element-wise with a fixed m, so dx = m * dout with the SAME mask
that the forward pass drew (units that were dropped pass no gradient back).
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
    # YOUR CODE HERE
    raise NotImplementedError


def dropout_backward(dout, cache):
    """Inverted dropout, backward pass.

    dout: upstream gradient, the shape of the forward output.
    cache: from the dropout_forward call that produced the output.

    Training: dx = dout * mask (the same scaled mask)    Test: dx = dout
    Returns dx, the shape of dout.
    """
    # YOUR CODE HERE
    raise NotImplementedError


def vanilla_dropout_forward(x, p, train, rng):
    """Vanilla (original) dropout, forward pass.

    x: array of any shape. p: drop probability, 0 <= p < 1 (else ValueError).
    train: True in training, False at test time. rng: numpy Generator for the mask.

    Training: mask = rng.random(x.shape) >= p    (keep with prob 1 - p, no scaling)
              out = x * mask
    Test:     out = x * (1 - p), the expected training output

    Returns (out, cache); out has x's shape.
    """
    # YOUR CODE HERE
    raise NotImplementedError


def vanilla_dropout_backward(dout, cache):
    """Vanilla dropout, backward pass.

    Training: dx = dout * mask    Test: dx = dout * (1 - p)
    Returns dx, the shape of dout.
    """
    # YOUR CODE HERE
    raise NotImplementedError
