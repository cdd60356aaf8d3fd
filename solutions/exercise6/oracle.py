"""exercise6's reference network against torch in float64 (the micrograd way): the loss and
every gradient of a network with batch norm, dropout and weight decay against autograd,
the running statistics against torch.nn.functional.batch_norm, test mode against eval
mode, and one step of train() against torch.optim.SGD.

tests/test_oracles.py runs it, as it runs every solutions/<id>/oracle.py; like everything
in solutions/, it never reaches students.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from grader.oracle import close, reference, tensor as t

net = reference(__file__, "network")


def make(sizes, batchnorm, seed):
    rng = np.random.default_rng(seed)
    params = {}
    for i in range(1, len(sizes)):
        params[f"W{i}"] = rng.normal(size=(sizes[i - 1], sizes[i])) * 0.7
        params[f"b{i}"] = rng.normal(size=sizes[i]) * 0.1
        if batchnorm and i < len(sizes) - 1:
            params[f"gamma{i}"] = 1 + 0.2 * rng.normal(size=sizes[i])
            params[f"beta{i}"] = 0.1 * rng.normal(size=sizes[i])
    return params


def torch_network(params, X, y, *, p, wd, mask_seed, state, train=True):
    """The same network in torch: the dropout masks drawn from a generator of mask_seed in
    the reference's order (one rng.random(shape) >= p per hidden layer, forward order)."""
    tp = {k: t(v, grad=True) for k, v in params.items()}
    rng = np.random.default_rng(mask_seed)
    L = sum(k.startswith("W") for k in params)
    h = t(X)
    for i in range(1, L):
        h = h @ tp[f"W{i}"] + tp[f"b{i}"]
        if f"gamma{i}" in tp:
            h = F.batch_norm(h, state[f"running_mean{i}"], state[f"running_var{i}"], tp[f"gamma{i}"],
                             tp[f"beta{i}"], training=train, momentum=0.1, eps=1e-5)
        h = torch.relu(h)
        if p > 0 and train:
            mask = rng.random(tuple(h.shape)) >= p
            h = h * t(mask / (1 - p))
    scores = h @ tp[f"W{L}"] + tp[f"b{L}"]
    loss = F.cross_entropy(scores, torch.tensor(y)) + 0.5 * wd * sum((tp[f"W{i}"] ** 2).sum() for i in range(1, L + 1))
    return scores, loss, tp


@pytest.mark.parametrize("batchnorm, p, wd", [(False, 0.0, 0.0), (False, 0.0, 0.1), (True, 0.0, 0.05),
                                              (False, 0.3, 0.0), (True, 0.2, 0.1)])
def test_loss_and_gradients_match_autograd(batchnorm, p, wd):
    sizes = [7, 6, 5, 4]
    params = make(sizes, batchnorm, 1)
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(9, 7)), rng.integers(0, 4, 9)
    state = {}
    loss, grads = net.network_loss({k: v.copy() for k, v in params.items()}, state, X, y, True, p, wd,
                                   np.random.default_rng(3))
    tstate = {f"{s}{i}": torch.zeros(sizes[i], dtype=torch.float64) if s == "running_mean" else
              torch.ones(sizes[i], dtype=torch.float64)
              for i in range(1, len(sizes) - 1) for s in ("running_mean", "running_var")}
    _, tloss, tp = torch_network(params, X, y, p=p, wd=wd, mask_seed=3, state=tstate)
    tloss.backward()
    close(loss, tloss)
    assert set(grads) == set(params)
    for k in params:
        close(grads[k], tp[k].grad)
    for k, v in tstate.items() if batchnorm else ():
        close(state[k], v)  # the running statistics, updated as torch updates them


def test_test_mode_matches_eval():
    sizes = [5, 8, 3]
    params = make(sizes, True, 4)
    rng = np.random.default_rng(5)
    state = {"running_mean1": rng.normal(size=8), "running_var1": rng.uniform(0.5, 2, size=8)}
    X = rng.normal(size=(6, 5))
    scores = net.network_loss(params, {k: v.copy() for k, v in state.items()}, X, None, False, 0.5, 0.0, rng)
    tstate = {k: t(v) for k, v in state.items()}
    tscores, _, _ = torch_network(params, X, np.zeros(6, dtype=np.int64), p=0.5, wd=0.0, mask_seed=0,
                                  state=tstate, train=False)
    close(scores, tscores)


def test_one_epoch_of_one_batch_is_one_torch_sgd_step():
    sizes = [6, 5, 3]
    params = make(sizes, False, 6)
    rng = np.random.default_rng(7)
    X, y = rng.normal(size=(10, 6)), rng.integers(0, 3, 10)
    mine = {k: v.copy() for k, v in params.items()}
    history = net.train(mine, {}, X, y, 1, 10, 0.3, 0.0, 0.02, np.random.default_rng(8))
    tp = {k: torch.nn.Parameter(t(v)) for k, v in params.items()}
    opt = torch.optim.SGD(list(tp.values()), lr=0.3)
    h = torch.relu(t(X) @ tp["W1"] + tp["b1"])
    loss = F.cross_entropy(h @ tp["W2"] + tp["b2"], torch.tensor(y)) + 0.01 * ((tp["W1"] ** 2).sum() + (tp["W2"] ** 2).sum())
    loss.backward()
    opt.step()
    for k in params:
        close(mine[k], tp[k], rtol=1e-9, atol=1e-12)  # the batch order differs: sums in another order
    close(history["loss"][0], loss, rtol=1e-9)
