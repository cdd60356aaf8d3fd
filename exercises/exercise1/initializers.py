"""Weight initialization: Xavier (Glorot) and He (Kaiming).

If every weight starts at 0, every neuron computes the same thing and learns the same
thing. If the weights are random with the wrong scale, the activations shrink or blow up
from layer to layer: with std 1 sigmoid outputs pile up at 0 and 1 (vanishing gradient),
with std 0.01 they all collapse near 0.5 and a hundred neurons act like one.

The fix is to pick the scale from the layer's size. A layer computes `x @ W + b`, so
`W` has shape `(fan_in, fan_out)`: `fan_in` inputs come in, `fan_out` outputs go out.

    Xavier (for sigmoid / tanh):  std = sqrt(2 / (fan_in + fan_out))
    He     (for ReLU):            std = sqrt(2 / fan_in)

(Some slides write "Var(W) = sqrt(2 / (n_in + n_out))"; that expression is the standard
deviation, not the variance.) A uniform distribution U(-a, a) has variance a**2 / 3, so
the same std gives the uniform bound a = sqrt(3) * std:

    Xavier uniform:  a = sqrt(6 / (fan_in + fan_out))
    He uniform:      a = sqrt(6 / fan_in)

Every random number comes from `rng`, a numpy Generator: same seed, same weights.
"""
import numpy as np


def xavier_normal(fan_in, fan_out, rng):
    """Xavier normal initialization.

    Returns W of shape (fan_in, fan_out) with entries drawn from N(0, std**2),
    std = sqrt(2 / (fan_in + fan_out)), using rng.normal.
    """
    # YOUR CODE HERE
    raise NotImplementedError


def xavier_uniform(fan_in, fan_out, rng):
    """Xavier uniform initialization.

    Returns W of shape (fan_in, fan_out) with entries drawn from U(-a, a),
    a = sqrt(6 / (fan_in + fan_out)), using rng.uniform.
    """
    # YOUR CODE HERE
    raise NotImplementedError


def he_normal(fan_in, fan_out, rng):
    """He normal initialization (for ReLU layers).

    Returns W of shape (fan_in, fan_out) with entries drawn from N(0, std**2),
    std = sqrt(2 / fan_in), using rng.normal.
    """
    # YOUR CODE HERE
    raise NotImplementedError


def he_uniform(fan_in, fan_out, rng):
    """He uniform initialization (for ReLU layers).

    Returns W of shape (fan_in, fan_out) with entries drawn from U(-a, a),
    a = sqrt(6 / fan_in), using rng.uniform.
    """
    # YOUR CODE HERE
    raise NotImplementedError


def init_mlp(layer_sizes, method, rng):
    """Initialize the parameters of a multi-layer perceptron.

    layer_sizes: [d0, d1, ..., dL], the width of each layer (at least two sizes).
    method: "xavier_normal", "xavier_uniform", "he_normal" or "he_uniform".

    Returns a list of L pairs (W, b), layer i = 1..L in order: W of shape
    (d_{i-1}, d_i) drawn by the named initializer, b = zeros of shape (d_i,).
    Raises ValueError for an unknown method or fewer than two sizes.
    """
    # YOUR CODE HERE
    raise NotImplementedError
