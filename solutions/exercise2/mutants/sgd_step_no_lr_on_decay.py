"""SGD step with the decay outside the learning rate: W - lr * dW - wd * W.

function: sgd_step
mistake: decay.sgd_decay_no_lr
"""


def sgd_step(params, grads, lr, weight_decay):
    new_params = {}
    for key, value in params.items():
        grad = grads[key]
        if key.startswith("W"):
            grad = grad + weight_decay * value
        new_params[key] = value - lr * grad
        if key.startswith("W"):
            new_params[key] = value - lr * grads[key] - weight_decay * value
    return new_params
