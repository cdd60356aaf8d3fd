"""backward forgets the 1/(1-p) scale: dx = dout * (mask != 0)

function: dropout_backward
mistake: dropout.backward_no_scale
"""


def dropout_backward(dout, cache):
    mask, p, train = cache
    if train:
        return dout * (mask != 0)
    return dout.copy()
