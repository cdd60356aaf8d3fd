"""Variant: a correct network written differently (the hidden layers as a list of steps
with their caches, the dispatch through a table of functions, the L2 penalty with
np.linalg.norm). A fully connected network from your own layers.

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


# =========================================================== your layers (paste yours)

def xavier_normal(fan_in, fan_out, rng):
    """N(0, std^2) of shape (fan_in, fan_out), std = sqrt(2 / (fan_in + fan_out))."""
    return rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / (fan_in + fan_out))


def xavier_uniform(fan_in, fan_out, rng):
    """U(-a, a) of shape (fan_in, fan_out), a = sqrt(6 / (fan_in + fan_out))."""
    a = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-a, a, size=(fan_in, fan_out))


def he_normal(fan_in, fan_out, rng):
    """N(0, std^2) of shape (fan_in, fan_out), std = sqrt(2 / fan_in)."""
    return rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)


def he_uniform(fan_in, fan_out, rng):
    """U(-a, a) of shape (fan_in, fan_out), a = sqrt(6 / fan_in)."""
    a = np.sqrt(6.0 / fan_in)
    return rng.uniform(-a, a, size=(fan_in, fan_out))


def l2_penalty(weights, lam):
    return lam / 2 * sum(np.linalg.norm(W) ** 2 for W in weights)


def l2_grad(W, lam):
    """The gradient of the L2 penalty with respect to one weight array: lam * W."""
    return lam * W


def dropout_forward(x, p, train, rng):
    """Inverted dropout: p is the probability of DROPPING a unit (0 <= p < 1).
    Training: out = x * mask / (1 - p), mask[i] = 1 with probability 1 - p (drawn from rng);
    test: out = x. Returns (out, cache)."""
    if not 0 <= p < 1:
        raise ValueError(f"p is the drop probability and must be in [0, 1), got {p}")
    if not train:
        return x.copy(), None
    mask = (rng.random(x.shape) >= p) / (1 - p)
    return x * mask, mask


def dropout_backward(dout, cache):
    """dx through the dropout_forward call that made `cache` (the same mask and scaling)."""
    mask = cache
    return dout.copy() if mask is None else dout * mask


def batchnorm_forward(x, gamma, beta, running_mean, running_var, train, momentum=0.1, eps=1e-5):
    """Batch norm over axis 0 of x (N, D). Training: batch mean and biased batch variance;
    updates running_mean and running_var IN PLACE with momentum (the running variance with
    the unbiased batch variance); N < 2 raises ValueError. Test: the running statistics.
    out = gamma * (x - mean) / sqrt(var + eps) + beta. Returns (out, cache)."""
    if train:
        n = x.shape[0]
        if n < 2:
            raise ValueError("batch norm in training needs at least 2 samples")
        mean, var = x.mean(axis=0), x.var(axis=0)
        running_mean *= 1 - momentum
        running_mean += momentum * mean
        running_var *= 1 - momentum
        running_var += momentum * var * n / (n - 1)
    else:
        mean, var = running_mean, running_var
    std = np.sqrt(var + eps)
    xhat = (x - mean) / std
    return gamma * xhat + beta, (xhat, gamma, std, bool(train))


def batchnorm_backward(dout, cache):
    """Returns (dx, dgamma, dbeta) for either mode's cache."""
    xhat, gamma, std, train = cache
    dgamma, dbeta = (dout * xhat).sum(axis=0), dout.sum(axis=0)
    if not train:
        return gamma * dout / std, dgamma, dbeta
    n = dout.shape[0]
    dx = gamma / (n * std) * (n * dout - dbeta - xhat * dgamma)
    return dx, dgamma, dbeta


# ======================================================================= the network

INITIALIZERS = {"xavier_normal": xavier_normal, "xavier_uniform": xavier_uniform,
                "he_normal": he_normal, "he_uniform": he_uniform}


def init_network(sizes, init, use_batchnorm, rng):
    draw = INITIALIZERS[init] if isinstance(init, str) else (
        lambda fan_in, fan_out, rng: rng.normal(size=(fan_in, fan_out)) * init)
    params = {}
    last = len(sizes) - 1
    for i in range(1, last + 1):
        params["W%d" % i] = draw(sizes[i - 1], sizes[i], rng)
        params["b%d" % i] = np.zeros(sizes[i])
    if use_batchnorm:
        for i in range(1, last):
            params["gamma%d" % i] = np.ones(sizes[i])
            params["beta%d" % i] = np.zeros(sizes[i])
    return params


def network_loss(params, state, X, y, train, dropout_p, weight_decay, rng):
    depth = len([k for k in params if k[0] == "W"])
    steps = []  # (kind, layer, cache), in forward order
    h = X
    for i in range(1, depth + 1):
        h, cache = affine_forward(h, params["W%d" % i], params["b%d" % i])
        steps.append(("affine", i, cache))
        if i == depth:
            break
        if "gamma%d" % i in params:
            if "running_mean%d" % i not in state:
                state["running_mean%d" % i] = np.zeros(h.shape[1])
                state["running_var%d" % i] = np.ones(h.shape[1])
            h, cache = batchnorm_forward(h, params["gamma%d" % i], params["beta%d" % i],
                                         state["running_mean%d" % i], state["running_var%d" % i], train)
            steps.append(("bn", i, cache))
        h, cache = relu_forward(h)
        steps.append(("relu", i, cache))
        if dropout_p:
            h, cache = dropout_forward(h, dropout_p, train, rng)
            steps.append(("dropout", i, cache))
    if y is None:
        return h
    loss, dh = softmax_cross_entropy(h, y)
    loss = loss + l2_penalty([params["W%d" % i] for i in range(1, depth + 1)], weight_decay)
    grads = {}
    for kind, i, cache in reversed(steps):
        if kind == "affine":
            dh, dW, db = affine_backward(dh, cache)
            grads["W%d" % i] = dW + l2_grad(params["W%d" % i], weight_decay)
            grads["b%d" % i] = db
        elif kind == "bn":
            dh, grads["gamma%d" % i], grads["beta%d" % i] = batchnorm_backward(dh, cache)
        elif kind == "relu":
            dh = relu_backward(dh, cache)
        else:
            dh = dropout_backward(dh, cache)
    return loss, grads


def train(params, state, X, y, epochs, batch_size, lr, dropout_p, weight_decay, rng):
    """Plain mini-batch SGD: params (and state) are updated in place.

    Every epoch visits the N training samples once in a random order (from rng), in
    mini-batches of batch_size (the last one may be smaller, but never a single sample
    when the network has batch norm), each step  p <- p - lr * grad  for every parameter.
    After each epoch, the mean loss of its steps and the accuracy on all of X in test mode.

    Returns {"loss": [one float per epoch], "train_acc": [one float per epoch]}.
    """
    n = X.shape[0]
    history = {"loss": [], "train_acc": []}
    for _ in range(epochs):
        order = rng.permutation(n)
        losses = []
        for start in range(0, n, batch_size):
            batch = order[start:start + batch_size]
            loss, grads = network_loss(params, state, X[batch], y[batch], True, dropout_p,
                                       weight_decay, rng)
            for key, grad in grads.items():
                params[key] -= lr * grad
            losses.append(loss)
        scores = network_loss(params, state, X, None, False, dropout_p, weight_decay, rng)
        history["loss"].append(float(np.mean(losses)))
        history["train_acc"].append(float(np.mean(scores.argmax(axis=1) == y)))
    return history
