"""vanilla backward at test time returns dout without the (1-p) factor

function: vanilla_dropout_backward
mistake: vanilla.backward_test_unscaled
"""


def vanilla_dropout_backward(dout, cache):
    mask, p, train = cache
    if train:
        return dout * mask
    return dout.copy()
