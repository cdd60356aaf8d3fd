"""L2 gradient with lam / 2: 0.5 * lam * W.

function: l2_grad
mistake: decay.l2_grad_half
"""


def l2_grad(W, lam):
    return 0.5 * lam * W
