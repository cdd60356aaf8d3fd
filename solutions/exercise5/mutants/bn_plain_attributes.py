"""Running statistics as plain attributes, not buffers (d2l's from-scratch version): they are
not in state_dict() and load_state_dict(strict=True) fails

function: BatchNorm1d
mistake: batchnorm.not_a_buffer
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
        self.running_mean = torch.zeros(num_features) if track_running_stats else None
        self.running_var = torch.ones(num_features) if track_running_stats else None
        self.num_batches_tracked = torch.tensor(0, dtype=torch.long) if track_running_stats else None

    def _apply(self, fn, *args, **kwargs):  # .double() reaches the plain attributes too
        super()._apply(fn, *args, **kwargs)
        if self.track_running_stats:
            self.running_mean, self.running_var = fn(self.running_mean), fn(self.running_var)
        return self

    def forward(self, x):
        dims = (0,) if x.dim() == 2 else (0, 2)
        shape = (1, -1) if x.dim() == 2 else (1, -1, 1)
        n = x.numel() // x.shape[1]
        use_batch = self.training or not self.track_running_stats
        if use_batch:
            if n < 2:
                raise ValueError("Expected more than 1 value per channel when training")
            mean = x.mean(dim=dims)
            var = ((x - mean.reshape(shape)) ** 2).mean(dim=dims)
            if self.training and self.track_running_stats:
                with torch.no_grad():
                    self.num_batches_tracked += 1
                    m = 1 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
                    self.running_mean = (1 - m) * self.running_mean + m * mean
                    self.running_var = (1 - m) * self.running_var + m * var * n / (n - 1)
        else:
            mean, var = self.running_mean, self.running_var
        out = (x - mean.reshape(shape)) / torch.sqrt(var.reshape(shape) + self.eps)
        if self.affine:
            out = out * self.weight.reshape(shape) + self.bias.reshape(shape)
        return out
