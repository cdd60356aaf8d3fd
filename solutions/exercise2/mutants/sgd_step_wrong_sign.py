"""SGD step with the decay's sign flipped: W - lr * (dW - wd * W).

function: sgd_step
mistake: decay.sgd_decay_sign
"""


def sgd_step(params, grads, lr, weight_decay):
    new_params = {}
    for key, value in params.items():
        grad = grads[key]
        if key.startswith("W"):
            grad = grad - weight_decay * value
        new_params[key] = value - lr * grad
    return new_params
