"""L1 subgradient +lam at W == 0: np.where(W >= 0, 1, -1).

function: l1_grad
mistake: decay.l1_grad_sign0_plus
"""
import numpy as np


def l1_grad(W, lam):
    return lam * np.where(W >= 0, 1.0, -1.0)
