"""Normalizes with the unbiased batch variance (torch.var's default)

function: BatchNorm1d
mistake: batchnorm.unbiased_normalize
"""
import torch
from torch import nn


class BatchNorm1d(nn.Module):
    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True):
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

    def forward(self, x):
        dims = (0,) if x.dim() == 2 else (0, 2)  # every axis but the channels
        shape = (1, -1) if x.dim() == 2 else (1, -1, 1)  # a (C,) vector, broadcast over x
        n = x.numel() // x.shape[1]
        use_batch = self.training or not self.track_running_stats
        if use_batch:
            if n < 2:  # a variance of one value is 0, and the unbiased one undefined
                raise ValueError(f"Expected more than 1 value per channel when training, got input size {tuple(x.shape)}")
            mean = x.mean(dim=dims)
            var = x.var(dim=dims)  # unbiased: divides by n - 1
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
