"""exercise5's reference solution against torch's own modules, in this process (no sandbox):
BatchNorm1d against torch.nn.BatchNorm1d in float64 (outputs, autograd, running statistics,
state_dict, every option), Dropout against its own mask and against torch.nn.Dropout's
conventions (p = 0, p = 1, eval, ValueError), with the same binomial bound as the tests.

tests/test_oracles.py runs it, as it runs every solutions/<id>/oracle.py; like everything
in solutions/, it never reaches students.
"""

import itertools

import numpy as np
import pytest
import torch

from grader.checks import stats
from grader import oracle
from grader.oracle import reference

mod = reference(__file__, "modules")


def close(actual, expected, rtol=1e-10, atol=1e-12):
    """`oracle.close` for tensors that record gradients too."""
    oracle.close(actual.detach().numpy() if hasattr(actual, "detach") else actual,
                 expected.detach() if hasattr(expected, "detach") else expected, rtol=rtol, atol=atol)


def pair(*args, **kwargs):
    """The reference's BatchNorm1d and torch's, in float64, with the same parameters."""
    ours, theirs = mod.BatchNorm1d(*args, **kwargs).double(), torch.nn.BatchNorm1d(*args, **kwargs).double()
    if kwargs.get("affine", True):
        with torch.no_grad():
            for m in (ours, theirs):
                m.weight.copy_(torch.linspace(0.5, 2.0, args[0], dtype=torch.float64))
                m.bias.copy_(torch.linspace(-1.0, 1.0, args[0], dtype=torch.float64))
    return ours, theirs


def inputs(shape, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=g, dtype=torch.float64)
    x[:, 0] = x[:, 0] * 1e-3 + 5  # a feature whose variance is far below eps
    return x


@pytest.mark.parametrize("shape", [(16, 5), (6, 5, 7)])
@pytest.mark.parametrize("affine,track", list(itertools.product([True, False], repeat=2)))
@pytest.mark.parametrize("momentum", [0.1, 0.3, None])
def test_batchnorm_matches_torch(shape, affine, track, momentum):
    ours, theirs = pair(5, momentum=momentum, affine=affine, track_running_stats=track)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for step in range(3):
        x = inputs(shape, 10 + step)
        dout = torch.randn(shape, generator=torch.Generator().manual_seed(20 + step), dtype=torch.float64)
        results = []
        for m in (ours, theirs):
            xt = x.clone().requires_grad_(True)
            out = m(xt)
            out.backward(dout)
            results.append((out, xt.grad, [p.grad.clone() for p in m.parameters()]))
            for p in m.parameters():
                p.grad = None
        close(results[0][0], results[1][0])
        close(results[0][1], results[1][1], rtol=1e-9, atol=1e-11)
        for a, b in zip(results[0][2], results[1][2]):
            close(a, b, rtol=1e-9, atol=1e-11)
    for (k, a), (_, b) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        assert a.dtype == b.dtype, k
        close(a, b)
    ours.eval(), theirs.eval()
    x = inputs(shape, 30)
    with torch.no_grad():
        close(ours(x), theirs(x))


def test_batchnorm_counts_under_no_grad_and_round_trips():
    ours, theirs = pair(3)
    with torch.no_grad():
        ours(inputs((8, 3), 1)), theirs(inputs((8, 3), 1))
    assert ours.num_batches_tracked.dtype == torch.int64 and int(ours.num_batches_tracked) == 1
    fresh = mod.BatchNorm1d(3).double()
    fresh.load_state_dict(theirs.state_dict(), strict=True)
    fresh.eval(), theirs.eval()
    x = inputs((4, 3), 2)
    close(fresh(x), theirs(x))
    assert fresh.eval() is fresh and fresh.train() is fresh


@pytest.mark.parametrize("shape", [(1, 4), (1, 4, 1)])
def test_batchnorm_one_value_per_channel(shape):
    with pytest.raises(ValueError):
        mod.BatchNorm1d(4)(torch.randn(shape))
    with pytest.raises(ValueError):
        torch.nn.BatchNorm1d(4)(torch.randn(shape))


@pytest.mark.parametrize("p", [0.2, 0.7])
def test_dropout_training(p):
    torch.manual_seed(3)
    x = (torch.randn(500, 500, dtype=torch.float64) + 10).requires_grad_(True)
    out = mod.Dropout(p)(x)
    dropped = (out == 0).detach().numpy()
    lo, hi = stats.DROP_INTERVAL[p]
    assert lo <= dropped.mean() <= hi
    close(out.detach().numpy()[~dropped], x.detach().numpy()[~dropped] / (1 - p), rtol=1e-12, atol=0)
    dout = torch.randn(500, 500, dtype=torch.float64)
    out.backward(dout)
    close(x.grad, np.where(dropped, 0.0, dout.numpy() / (1 - p)), rtol=1e-12, atol=0)


def test_dropout_conventions_are_torchs():
    x = torch.randn(20, 30, dtype=torch.float64) + 10
    for p in (0.0, 0.3, 1.0):
        ours, theirs = mod.Dropout(p), torch.nn.Dropout(p)
        assert ours.training and theirs.training
        torch.manual_seed(4)
        a = ours(x)
        torch.manual_seed(4)
        b = theirs(x)
        assert np.array_equal((a == 0).numpy(), (b == 0).numpy()) or 0 < p < 1  # masks may be drawn differently
        if p in (0.0, 1.0):
            close(a, b, rtol=0, atol=0)
        assert ours.eval() is ours and torch.equal(ours(x), x)
    for p in (-0.1, 1.5):
        for cls in (mod.Dropout, torch.nn.Dropout):
            with pytest.raises(ValueError):
                cls(p)
    assert not list(mod.Dropout(0.5).state_dict()) and not list(torch.nn.Dropout(0.5).state_dict())
