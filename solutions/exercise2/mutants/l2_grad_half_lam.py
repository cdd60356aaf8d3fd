"""L2 gradient with lam / 2: 0.5 * lam * W.

function: l2_grad
diagnosis: lam / 2 * W
"""


def l2_grad(W, lam):
    return 0.5 * lam * W
