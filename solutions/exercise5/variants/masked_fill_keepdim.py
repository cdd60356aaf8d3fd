"""A correct variant: the dropped elements from torch.rand_like(x) < p with masked_fill;
batch norm with keepdim statistics, mean((x - mu)**2) and rsqrt."""
import torch
from torch import nn


class Dropout(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        if not (0.0 <= p <= 1.0):
            raise ValueError(f"invalid dropout probability {p}")
        self.p = p

    def forward(self, x):
        if self.training:
            drop = torch.rand_like(x) < self.p
            scale = 0.0 if self.p == 1 else 1.0 / (1.0 - self.p)
            return x.masked_fill(drop, 0.0) * scale
        return x


class BatchNorm1d(nn.Module):
    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True):
        super().__init__()
        self.eps, self.momentum, self.affine, self.track_running_stats = eps, momentum, affine, track_running_stats
        if affine:
            self.weight = nn.Parameter(torch.ones(num_features))
            self.bias = nn.Parameter(torch.zeros(num_features))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.register_buffer("running_mean", torch.zeros(num_features) if track_running_stats else None)
        self.register_buffer("running_var", torch.ones(num_features) if track_running_stats else None)
        self.register_buffer("num_batches_tracked",
                             torch.tensor(0, dtype=torch.long) if track_running_stats else None)

    def forward(self, x):
        axes = [d for d in range(x.dim()) if d != 1]
        view = [1] * x.dim()
        view[1] = x.shape[1]
        count = x.numel() // x.shape[1]
        batch = self.training or not self.track_running_stats
        if batch and count == 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input size {list(x.shape)}")
        if batch:
            mu = x.mean(dim=axes, keepdim=True)
            var = ((x - mu) ** 2).mean(dim=axes, keepdim=True)
        else:
            mu, var = self.running_mean.view(view), self.running_var.view(view)
        y = (x - mu) * torch.rsqrt(var + self.eps)
        if self.training and self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked += 1
                w = self.momentum if self.momentum is not None else 1.0 / int(self.num_batches_tracked)
                self.running_mean.copy_((1 - w) * self.running_mean + w * mu.flatten())
                self.running_var.copy_((1 - w) * self.running_var + w * var.flatten() * count / (count - 1))
        if self.affine:
            y = y * self.weight.view(view) + self.bias.view(view)
        return y
