"""Batch normalization and layer normalization.

As training changes the weights, the distribution of each layer's inputs keeps moving
("internal covariate shift"), and the deeper the layer, the more it moves. Normalizing
each layer's pre-activations to mean 0 and variance 1 keeps them in a good range, which
allows larger learning rates, makes training less sensitive to initialization and acts
as a mild regularizer. A learned scale gamma and shift beta give the layer back its
freedom to represent any mean and variance.

Batch norm: for a mini-batch x of shape (N, D), per feature (column, axis 0):

    mu    = mean(x, axis=0)
    var   = mean((x - mu)**2, axis=0)            # biased: divide by N
    xhat  = (x - mu) / sqrt(var + eps)           # eps inside the square root
    out   = gamma * xhat + beta

At test time there may be a single sample, so there is no batch to average over: use
running averages of the training statistics instead (torch's convention, momentum 0.1):

    running_mean = (1 - momentum) * running_mean + momentum * mu
    running_var  = (1 - momentum) * running_var  + momentum * var * N / (N - 1)

The running variance uses the unbiased variance N / (N - 1) * var, as in the paper's
inference algorithm. (cs231n and "Deep Learning from Scratch" write momentum = 0.9 for
the weight of the OLD value and keep the biased variance; torch and this course do not.)

Layer norm: the same normalization, but per sample (row, axis 1) over the D features,
so it needs no batch, has no running statistics and is identical in training and test.

Backward (training, per normalized group of n values, with dxhat = gamma * dout):

    dx = (n * dxhat - sum(dxhat) - xhat * sum(dxhat * xhat)) / (n * sqrt(var + eps))
    dgamma = sum over the batch of dout * xhat,   dbeta = sum over the batch of dout
"""
import numpy as np


def batchnorm_forward(x, gamma, beta, running_mean, running_var, train, momentum=0.1, eps=1e-5):
    """Batch normalization, forward pass.

    x: (N, D). gamma, beta: (D,) scale and shift.
    running_mean, running_var: (D,) running statistics, updated IN PLACE in training.
    train: True to use (and learn from) batch statistics, False to use the running ones.

    Training (N >= 2, else ValueError):
        mu, var = batch mean and biased batch variance of each column
        out = gamma * (x - mu) / sqrt(var + eps) + beta
        running_mean[...] = (1 - momentum) * running_mean + momentum * mu
        running_var[...]  = (1 - momentum) * running_var + momentum * var * N / (N - 1)
    Test:
        out = gamma * (x - running_mean) / sqrt(running_var + eps) + beta
        (running statistics unchanged)

    Returns (out, cache); out has shape (N, D).
    """
    # YOUR CODE HERE
    raise NotImplementedError


def batchnorm_backward(dout, cache):
    """Batch normalization, backward pass, for a training or a test cache.

    dout: (N, D) upstream gradient. cache: from batchnorm_forward.

    Training: dx = gamma / (N * std) * (N * dout - sum(dout) - xhat * sum(dout * xhat))
              (sums over the batch, axis 0; std = sqrt(var + eps))
    Test:     dx = gamma * dout / sqrt(running_var + eps)  (the statistics are constants)
    Both:     dgamma = sum(dout * xhat, axis=0), dbeta = sum(dout, axis=0)

    Returns (dx, dgamma, dbeta) of shapes (N, D), (D,), (D,).
    """
    # YOUR CODE HERE
    raise NotImplementedError


def layernorm_forward(x, gamma, beta, eps=1e-5):
    """Layer normalization, forward pass (the same in training and at test time).

    x: (N, D). gamma, beta: (D,) scale and shift.

        mu, var = mean and biased variance of each row (axis 1)
        out = gamma * (x - mu) / sqrt(var + eps) + beta

    Returns (out, cache); out has shape (N, D).
    """
    # YOUR CODE HERE
    raise NotImplementedError


def layernorm_backward(dout, cache):
    """Layer normalization, backward pass.

    dout: (N, D) upstream gradient. cache: from layernorm_forward.

    With dxhat = gamma * dout and sums over each row (axis 1):
        dx = (D * dxhat - sum(dxhat) - xhat * sum(dxhat * xhat)) / (D * std)
    dgamma = sum(dout * xhat, axis=0), dbeta = sum(dout, axis=0)

    Returns (dx, dgamma, dbeta) of shapes (N, D), (D,), (D,).
    """
    # YOUR CODE HERE
    raise NotImplementedError
