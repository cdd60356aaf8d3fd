"""Eval mode multiplies by 1-p (vanilla dropout's test pass on top of inverted training)

function: Dropout
mistake: dropout.eval_scales
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
        if not self.training:
            return x * (1 - self.p)
        if self.p == 1:
            return x * torch.zeros_like(x)
        keep = (torch.rand(x.shape, dtype=x.dtype) >= self.p).to(x.dtype)
        return x * keep / (1 - self.p)
