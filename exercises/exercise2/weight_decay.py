"""Weight decay: L2 and L1 regularization.

Large weights are a symptom of overfitting. Regularization adds a penalty on the weights
to the loss, so training trades a little training accuracy for smaller weights:

    L2 (ridge):  L = L0 + 0.5 * lam * sum(W**2)      gradient: dL0/dW + lam * W
    L1 (lasso):  L = L0 + lam * sum(|W|)             gradient: dL0/dW + lam * sign(W)

The 0.5 makes the L2 gradient exactly `lam * W`. With gradient descent the L2 step is

    W <- W - lr * (dW + lam * W) = (1 - lr * lam) * W - lr * dW

so every step first shrinks ("decays") the weights by the factor (1 - lr * lam); that is
why L2 regularization is called weight decay. L1 pulls every weight towards 0 by the
same amount, lr * lam, and drives many weights to exactly 0 (sparse weights). At W == 0,
|W| has no derivative; we use the subgradient 0 there (np.sign(0) == 0).

Only weights are decayed, never biases: a bias does not make the model more complex.
"""
import numpy as np


def l2_penalty(weights, lam):
    """L2 penalty of a list of weight arrays (any shapes).

    Returns the Python float 0.5 * lam * sum over W in weights of sum(W**2).
    """
    # YOUR CODE HERE
    raise NotImplementedError


def l2_grad(W, lam):
    """Gradient of the L2 penalty with respect to one weight array W.

    Returns lam * W, an array of W's shape.
    """
    # YOUR CODE HERE
    raise NotImplementedError


def l1_penalty(weights, lam):
    """L1 penalty of a list of weight arrays (any shapes).

    Returns the Python float lam * sum over W in weights of sum(|W|).
    """
    # YOUR CODE HERE
    raise NotImplementedError


def l1_grad(W, lam):
    """(Sub)gradient of the L1 penalty with respect to one weight array W.

    Returns lam * sign(W), an array of W's shape, with 0 where W == 0.
    """
    # YOUR CODE HERE
    raise NotImplementedError


def sgd_step(params, grads, lr, weight_decay):
    """One step of SGD with L2 weight decay on the weights only.

    params, grads: dicts of arrays with the same keys ("W1", "b1", "W2", ...);
    grads[k] has the shape of params[k].

        W <- W - lr * (dW + weight_decay * W)    for keys starting with "W"
        b <- b - lr * db                         for every other key

    Returns a new dict with the updated arrays; params and grads are unchanged.
    """
    # YOUR CODE HERE
    raise NotImplementedError
