"""Gradient checks: the analytic backward against central differences, in float64.

Relative error is norm-wise, ||a - n|| / (||a|| + ||n||), with tolerance 1e-6 (NUMERICS.md:
correct batch/layer norm code peaks near 1e-9 over 5000 seeds; every buggy backward
measured was at or above 2.4e-3). The element-wise max-relative error (cs231n's
rel_error) reaches 3.5e-5 on correct code, so it is never used to fail anyone.
"""

from __future__ import annotations

import numpy as np

from grader.checks.arrays import as_array, fail
from grader.checks.notes import note, noted

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


# The directional check: k random directions v (standard normal entries, so each coordinate
# moves by about h, as in the element-wise check), and for each the central difference
# sum(dout * (f(x + h v) - f(x - h v))) / (2h) against <analytic, v>, compared norm-wise
# over the k directions with the same GRAD_TOL.
# - A backward that IS the gradient of f: each difference carries the same truncation and
#   rounding error as one element of the full numerical gradient (h = 1e-5, float64), so the
#   norm-wise error stays near 1e-9 as in NUMERICS.md (for dropout f is linear given its mask
#   and only rounding remains).
# - A backward that is NOT: with e = analytic - grad f, each <e, v> ~ N(0, ||e||^2). Every buggy
#   backward measured had ||e|| >= 2.4e-3 (||a|| + ||n||); passing 1e-6 would need all k
#   projections below ~4e-4 of their standard deviation: probability <= (4e-4)^k, 4e-21 for k = 6.
DIRECTIONS = 6
_NOTED_WRTS: dict = {}  # per note key: the gradients it names (valid while the note is there)


class DirectionalGradient:
    """Directional derivatives of sum(dout * f(x)): `derivatives[k]` along `directions[k]`."""

    def __init__(self, directions: np.ndarray, derivatives: np.ndarray):
        self.directions, self.derivatives = directions, derivatives

    def project(self, g) -> np.ndarray:
        """<g, v_k> for every direction."""
        g = np.asarray(g, dtype=np.float64)
        return np.array([float(np.sum(g * v)) for v in self.directions])


def directional_gradient(x, dout, many, *, k: int = DIRECTIONS, h: float = STEP,
                         seed: int = 12345) -> DirectionalGradient:
    """The gradient of the student's own forward pass along k random directions, in float64.

    `many(list_of_x) -> list_of_outputs` evaluates the forward pass at all 2k points in one
    round trip (a random forward must get a fresh generator with the same seed on every call,
    so that each point replays the same mask). Cost: 2k calls whatever the size of x.
    """
    x = np.array(x, dtype=np.float64)
    dout = np.asarray(dout, dtype=np.float64)
    directions = np.random.default_rng(seed).standard_normal((k, *x.shape))
    points = [x + s * h * v for v in directions for s in (1, -1)]
    sums = [float(np.sum(np.asarray(out, dtype=np.float64) * dout)) for out in many(points)]
    return DirectionalGradient(directions, (np.array(sums[0::2]) - np.array(sums[1::2])) / (2 * h))


def _own(analytic, expected, own):
    """(relative error of analytic against the own-forward gradient, whether that gradient is
    (near) zero while the true one is not), for a full numerical gradient or a directional one."""
    if isinstance(own, DirectionalGradient):
        a, n, e = own.project(analytic), own.derivatives, own.project(expected)
    else:
        a, n, e = analytic, own, expected
    n_norm, e_norm = float(np.linalg.norm(n)), float(np.linalg.norm(e))
    return relative_error(a, n), n_norm <= GRAD_TOL * e_norm


def keeps_points(analytic, expected, own, *, fn: str, wrt: str, forward: str) -> bool:
    """Whether a gradient `analytic` that is not `expected` is the exact gradient of the
    student's own (wrong) forward pass, `own` (see `check_backward`), whose gradient is not
    (near) zero. If so, record a note that names the forward pass: the caller passes the test.
    `own` may be a callable that computes it (called only here)."""
    analytic = np.asarray(analytic, dtype=np.float64)
    if relative_error(analytic, expected) <= GRAD_TOL:
        return False
    own = own() if callable(own) else own
    if own is None:
        return False
    own_err, own_zero = _own(analytic, expected, own)
    if own_err > GRAD_TOL or own_zero:
        return False
    # one note per forward pass, naming each gradient (dx, dgamma, ...) that it explains
    key = ("exact gradient", fn, forward)
    wrts = _NOTED_WRTS[key] = [*(_NOTED_WRTS.get(key, []) if noted(key) else []), wrt]
    wrts = list(dict.fromkeys(wrts))
    names = wrts[0] if len(wrts) == 1 else ", ".join(wrts[:-1]) + " and " + wrts[-1]
    note(f"{names} {'is the exact gradient' if len(wrts) == 1 else 'are the exact gradients'} of your {forward}, which is "
         f"wrong: fix {forward} (this test keeps its points: {fn} is right for the {forward} you wrote)",
         key=key)
    return True


def check_backward(analytic, *, expected, own_numeric, fn: str, wrt: str, forward: str) -> None:
    """Pass when the student's gradient matches `expected` (the true gradient).

    When it does not, compare it with the gradient of the student's own forward pass
    (`own_numeric`: a full numerical gradient, a `DirectionalGradient`, or None where it was
    not computed). One mistake, one deduction (SPEC.md): a backward that is the exact gradient
    of a wrong forward keeps its points, with a note that names the forward, unless that
    forward's gradient is (near) zero while the true one is not (a forward that ignores x
    would make any zero backward "consistent").
    """
    analytic = as_array(analytic, fn, wrt, shape=np.shape(expected))
    err = relative_error(analytic, expected)
    if err <= GRAD_TOL:
        return
    if callable(own_numeric):  # computed only now that it is needed
        own_numeric = own_numeric()
    if own_numeric is None:
        fail(f"{fn}: {wrt} is wrong (relative error {err:.2g} against the correct gradient; "
             f"tolerance {GRAD_TOL:g}): differentiate each step of {forward} and apply the chain rule")
    if keeps_points(analytic, expected, own_numeric, fn=fn, wrt=wrt, forward=forward):
        return
    own_err, own_zero = _own(analytic, expected, own_numeric)
    if own_err <= GRAD_TOL and own_zero:
        fail(f"{fn}: {wrt} matches the numerical gradient of your own {forward}, but that gradient "
             f"is zero: your {forward} does not depend on its input as it must, so {wrt} is wrong "
             f"too (relative error {err:.2g} against the correct gradient): fix {forward} first")
    fail(f"{fn}: {wrt} is wrong (relative error {err:.2g} against the correct gradient; "
         f"tolerance {GRAD_TOL:g}). It does not match a numerical gradient of your {forward} "
         "either, so the mistake is in the backward pass: differentiate each step of the "
         "forward pass and apply the chain rule")
