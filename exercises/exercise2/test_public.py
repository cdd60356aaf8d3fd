"""Public tests of exercise2: weight decay (L2 and L1 regularization).

Run them with `grade exercise2`. Every input is made here from a fixed seed, and each
value is compared with the contract's answer; when yours equals what a common mistake
produces on these inputs, the message names the mistake. The gradients are also checked
against a numerical gradient (central differences, float64) of your own penalty
functions, to tell whether the penalty or its gradient is wrong.

The contract ("0.5 * lambda * sum(W**2)", the usual textbook form): the L2 penalty has a 0.5,
so its gradient is exactly lam * W; one SGD step with weight decay is
W <- W - lr * (dW + weight_decay * W), which is what torch.optim.SGD(weight_decay=...)
does; biases are not decayed.
"""
import numpy as np
import pytest

from grader.checks import (GRAD_TOL, CheckFailed, as_array, assert_close, check_backward, describe,
                           directional_gradient, fail, keeps_points, matches, numerical_gradient,
                           relative_error, seeded)
from grader.sandbox.proxy import InputModified, StudentError, StudentTimeout

# ------------------------------------------------------------------------------ inputs


def weight_list(seed, shapes):
    rng = seeded(seed)
    return [rng.normal(0.0, 1.5, size=s) for s in shapes]


def with_zeros(seed, shape):
    """Weights with exact zeros (every third entry): the L1 subgradient at 0 must be 0.
    The other entries stay away from 0 (|w| >= 0.1), so a numerical gradient with step
    1e-5 never crosses the kink of |w|."""
    rng = seeded(seed)
    W = rng.uniform(0.1, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    W.flat[::3] = 0.0
    return W


SHAPES = [(6, 4), (4, 3), (3, 2)]  # a small MLP's weights: different, non-square shapes

# --------------------------------------------------------------------- result checking


def as_number(value, fn):
    """A penalty is one number: a float (numpy scalars and 0-d arrays are accepted too)."""
    if isinstance(value, (bool, np.bool_)) or not (
            isinstance(value, (int, float, np.integer, np.floating))
            or (type(value) is np.ndarray and value.shape == () and value.dtype.kind in "fiu")):
        if (type(value) is np.ndarray and value.size > 1) or isinstance(value, (list, tuple)):
            fail(f"{fn} must return one number, the sum over every array in weights; it returned "
                 f"{describe(value)}: add the arrays' sums together into one float")
        fail(f"{fn} must return a float; it returned {describe(value)}")
    number = float(value)
    if not np.isfinite(number):
        fail(f"{fn} returned {number}: look for an overflow or a division by zero")
    return np.float64(number)


def penalty(student, fn, weights, lam):
    return as_number(getattr(student, fn)(weights, lam), fn)


def own_numeric(student, forward, W, lam):
    """The numerical gradient of the student's own penalty of [W]; None if it fails."""
    try:
        many = lambda ws: [as_number(r, forward) for r in getattr(student, forward).many([([w], lam) for w in ws])]
        return numerical_gradient(None, W, np.float64(1.0), many=many)
    except StudentTimeout:
        raise
    except (StudentError, CheckFailed):
        return None  # the penalty itself raised or is not a number: judge the gradient alone


def own_gradient(student, forward, W, lam):
    """A callable: the gradient of the student's own penalty of [W] along a few random
    directions (`directional_gradient`, 12 calls in one round trip); None if the penalty fails.
    (Central differences at an exact zero of W give 0 in every direction, the L1 subgradient;
    the other entries of the test weights are at least 0.1 from 0, far beyond the step.)"""
    def compute():
        try:
            many = lambda ws: [as_number(r, forward) for r in getattr(student, forward).many([([w], lam) for w in ws])]
            return directional_gradient(W, np.float64(1.0), many)
        except StudentTimeout:
            raise
        except (StudentError, CheckFailed):
            return None
    return compute


def grad_value(student, reference, fn, forward, W, lam, mistakes):
    """dW against the reference; a dW that is the exact gradient of the student's own (wrong)
    penalty keeps its points, with a note naming the penalty (one mistake, one deduction)."""
    dW, expected = getattr(student, fn)(W, lam), getattr(reference, fn)(W, lam)
    dW = as_array(dW, fn, "dW", shape=np.shape(expected))
    if keeps_points(dW, expected, own_gradient(student, forward, W, lam), fn=fn, wrt="dW", forward=forward):
        return
    assert_close(dW, expected, fn=fn, name="dW", rtol=1e-9, mistakes=mistakes)


def gradient_check(analytic, expected, numeric, *, fn, forward, mistakes):
    """check_backward, naming a known mistake when the gradient is wrong and does not match
    the numerical gradient of the student's own penalty either."""
    analytic = as_array(analytic, fn, "dW", shape=np.shape(expected))
    consistent = numeric is not None and relative_error(analytic, numeric) <= GRAD_TOL
    if not matches(analytic, expected) and not consistent:
        for message, wrong in mistakes.items():
            if matches(analytic, wrong):
                fail(f"{fn}: {message} (a numerical gradient of your {forward} disagrees too)")
    check_backward(analytic, expected=expected, own_numeric=numeric, fn=fn, wrt="dW", forward=forward)


# ------------------------------------------------------------------ mistakes, by value


def l2_penalty_mistakes(weights, lam):
    sq = [np.sum(W ** 2) for W in weights]
    return {
        "your penalty is lam * sum(W**2), twice the contract: the L2 penalty is "
        "0.5 * lam * sum(W**2). The 0.5 makes its gradient exactly lam * W (a penalty "
        "lambda * sum(w^2) without the 0.5 has gradient 2 * lambda * w)": lam * sum(sq),
        "lam is missing: the penalty is 0.5 * lam * sum(W**2)": 0.5 * sum(sq),
        "lam / 2 was applied twice (0.25 * lam * sum(W**2)): the penalty is 0.5 * lam * sum(W**2)":
            0.25 * lam * sum(sq),
        "only the first array was counted: sum the squares of every W in weights": 0.5 * lam * sq[0],
        "only the last array was counted: add each array's sum to a running total instead of "
        "overwriting it": 0.5 * lam * sq[-1],
        "you averaged the squares (np.mean); the penalty sums them: 0.5 * lam * sum(W**2)":
            0.5 * lam * sum(np.mean(W ** 2) for W in weights),
        "you used the norm ||W||, not its square: the penalty is 0.5 * lam * sum(W**2)":
            0.5 * lam * sum(np.sqrt(s) for s in sq),
        "you squared the sum of the weights, (sum W)^2; square each weight, then sum: sum(W**2)":
            0.5 * lam * sum(np.sum(W) ** 2 for W in weights),
        "that is the L1 penalty (absolute values); L2 squares the weights: 0.5 * lam * sum(W**2)":
            lam * sum(np.sum(np.abs(W)) for W in weights),
    }


def l1_penalty_mistakes(weights, lam):
    ab = [np.sum(np.abs(W)) for W in weights]
    return {
        "you squared the weights: that is the L2 penalty. L1 sums absolute values: "
        "lam * sum(|W|)": lam * sum(np.sum(W ** 2) for W in weights),
        "you squared the weights and kept a 0.5: that is the L2 penalty. L1 sums absolute "
        "values: lam * sum(|W|)": 0.5 * lam * sum(np.sum(W ** 2) for W in weights),
        "you squared the sum of absolute values; the L1 penalty is lam * sum(|W|), not squared":
            lam * sum(a ** 2 for a in ab),
        "the absolute value is missing: negative weights cancel positive ones. The L1 penalty is "
        "lam * sum(|W|)": lam * sum(np.sum(W) for W in weights),
        "your penalty is 0.5 * lam * sum(|W|): the 0.5 belongs to the L2 penalty; L1 is "
        "lam * sum(|W|)": 0.5 * lam * sum(ab),
        "lam is missing: the penalty is lam * sum(|W|)": sum(ab),
        "only the first array was counted: sum |W| over every W in weights": lam * ab[0],
        "only the last array was counted: add each array's sum to a running total instead of "
        "overwriting it": lam * ab[-1],
        "you averaged (np.mean); the penalty sums: lam * sum(|W|)":
            lam * sum(np.mean(np.abs(W)) for W in weights),
    }


FACTOR_2 = ("your gradient is 2 * lam * W, twice the gradient of the penalty 0.5 * lam * "
            "sum(W**2). A penalty lambda * sum(w^2) without the 0.5 has gradient 2 * lambda * w; "
            "ours has a 0.5 so that the gradient is exactly lam * W")


def l2_grad_mistakes(W, lam):
    return {
        FACTOR_2: 2 * lam * W,
        "your gradient is lam / 2 * W: the 0.5 of the penalty cancels against the 2 from "
        "differentiating W**2, so the gradient is lam * W": 0.5 * lam * W,
        "the gradient has the wrong sign: d/dW of 0.5 * lam * sum(W**2) is +lam * W (the update "
        "then subtracts it, which shrinks the weights)": -lam * W,
        "lam is missing: the gradient is lam * W": W,
        "that is the L1 gradient lam * sign(W); the L2 gradient is lam * W": lam * np.sign(W),
        "that is the penalty of each weight, 0.5 * lam * W**2, not its derivative lam * W":
            0.5 * lam * W ** 2,
        "your gradient is lam * W**2; the derivative of 0.5 * lam * W**2 is lam * W": lam * W ** 2,
    }


SIGN0_PLUS = ("at W == 0 your gradient is +lam (np.where(W >= 0, 1, -1) or similar), but |W| has "
              "no slope there and the subgradient used is 0, as np.sign(0) == 0 (torch too): "
              "use lam * np.sign(W)")
SIGN0_MINUS = ("at W == 0 your gradient is -lam (np.where(W > 0, 1, -1) or similar), but the "
               "subgradient used at 0 is 0, as np.sign(0) == 0: use lam * np.sign(W)")


def l1_grad_mistakes(W, lam):
    return {
        SIGN0_PLUS: lam * np.where(W >= 0, 1.0, -1.0),
        SIGN0_MINUS: lam * np.where(W > 0, 1.0, -1.0),
        "that is the L2 gradient lam * W; the L1 gradient is lam * sign(W)": lam * W,
        "the gradient has the wrong sign: d|w|/dw = sign(w), so the gradient is +lam * sign(W)":
            -lam * np.sign(W),
        "lam is missing: the gradient is lam * sign(W)": np.sign(W),
        "that is lam * |W|, the penalty of each weight; its derivative is lam * sign(W)":
            lam * np.abs(W),
    }


def decay_mistakes(key, W, dW, lr, wd):
    return {
        f"{key} was not decayed: keys starting with 'W' are weights, and their step adds "
        "weight_decay * W to the gradient: W - lr * (dW + weight_decay * W)": W - lr * dW,
        f"the decay of {key} has the wrong sign (it makes the weights grow): "
        "W - lr * (dW + weight_decay * W) = (1 - lr * weight_decay) * W - lr * dW":
            W - lr * (dW - wd * W),
        f"the decay of {key} has a factor 2 (2 * weight_decay * W, from a penalty "
        "lambda * sum(w^2) without the 0.5); here weight_decay is the coefficient of the gradient, as in "
        "torch.optim.SGD: W - lr * (dW + weight_decay * W)": W - lr * (dW + 2 * wd * W),
        f"the decay of {key} is weight_decay / 2 * W; the step is "
        "W - lr * (dW + weight_decay * W)": W - lr * (dW + 0.5 * wd * W),
        f"the decay of {key} is not multiplied by the learning rate: the step is "
        "W - lr * (dW + weight_decay * W), i.e. W shrinks by the factor (1 - lr * weight_decay)":
            W - lr * dW - wd * W,
        f"{key} moved uphill: gradient descent subtracts the gradient, "
        "W - lr * (dW + weight_decay * W)": W + lr * (dW + wd * W),
        f"{key} took the decay but not the loss gradient dW: W - lr * (dW + weight_decay * W)":
            W - lr * wd * W,
    }


def plain_mistakes(key, b, db, lr, wd):
    return {
        f"you decayed {key} too: weight decay applies to weights only (keys starting with 'W'); "
        f"every other key, like a bias, takes a plain step {key} - lr * d{key}. A bias does not "
        "make the model more complex, so it is not regularized": b - lr * (db + wd * b),
        f"{key} moved uphill: gradient descent subtracts the gradient, {key} - lr * d{key}":
            b + lr * db,
        f"{key} was not updated: every parameter takes a step {key} - lr * d{key}": b,
    }


# ----------------------------------------------------------------------------- l2_penalty


@pytest.mark.points(2)
def test_l2_penalty_value(student, reference):
    """l2_penalty: 0.5 * lam * sum(W**2) over arrays of different shapes, as a float"""
    for seed, lam in [(1, 0.3), (2, 2.5)]:
        weights = weight_list(seed, SHAPES)
        assert_close(penalty(student, "l2_penalty", weights, lam),
                     reference.l2_penalty(weights, lam), fn="l2_penalty", name="the penalty",
                     rtol=1e-9, mistakes=l2_penalty_mistakes(weights, lam))


# -------------------------------------------------------------------------------- l2_grad


@pytest.mark.points(2)
def test_l2_grad_value(student, reference):
    """l2_grad: the gradient of the L2 penalty is lam * W"""
    for seed, shape, lam in [(3, (6, 4), 0.3), (4, (3, 7), 2.5)]:
        W = weight_list(seed, [shape])[0]
        grad_value(student, reference, "l2_grad", "l2_penalty", W, lam, l2_grad_mistakes(W, lam))


@pytest.mark.points(1)
def test_l2_grad_matches_numerical_gradient(student, reference):
    """l2_grad: matches a numerical gradient of l2_penalty (float64)"""
    W, lam = weight_list(5, [(6, 4)])[0], 0.7
    analytic = student.l2_grad(W, lam)
    gradient_check(analytic, reference.l2_grad(W, lam), own_numeric(student, "l2_penalty", W, lam),
                   fn="l2_grad", forward="l2_penalty", mistakes=l2_grad_mistakes(W, lam))


# ----------------------------------------------------------------------------- l1_penalty


@pytest.mark.points(2)
def test_l1_penalty_value(student, reference):
    """l1_penalty: lam * sum(|W|) over arrays of different shapes, as a float"""
    for seed, lam in [(6, 0.3), (7, 2.5)]:
        weights = weight_list(seed, SHAPES)
        assert_close(penalty(student, "l1_penalty", weights, lam),
                     reference.l1_penalty(weights, lam), fn="l1_penalty", name="the penalty",
                     rtol=1e-9, mistakes=l1_penalty_mistakes(weights, lam))


# -------------------------------------------------------------------------------- l1_grad


@pytest.mark.points(2)
def test_l1_grad_value(student, reference):
    """l1_grad: lam * sign(W), and 0 where W == 0"""
    for seed, shape, lam in [(8, (6, 4), 0.3), (9, (3, 7), 2.5)]:
        W = with_zeros(seed, shape)
        grad_value(student, reference, "l1_grad", "l1_penalty", W, lam, l1_grad_mistakes(W, lam))


@pytest.mark.points(1)
def test_l1_grad_matches_numerical_gradient(student, reference):
    """l1_grad: matches a numerical gradient of l1_penalty (float64, exact zeros included)"""
    # At an exact 0 the central difference (|h| - |-h|) / 2h is 0, the subgradient we use.
    W, lam = with_zeros(10, (6, 4)), 0.7
    analytic = student.l1_grad(W, lam)
    gradient_check(analytic, reference.l1_grad(W, lam), own_numeric(student, "l1_penalty", W, lam),
                   fn="l1_grad", forward="l1_penalty", mistakes=l1_grad_mistakes(W, lam))


# ------------------------------------------------------------------------------- sgd_step


def mlp_params(seed, keys):
    rng = seeded(seed)
    shapes = {"W1": (4, 3), "b1": (3,), "W2": (3, 2), "b2": (2,),
              "gamma1": (3,), "beta1": (3,)}
    params = {k: rng.normal(size=shapes[k]) for k in keys}
    grads = {k: rng.normal(size=shapes[k]) for k in keys}
    return params, grads


def check_step(student, reference, params, grads, lr, wd):
    new = student.sgd_step(params, grads, lr, wd)
    if not isinstance(new, dict):
        fail(f"sgd_step must return a new dict of updated arrays; it returned {describe(new)}")
    if set(new) != set(params):
        missing, extra = sorted(set(params) - set(new)), sorted(set(new) - set(params))
        fail("sgd_step must return a dict with the keys of params"
             + (f"; missing {missing}" if missing else "") + (f"; unexpected {extra}" if extra else ""))
    expected = reference.sgd_step(params, grads, lr, wd)
    for key in params:
        if key.startswith("W"):
            wrong = decay_mistakes(key, params[key], grads[key], lr, wd)
        else:
            wrong = plain_mistakes(key, params[key], grads[key], lr, wd)
        assert_close(new[key], expected[key], fn="sgd_step", name=f"the new {key}", rtol=1e-9,
                     mistakes=wrong)


@pytest.mark.points(3)
def test_sgd_step_values(student, reference):
    """sgd_step: W - lr * (dW + weight_decay * W) for weights, b - lr * db for biases"""
    params, grads = mlp_params(11, ["W1", "b1", "W2", "b2"])
    check_step(student, reference, params, grads, lr=0.1, wd=0.3)


@pytest.mark.points(1)
def test_sgd_step_only_w_keys_decay(student, reference):
    """sgd_step: only keys starting with "W" decay (batch-norm gamma and beta do not)"""
    params, grads = mlp_params(12, ["W1", "gamma1", "beta1", "b1", "W2", "b2"])
    check_step(student, reference, params, grads, lr=0.05, wd=0.5)


@pytest.mark.points(1)
def test_sgd_step_leaves_inputs_unchanged(student):
    """sgd_step: returns a new dict; params and grads are left unchanged"""
    # The grader compares params and grads before and after the call: an update in place
    # (W -= ..., or grads[k] += weight_decay * W) fails here with a message that says so.
    params, grads = mlp_params(13, ["W1", "b1", "W2", "b2"])
    try:
        new = student.sgd_step(params, grads, 0.1, 0.3)
    except InputModified as exc:
        fail(f"{exc}. Build a new dict of new arrays, new[k] = params[k] - lr * (...): a copy of "
             "the dict (params.copy(), dict(params)) still holds the caller's arrays, so "
             "new[k] -= ... or grads[k] += ... changes them in place")
    if not isinstance(new, dict) or set(new) != set(params):
        fail(f"sgd_step must return a new dict with the keys of params; it returned {describe(new)}")
    stale = [k for k in params if matches(new[k], params[k], rtol=0, atol=0)]
    if stale:
        fail(f"sgd_step returned {stale} unchanged: every parameter takes a step")
