"""SGD step adding the decay into grads in place (grad += wd * W).

function: sgd_step
mistake: decay.sgd_in_place
"""


def sgd_step(params, grads, lr, weight_decay):
    new_params = {}
    for key, value in params.items():
        grad = grads[key]
        if key.startswith("W"):
            grad += weight_decay * value
        new_params[key] = value - lr * grad
    return new_params
