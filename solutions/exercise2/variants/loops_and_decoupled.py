"""A correct variant: explicit loops, np.vdot and np.einsum, the "decoupled" form of the step.

For plain SGD the decoupled (AdamW-style) step W * (1 - lr * wd) - lr * dW is the same
as the coupled W - lr * (dW + wd * W), up to rounding. The L1 subgradient uses
np.copysign masked by W != 0.
"""
import math

import numpy as np


def l2_penalty(weights, lam):
    total = 0.0
    for W in weights:
        flat = np.ravel(W)
        total += np.vdot(flat, flat)
    return lam * total / 2


def l2_grad(W, lam):
    return np.multiply(W, lam)


def l1_penalty(weights, lam):
    return lam * math.fsum(float(np.einsum("i->", np.abs(np.ravel(W)))) for W in weights)


def l1_grad(W, lam):
    return np.where(W != 0, np.copysign(lam, W), 0.0)


def sgd_step(params, grads, lr, weight_decay):
    out = dict()
    for name in params:
        p, g = params[name], grads[name]
        if name[:1] == "W":
            out[name] = p * (1.0 - lr * weight_decay) - lr * g
        else:
            out[name] = p - lr * g
    return out
