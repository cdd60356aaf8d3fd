"""Helpers for the oracles next to each reference solution (`solutions/<id>/oracle.py`),
which compare the reference with torch in float64. Instructor-side only: torch is imported
by the functions that need it, never by the grading path.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np


def reference(oracle_file: str, module: str):
    """The reference solution `module`.py next to `oracle_file`, imported by path
    (solutions/ is no package)."""
    path = Path(oracle_file).with_name(f"{module}.py")
    spec = importlib.util.spec_from_file_location(f"_oracle_{path.parent.name}_{module}", path)
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


def tensor(a, grad: bool = False):
    """A float64 torch tensor of `a` (a leaf that records gradients with `grad`)."""
    import torch

    return torch.tensor(a, dtype=torch.float64, requires_grad=grad)


def close(actual, expected, rtol: float = 1e-10, atol: float = 1e-12) -> None:
    """`actual` equals `expected` (an array or a torch tensor) to float64 precision."""
    if hasattr(expected, "detach"):
        expected = expected.detach().numpy()
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)
