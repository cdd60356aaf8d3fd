"""backward multiplies dout in place (dout *= mask)

function: dropout_backward
diagnosis: changed its argument 'dout' in place
"""


def dropout_backward(dout, cache):
    mask, p, train = cache
    if train:
        dout *= mask
        return dout
    return dout.copy()
