"""the L2 gradient has the wrong sign: dW gets -lambda*W, which pushes weights away from 0

function: network_loss
diagnosis: the sign is wrong
"""


def l2_grad(W, lam):
    return -lam * W
