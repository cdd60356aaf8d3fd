"""weight decay subtracted from the loss and its gradient (consistently): a negative lambda

function: network_loss
mistake: network.weight_decay_loss_sign
"""
import numpy as np


def l2_penalty(weights, lam):
    return -0.5 * lam * sum(float(np.sum(W ** 2)) for W in weights)


def l2_grad(W, lam):
    return -lam * W
