"""Variant: a correct network written differently (rng.normal and rng.binomial draws, batch
norm's backward step by step through the variance and the mean, rng.shuffle, layers in a
list). A fully connected network from your own layers.

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
    return rng.normal(0.0, np.sqrt(2.0 / (fan_in + fan_out)), size=(fan_in, fan_out))


def xavier_uniform(fan_in, fan_out, rng):
    """U(-a, a) of shape (fan_in, fan_out), a = sqrt(6 / (fan_in + fan_out))."""
    a = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-a, a, size=(fan_in, fan_out))


def he_normal(fan_in, fan_out, rng):
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_in, fan_out))


def he_uniform(fan_in, fan_out, rng):
    """U(-a, a) of shape (fan_in, fan_out), a = sqrt(6 / fan_in)."""
    a = np.sqrt(6.0 / fan_in)
    return rng.uniform(-a, a, size=(fan_in, fan_out))


def l2_penalty(weights, lam):
    """0.5 * lam * sum of the squares of every weight array in `weights` (a float)."""
    return 0.5 * lam * sum(float(np.sum(W ** 2)) for W in weights)


def l2_grad(W, lam):
    """The gradient of the L2 penalty with respect to one weight array: lam * W."""
    return lam * W


def dropout_forward(x, p, train, rng):
    if p < 0 or p >= 1:
        raise ValueError("p must be in [0, 1)")
    if train:
        keep = rng.binomial(1, 1 - p, size=x.shape)
        cache = (keep, p)
        return x * keep / (1 - p), cache
    return x.copy(), None


def dropout_backward(dout, cache):
    if cache is None:
        return dout.copy()
    keep, p = cache
    return dout * keep / (1 - p)


def batchnorm_forward(x, gamma, beta, running_mean, running_var, train, momentum=0.1, eps=1e-5):
    if not train:
        xhat = (x - running_mean) / np.sqrt(running_var + eps)
        return gamma * xhat + beta, ("test", gamma, running_var, eps, xhat)
    n = len(x)
    if n < 2:
        raise ValueError("need two samples or more in training")
    mu = np.mean(x, axis=0)
    xc = x - mu
    var = np.mean(xc ** 2, axis=0)
    inv = 1.0 / np.sqrt(var + eps)
    running_mean[:] = (1 - momentum) * running_mean + momentum * mu
    running_var[:] = (1 - momentum) * running_var + momentum * var * (n / (n - 1))
    return gamma * xc * inv + beta, ("train", gamma, xc, inv)


def batchnorm_backward(dout, cache):
    if cache[0] == "test":
        _, gamma, running_var, eps, xhat = cache
        return gamma * dout / np.sqrt(running_var + eps), np.sum(dout * xhat, axis=0), np.sum(dout, axis=0)
    _, gamma, xc, inv = cache
    n = dout.shape[0]
    xhat = xc * inv
    dgamma = np.sum(dout * xhat, axis=0)
    dbeta = np.sum(dout, axis=0)
    dxhat = dout * gamma
    dvar = np.sum(dxhat * xc, axis=0) * -0.5 * inv ** 3
    dmu = -np.sum(dxhat * inv, axis=0) + dvar * np.mean(-2 * xc, axis=0)
    return dxhat * inv + dvar * 2 * xc / n + dmu / n, dgamma, dbeta


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
    params = {}
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        if isinstance(init, str):
            params[f"W{i}"] = INITIALIZERS[init](fan_in, fan_out, rng)
        else:
            params[f"W{i}"] = init * rng.standard_normal((fan_in, fan_out))
        params[f"b{i}"] = np.zeros(fan_out)
        if use_batchnorm and i < len(sizes) - 1:
            params[f"gamma{i}"] = np.ones(fan_out)
            params[f"beta{i}"] = np.zeros(fan_out)
    return params


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
    n_layers = sum(1 for k in params if k.startswith("W"))
    h, caches = X, []
    for i in range(1, n_layers):
        h, affine_cache = affine_forward(h, params[f"W{i}"], params[f"b{i}"])
        bn_cache = drop_cache = None
        if f"gamma{i}" in params:
            mean = state.setdefault(f"running_mean{i}", np.zeros(h.shape[1]))
            var = state.setdefault(f"running_var{i}", np.ones(h.shape[1]))
            h, bn_cache = batchnorm_forward(h, params[f"gamma{i}"], params[f"beta{i}"], mean, var, train)
        h, relu_cache = relu_forward(h)
        if dropout_p > 0:
            h, drop_cache = dropout_forward(h, dropout_p, train, rng)
        caches.append((affine_cache, bn_cache, relu_cache, drop_cache))
    scores, last_cache = affine_forward(h, params[f"W{n_layers}"], params[f"b{n_layers}"])
    if y is None:
        return scores

    weights = [params[f"W{i}"] for i in range(1, n_layers + 1)]
    loss, dscores = softmax_cross_entropy(scores, y)
    loss += l2_penalty(weights, weight_decay)
    grads = {}
    dh, grads[f"W{n_layers}"], grads[f"b{n_layers}"] = affine_backward(dscores, last_cache)
    for i in range(n_layers - 1, 0, -1):
        affine_cache, bn_cache, relu_cache, drop_cache = caches[i - 1]
        if drop_cache is not None:
            dh = dropout_backward(dh, drop_cache)
        dh = relu_backward(dh, relu_cache)
        if bn_cache is not None:
            dh, grads[f"gamma{i}"], grads[f"beta{i}"] = batchnorm_backward(dh, bn_cache)
        dh, grads[f"W{i}"], grads[f"b{i}"] = affine_backward(dh, affine_cache)
    for i in range(1, n_layers + 1):
        grads[f"W{i}"] = grads[f"W{i}"] + l2_grad(params[f"W{i}"], weight_decay)
    return loss, grads


def train(params, state, X, y, epochs, batch_size, lr, dropout_p, weight_decay, rng):
    history = {"loss": [], "train_acc": []}
    index = np.arange(len(X))
    for epoch in range(epochs):
        rng.shuffle(index)
        total, count = 0.0, 0
        for batch in np.array_split(index, int(np.ceil(len(X) / batch_size))):
            loss, grads = network_loss(params, state, X[batch], y[batch], True, dropout_p, weight_decay, rng)
            for key in params:
                params[key] = params[key] - lr * grads[key]
            total, count = total + loss, count + 1
        predictions = np.argmax(network_loss(params, state, X, None, False, 0.0, weight_decay, rng), axis=1)
        history["loss"].append(total / count)
        history["train_acc"].append(float((predictions == y).mean()))
    return history


