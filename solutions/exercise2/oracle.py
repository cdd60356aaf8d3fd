"""exercise2's reference solution against torch in float64 (the micrograd way): the
penalties' gradients against autograd, one SGD step against torch.optim.SGD.

tests/test_oracles.py runs it, as it runs every solutions/<id>/oracle.py; like everything
in solutions/, it never reaches students.
"""

import numpy as np
import torch

from grader.oracle import close, reference, tensor as t


wd = reference(__file__, "weight_decay")


# ----------------------------------------------------------------------- weight decay

def test_sgd_step_matches_torch_sgd():
    rng = np.random.default_rng(3)
    shapes = {"W1": (4, 3), "b1": (3,), "W2": (3, 2), "b2": (2,)}
    params = {k: rng.normal(size=s) for k, s in shapes.items()}
    grads = {k: rng.normal(size=s) for k, s in shapes.items()}
    saved = {k: v.copy() for k, v in params.items()}, {k: v.copy() for k, v in grads.items()}
    lr, weight_decay = 0.05, 0.3

    new = wd.sgd_step(params, grads, lr, weight_decay)

    for key in shapes:
        p = t(params[key], True)
        p.grad = t(grads[key])
        # weights decay; biases take a plain SGD step
        decay = weight_decay if key.startswith("W") else 0.0
        torch.optim.SGD([p], lr=lr, weight_decay=decay).step()
        close(new[key], p, rtol=1e-14, atol=1e-15)
        assert new[key] is not params[key]
    assert new is not params and set(new) == set(shapes)
    for before, after in zip(saved, (params, grads)):
        assert all(np.array_equal(before[k], after[k]) for k in shapes)


def test_penalties_and_gradients_match_autograd():
    rng = np.random.default_rng(4)
    weights = [rng.normal(size=(5, 3)), rng.normal(size=(3, 2))]
    weights[0][0, :2] = 0.0  # the L1 subgradient at 0 must be 0, as torch's
    saved = [W.copy() for W in weights]
    lam = 0.7

    ws = [t(W, True) for W in weights]
    l2 = 0.5 * lam * sum((w ** 2).sum() for w in ws)
    l1 = lam * sum(w.abs().sum() for w in ws)
    l2_grads = torch.autograd.grad(l2, ws, retain_graph=True)
    l1_grads = torch.autograd.grad(l1, ws)

    assert type(wd.l2_penalty(weights, lam)) is float
    assert type(wd.l1_penalty(weights, lam)) is float
    close(wd.l2_penalty(weights, lam), l2.item(), rtol=1e-13)
    close(wd.l1_penalty(weights, lam), l1.item(), rtol=1e-13)
    for W, g2, g1 in zip(weights, l2_grads, l1_grads):
        close(wd.l2_grad(W, lam), g2, rtol=1e-14)
        close(wd.l1_grad(W, lam), g1, rtol=1e-14)
    assert all(np.array_equal(a, b) for a, b in zip(weights, saved))
