"""vanilla backward divides by (1-p) in training like inverted dropout

function: vanilla_dropout_backward
mistake: dropout.vanilla_backward_scaled
"""


def vanilla_dropout_backward(dout, cache):
    mask, p, train = cache
    if train:
        return dout * mask / (1 - p)
    return dout * (1 - p)
