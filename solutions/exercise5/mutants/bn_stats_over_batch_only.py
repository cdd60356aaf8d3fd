"""For (N, C, L) the statistics over N only (per channel and position)

function: BatchNorm1d
mistake: batchnorm.stats_over_batch_only
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
        n = x.shape[0]
        use_batch = self.training or not self.track_running_stats
        if use_batch:
            if n < 2:
                raise ValueError("Expected more than 1 value per channel when training")
            mean = x.mean(dim=0, keepdim=True)  # over the batch only: per channel AND position
            var = ((x - mean) ** 2).mean(dim=0, keepdim=True)
            if self.training and self.track_running_stats:
                with torch.no_grad():
                    self.num_batches_tracked += 1
                    m = 1 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
                    flat_mean = mean.reshape(mean.shape[1], -1).mean(dim=1)
                    flat_var = var.reshape(var.shape[1], -1).mean(dim=1)
                    self.running_mean.mul_(1 - m).add_(m * flat_mean)
                    self.running_var.mul_(1 - m).add_(m * flat_var * n / (n - 1))
        else:
            shape = (1, -1) if x.dim() == 2 else (1, -1, 1)
            mean, var = self.running_mean.reshape(shape), self.running_var.reshape(shape)
        out = (x - mean) / torch.sqrt(var + self.eps)
        if self.affine:
            shape = (1, -1) if x.dim() == 2 else (1, -1, 1)
            out = out * self.weight.reshape(shape) + self.bias.reshape(shape)
        return out
