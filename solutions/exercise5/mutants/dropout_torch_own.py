"""torch's own F.dropout instead of tensor operations (passes every behaviour, earns nothing)

function: Dropout
mistake: dropout.torch_own
"""
import torch.nn.functional as F
from torch import nn


class Dropout(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p

    def forward(self, x):
        return F.dropout(x, self.p, self.training)
