"""vanilla backward at test time returns dout without the (1-p) factor

function: vanilla_dropout_backward
diagnosis: at test time dx = dout, but
"""


def vanilla_dropout_backward(dout, cache):
    mask, p, train = cache
    if train:
        return dout * mask
    return dout.copy()
