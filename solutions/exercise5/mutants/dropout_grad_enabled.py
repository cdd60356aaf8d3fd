"""The mode from torch.is_grad_enabled() instead of self.training (d2l's from-scratch version)

function: Dropout
mistake: dropout.grad_enabled_mode
"""
import torch
from torch import nn


class Dropout(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p

    def forward(self, x):
        if not torch.is_grad_enabled() or self.p == 0:
            return x
        if self.p == 1:
            return x * torch.zeros_like(x)
        keep = (torch.rand(x.shape, dtype=x.dtype) >= self.p).to(x.dtype)
        return x * keep / (1 - self.p)
