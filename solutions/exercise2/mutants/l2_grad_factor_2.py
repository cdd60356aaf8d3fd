"""L2 gradient with an extra factor 2: 2 * lam * W.

function: l2_grad
mistake: decay.l2_grad_factor_2
"""


def l2_grad(W, lam):
    return 2 * lam * W
