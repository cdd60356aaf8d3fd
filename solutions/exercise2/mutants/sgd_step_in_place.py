"""SGD step updating params in place (value -= ...) and returning them.

function: sgd_step
mistake: decay.sgd_in_place
"""


def sgd_step(params, grads, lr, weight_decay):
    new_params = {}
    for key, value in params.items():
        grad = grads[key]
        if key.startswith("W"):
            grad = grad + weight_decay * value
        value -= lr * grad
        new_params[key] = value
    return new_params
