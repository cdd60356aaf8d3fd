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

from grader.checks import (GRAD_TOL, CheckFailed, InputModified, StudentError, StudentTimeout, array, as_scalar,
                           assert_close, check_backward, describe, directional_gradient, fail, keeps_points, matches,
                           mistake, named_mistake, numerical_gradient, relative_error, returned, seeded, tr)


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

def check_penalties(penalty, reference, cases, catalogue):
    """The penalty of each (seed, shapes, lam) case against the reference, in one round trip;
    a value that a catalogued mistake gives names it."""
    inputs = [(weight_list(seed, shapes), lam) for seed, shapes, lam in cases]
    for (weights, lam), value in zip(inputs, penalty.each(inputs)):
        assert_close(np.float64(as_scalar(value, name="the penalty")), reference(weights, lam), name="the penalty",
                     rtol=1e-9, mistakes=catalogue(weights, lam))


def own_gradient(penalty, W, lam, *, full=False):
    """A callable: the gradient of the student's own penalty of [W] (central differences in
    float64, one round trip) along 6 random directions or, `full`, element by element; None
    where the penalty fails. (At an exact zero of W central differences give 0 in every
    direction, the L1 subgradient; the other test weights are >= 0.1 from 0, beyond the step.)"""
    def many(points):
        return [as_scalar(r, penalty.__name__, "the penalty") for r in penalty.each([([w], lam) for w in points])]

    def compute():
        try:
            return numerical_gradient(None, W, 1.0, many=many) if full else directional_gradient(W, 1.0, many)
        except StudentTimeout:
            raise
        except (StudentError, CheckFailed):
            return None  # the penalty itself raised or is not a number: judge the gradient alone
    return compute


def check_grad_values(grad, reference, penalty, cases, catalogue):
    """dW of each (W, lam) against the reference, in one round trip. A dW that is the exact
    gradient of the student's own (wrong) penalty keeps its points, with a note naming the
    penalty (one mistake, one deduction)."""
    for (W, lam), dW in zip(cases, grad.each(cases, returns=array("dW", like="W"))):
        expected = reference(W, lam)
        if not keeps_points(dW, expected, own_gradient(penalty, W, lam), wrt="dW", forward=penalty.__name__):
            assert_close(dW, expected, name="dW", rtol=1e-9, mistakes=catalogue(W, lam))


def check_numerical(grad, reference, penalty, W, lam, catalogue):
    """dW against a full numerical gradient of the student's own penalty (check_backward: one
    mistake, one deduction), naming a catalogued mistake where dW disagrees with both."""
    dW, expected = returned(grad(W, lam), array("dW", shape=W.shape)), reference(W, lam)
    if relative_error(dW, expected) <= GRAD_TOL:
        return  # right: no numerical gradient needed
    own = own_gradient(penalty, W, lam, full=True)()
    if own is None or relative_error(dW, own) > GRAD_TOL:
        found = named_mistake(dW, catalogue(W, lam))
        if found:
            if own is not None:
                fail("{mistake} (a numerical gradient of your {penalty} disagrees too)", mistake=found,
                     penalty=penalty.__name__)
            fail(found)
    check_backward(dW, expected=expected, own_numeric=own, wrt="dW", forward=penalty.__name__)


# ------------------------------------------------------------------ mistakes, by value

def l2_penalty_mistakes(weights, lam):
    sq = [np.sum(W ** 2) for W in weights]
    return {
        mistake("decay.l2_penalty_factor_2"): lam * sum(sq),
        mistake("decay.l2_penalty_no_lam"): 0.5 * sum(sq),
        mistake("decay.l2_penalty_half_twice"): 0.25 * lam * sum(sq),
        mistake("decay.l2_penalty_first_only"): 0.5 * lam * sq[0],
        mistake("decay.l2_penalty_last_only"): 0.5 * lam * sq[-1],
        mistake("decay.l2_penalty_mean"): 0.5 * lam * sum(np.mean(W ** 2) for W in weights),
        mistake("decay.l2_penalty_norm"): 0.5 * lam * sum(np.sqrt(s) for s in sq),
        mistake("decay.l2_penalty_square_of_sum"): 0.5 * lam * sum(np.sum(W) ** 2 for W in weights),
        mistake("decay.l2_penalty_is_l1"): lam * sum(np.sum(np.abs(W)) for W in weights),
    }


def l1_penalty_mistakes(weights, lam):
    ab = [np.sum(np.abs(W)) for W in weights]
    return {
        mistake("decay.l1_penalty_squared"): lam * sum(np.sum(W ** 2) for W in weights),
        mistake("decay.l1_penalty_is_l2"): 0.5 * lam * sum(np.sum(W ** 2) for W in weights),
        mistake("decay.l1_penalty_squared_sum"): lam * sum(a ** 2 for a in ab),
        mistake("decay.l1_penalty_no_abs"): lam * sum(np.sum(W) for W in weights),
        mistake("decay.l1_penalty_half"): 0.5 * lam * sum(ab),
        mistake("decay.l1_penalty_no_lam"): sum(ab),
        mistake("decay.l1_penalty_first_only"): lam * ab[0],
        mistake("decay.l1_penalty_last_only"): lam * ab[-1],
        mistake("decay.l1_penalty_mean"): lam * sum(np.mean(np.abs(W)) for W in weights),
    }


def l2_grad_mistakes(W, lam):
    return {
        mistake("decay.l2_grad_factor_2"): 2 * lam * W,
        mistake("decay.l2_grad_half"): 0.5 * lam * W,
        mistake("decay.l2_grad_sign"): -lam * W,
        mistake("decay.l2_grad_no_lam"): W,
        mistake("decay.l2_grad_is_l1"): lam * np.sign(W),
        mistake("decay.l2_grad_penalty"): 0.5 * lam * W ** 2,
        mistake("decay.l2_grad_squared"): lam * W ** 2,
    }


def l1_grad_mistakes(W, lam):
    return {
        mistake("decay.l1_grad_sign0_plus"): lam * np.where(W >= 0, 1.0, -1.0),
        mistake("decay.l1_grad_sign0_minus"): lam * np.where(W > 0, 1.0, -1.0),
        mistake("decay.l1_grad_is_l2"): lam * W,
        mistake("decay.l1_grad_sign"): -lam * np.sign(W),
        mistake("decay.l1_grad_no_lam"): np.sign(W),
        mistake("decay.l1_grad_penalty"): lam * np.abs(W),
    }


def step_mistakes(key, W, dW, lr, wd):
    """{mistake: the new value it gives} for the key's step (weights decay, the rest do not); their
    messages' {key} is filled by assert_close."""
    if not key.startswith("W"):
        return {
            mistake("decay.sgd_bias_decayed"): W - lr * (dW + wd * W),
            mistake("decay.sgd_bias_uphill"): W + lr * dW,
            mistake("decay.sgd_not_updated"): W,
        }
    return {
        mistake("decay.sgd_not_decayed"): W - lr * dW,
        mistake("decay.sgd_decay_sign"): W - lr * (dW - wd * W),
        mistake("decay.sgd_decay_factor_2"): W - lr * (dW + 2 * wd * W),
        mistake("decay.sgd_decay_half"): W - lr * (dW + 0.5 * wd * W),
        mistake("decay.sgd_decay_no_lr"): W - lr * dW - wd * W,
        mistake("decay.sgd_uphill"): W + lr * (dW + wd * W),
        mistake("decay.sgd_no_loss_grad"): W - lr * wd * W,
    }


# -------------------------------------------------------------------- l2_penalty, l2_grad

@pytest.mark.points(2)
def test_l2_penalty_value(student, reference):
    """l2_penalty: 0.5 * lam * sum(W**2) over arrays of different shapes, as a float"""
    check_penalties(student.l2_penalty, reference.l2_penalty, [(1, SHAPES, 0.3), (2, SHAPES, 2.5)],
                    l2_penalty_mistakes)


@pytest.mark.points(2)
def test_l2_grad_value(student, reference):
    """l2_grad: the gradient of the L2 penalty is lam * W"""
    cases = [(weight_list(3, [(6, 4)])[0], 0.3), (weight_list(4, [(3, 7)])[0], 2.5)]
    check_grad_values(student.l2_grad, reference.l2_grad, student.l2_penalty, cases, l2_grad_mistakes)


@pytest.mark.points(1)
def test_l2_grad_matches_numerical_gradient(student, reference):
    """l2_grad: matches a numerical gradient of l2_penalty (float64)"""
    check_numerical(student.l2_grad, reference.l2_grad, student.l2_penalty, weight_list(5, [(6, 4)])[0], 0.7,
                    l2_grad_mistakes)


# -------------------------------------------------------------------- l1_penalty, l1_grad

@pytest.mark.points(2)
def test_l1_penalty_value(student, reference):
    """l1_penalty: lam * sum(|W|) over arrays of different shapes, as a float"""
    check_penalties(student.l1_penalty, reference.l1_penalty, [(6, SHAPES, 0.3), (7, SHAPES, 2.5)],
                    l1_penalty_mistakes)


@pytest.mark.points(2)
def test_l1_grad_value(student, reference):
    """l1_grad: lam * sign(W), and 0 where W == 0"""
    cases = [(with_zeros(8, (6, 4)), 0.3), (with_zeros(9, (3, 7)), 2.5)]
    check_grad_values(student.l1_grad, reference.l1_grad, student.l1_penalty, cases, l1_grad_mistakes)


@pytest.mark.points(1)
def test_l1_grad_matches_numerical_gradient(student, reference):
    """l1_grad: matches a numerical gradient of l1_penalty (float64, exact zeros included)"""
    # At an exact 0 the central difference (|h| - |-h|) / 2h is 0, the subgradient we use.
    check_numerical(student.l1_grad, reference.l1_grad, student.l1_penalty, with_zeros(10, (6, 4)), 0.7,
                    l1_grad_mistakes)


# ------------------------------------------------------------------------------- sgd_step

def mlp_params(seed, keys):
    rng = seeded(seed)
    shapes = {"W1": (4, 3), "b1": (3,), "W2": (3, 2), "b2": (2,), "gamma1": (3,), "beta1": (3,)}
    params = {k: rng.normal(size=shapes[k]) for k in keys}
    grads = {k: rng.normal(size=shapes[k]) for k in keys}
    return params, grads


def check_steps(student, reference, cases):
    """Each (params, grads, lr, weight_decay) step against the reference, in one round trip."""
    for (params, grads, lr, wd), new in zip(cases, student.sgd_step.each(cases)):
        if not isinstance(new, dict):
            fail("sgd_step must return a new dict of updated arrays; it returned {value}", value=describe(new))
        if set(new) != set(params):
            missing, extra = sorted(set(params) - set(new)), sorted(set(new) - set(params))
            fail("sgd_step must return a dict with the keys of params (missing: {missing}; unexpected: {extra})",
                 missing=", ".join(missing) or "-", extra=", ".join(extra) or "-")
        expected = reference.sgd_step(params, grads, lr, wd)
        for key in params:
            assert_close(new[key], expected[key], name=tr("the new {key}", key=key), rtol=1e-9,
                         mistakes=step_mistakes(key, params[key], grads[key], lr, wd), key=key)


@pytest.mark.points(3)
def test_sgd_step_values(student, reference):
    """sgd_step: W - lr * (dW + weight_decay * W) for weights, b - lr * db for biases"""
    check_steps(student, reference, [(*mlp_params(11, ["W1", "b1", "W2", "b2"]), 0.1, 0.3)])


@pytest.mark.points(1)
def test_sgd_step_only_w_keys_decay(student, reference):
    """sgd_step: only keys starting with "W" decay (batch-norm gamma and beta do not)"""
    check_steps(student, reference, [(*mlp_params(12, ["W1", "gamma1", "beta1", "b1", "W2", "b2"]), 0.05, 0.5)])


@pytest.mark.points(1)
def test_sgd_step_leaves_inputs_unchanged(student):
    """sgd_step: returns a new dict; params and grads are left unchanged"""
    # The grader compares params and grads before and after the call: an update in place
    # (W -= ..., or grads[k] += weight_decay * W) fails here with a message that says so.
    params, grads = mlp_params(13, ["W1", "b1", "W2", "b2"])
    try:
        new = student.sgd_step(params, grads, 0.1, 0.3)
    except InputModified as exc:
        fail("{error}. {mistake}", error=exc, mistake=mistake("decay.sgd_in_place"))
    if not isinstance(new, dict) or set(new) != set(params):
        fail("sgd_step must return a new dict with the keys of params; it returned {value}", value=describe(new))
    stale = [k for k in params if matches(new[k], params[k], rtol=0, atol=0)]
    if stale:
        fail("sgd_step returned {keys} unchanged: every parameter takes a step", keys=", ".join(stale))
