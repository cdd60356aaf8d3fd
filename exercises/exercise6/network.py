"""A fully connected network from your own layers.

Each hidden layer is   affine -> [batch norm] -> ReLU -> [dropout],
and the last layer is an affine layer whose scores go into softmax cross-entropy, with
L2 weight decay on the weights (not on biases, gammas or betas):

    loss = mean_n( -log softmax(scores_n)[y_n] ) + 0.5 * weight_decay * sum_i ||W_i||^2

The affine, ReLU and softmax cross-entropy layers are given below. The initializers, the
L2 penalty, dropout and batch normalization are the layers you wrote in the earlier
exercises: paste your own versions into the marked functions (same names, same
signatures). Then write the network: `init_network`, `network_loss` and `train`.

Parameters live in a dict: for sizes [d0, d1, ..., dL]
    W1 (d0, d1), b1 (d1,), W2 (d1, d2), b2 (d2,), ..., WL (d_{L-1}, dL), bL (dL,)
and, with batch norm, gamma_i (d_i,) and beta_i (d_i,) for every hidden layer i < L.
Batch norm's running statistics are not parameters: they live in `state`
(running_mean_i and running_var_i for each hidden layer i), which network_loss creates on
first use (zeros and ones) and updates in place in training.
"""
import numpy as np


# ======================================================================== given layers

def affine_forward(x, W, b):
    """out = x @ W + b for x (N, D), W (D, M), b (M,). Returns (out, cache)."""
    return x @ W + b, (x, W)


def affine_backward(dout, cache):
    """Returns (dx, dW, db) for dout (N, M)."""
    x, W = cache
    return dout @ W.T, x.T @ dout, dout.sum(axis=0)


def relu_forward(x):
    """out = max(x, 0). Returns (out, cache)."""
    return np.maximum(x, 0), x > 0


def relu_backward(dout, cache):
    """dx = dout where the input was positive, else 0."""
    return dout * cache


def softmax_cross_entropy(scores, y):
    """Mean cross-entropy of softmax(scores) against integer labels y (N,).
    Returns (loss, dscores), dscores the gradient of the mean loss."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    n = scores.shape[0]
    loss = -log_probs[np.arange(n), y].mean()
    dscores = np.exp(log_probs)
    dscores[np.arange(n), y] -= 1
    return float(loss), dscores / n


# ==================== your layers: paste your own from the earlier exercises (same names)

def xavier_normal(fan_in, fan_out, rng):
    """N(0, std^2) of shape (fan_in, fan_out), std = sqrt(2 / (fan_in + fan_out))."""
    # YOUR CODE HERE
    raise NotImplementedError


def xavier_uniform(fan_in, fan_out, rng):
    """U(-a, a) of shape (fan_in, fan_out), a = sqrt(6 / (fan_in + fan_out))."""
    # YOUR CODE HERE
    raise NotImplementedError


def he_normal(fan_in, fan_out, rng):
    """N(0, std^2) of shape (fan_in, fan_out), std = sqrt(2 / fan_in)."""
    # YOUR CODE HERE
    raise NotImplementedError


def he_uniform(fan_in, fan_out, rng):
    """U(-a, a) of shape (fan_in, fan_out), a = sqrt(6 / fan_in)."""
    # YOUR CODE HERE
    raise NotImplementedError


def l2_penalty(weights, lam):
    """0.5 * lam * sum of the squares of every weight array in `weights` (a float)."""
    # YOUR CODE HERE
    raise NotImplementedError


def l2_grad(W, lam):
    """The gradient of the L2 penalty with respect to one weight array: lam * W."""
    # YOUR CODE HERE
    raise NotImplementedError


def dropout_forward(x, p, train, rng):
    """Inverted dropout: p is the probability of DROPPING a unit (0 <= p < 1).
    Training: out = x * mask / (1 - p), mask[i] = 1 with probability 1 - p (drawn from rng);
    test: out = x. Returns (out, cache)."""
    # YOUR CODE HERE
    raise NotImplementedError


def dropout_backward(dout, cache):
    """dx through the dropout_forward call that made `cache` (the same mask and scaling)."""
    # YOUR CODE HERE
    raise NotImplementedError


def batchnorm_forward(x, gamma, beta, running_mean, running_var, train, momentum=0.1, eps=1e-5):
    """Batch norm over axis 0 of x (N, D). Training: batch mean and biased batch variance;
    updates running_mean and running_var IN PLACE with momentum (the running variance with
    the unbiased batch variance); N < 2 raises ValueError. Test: the running statistics.
    out = gamma * (x - mean) / sqrt(var + eps) + beta. Returns (out, cache)."""
    # YOUR CODE HERE
    raise NotImplementedError


def batchnorm_backward(dout, cache):
    """Returns (dx, dgamma, dbeta) for either mode's cache."""
    # YOUR CODE HERE
    raise NotImplementedError


# ======================================================================= the network

INITIALIZERS = {"xavier_normal": xavier_normal, "xavier_uniform": xavier_uniform,
                "he_normal": he_normal, "he_uniform": he_uniform}


def init_network(sizes, init, use_batchnorm, rng):
    """The parameters of a network with layer sizes [d0, d1, ..., dL] (L >= 1 layers).

    init: an initializer's name ("xavier_normal", "xavier_uniform", "he_normal",
          "he_uniform"), or a number: the standard deviation of N(0, std^2) weights.
    use_batchnorm: give every hidden layer i < L a gamma_i (ones) and beta_i (zeros).
    rng: numpy Generator; every random draw comes from it.

    Returns {"W1": (d0, d1), "b1": zeros (d1,), ..., "WL", "bL"} (+ gamma_i, beta_i).
    """
    # YOUR CODE HERE
    raise NotImplementedError


def network_loss(params, state, X, y, train, dropout_p, weight_decay, rng):
    """The loss of the network and its gradients (or its scores, when y is None).

    params: as init_network returns them (not changed here).
    state: dict of batch norm running statistics, running_mean_i / running_var_i, created
           on first use (zeros / ones) and updated in place in training.
    X: (N, d0) inputs. y: (N,) integer labels, or None.
    train: training mode (batch statistics, dropout) or test mode (running statistics,
           no dropout). dropout_p: drop probability after every hidden ReLU (0: none).
    weight_decay: lambda of the L2 penalty 0.5 * lambda * sum ||W_i||^2 (weights only).
    rng: numpy Generator for the dropout masks.

    Hidden layer i: affine -> batch norm (if gamma_i in params) -> ReLU -> dropout.
    Returns the scores (N, dL) when y is None, else (loss, grads) with grads a dict with
    the keys and shapes of params.
    """
    # YOUR CODE HERE
    raise NotImplementedError


def train(params, state, X, y, epochs, batch_size, lr, dropout_p, weight_decay, rng):
    """Plain mini-batch SGD: params (and state) are updated in place.

    Every epoch visits the N training samples once in a random order (from rng), in
    mini-batches of batch_size (the last one may be smaller, but never a single sample
    when the network has batch norm), each step  p <- p - lr * grad  for every parameter.
    After each epoch, the mean loss of its steps and the accuracy on all of X in test mode.

    Returns {"loss": [one float per epoch], "train_acc": [one float per epoch]}.
    """
    # YOUR CODE HERE
    raise NotImplementedError
