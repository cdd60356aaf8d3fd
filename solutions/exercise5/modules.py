"""Dropout and batch normalization as torch modules: train() and eval().

A torch layer is an `nn.Module`. Its `forward` computes the output from tensor operations,
and autograd derives the backward pass from them: no backward to write by hand. Every
module has a flag, `self.training`, that `model.train()` sets and `model.eval()` clears,
on the module and on every module inside it (an `nn.Sequential` of layers, say). Layers
that behave differently while training read that flag:

    dropout      training: zero each element with probability p, scale the rest by 1/(1-p)
                 eval:     the identity
    batch norm   training: normalize with the batch's mean and (biased) variance, and
                           update the running statistics
                 eval:     normalize with the running statistics, change nothing

The mode is `self.training`, nothing else: `torch.no_grad()` only stops autograd from
recording (a validation loop runs in eval mode under no_grad, but each says something
different), so a layer must not look at `torch.is_grad_enabled()` to decide.

State that is not trained (the running statistics) lives in buffers:
`self.register_buffer("running_mean", ...)`. A buffer moves with the module (`.to()`,
`.double()`), and is saved and loaded by `state_dict()` / `load_state_dict()`; a plain
attribute would be lost when the model is saved.
"""
import torch
from torch import nn


class Dropout(nn.Module):
    """Inverted dropout, as `torch.nn.Dropout(p)`.

    p: the probability of ZEROING an element, 0 <= p <= 1 (else ValueError).

    forward(x), x a tensor of any shape:
      training (self.training):  mask = (torch.rand(x.shape) >= p), each element kept with
                                 probability 1 - p; out = x * mask / (1 - p)
                                 (p = 1: every element is zeroed, out is all zeros)
      eval:                      out = x, unchanged
    Draw the mask from torch's global generator (torch.rand, torch.bernoulli, ...), so
    torch.manual_seed(s) reproduces it. Autograd gives the gradient: the same mask, the
    same scaling.

    __init__ calls super().__init__() first (nn.Module's own set-up, which also sets
    self.training = True), then checks p and keeps it. Do not override train() or eval():
    nn.Module's set self.training on the module and on every module inside it, and return
    the module.
    """

    def __init__(self, p=0.5):
        ### BEGIN SOLUTION
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        if not self.training or self.p == 0:
            return x
        if self.p == 1:
            return x * torch.zeros_like(x)
        keep = (torch.rand(x.shape, dtype=x.dtype, device=x.device) >= self.p).to(x.dtype)
        return x * keep / (1 - self.p)
        ### END SOLUTION


class BatchNorm1d(nn.Module):
    """Batch normalization over the batch (and length) of (N, C) or (N, C, L) inputs, with
    exactly the semantics of `torch.nn.BatchNorm1d`.

    num_features: C. eps: added to the variance inside the square root.
    momentum: running = (1 - momentum) * running + momentum * batch statistic;
              None: the cumulative average of all batches so far (factor 1 / num_batches_tracked).
    affine: learnable parameters `weight` (ones, shape (C,)) and `bias` (zeros, (C,)).
    track_running_stats: buffers `running_mean` (zeros, (C,)), `running_var` (ones, (C,))
              and `num_batches_tracked` (int64 scalar tensor, 0); without them, batch
              statistics are used in eval mode too.
    __init__ calls super().__init__() first, then keeps its arguments (self.eps, ...).
    Register parameters with nn.Parameter and buffers with self.register_buffer, so that
    state_dict() has exactly torch's keys; without affine (track_running_stats) register
    None under the names instead (`self.register_parameter("weight", None)`,
    `self.register_buffer("running_mean", None)`), as torch does.

    forward(x): per channel c, over the N (and L) values of the batch,
      mean = x.mean(dims), var = the BIASED variance ((x - mean)**2).mean(dims)
      training, or no running statistics: use the batch's mean and var;
        with running statistics (training only): num_batches_tracked += 1 and
        running_mean <- (1 - m) * running_mean + m * mean
        running_var  <- (1 - m) * running_var  + m * var * n / (n - 1)  (UNBIASED, n values)
        (not recorded by autograd: inside `with torch.no_grad():`)
      eval with running statistics: use running_mean and running_var; change nothing
      out = (x - mean) / sqrt(var + eps), then * weight + bias if affine
    Batch statistics of one value per channel (n = N*L = 1, in training) raise ValueError.
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True):
        ### BEGIN SOLUTION
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = nn.Parameter(torch.ones(num_features))
            self.bias = nn.Parameter(torch.zeros(num_features))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", torch.zeros(num_features))
            self.register_buffer("running_var", torch.ones(num_features))
            self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        dims = (0,) if x.dim() == 2 else (0, 2)  # every axis but the channels
        shape = (1, -1) if x.dim() == 2 else (1, -1, 1)  # a (C,) vector, broadcast over x
        n = x.numel() // x.shape[1]
        use_batch = self.training or not self.track_running_stats
        if use_batch:
            if n < 2:  # a variance of one value is 0, and the unbiased one undefined
                raise ValueError(f"Expected more than 1 value per channel when training, got input size {tuple(x.shape)}")
            mean = x.mean(dim=dims)
            var = ((x - mean.reshape(shape)) ** 2).mean(dim=dims)  # biased
            if self.training and self.track_running_stats:
                with torch.no_grad():
                    self.num_batches_tracked += 1
                    m = 1 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
                    self.running_mean.mul_(1 - m).add_(m * mean)
                    self.running_var.mul_(1 - m).add_(m * var * n / (n - 1))
        else:
            mean, var = self.running_mean, self.running_var
        out = (x - mean.reshape(shape)) / torch.sqrt(var.reshape(shape) + self.eps)
        if self.affine:
            out = out * self.weight.reshape(shape) + self.bias.reshape(shape)
        return out
        ### END SOLUTION
