"""backward multiplies dout in place (dout *= mask)

function: dropout_backward
mistake: inputs.changed_in_place
"""


def dropout_backward(dout, cache):
    mask, p, train = cache
    if train:
        dout *= mask
        return dout
    return dout.copy()
