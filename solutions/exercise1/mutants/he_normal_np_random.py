"""He normal drawn from np.random instead of rng.

function: he_normal
diagnosis: do not depend on rng
"""
import numpy as np


def xavier_normal(fan_in, fan_out, rng):
    """Xavier normal initialization.

    Returns W of shape (fan_in, fan_out) with entries drawn from N(0, std**2),
    std = sqrt(2 / (fan_in + fan_out)), using rng.normal.
    """
    ### BEGIN SOLUTION
    std = np.sqrt(2.0 / (fan_in + fan_out))
    return rng.normal(0.0, std, size=(fan_in, fan_out))
    ### END SOLUTION


def xavier_uniform(fan_in, fan_out, rng):
    """Xavier uniform initialization.

    Returns W of shape (fan_in, fan_out) with entries drawn from U(-a, a),
    a = sqrt(6 / (fan_in + fan_out)), using rng.uniform.
    """
    ### BEGIN SOLUTION
    a = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-a, a, size=(fan_in, fan_out))
    ### END SOLUTION


def he_normal(fan_in, fan_out, rng):
    """He normal initialization (for ReLU layers).

    Returns W of shape (fan_in, fan_out) with entries drawn from N(0, std**2),
    std = sqrt(2 / fan_in), using rng.normal.
    """
    ### BEGIN SOLUTION
    std = np.sqrt(2.0 / fan_in)
    return np.random.normal(0.0, std, size=(fan_in, fan_out))
    ### END SOLUTION


def he_uniform(fan_in, fan_out, rng):
    """He uniform initialization (for ReLU layers).

    Returns W of shape (fan_in, fan_out) with entries drawn from U(-a, a),
    a = sqrt(6 / fan_in), using rng.uniform.
    """
    ### BEGIN SOLUTION
    a = np.sqrt(6.0 / fan_in)
    return rng.uniform(-a, a, size=(fan_in, fan_out))
    ### END SOLUTION


def init_mlp(layer_sizes, method, rng):
    """Initialize the parameters of a multi-layer perceptron.

    layer_sizes: [d0, d1, ..., dL], the width of each layer (at least two sizes).
    method: "xavier_normal", "xavier_uniform", "he_normal" or "he_uniform".

    Returns a list of L pairs (W, b), layer i = 1..L in order: W of shape
    (d_{i-1}, d_i) drawn by the named initializer, b = zeros of shape (d_i,).
    Raises ValueError for an unknown method or fewer than two sizes.
    """
    ### BEGIN SOLUTION
    initializers = {
        "xavier_normal": xavier_normal,
        "xavier_uniform": xavier_uniform,
        "he_normal": he_normal,
        "he_uniform": he_uniform,
    }
    if method not in initializers:
        raise ValueError(f"unknown method {method!r}; expected one of {sorted(initializers)}")
    if len(layer_sizes) < 2:
        raise ValueError(f"need at least two layer sizes (input, output), got {list(layer_sizes)}")
    init = initializers[method]
    return [(init(d_in, d_out, rng), np.zeros(d_out))
            for d_in, d_out in zip(layer_sizes[:-1], layer_sizes[1:])]
    ### END SOLUTION
