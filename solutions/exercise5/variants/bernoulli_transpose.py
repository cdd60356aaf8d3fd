"""A correct variant: the mask from torch.bernoulli; batch norm on (N*L, C) rows with
var(unbiased=False), running statistics reassigned (the buffers stay registered)."""
import torch
from torch import nn


class Dropout(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        if p < 0 or p > 1:
            raise ValueError("p must be between 0 and 1")
        self.p = float(p)

    def forward(self, x):
        if not self.training:
            return x
        mask = torch.bernoulli(torch.full_like(x, 1 - self.p))
        return x * mask if self.p == 1 else x * mask / (1 - self.p)


class BatchNorm1d(nn.Module):
    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.weight = nn.Parameter(torch.ones(num_features)) if affine else None
        self.bias = nn.Parameter(torch.zeros(num_features)) if affine else None
        for name, value in (("running_mean", torch.zeros(num_features)), ("running_var", torch.ones(num_features)),
                            ("num_batches_tracked", torch.zeros((), dtype=torch.int64))):
            self.register_buffer(name, value if track_running_stats else None)

    def forward(self, x):
        rows = x if x.dim() == 2 else x.transpose(1, 2).reshape(-1, x.shape[1])  # (N*L, C)
        if self.training or self.running_mean is None:
            if rows.shape[0] <= 1:
                raise ValueError("need more than one value per channel to train")
            mean, var = rows.mean(0), rows.var(0, unbiased=False)
            if self.training and self.running_mean is not None:
                with torch.no_grad():
                    self.num_batches_tracked.add_(1)
                    factor = 1.0 / self.num_batches_tracked.item() if self.momentum is None else self.momentum
                    n = rows.shape[0]
                    self.running_mean = (1 - factor) * self.running_mean + factor * mean
                    self.running_var = (1 - factor) * self.running_var + factor * var * (n / (n - 1))
        else:
            mean, var = self.running_mean, self.running_var
        out = (rows - mean) / torch.sqrt(var + self.eps)
        if self.weight is not None:
            out = out * self.weight + self.bias
        return out if x.dim() == 2 else out.reshape(x.shape[0], x.shape[2], x.shape[1]).transpose(1, 2)
