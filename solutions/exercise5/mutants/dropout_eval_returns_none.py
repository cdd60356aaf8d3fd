"""eval() and train() overridden to set a flag of its own: they return None and nn.Sequential's
eval() never reaches the flag

function: Dropout
mistake: dropout.mode_not_returned
"""
import torch
from torch import nn


class Dropout(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.is_training = True

    def train(self, mode=True):
        self.is_training = mode

    def eval(self):
        self.is_training = False

    def forward(self, x):
        if not self.is_training or self.p == 0:
            return x
        if self.p == 1:
            return x * torch.zeros_like(x)
        keep = (torch.rand(x.shape, dtype=x.dtype) >= self.p).to(x.dtype)
        return x * keep / (1 - self.p)
