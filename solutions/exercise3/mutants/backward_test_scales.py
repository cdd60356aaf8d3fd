"""test-time backward scales by (1-p) as if test-time forward did

function: dropout_backward
mistake: dropout.backward_test_scales
"""


def dropout_backward(dout, cache):
    mask, p, train = cache
    if train:
        return dout * mask
    return dout * (1 - p)
