"""p used as the keep probability: keep = torch.rand(x.shape) < p, kept elements divided by p

function: Dropout
mistake: dropout.keep_prob_swap
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
        if not self.training or self.p == 0:
            return x
        keep = (torch.rand(x.shape, dtype=x.dtype) < self.p).to(x.dtype)
        return x * keep / self.p
