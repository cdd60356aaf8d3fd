"""L2 gradient with an extra factor 2: 2 * lam * W.

function: l2_grad
diagnosis: 2 * lam * W
"""


def l2_grad(W, lam):
    return 2 * lam * W
