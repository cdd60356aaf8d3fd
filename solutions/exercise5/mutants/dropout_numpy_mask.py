"""The mask drawn with numpy's global generator: torch.manual_seed does not reproduce it

function: Dropout
mistake: dropout.not_torch_seeded
"""
import numpy as np
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
        if self.p == 1:
            return x * torch.zeros_like(x)
        keep = torch.from_numpy((np.random.rand(*x.shape) >= self.p).astype(np.float64)).to(x.dtype)
        return x * keep / (1 - self.p)
