"""SGD step with 2 * weight_decay * W (the lecture's lambda * sum(w^2) derivative).

function: sgd_step
mistake: decay.sgd_decay_factor_2
"""


def sgd_step(params, grads, lr, weight_decay):
    new_params = {}
    for key, value in params.items():
        grad = grads[key]
        if key.startswith("W"):
            grad = grad + 2 * weight_decay * value
        new_params[key] = value - lr * grad
    return new_params
