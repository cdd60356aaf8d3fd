"""No 1/(1-p) scaling in training (vanilla dropout's training pass, with eval the identity)

function: Dropout
mistake: dropout.no_rescale
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
        return x * keep
