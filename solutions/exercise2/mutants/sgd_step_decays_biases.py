"""SGD step that decays every parameter, biases included.

function: sgd_step
mistake: decay.sgd_bias_decayed
"""


def sgd_step(params, grads, lr, weight_decay):
    new_params = {}
    for key, value in params.items():
        grad = grads[key]
        if True:
            grad = grad + weight_decay * value
        new_params[key] = value - lr * grad
    return new_params
