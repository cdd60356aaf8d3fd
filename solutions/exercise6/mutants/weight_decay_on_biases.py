"""weight decay applied to every parameter: biases, gammas and betas are decayed too

function: network_loss
mistake: network.weight_decay_loss_biases
"""
import numpy as np


def network_loss(params, state, X, y, train, dropout_p, weight_decay, rng):
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
    loss, dscores = softmax_cross_entropy(scores, y)
    loss += l2_penalty(list(params.values()), weight_decay)
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
    for key in grads:
        grads[key] = grads[key] + l2_grad(params[key], weight_decay)
    return loss, grads
