"""L2 gradient with lam / 2: 0.5 * lam * W.

function: l2_grad
diagnosis: lam / 2 * W
"""
import numpy as np


def l2_penalty(weights, lam):
    """L2 penalty of a list of weight arrays (any shapes).

    Returns the Python float 0.5 * lam * sum over W in weights of sum(W**2).
    """
    ### BEGIN SOLUTION
    return float(0.5 * lam * sum(np.sum(W ** 2) for W in weights))
    ### END SOLUTION


def l2_grad(W, lam):
    """Gradient of the L2 penalty with respect to one weight array W.

    Returns lam * W, an array of W's shape.
    """
    ### BEGIN SOLUTION
    return 0.5 * lam * W
    ### END SOLUTION


def l1_penalty(weights, lam):
    """L1 penalty of a list of weight arrays (any shapes).

    Returns the Python float lam * sum over W in weights of sum(|W|).
    """
    ### BEGIN SOLUTION
    return float(lam * sum(np.sum(np.abs(W)) for W in weights))
    ### END SOLUTION


def l1_grad(W, lam):
    """(Sub)gradient of the L1 penalty with respect to one weight array W.

    Returns lam * sign(W), an array of W's shape, with 0 where W == 0.
    """
    ### BEGIN SOLUTION
    return lam * np.sign(W)
    ### END SOLUTION


def sgd_step(params, grads, lr, weight_decay):
    """One step of SGD with L2 weight decay on the weights only.

    params, grads: dicts of arrays with the same keys ("W1", "b1", "W2", ...);
    grads[k] has the shape of params[k].

        W <- W - lr * (dW + weight_decay * W)    for keys starting with "W"
        b <- b - lr * db                         for every other key

    Returns a new dict with the updated arrays; params and grads are unchanged.
    """
    ### BEGIN SOLUTION
    new_params = {}
    for key, value in params.items():
        grad = grads[key]
        if key.startswith("W"):
            grad = grad + weight_decay * value
        new_params[key] = value - lr * grad
    return new_params
    ### END SOLUTION
