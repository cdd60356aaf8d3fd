"""the L2 gradient has the wrong sign: dW gets -lambda*W, which pushes weights away from 0

function: network_loss
mistake: network.weight_decay_grad_sign
"""


def l2_grad(W, lam):
    return -lam * W
