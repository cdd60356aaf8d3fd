"""Gradient checks: the analytic backward against central differences, in float64.

Relative error is norm-wise, ||a - n|| / (||a|| + ||n||), with tolerance 1e-6 (NUMERICS.md:
correct batch/layer norm code peaks near 1e-9 over 5000 seeds; every buggy backward
measured was at or above 2.4e-3). The element-wise max-relative error (cs231n's
rel_error) reaches 3.5e-5 on correct code, so it is never used to fail anyone.
"""

from __future__ import annotations

import numpy as np

from grader.checks.arrays import as_array, fail

GRAD_TOL = 1e-6
STEP = 1e-5


def relative_error(a, n) -> float:
    a, n = np.asarray(a, dtype=float), np.asarray(n, dtype=float)
    denom = np.linalg.norm(a) + np.linalg.norm(n)
    return 0.0 if denom == 0 else float(np.linalg.norm(a - n) / denom)


def numerical_gradient(f, x: np.ndarray, dout: np.ndarray, h: float = STEP, *, many=None) -> np.ndarray:
    """d/dx of sum(f(x) * dout) by central differences; `f` may be the student's forward.

    `many(list_of_x) -> list_of_outputs`, where given, evaluates all 2 * x.size points at
    once (with `student.<function>.many`, one round trip to the sandbox instead of one per
    point).
    """
    x = np.array(x, dtype=np.float64)
    points = []
    for i in np.ndindex(x.shape):
        for step in (h, -h):
            shifted = x.copy()
            shifted[i] += step
            points.append(shifted)
    outputs = many(points) if many is not None else [f(p) for p in points]
    sums = [np.sum(np.asarray(out) * dout) for out in outputs]
    return (np.array(sums[0::2]) - np.array(sums[1::2])).reshape(x.shape) / (2 * h)


def check_backward(analytic, *, expected, own_numeric, fn: str, wrt: str, forward: str) -> None:
    """Pass when the student's gradient matches `expected` (the true gradient).

    When it does not, say which side is wrong by comparing it with the numerical gradient
    of the student's own forward pass (`own_numeric`; None where the forward failed).
    """
    analytic = as_array(analytic, fn, wrt, shape=np.shape(expected))
    err = relative_error(analytic, expected)
    if err <= GRAD_TOL:
        return
    if own_numeric is not None and relative_error(analytic, own_numeric) <= GRAD_TOL:
        fail(f"{fn}: {wrt} matches the numerical gradient of your own {forward}, but {forward} "
             f"itself is wrong, so the gradient is too (relative error {err:.2g} against the "
             f"correct gradient): fix {forward} first")
    fail(f"{fn}: {wrt} is wrong (relative error {err:.2g} against the correct gradient; "
         f"tolerance {GRAD_TOL:g}). It does not match a numerical gradient of your {forward} "
         "either, so the mistake is in the backward pass: differentiate each step of the "
         "forward pass and apply the chain rule")
