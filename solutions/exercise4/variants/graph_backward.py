"""A correct variant: cs231n-style staged forward passes whose caches hold every node of
the computation graph (a dict), and backward passes that walk the graph node by node.
"""
import numpy as np


def _forward_graph(x, mu, var, gamma, beta, eps):
    xmu = x - mu
    sqrtvar = np.sqrt(var + eps)
    ivar = 1.0 / sqrtvar
    xhat = xmu * ivar
    gammax = gamma * xhat
    out = gammax + beta
    return out, {"xmu": xmu, "var": var, "sqrtvar": sqrtvar, "ivar": ivar, "xhat": xhat,
                 "gamma": gamma, "eps": eps}


def batchnorm_forward(x, gamma, beta, running_mean, running_var, train, momentum=0.1, eps=1e-5):
    N, D = x.shape
    if not train:
        out, cache = _forward_graph(x, running_mean, running_var, gamma, beta, eps)
        cache["train"] = False
        return out, cache
    if N < 2:
        raise ValueError("batch norm needs N >= 2 in training")
    mu = 1.0 / N * np.sum(x, axis=0)
    xmu = x - mu
    sq = xmu ** 2
    var = 1.0 / N * np.sum(sq, axis=0)
    out, cache = _forward_graph(x, mu, var, gamma, beta, eps)
    cache["train"] = True
    running_mean *= 1 - momentum
    running_mean += momentum * mu
    running_var *= 1 - momentum
    running_var += momentum * var * (N / (N - 1))
    return out, cache


def batchnorm_backward(dout, cache):
    N, D = dout.shape
    xhat, gamma, xmu, ivar, sqrtvar, var, eps = (cache[k] for k in
                                                 ("xhat", "gamma", "xmu", "ivar", "sqrtvar", "var", "eps"))
    dbeta = np.sum(dout, axis=0)
    dgammax = dout
    dgamma = np.sum(dgammax * xhat, axis=0)
    dxhat = dgammax * gamma
    if not cache["train"]:
        return dxhat * ivar, dgamma, dbeta
    divar = np.sum(dxhat * xmu, axis=0)
    dxmu1 = dxhat * ivar
    dsqrtvar = -1.0 / (sqrtvar ** 2) * divar
    dvar = 0.5 * 1.0 / np.sqrt(var + eps) * dsqrtvar
    dsq = 1.0 / N * np.ones((N, D)) * dvar
    dxmu2 = 2 * xmu * dsq
    dx1 = dxmu1 + dxmu2
    dmu = -1 * np.sum(dxmu1 + dxmu2, axis=0)
    dx2 = 1.0 / N * np.ones((N, D)) * dmu
    return dx1 + dx2, dgamma, dbeta


def layernorm_forward(x, gamma, beta, eps=1e-5):
    N, D = x.shape
    mu = (1.0 / D * np.sum(x, axis=1))[:, None]
    var = (1.0 / D * np.sum((x - mu) ** 2, axis=1))[:, None]
    return _forward_graph(x, mu, var, gamma, beta, eps)


def layernorm_backward(dout, cache):
    N, D = dout.shape
    xhat, gamma, xmu, ivar, sqrtvar, var, eps = (cache[k] for k in
                                                 ("xhat", "gamma", "xmu", "ivar", "sqrtvar", "var", "eps"))
    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(dout * xhat, axis=0)
    dxhat = dout * gamma
    divar = np.sum(dxhat * xmu, axis=1, keepdims=True)
    dxmu1 = dxhat * ivar
    dsqrtvar = -1.0 / (sqrtvar ** 2) * divar
    dvar = 0.5 / np.sqrt(var + eps) * dsqrtvar
    dxmu2 = 2 * xmu * (1.0 / D) * dvar
    dmu = -np.sum(dxmu1 + dxmu2, axis=1, keepdims=True)
    return dxmu1 + dxmu2 + dmu / D, dgamma, dbeta
