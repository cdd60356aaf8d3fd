"""Gradient checks: the analytic backward against central differences, in float64.

Relative error is norm-wise, ||a - n|| / (||a|| + ||n||), with tolerance 1e-6 (NUMERICS.md:
correct batch/layer norm code peaks near 1e-9 over 5000 seeds; every buggy backward
measured was at or above 2.4e-3). The element-wise max-relative error (cs231n's
rel_error) reaches 3.5e-5 on correct code, so it is never used to fail anyone.
"""

from __future__ import annotations

import copy

import numpy as np

from grader.checks.arrays import CheckFailed, as_array, fail
from grader.checks.context import function_under_test
from grader.checks.mistakes import mistake
from grader.checks.notes import note, noted
from grader.i18n import _

# Mistakes of any backward pass; an exercise's own are catalogued in its tests.
WRONG_GRADIENT = mistake("backward.wrong_gradient", "the backward pass does not give the gradient of the forward pass")
CONSTANT_FORWARD = mistake("backward.constant_forward", "the forward pass does not depend on its input")
NOT_SUMMED = mistake("backward.not_summed_over_batch", "a shared parameter's gradient must sum over the batch")

GRAD_TOL = 1e-6
STEP = 1e-5


def relative_error(a, n) -> float:
    a, n = np.asarray(a, dtype=float), np.asarray(n, dtype=float)
    denom = np.linalg.norm(a) + np.linalg.norm(n)
    return 0.0 if denom == 0 else float(np.linalg.norm(a - n) / denom)


def numerical_gradient(f, x: np.ndarray, dout: np.ndarray, h: float = STEP, *, many=None) -> np.ndarray:
    """d/dx of sum(f(x) * dout) by central differences; `f` may be the student's forward.

    `many(list_of_x) -> list_of_outputs`, where given, evaluates all 2 * x.size points at
    once (built on `student.<function>.each`: one round trip to the sandbox instead of one per
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

    @classmethod
    def from_sums(cls, directions: np.ndarray, sums: list[float], h: float) -> "DirectionalGradient":
        """From sum(dout * f) at x + h v and x - h v for each direction v, in that order."""
        return cls(directions, (np.array(sums[0::2]) - np.array(sums[1::2])) / (2 * h))

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
    dout = np.asarray(dout, dtype=np.float64)
    directions, points = _directional_points(x, h, k=k, seed=seed)
    sums = [float(np.sum(np.asarray(out, dtype=np.float64) * dout)) for out in many(points)]
    return DirectionalGradient.from_sums(directions, sums, h)


def _directional_points(x, h: float, *, k: int = DIRECTIONS, seed: int = 12345):
    """k random directions v (standard normal entries) and the 2k points x + h v, x - h v."""
    x = np.array(x, dtype=np.float64)
    directions = np.random.default_rng(seed).standard_normal((k, *x.shape))
    return directions, [x + s * h * v for v in directions for s in (1, -1)]


def _own(analytic, expected, own):
    """(relative error of analytic against the own-forward gradient, whether that gradient is
    (near) zero while the true one is not), for a full numerical gradient or a directional one."""
    if isinstance(own, DirectionalGradient):
        a, n, e = own.project(analytic), own.derivatives, own.project(expected)
    else:
        a, n, e = analytic, own, expected
    n_norm, e_norm = float(np.linalg.norm(n)), float(np.linalg.norm(e))
    return relative_error(a, n), n_norm <= GRAD_TOL * e_norm


def keeps_points(analytic, expected, own, *, fn: str | None = None, wrt: str, forward: str) -> bool:
    """Whether a gradient `analytic` that is not `expected` is the exact gradient of the
    student's own (wrong) forward pass, `own` (see `check_backward`), whose gradient is not
    (near) zero. If so, record a note that names the forward pass: the caller passes the test.
    `own` may be a callable that computes it (called only here). `fn`: the backward function
    (default: the function under test)."""
    fn = fn or function_under_test()
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
    if len(wrts) == 1:
        text = _("{names} is the exact gradient of your {forward}, which is wrong: fix {forward} (this test keeps "
                 "its points: {fn} is right for the {forward} you wrote)", names=wrts[0], forward=forward, fn=fn)
    else:
        text = _("{names} and {last} are the exact gradients of your {forward}, which is wrong: fix {forward} (this "
                 "test keeps its points: {fn} is right for the {forward} you wrote)", names=", ".join(wrts[:-1]),
                 last=wrts[-1], forward=forward, fn=fn)
    note(text, key=key)
    return True


def check_backward(analytic, *, expected, own_numeric, fn: str | None = None, wrt: str, forward: str) -> None:
    """Pass when the student's gradient matches `expected` (the true gradient).

    When it does not, compare it with the gradient of the student's own forward pass
    (`own_numeric`: a full numerical gradient, a `DirectionalGradient`, or None where it was
    not computed). One mistake, one deduction (SPEC.md): a backward that is the exact gradient
    of a wrong forward keeps its points, with a note that names the forward, unless that
    forward's gradient is (near) zero while the true one is not (a forward that ignores x
    would make any zero backward "consistent"). `fn`: the backward function (default: the
    function under test).
    """
    fn = fn or function_under_test()
    analytic = as_array(analytic, fn, wrt, shape=np.shape(expected))
    err = relative_error(analytic, expected)
    if err <= GRAD_TOL:
        return
    if callable(own_numeric):  # computed only now that it is needed
        own_numeric = own_numeric()
    if own_numeric is None:
        fail("{fn}: {wrt} is wrong (relative error {err} against the correct gradient; tolerance {tol}): "
             "differentiate each step of {forward} and apply the chain rule", fn=fn, wrt=wrt, err=f"{err:.2g}",
             tol=f"{GRAD_TOL:g}", forward=forward, mistake=WRONG_GRADIENT)
    if keeps_points(analytic, expected, own_numeric, fn=fn, wrt=wrt, forward=forward):
        return
    own_err, own_zero = _own(analytic, expected, own_numeric)
    if own_err <= GRAD_TOL and own_zero:
        fail("{fn}: {wrt} matches the numerical gradient of your own {forward}, but that gradient is zero: "
             "your {forward} does not depend on its input as it must, so {wrt} is wrong too (relative error "
             "{err} against the correct gradient): fix {forward} first", fn=fn, wrt=wrt, forward=forward,
             err=f"{err:.2g}", mistake=CONSTANT_FORWARD)
    fail("{fn}: {wrt} is wrong (relative error {err} against the correct gradient; tolerance {tol}). It does "
         "not match a numerical gradient of your {forward} either, so the mistake is in the backward pass: "
         "differentiate each step of the forward pass and apply the chain rule", fn=fn, wrt=wrt,
         err=f"{err:.2g}", tol=f"{GRAD_TOL:g}", forward=forward, mistake=WRONG_GRADIENT)


class GradCheck:
    """What `gradcheck` saw: the forward pass's `out` and `cache`, and the gradients by name."""

    def __init__(self, out, cache, grads: dict):
        self.out, self.cache, self.grads = out, cache, grads


def gradcheck(forward, backward, args, *, wrt, dout, expected=None, mistakes=None, steps=None,
              forward_expected=None, forward_label: str | None = None,
              forward_returns=None, oracle=None) -> GradCheck:
    """Grade a backward pass, the whole sequence once (SPEC.md, one mistake, one deduction):

    1. the student's `forward(*args)` (its error, if it raises, says the backward could not
       be checked), then `backward(dout, cache)`, each result's tuple and shapes validated;
    2. each gradient d<name> for name in `wrt` (parameter names of the forward pass, in the
       order the backward returns them) against `expected` (a tuple in that order, or a
       callable of the student's `out` returning it, which may itself `fail`);
    3. a gradient that is wrong: the gradient of the student's OWN forward pass is computed
       (along a few random directions, all wrong gradients in one round trip; random draws
       replayed from the generators' states before the forward call). A gradient that is
       exactly that keeps its points, with a note naming the forward pass; otherwise the
       first of `mistakes[name]` ({Mistake: the value it gives, or a predicate}, or a callable
       of `out` returning such a dict per name) that matches names the mistake; otherwise the
       message says whether the backward pass is to blame.
    `forward_expected`: the correct forward output (or a callable of `out`), so that a message can add
    that the forward pass is wrong too. `steps`: the finite-difference step per name.
    `oracle`: the reference solution (the `reference` fixture), instead of `expected` and
    `forward_expected`: its forward pass on copies of `args`, then its backward pass on its cache.
    """
    from grader.checks.calls import Call, array, bound_arguments
    name_f, name_b = forward.__name__, backward.__name__
    label = forward_label or name_f
    call = args if isinstance(args, Call) else Call(tuple(args), {})
    signature = forward.submission.signatures[name_f]
    bound = bound_arguments(forward, call)
    wrt = (wrt,) if isinstance(wrt, str) else tuple(wrt)
    pristine = copy.deepcopy(bound)  # before the call: generators and running statistics as given
    if (expected is None) == (oracle is None):
        raise TypeError("gradcheck needs exactly one of expected= (the correct gradients) and oracle= (the "
                        "reference solution)")
    if oracle is not None:
        expected, forward_expected = _oracle_passes(oracle, name_f, name_b, call, dout)

    from grader.sandbox.proxy import StudentError
    try:
        out, cache = forward.each([call], returns=forward_returns or (array("out", like=signature.params[0].name),
                                                                      "cache"))[0]
    except StudentError as exc:
        if exc.exc_type is None or exc.not_implemented:  # the submission's problem, a crash, a stub:
            raise                                        # its own message says it all
        raise type(exc)(_("{backward} could not be checked: {forward} failed, so there is no cache to give "
                          "{backward}: fix {forward} first. {error}", backward=name_b, forward=name_f, error=exc),
                        not_implemented=exc.not_implemented,
                        exc_type=exc.exc_type) from None
    names = tuple(f"d{w}" for w in wrt)
    shapes = [np.shape(bound[w]) for w in wrt]
    raw = backward.each([(dout, cache)])[0]
    if len(wrt) > 1:
        from grader.checks.calls import expect
        raw = expect(raw, names, name_b)
    grads = dict(zip(names, (raw,) if len(wrt) == 1 else raw))
    for name, shape in zip(names, shapes):
        value = grads[name]
        if type(value) is np.ndarray and value.ndim == len(shape) + 1 and value.shape[1:] == shape:
            fail("{name} has shape {shape}; expected {expected}: {param} is shared by every sample, so its "
                 "gradient sums over the batch (axis 0)", fn=name_b, name=name, shape=value.shape,
                 expected=shape, param=name[1:], mistake=NOT_SUMMED)
        grads[name] = as_array(value, name_b, name, shape=shape)
    want = expected(out) if callable(expected) else expected
    want = dict(zip(names, (want,) if len(wrt) == 1 else want))
    wrong = [n for n in names if relative_error(grads[n], want[n]) > GRAD_TOL]
    if not wrong:
        return GradCheck(out, cache, grads)

    own = _own_gradients(forward, signature, pristine, [w for w, n in zip(wrt, names) if n in wrong],
                         dout, steps or {}, out.shape)
    named = mistakes(out) if callable(mistakes) else (mistakes or {})
    from grader.checks.arrays import matches, named_mistake
    if callable(forward_expected):
        forward_expected = forward_expected(out)
    forward_wrong = forward_expected is not None and not matches(out, forward_expected)
    fix_first = _("fix {forward} first", forward=label)
    also = _(". Note: your {forward} already gives wrong outputs on these inputs (see its tests), and {backward} "
             "works from its cache: {fix}", forward=label, backward=name_b, fix=fix_first) if forward_wrong else ""
    for name in wrong:
        if keeps_points(grads[name], want[name], own.get(name), fn=name_b, wrt=name, forward=label):
            continue
        found = named_mistake(grads[name], named.get(name),
                              close=lambda a, w: relative_error(a, w) <= GRAD_TOL)
        if found is not None:
            from grader.checks.mistakes import Mistake
            text = (str(found) if isinstance(found, Mistake) else _(str(found))) + also
            _raise_named(found, text, name_b)
        try:
            check_backward(grads[name], expected=want[name], own_numeric=own.get(name), fn=name_b,
                           wrt=name, forward=label)
        except AssertionError as exc:
            raise CheckFailed(_prefixed(f"{exc}{'' if fix_first in str(exc) else also}", name_b),
                              mistake=getattr(exc, "mistake", "")) from None
    return GradCheck(out, cache, grads)


def _oracle_passes(oracle, forward: str, backward: str, call, dout) -> tuple:
    """(the oracle's gradients, its forward output) for `call`, given copies of its arguments as
    they are before the student's forward pass (which may update some in place)."""
    out, cache = getattr(oracle, forward)(*copy.deepcopy(call.args), **copy.deepcopy(call.kwargs))
    return getattr(oracle, backward)(dout, cache), out


def _raise_named(found, text: str, fn: str):
    from grader.checks.mistakes import Mistake
    raise CheckFailed(_prefixed(text, fn), mistake=found.id if isinstance(found, Mistake) else "")


def _prefixed(text: str, fn: str) -> str:
    return text if text.startswith(fn) else f"{fn}: {text}"


def _own_gradients(forward, signature, pristine: dict, wrt: list[str], dout, steps: dict,
                   out_shape) -> dict:
    """{d<name>: DirectionalGradient or None} of the student's own forward pass, for each
    name in `wrt`, all 2k calls per name in one round trip; None where the forward failed."""
    from grader.checks.calls import array
    from grader.sandbox.proxy import StudentError, StudentTimeout
    params = [p.name for p in signature.params]
    plans, calls = [], []
    for w in wrt:
        h = steps.get(f"d{w}", STEP)
        directions, points = _directional_points(pristine[w], h)
        plans.append((w, directions, h, len(calls)))
        for moved in points:
            point = copy.deepcopy(pristine)
            point[w] = moved
            calls.append(tuple(point[p] for p in params if p in point))
    results = forward.each(calls, returns=(array("out", shape=out_shape), "cache"))
    own = {}
    for w, directions, h, start in plans:
        try:
            sums = [float(np.sum(results[start + i][0] * dout)) for i in range(2 * DIRECTIONS)]
        except StudentTimeout:
            raise
        except (StudentError, AssertionError):
            own[f"d{w}"] = None  # the forward pass fails on these points: nothing to compare with
            continue
        own[f"d{w}"] = DirectionalGradient.from_sums(directions, sums, h)
    return own
