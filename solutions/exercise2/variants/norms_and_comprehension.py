"""A correct variant: squared Frobenius norms, comparisons for the sign, a dict comprehension
that builds every update from copies.
"""
import numpy as np


def l2_penalty(weights, lam):
    return 0.5 * lam * float(np.sum([np.linalg.norm(W) ** 2 for W in weights]))


def l2_grad(W, lam):
    grad = np.array(W, dtype=float, copy=True)
    grad *= lam
    return grad


def l1_penalty(weights, lam):
    return float(sum(lam * np.abs(W).sum() for W in weights))


def l1_grad(W, lam):
    return lam * ((W > 0).astype(float) - (W < 0).astype(float))


def _decay(key, weight_decay):
    return weight_decay if key.startswith("W") else 0.0


def sgd_step(params, grads, lr, weight_decay):
    new = {key: value.copy() for key, value in params.items()}
    for key in new:
        new[key] -= lr * (grads[key] + _decay(key, weight_decay) * params[key])
    return new
