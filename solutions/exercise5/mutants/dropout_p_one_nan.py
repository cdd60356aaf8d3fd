"""p = 1 divides by 1 - p = 0: NaN instead of zeros

function: Dropout
mistake: dropout.p_one_nan
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
            return x
        keep = (torch.rand(x.shape, dtype=x.dtype) >= self.p).to(x.dtype)
        return x * keep / (1 - self.p)
