"""Public tests of exercise 6 (a network from your layers). They ship with the exercise:
run `grade exercise6`.

First the parts: the parameters init_network makes, the loss and its gradients (checked
numerically, in float64, against the gradient of your own loss), batch norm's running
statistics and test mode, dropout in the network, one step of SGD. Then the experiments,
run with your own network on the digits data set (1,797 handwritten digits of 8x8 pixels,
stored beside these tests):

- initialization: activations through 5 layers of 100 units, for std 1, std 0.01,
  Xavier and He (saturated, collapsed or preserved);
- overfitting: 300 training images, 6 hidden layers of 100 units; weight decay and dropout
  must narrow the gap between training and test accuracy, judged on paired runs (the
  same split, the same initial weights, with and without the regularizer);
- batch normalization: from weights of std 0.01, 20 epochs train with batch norm and stay
  near chance without it.

Every accuracy and gap that decides points is computed here, by the grader, from the
weights and running statistics your train() leaves in params and state: never from the
numbers your code reports. The figures in the report are drawn from those numbers.
"""
from pathlib import Path

import numpy as np
import pytest

from grader.checks import (GRAD_TOL, as_array, check_backward, fail, figure, mistake, note,
                           seeded, stats)

LOSS = "network_loss"
EPS = 1e-5          # batch norm's eps
MOMENTUM = 0.1      # batch norm's momentum (torch's convention)
STEP = 1e-5         # central differences


# ===================================================================== data and helpers

def digits():
    """(images scaled to [0, 1], labels): the 1,797 digits stored beside this file."""
    with np.load(Path(__file__).with_name("digits.npz"), allow_pickle=False) as data:
        return data["images"] / 16.0, data["labels"].astype(np.int64)


def call_all(function, calls):
    """`[function(*args) for args in calls]` in one round trip to the sandbox; the first
    call that raised raises when its result is reached."""
    each = getattr(function, "each", None)
    return list(each(calls)) if each is not None else function.many(calls)


def n_layers(params):
    return sum(1 for k in params if isinstance(k, str) and k.startswith("W") and k[1:].isdigit())


def check_params(params, sizes, batchnorm, fn="init_network"):
    """The parameter dict for `sizes`: W_i, b_i (and gamma_i, beta_i for hidden layers with
    batch norm), each a finite float array of the right shape, and nothing else."""
    if type(params) is not dict:
        fail(f"{fn} must return a dict of arrays (W1, b1, ...); it returned {type(params).__name__}")
    L = len(sizes) - 1
    shapes = {}
    for i in range(1, L + 1):
        shapes[f"W{i}"], shapes[f"b{i}"] = (sizes[i - 1], sizes[i]), (sizes[i],)
        if batchnorm and i < L:
            shapes[f"gamma{i}"] = shapes[f"beta{i}"] = (sizes[i],)
    missing = [k for k in shapes if k not in params]
    extra = [k for k in params if k not in shapes]
    if missing:
        fail(f"{fn}: the parameters for sizes {list(sizes)}{' with batch norm' if batchnorm else ''} "
             f"lack {', '.join(missing)}; expected exactly {', '.join(shapes)}")
    if extra:
        if any(k in (f"gamma{L}", f"beta{L}") for k in extra):
            fail(mistake("init.batchnorm_on_last_layer"), fn=fn, extra=", ".join(map(str, extra)),
                 hidden=L - 1, expected=", ".join(shapes))
        fail(f"{fn}: unexpected parameters {', '.join(map(str, extra))}; expected exactly {', '.join(shapes)}")
    return {k: as_array(params[k], fn, k, shape=s) for k, s in shapes.items()}


def predict(params, state, X):
    """Class scores in test mode, computed HERE from the student's weights and running
    statistics: affine -> [batch norm with running statistics] -> ReLU per hidden layer."""
    L = n_layers(params)
    h = X
    for i in range(1, L):
        h = h @ params[f"W{i}"] + params[f"b{i}"]
        if f"gamma{i}" in params:
            h = params[f"gamma{i}"] * (h - state[f"running_mean{i}"]) / np.sqrt(state[f"running_var{i}"] + EPS) \
                + params[f"beta{i}"]
        h = np.maximum(h, 0)
    return h @ params[f"W{L}"] + params[f"b{L}"]


def accuracy(params, state, X, y):
    return float(np.mean(predict(params, state, X).argmax(axis=1) == y))


def hidden_batch_stats(params, X):
    """Per hidden layer with batch norm: (batch mean, biased batch variance) of its affine
    output in a training pass without dropout, computed here."""
    out, h = {}, X
    for i in range(1, n_layers(params)):
        h = h @ params[f"W{i}"] + params[f"b{i}"]
        if f"gamma{i}" in params:
            mean, var = h.mean(axis=0), h.var(axis=0)
            out[i] = (mean, var)
            h = params[f"gamma{i}"] * (h - mean) / np.sqrt(var + EPS) + params[f"beta{i}"]
        h = np.maximum(h, 0)
    return out


def random_params(sizes, batchnorm, seed, scale=0.5):
    """Parameters made here (non-zero biases, gammas and betas), so that every term shows."""
    rng = seeded(seed)
    params = {}
    for i in range(1, len(sizes)):
        params[f"W{i}"] = scale * rng.standard_normal((sizes[i - 1], sizes[i]))
        params[f"b{i}"] = 0.1 * rng.standard_normal(sizes[i])
        if batchnorm and i < len(sizes) - 1:
            params[f"gamma{i}"] = 1 + 0.2 * rng.standard_normal(sizes[i])
            params[f"beta{i}"] = 0.1 * rng.standard_normal(sizes[i])
    return params


def copy_params(params):
    return {k: v.copy() for k, v in params.items()}


def loss_and_grads(result, params, fn=LOSS):
    """Check that network_loss returned (loss, grads) with a gradient for every parameter."""
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        fail(f"{fn} must return (loss, grads) when y is given; it returned {type(result).__name__}")
    loss, grads = result
    if isinstance(loss, (int, float, np.integer, np.floating)) and not isinstance(loss, bool):
        loss = np.asarray(loss, dtype=np.float64)
    loss = float(as_array(loss, fn, "loss", shape=()))
    if type(grads) is not dict or set(grads) != set(params):
        have = sorted(grads) if type(grads) is dict else type(grads).__name__
        fail(f"{fn}: grads must be a dict with one gradient per parameter ({', '.join(sorted(params))}); "
             f"it has {have}")
    return loss, {k: as_array(grads[k], fn, f"d{k}", shape=params[k].shape) for k in params}


def scores_of(result, n, classes, fn=LOSS, context=""):
    return as_array(result, fn, "scores", shape=(n, classes), context=context)


# ============================================================================ init_network

@pytest.mark.points(1)
def test_init_keys_and_shapes(student):
    """init_network: one W, b per layer (gamma, beta per hidden layer with batch norm)"""
    sizes = [7, 5, 4, 3]
    for bn in (False, True):
        params = check_params(student.init_network(sizes, "he_normal", bn, seeded(1)), sizes, bn)
        for k, v in params.items():
            if k[0] == "b" and np.any(v != 0):
                fail(f"init_network: {k} must start at zeros (random biases break nothing but are not "
                     "what the initializers specify)")
            if k.startswith("gamma") and np.any(v != 1):
                fail(f"init_network: {k} must start at ones (batch norm starts as the identity scale)")
            if k.startswith("beta") and np.any(v != 0):
                fail(f"init_network: {k} must start at zeros")


# Laurent and Massart (2000): for S ~ chi-square with N degrees of freedom and x > 0,
# P(S/N - 1 >= 2 sqrt(x/N) + 2x/N) <= e^-x and P(1 - S/N >= 2 sqrt(x/N)) <= e^-x. With
# x = ln(2/1e-9) both tails together are below 1e-9, for every N: the mean square of N
# normal weights of std s lies in s^2 [1 - 2 sqrt(x/N), 1 + 2 sqrt(x/N) + 2x/N].
def mean_square_band(n):
    x = np.log(2 / stats.ALPHA)
    return 1 - 2 * np.sqrt(x / n), 1 + 2 * np.sqrt(x / n) + 2 * x / n


def check_std(W, std, what, fan_in, fan_out, fn="init_network"):
    """W's entries are N(0, std^2): its mean square is within the chi-square band."""
    ratio = float(np.mean(W ** 2) / std ** 2)
    lo, hi = mean_square_band(W.size)
    if lo <= ratio <= hi:
        return
    rms = float(np.sqrt(np.mean(W ** 2)))
    facts = dict(what=what, fan_in=fan_in, fan_out=fan_out, rms=rms, std=std)
    if "he" in what and abs(rms / np.sqrt(2 / fan_out) - 1) < 0.05:
        fail(mistake("init.he_fan_out"), fn=fn, **facts)
    if "number" in what and abs(rms / np.sqrt(std) - 1) < 0.05:
        fail(mistake("init.std_as_variance"), fn=fn, **facts)
    fail(f"{fn}: {what} for a layer {fan_in} -> {fan_out} has standard deviation {rms:.4g}; "
         f"expected {std:.4g}" + (", which is its square: the formula gives the standard deviation, not "
                                   "the variance" if abs(rms / std ** 2 - 1) < 0.05 else ""))


@pytest.mark.points(2)
def test_init_scales_by_method(student):
    """init_network: weights scaled by the named initializer (fan_in, fan_out) or the given std"""
    sizes = [300, 120, 60]  # non-square in both directions: fan_in and fan_out differ
    cases = [("he_normal", lambda fi, fo: np.sqrt(2 / fi)),
             ("xavier_normal", lambda fi, fo: np.sqrt(2 / (fi + fo))),
             (0.05, lambda fi, fo: 0.05)]
    results = call_all(student.init_network, [(sizes, init, False, seeded(10 + i))
                                         for i, (init, _) in enumerate(cases)])
    for (init, std_of), params in zip(cases, results):
        params = check_params(params, sizes, False)
        for i in (1, 2):
            fi, fo = sizes[i - 1], sizes[i]
            what = f"init={init!r}" if isinstance(init, str) else f"init={init} (a number is the std)"
            check_std(params[f"W{i}"], std_of(fi, fo), f"W{i} with {what}", fi, fo)
    for init, bound_of in (("he_uniform", lambda fi, fo: np.sqrt(6 / fi)),
                           ("xavier_uniform", lambda fi, fo: np.sqrt(6 / (fi + fo)))):
        params = check_params(student.init_network(sizes, init, False, seeded(20)), sizes, False)
        for i in (1, 2):
            fi, fo = sizes[i - 1], sizes[i]
            a, W = bound_of(fi, fo), params[f"W{i}"]
            # U(-a, a): every |w| <= a, and max |w| >= a (1 - f) but with probability
            # (1 - f)^N = 1e-9 (stats.uniform_max_fraction); mean square a^2/3 within
            # Hoeffding's bound for values in [0, a^2].
            top = float(np.abs(W).max())
            ms = float(np.mean(W ** 2))
            if top > a * (1 + 1e-12) or top < a * (1 - stats.uniform_max_fraction(W.size)) \
                    or abs(ms - a * a / 3) > stats.hoeffding(W.size, a * a):
                fail(f"init_network: W{i} with init={init!r} for a layer {fi} -> {fo} is not uniform "
                     f"on [-a, a] with a = {a:.4g} (largest |w| {top:.4g}, mean square {ms:.4g}, "
                     f"expected a^2/3 = {a * a / 3:.4g})")


@pytest.mark.points(1)
def test_init_draws_from_rng(student):
    """init_network: every random draw comes from rng (same seed, same weights)"""
    sizes = [6, 5, 3]
    a, b, c = (check_params(p, sizes, False) for p in call_all(student.init_network,
        [(sizes, "he_normal", False, seeded(30)), (sizes, "he_normal", False, seeded(30)),
         (sizes, "he_normal", False, seeded(31))]))
    if not all(np.array_equal(a[k], b[k]) for k in a):
        fail("init_network: two calls with generators seeded alike gave different weights: draw "
             "every weight from the rng argument")
    if np.array_equal(a["W1"], c["W1"]):
        fail("init_network: generators with different seeds gave the same weights, so they do not "
             "come from rng (np.random or a generator of your own?)")


# ============================================================================ network_loss

def reference_loss(reference, params, X, y, train, p, wd, seed):
    """The reference's (loss, grads): inputs made here, a fresh state."""
    return reference.network_loss(copy_params(params), {}, X, y, train, p, wd, seeded(seed))


def own_numeric_gradient(student, params, X, y, p, wd, seed):
    """The numerical gradient (central differences, float64) of YOUR loss with respect to
    every parameter, each evaluation with a fresh generator of `seed` (the same dropout
    masks) and a fresh state: all evaluations in one round trip."""
    points = []
    for key in params:
        for index in np.ndindex(params[key].shape):
            for step in (STEP, -STEP):
                shifted = copy_params(params)
                shifted[key][index] += step
                points.append((shifted, {}, X, y, True, p, wd, seeded(seed)))
    losses = [loss_and_grads(result, params)[0] for result in call_all(student.network_loss, points)]
    out, at = {}, 0
    for key in params:
        size = params[key].size
        pairs = np.array(losses[at:at + 2 * size]).reshape(size, 2)
        out[key] = ((pairs[:, 0] - pairs[:, 1]) / (2 * STEP)).reshape(params[key].shape)
        at += 2 * size
    return out


def wrong_gradients(grads, expected):
    """The keys whose gradient is wrong: norm-wise relative error above GRAD_TOL, measured
    against the size of the whole gradient where a key's own true gradient is (nearly) zero.
    (A bias right before batch norm has a zero gradient, since batch norm subtracts the mean;
    two correct implementations give different rounding noise there, around 1e-17.)"""
    scale = float(np.sqrt(sum(np.sum(np.asarray(e) ** 2) for e in expected.values())))
    return [k for k in expected
            if np.linalg.norm(grads[k] - expected[k]) >
            GRAD_TOL * max(np.linalg.norm(grads[k]) + np.linalg.norm(expected[k]), scale)]


def check_gradients(student, reference, sizes, *, batchnorm, p, wd, seed, hint):
    """The gradients of network_loss against the reference and, where they differ, against
    the numerical gradient of the student's own loss (one mistake, one deduction)."""
    params = random_params(sizes, batchnorm, seed)
    X = seeded(seed + 1).standard_normal((8, sizes[0]))
    y = seeded(seed + 2).integers(0, sizes[-1], 8)
    loss, grads = loss_and_grads(student.network_loss(copy_params(params), {}, X, y, True, p, wd,
                                                      seeded(seed + 3)), params)
    _, expected = reference_loss(reference, params, X, y, True, p, wd, seed + 3)
    wrong = wrong_gradients(grads, expected)
    if not wrong:
        return
    own = {}

    def own_gradient():
        if not own:
            own.update(own_numeric_gradient(student, params, X, y, p, wd, seed + 3))
        return own

    for key in wrong:
        try:
            check_backward(grads[key], expected=expected[key], own_numeric=lambda k=key: own_gradient()[k],
                           fn=LOSS, wrt=f"d{key}", forward="loss")
        except AssertionError as exc:
            fail(f"{str(exc).rstrip('.')}. {hint}")


@pytest.mark.points(2)
def test_gradients_plain(student, reference):
    """network_loss: gradients of the whole network (affine, ReLU, softmax, weight decay)"""
    check_gradients(student, reference, [6, 5, 4, 3], batchnorm=False, p=0.0, wd=0.1, seed=40,
                    hint="Go backwards through the layers: the scores' gradient through the last "
                         "affine layer, then for each hidden layer ReLU's and the affine layer's "
                         "backward, and add weight decay's lambda * W to each dW.")


@pytest.mark.points(2)
def test_gradients_batchnorm(student, reference):
    """network_loss: gradients with batch norm in every hidden layer"""
    check_gradients(student, reference, [6, 5, 4, 3], batchnorm=True, p=0.0, wd=0.0, seed=50,
                    hint="With batch norm the hidden layer is affine -> batch norm -> ReLU, so its "
                         "backward is ReLU's, then batchnorm_backward (which gives dgamma, dbeta), "
                         "then the affine layer's; check your batchnorm_backward against its "
                         "training-mode formula.")


@pytest.mark.points(2)
def test_gradients_dropout(student, reference):
    """network_loss: gradients with dropout after every hidden ReLU"""
    sizes, seed = [6, 9, 8, 3], 60
    params = random_params(sizes, False, seed)
    X = seeded(seed + 1).standard_normal((8, sizes[0]))
    y = seeded(seed + 2).integers(0, sizes[-1], 8)
    # the same network without dropout, asked of the reference now (a release replays the
    # reference's recorded answers, so every reference call must happen for correct code too)
    _, right = reference_loss(reference, params, X, y, True, 0.0, 0.0, seed + 3)
    try:
        check_gradients(student, reference, sizes, batchnorm=False, p=0.3, wd=0.0, seed=seed,
                        hint="The numerical gradient replays the same dropout masks (a generator "
                             "with the same seed for every evaluation), so the gradient must flow "
                             "through the very mask the forward pass drew.")
    except AssertionError as exc:
        # right without dropout: the dropout path is what is wrong
        _, plain = loss_and_grads(student.network_loss(copy_params(params), {}, X, y, True, 0.0, 0.0,
                                                       seeded(seed + 3)), params)
        if not wrong_gradients(plain, right):
            detail = str(exc).split(": ", 1)[-1].split(" (")[0]
            fail(mistake("network.dropout_backward_mask"), p=0.3, detail=detail)
        raise


@pytest.mark.points(2)
def test_weight_decay_terms(student):
    """network_loss: weight decay adds 0.5*lambda*sum(W^2) to the loss and lambda*W to each dW only"""
    sizes, lam = [5, 4, 3], 0.3
    params = random_params(sizes, False, 70)
    X = seeded(71).standard_normal((6, 5))
    y = seeded(72).integers(0, 3, 6)
    plain, decayed = (loss_and_grads(r, params) for r in call_all(student.network_loss,
        [(copy_params(params), {}, X, y, True, 0.0, wd, seeded(73)) for wd in (0.0, lam)]))
    weights = [k for k in params if k.startswith("W")]
    penalty = 0.5 * lam * sum(float(np.sum(params[k] ** 2)) for k in weights)
    biases = 0.5 * lam * sum(float(np.sum(params[k] ** 2)) for k in params if k not in weights)
    extra = decayed[0] - plain[0]
    if not np.isclose(extra, penalty, rtol=1e-8, atol=1e-12):
        for wrong, which in ((-penalty, mistake("network.weight_decay_loss_sign")),
                             (2 * penalty, mistake("network.weight_decay_loss_no_half")),
                             (penalty + biases, mistake("network.weight_decay_loss_biases"))):
            if np.isclose(extra, wrong, rtol=1e-8, atol=1e-12):
                fail(which, lam=lam, extra=extra, penalty=penalty)
        if np.isclose(extra, 0.0, atol=1e-12):
            fail(f"{LOSS}: weight_decay = {lam} does not change the loss: add 0.5*lambda*sum(W^2) over "
                 "the weights")
        fail(f"{LOSS}: with weight_decay = {lam} the loss grows by {extra:.6g} instead of "
             f"0.5*lambda*sum(W^2) = {penalty:.6g} (over the weights W only)")
    for key in params:
        got = decayed[1][key] - plain[1][key]
        want = lam * params[key] if key in weights else np.zeros_like(params[key])
        if np.allclose(got, want, rtol=1e-7, atol=1e-10):
            continue
        if key in weights and np.allclose(got, -want, rtol=1e-7, atol=1e-10):
            fail(mistake("network.weight_decay_grad_sign"), key=key)
        if key in weights and np.allclose(got, 2 * want, rtol=1e-7, atol=1e-10):
            fail(f"{LOSS}: weight decay changes d{key} by 2*lambda*{key}: the gradient of "
                 "0.5*lambda*||W||^2 is lambda*W")
        if key not in weights and np.allclose(got, lam * params[key], rtol=1e-7, atol=1e-10):
            fail(mistake("network.weight_decay_grad_biases"), key=key)
        fail(f"{LOSS}: with weight_decay = {lam}, d{key} changes by something other than "
             + ("lambda*" + key if key in weights else "nothing (only weights are decayed)"))


@pytest.mark.points(2)
def test_batchnorm_running_statistics(student):
    """network_loss: training updates the running statistics in state (momentum 0.1, unbiased variance)"""
    sizes = [6, 5, 4, 3]
    params = random_params(sizes, True, 80)
    X = 2.0 + seeded(81).standard_normal((10, 6))
    y = seeded(82).integers(0, 3, 10)
    state = {}
    loss_and_grads(student.network_loss(copy_params(params), state, X, y, True, 0.0, 0.0, seeded(83)), params)
    stats_here = hidden_batch_stats(params, X)
    n = X.shape[0]
    for i, (mean, var) in stats_here.items():
        for key, size in ((f"running_mean{i}", sizes[i]), (f"running_var{i}", sizes[i])):
            if key not in state:
                fail(f"{LOSS}: after a training call, state has no {key!r} (it has "
                     f"{', '.join(map(str, state)) or 'nothing'}): keep batch norm's running "
                     f"statistics of hidden layer {i} in state as running_mean{i} and running_var{i}, "
                     "created on first use (zeros and ones) and updated in place")
            as_array(state[key], LOSS, f"state[{key!r}]", shape=(size,))
        got_mean, got_var = state[f"running_mean{i}"], state[f"running_var{i}"]
        want_mean = MOMENTUM * mean
        want_var = (1 - MOMENTUM) + MOMENTUM * var * n / (n - 1)
        if not np.allclose(got_mean, want_mean, rtol=1e-7, atol=1e-10):
            if np.allclose(got_mean, (1 - MOMENTUM) * mean, rtol=1e-7, atol=1e-10):
                fail(mistake("network.batchnorm_momentum_decay"), layer=i)
            fail(f"{LOSS}: running_mean{i} after one training step from zeros is not 0.1 * the batch "
                 "mean of that layer's affine output: running = 0.9 * running + 0.1 * batch mean")
        if not np.allclose(got_var, want_var, rtol=1e-7, atol=1e-10):
            if np.allclose(got_var, (1 - MOMENTUM) + MOMENTUM * var, rtol=1e-7, atol=1e-10):
                fail(mistake("network.batchnorm_running_var_biased"), layer=i)
            fail(f"{LOSS}: running_var{i} after one training step from ones is not "
                 "0.9 + 0.1 * the unbiased batch variance of that layer's affine output")


@pytest.mark.points(2)
def test_batchnorm_test_mode(student):
    """network_loss: test mode normalises with the running statistics and leaves them unchanged"""
    sizes = [6, 5, 4, 3]
    params = random_params(sizes, True, 90)
    rng = seeded(91)
    state = {}
    for i in (1, 2):
        state[f"running_mean{i}"] = rng.standard_normal(sizes[i])
        state[f"running_var{i}"] = rng.uniform(0.5, 2.0, sizes[i])
    before = {k: v.copy() for k, v in state.items()}
    X = seeded(92).standard_normal((7, 6))
    batch, single = call_all(student.network_loss, [(copy_params(params), state, X, None, False, 0.0, 0.0, seeded(93)),
                                                (copy_params(params), state, X[:1], None, False, 0.0, 0.0, seeded(93))])
    batch = scores_of(batch, 7, 3, context="in test mode")
    single = scores_of(single, 1, 3, context="in test mode")
    if any(not np.array_equal(state[k], before[k]) for k in before):
        fail(f"{LOSS}: test mode changed the running statistics in state: at test time batch norm "
             "only uses them (they are updated in training only)")
    expected = predict(params, state, X)
    if np.allclose(batch, expected, rtol=1e-7, atol=1e-9):
        if not np.allclose(single[0], expected[0], rtol=1e-7, atol=1e-9):
            fail(f"{LOSS}: in test mode the scores of a sample alone differ from its scores in a "
                 "batch: at test time batch norm must use the running statistics, so each sample's "
                 "prediction does not depend on the other samples")
        return
    fail(mistake("network.batchnorm_test_batch_statistics"), diff=float(np.abs(batch - expected).max()),
         why=(" (a batch's own statistics make each prediction depend on the other samples in the batch)"
              if not np.allclose(single[0], batch[0], rtol=1e-7, atol=1e-9) else ""))


@pytest.mark.points(2)
def test_dropout_in_the_network(student):
    """network_loss: dropout after each hidden ReLU: zero or rescaled by 1/(1-p) in training, off at test time"""
    # W2 = identity and b2 = 0 make the scores the dropout layer's output itself, and b1 = 10
    # keeps every ReLU output far from 0: a zero score marks a dropped unit.
    D, p = 400, 0.3
    rng = seeded(100)
    params = {"W1": rng.standard_normal((5, D)), "b1": np.full(D, 10.0), "W2": np.eye(D), "b2": np.zeros(D)}
    X = seeded(101).standard_normal((50, 5))
    hidden = np.maximum(X @ params["W1"] + params["b1"], 0)
    train_scores, test_scores = call_all(student.network_loss,
        [(copy_params(params), {}, X, None, True, p, 0.0, seeded(102)),
         (copy_params(params), {}, X, None, False, p, 0.0, seeded(103))])
    test_scores = scores_of(test_scores, 50, D, context="in test mode")
    if not np.allclose(test_scores, hidden, rtol=1e-9, atol=1e-9):
        if (test_scores == 0).mean() > 0.01:
            fail(mistake("network.dropout_at_test_time"))
        fail(f"{LOSS}: in test mode the scores are not those of the network without dropout: "
             "inverted dropout returns x unchanged at test time"
             + (" (yours scales by 1 - p)" if np.allclose(test_scores, hidden * (1 - p)) else ""))
    out = scores_of(train_scores, 50, D, context="in training mode")
    dropped = out == 0
    # 20,000 independent drops: the dropped fraction is within Hoeffding's bound of p
    # (false failure <= 1e-9)
    frac, t = float(dropped.mean()), stats.hoeffding(out.size, 1.0)
    if abs(frac - p) > t:
        extra = (": that is about 1 - p, but p is the probability of DROPPING a unit"
                 if abs(frac - (1 - p)) <= t else "")
        fail(f"{LOSS}: with dropout_p = {p} in training, a fraction {frac:.3f} of the hidden units "
             f"was dropped (expected {p} within {t:.3f}){extra}")
    kept = ~dropped
    if not np.allclose(out[kept], hidden[kept] / (1 - p), rtol=1e-9, atol=1e-9):
        if np.allclose(out[kept], hidden[kept]):
            fail(mistake("network.dropout_not_rescaled"))
        fail(f"{LOSS}: in training each unit after dropout must be 0 or its ReLU output divided by (1 - p)")


# ================================================================================== train

@pytest.mark.points(2)
def test_train_one_sgd_step(student, reference):
    """train: one epoch of one full batch is one SGD step p <- p - lr*grad; history per epoch"""
    sizes, lr, wd = [6, 5, 3], 0.5, 0.01
    params = random_params(sizes, False, 110)
    X = seeded(111).standard_normal((12, 6))
    y = seeded(112).integers(0, 3, 12)
    mine = copy_params(params)
    history = student.train(mine, {}, X, y, 1, 12, lr, 0.0, wd, seeded(113))
    ref_loss, grads = reference_loss(reference, params, X, y, True, 0.0, wd, 114)
    for key in params:
        got = as_array(mine.get(key), "train", f"params[{key!r}] after training", shape=params[key].shape)
        want = params[key] - lr * grads[key]
        if np.allclose(got, want, rtol=1e-8, atol=1e-10):
            continue
        if np.array_equal(got, params[key]):
            fail(f"train: params[{key!r}] did not change: train must update the arrays in params "
                 "(in place, or by assigning new arrays to the dict's keys)")
        if np.allclose(got, params[key] + lr * grads[key], rtol=1e-8, atol=1e-10):
            fail(mistake("train.gradient_ascent"), key=key)
        fail(f"train: after one epoch with one batch of all 12 samples, params[{key!r}] is not "
             "p - lr * grad (one plain SGD step with the gradient of network_loss)")
    if type(history) is not dict or not all(isinstance(history.get(k), (list, tuple, np.ndarray))
                                            for k in ("loss", "train_acc")):
        fail("train must return a dict with lists 'loss' and 'train_acc' (one value per epoch)")
    if len(history["loss"]) != 1 or len(history["train_acc"]) != 1:
        fail("train: history['loss'] and history['train_acc'] need one value per epoch")
    if not np.isclose(float(history["loss"][0]), ref_loss, rtol=1e-8):
        fail(f"train: history['loss'] for the epoch is {history['loss'][0]}; the loss of its one "
             f"step was {ref_loss:.6g}")
    acc = accuracy(mine, {}, X, y)
    if not np.isclose(float(history["train_acc"][0]), acc):
        fail(f"train: history['train_acc'] for the epoch is {history['train_acc'][0]}; the accuracy "
             f"of the trained network on X is {acc:.4g} (in test mode, after the epoch)")


@pytest.mark.points(1)
def test_train_minibatches_from_rng(student):
    """train: mini-batches in a random order drawn from rng; state filled with batch norm"""
    sizes = [6, 5, 3]
    params = random_params(sizes, True, 120)
    X = seeded(121).standard_normal((40, 6))
    y = seeded(122).integers(0, 3, 40)
    rng = seeded(123)
    runs = []
    for generator in (seeded(123), seeded(123), seeded(124)):
        mine, state = copy_params(params), {}
        history = student.train(mine, state, X, y, 3, 10, 0.1, 0.0, 0.0, generator)
        runs.append((mine, state, history, generator))
    (a, state, history, used), (b, *_), (c, *_) = runs
    if used.bit_generator.state == rng.bit_generator.state:
        fail(mistake("train.rng_not_advanced"))
    if not all(np.array_equal(a[k], b[k]) for k in a):
        fail("train: two runs with generators seeded alike ended with different weights: draw every "
             "random number from rng")
    if all(np.array_equal(a[k], c[k]) for k in a):
        fail("train: runs with generators of different seeds ended with the same weights: the "
             "mini-batches must come in a random order drawn from rng")
    if len(history.get("loss", ())) != 3:
        fail("train: history['loss'] needs one value per epoch (3 epochs here)")
    for i in (1,):
        if f"running_mean{i}" not in state:
            fail(f"train: with batch norm, state must hold running_mean{i} and running_var{i} after "
                 "training (network_loss keeps them there)")


# ============================================================================ experiments

def run_train(student, cases):
    """train(...) for every case (params, state, X, y, epochs, batch, lr, p, wd, rng) in one
    round trip; returns (params, state, history) per case as the student's code left them."""
    results = call_all(student.train, cases)
    out = []
    for case, history in zip(cases, results):
        params, state = case[0], case[1]
        out.append((params, state, history))
    return out


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


E1_CASES = (("sigmoid", 1.0, "std 1"), ("sigmoid", 0.01, "std 0.01"), ("sigmoid", "xavier_normal", "Xavier"),
            ("relu", 0.01, "std 0.01"), ("relu", "he_normal", "He"))


def activations(params, X, act):
    """Each layer's activations for X through W_i (biases are zero), computed here."""
    h, out = X, []
    for i in range(1, n_layers(params) + 1):
        a = h @ params[f"W{i}"] + params[f"b{i}"]
        h = sigmoid(a) if act == "sigmoid" else np.maximum(a, 0)
        out.append(h)
    return out


def histogram_figure(title, layers, lo, hi):
    edges = np.linspace(lo, hi, 31)
    return {"title": title, "kind": "histograms",
            "data": {"edges": [round(float(e), 6) for e in edges],
                     "series": [{"label": f"layer {i + 1}",
                                 "counts": np.histogram(np.clip(h, lo, hi), edges)[0].tolist()}
                                for i, h in enumerate(layers)]}}


@pytest.mark.points(3)
def test_experiment_initialization(student):
    """init_network: activations through 5 layers: saturated (std 1), collapsed (std 0.01), preserved (He)"""
    X = seeded(130).standard_normal((1000, 100))
    sizes = [100] * 6
    funnel = [1024, 512, 256, 128, 64, 32]  # widths that halve: He must use each layer's fan_in
    calls = [(sizes, init, False, seeded(131 + i)) for i, (_, init, _) in enumerate(E1_CASES)]
    calls.append((funnel, "he_normal", False, seeded(140)))
    results = call_all(student.init_network, calls)
    layers = {}
    for (act, init, label), params in zip(E1_CASES, results):
        layers[(act, label)] = activations(check_params(params, sizes, False), X, act)
        h = layers[(act, label)]
        if act == "sigmoid":
            figure(**histogram_figure(f"sigmoid activations, {label} weights", h, 0, 1))
        else:  # half of the ReLU outputs are 0: the histogram shows the others
            top = max(1e-12, float(np.percentile(h[0][h[0] > 0], 99))) if (h[0] > 0).any() else 1.0
            figure(**histogram_figure(f"ReLU activations above 0, {label} weights", [a[a > 0] for a in h], 0, top))
    saturated = [float(np.mean((h < 0.01) | (h > 0.99))) for h in layers[("sigmoid", "std 1")]]
    # Measured with correct code over 200 seeds (calibrate.py --e1): the least saturated
    # layer has 37-51% of its units below 0.01 or above 0.99;
    # weights of std 0.14 (He's, if the number were ignored) saturate none. The last
    # layer's std: sigmoid with std 0.01, 0.0095-0.015; ReLU with He, 0.58-1.2; ReLU with
    # std 0.01, 0.9e-6 to 2.1e-6.
    if min(saturated) < 0.2:
        fail("init_network: with weights of std 1, sigmoid activations should pile up at 0 and 1 "
             f"(the gradient vanishes there); only {min(saturated):.0%} of a layer's units are "
             "saturated: does a number given as init become the weights' standard deviation?")
    collapsed = float(np.std(layers[("sigmoid", "std 0.01")][-1]))
    if collapsed > 0.05:
        fail("init_network: with weights of std 0.01, sigmoid activations should collapse toward "
             f"0.5 (std of the last layer near 0.01), but their std is {collapsed:.3g}: is init=0.01 "
             "used as the standard deviation?")
    he = float(np.std(layers[("relu", "He")][-1]))
    tiny = float(np.std(layers[("relu", "std 0.01")][-1]))
    if not 0.3 <= he <= 3.0:
        fail(f"init_network: with He weights, ReLU activations keep their spread through 5 layers "
             f"(std near 1), but the last layer's std is {he:.3g}: He's std is sqrt(2 / fan_in)")
    if tiny > 1e-3:
        fail(f"init_network: with weights of std 0.01, ReLU activations should vanish layer after "
             f"layer, but the last layer's std is {tiny:.3g}")
    deep = activations(check_params(results[-1], funnel, False), seeded(141).standard_normal((1000, 1024)), "relu")
    # Through layers whose width halves, He (fan_in) keeps the mean square of the ReLU
    # outputs near 1: measured over 200 seeds with correct code, 0.22 to 2.2 after five
    # layers (median 0.93; log-std 0.39). With fan_out the variance doubles at every layer
    # (x32 after five). The band [0.1, 8] is 5.9 log-stds wide below and 5.3 above.
    ms = [float(np.mean(h ** 2)) for h in deep]
    figure(title="ReLU activations, He weights, widths 1024 -> 32", kind="curves",
           data={"x_label": "layer", "y_label": "mean square of the activations", "y_range": [0, 2],
                 "series": [{"label": "yours", "values": [round(v, 6) for v in ms]},
                            {"label": "expected", "values": [1.0] * len(ms)}]})
    if ms[-1] > 8.0:
        fail(mistake("init.he_fan_out_funnel"), widths=funnel, ms=ms[-1])
    if ms[-1] < 0.1:
        fail(f"init_network: with He weights through layers of widths {funnel}, the mean square of "
             f"the ReLU activations should stay near 1, but the last layer's is {ms[-1]:.3g}")


# The overfitting experiment's rule, calibrated with calibrate.py (python
# solutions/exercise6/calibrate.py --seeds 24): over 24 paired seeds the reference narrowed
# the gap on 20/24 with weight decay 0.1 and 21/24 with dropout 0.1 at 100 epochs (20/24 at
# 200 epochs too: more epochs buy nothing), a rate of about 0.85 per pair. With 6 pairs,
# "at least 3 narrower" passes correct code with probability 0.994 at that rate (at least 5
# would pass it with only 0.74, and failed the reference itself on one secret: 3 of 6). A
# weight decay with the wrong sign, or none at all, narrows no pair.
E2_SEEDS = 6        # paired runs: the same split and initial weights, with and without
E2_NEEDED = 3       # narrower on at least this many of them
E2_EPOCHS = 100
E2_SIZES = [64] + [100] * 6 + [10]
_e2_cache: dict = {}


def reported_curve(history, key="train_acc", most=1000):
    """history[key] as numbers for a figure (a picture only: what train() reported decides
    nothing); whatever is not a number is left out."""
    values = history.get(key) if type(history) is dict else None
    if not isinstance(values, (list, tuple, np.ndarray)):
        return []
    out = []
    for v in list(values)[:most]:
        try:
            out.append(round(float(v), 4))
        except (TypeError, ValueError, OverflowError):
            pass
    return [v for v in out if np.isfinite(v)]


def initial_params(sizes, init, batchnorm, rng):
    """Initial weights made HERE (He's normal, or normal with the std given), so that the
    experiments of train depend on train alone: init_network has tests of its own."""
    params = {}
    for i in range(1, len(sizes)):
        std = np.sqrt(2 / sizes[i - 1]) if init == "he_normal" else init
        params[f"W{i}"] = std * rng.standard_normal((sizes[i - 1], sizes[i]))
        params[f"b{i}"] = np.zeros(sizes[i])
        if batchnorm and i < len(sizes) - 1:
            params[f"gamma{i}"], params[f"beta{i}"] = np.ones(sizes[i]), np.zeros(sizes[i])
    return params


def e2_runs(student, condition):
    """For each paired seed: (train accuracy, test accuracy, history) after training on the
    same 300 images from the same initial weights with condition (dropout_p, weight_decay)."""
    key = (id(student), condition)
    if key in _e2_cache:
        return _e2_cache[key]
    X, y = digits()
    cases, splits = [], []
    for s in range(E2_SEEDS):
        init = initial_params(E2_SIZES, "he_normal", False, seeded(200 + s))
        order = seeded(210 + s).permutation(len(X))
        train_idx, test_idx = order[:300], order[300:]
        p, wd = condition
        cases.append((copy_params(init), {}, X[train_idx], y[train_idx], E2_EPOCHS, 100, 0.01, p, wd,
                      seeded(220 + s)))
        splits.append((train_idx, test_idx))
    out = []
    for (params, state, history), (tr, te) in zip(run_train(student, cases), splits):
        check_params(params, E2_SIZES, False, fn="train")
        out.append((accuracy(params, state, X[tr], y[tr]), accuracy(params, state, X[te], y[te]), history))
    _e2_cache[key] = out
    return out


def e2_check(student, condition, name, mechanism):
    base, regular = e2_runs(student, (0.0, 0.0)), e2_runs(student, condition)
    gaps0 = [a - b for a, b, _ in base]
    gaps1 = [a - b for a, b, _ in regular]
    narrower = sum(g1 < g0 for g0, g1 in zip(gaps0, gaps1))
    figure(title=f"train-test gap per paired run: without and with {name}", kind="curves",
           data={"x_label": "paired run", "y_label": "train accuracy - test accuracy", "y_range": [0, 0.1],
                 "series": [{"label": "without", "values": [round(g, 4) for g in gaps0]},
                            {"label": f"with {name}", "values": [round(g, 4) for g in gaps1]}]})
    figure(title="training accuracy per epoch (first run, as your train reported it)", kind="curves",
           data={"x_label": "epoch", "y_label": "training accuracy", "y_range": [0, 1],
                 "series": [{"label": "without", "values": reported_curve(base[0][2])},
                            {"label": f"with {name}", "values": reported_curve(regular[0][2])}]})
    if min(a for a, _, _ in base) < 0.9:
        fail(f"train: without regularization your network should fit its 300 training images (its "
             f"training accuracy reached only {min(a for a, _, _ in base):.2f} in one run), so there "
             "is no overfitting to reduce: check the SGD step and the gradients first")
    if narrower < E2_NEEDED:
        fail(f"train: with your {name} the train-test gap did not narrow on {E2_SEEDS - narrower} of "
             f"{E2_SEEDS} paired runs (gaps without: {', '.join(f'{g:.3f}' for g in gaps0)}; with: "
             f"{', '.join(f'{g:.3f}' for g in gaps1)}); correct code narrows it on at least "
             f"{E2_NEEDED} (on 5 of 6 on average): {mechanism}")
    note(f"the gap narrowed on {narrower} of {E2_SEEDS} paired runs (mean {np.mean(gaps0):.3f} -> "
         f"{np.mean(gaps1):.3f})")


@pytest.mark.slow
@pytest.mark.points(3)
def test_experiment_weight_decay(student):
    """train: overfitting 300 images, weight decay 0.1 narrows the train-test gap"""
    e2_check(student, (0.0, 0.1), "weight decay (lambda 0.1)",
             "weight decay pulls every weight toward 0 by lr*lambda*W per step; is lambda*W added "
             "(with a plus sign) to each dW, for the weights only?")


@pytest.mark.slow
@pytest.mark.points(3)
def test_experiment_dropout(student):
    """train: overfitting 300 images, dropout 0.1 narrows the train-test gap"""
    e2_check(student, (0.1, 0.0), "dropout (p 0.1)",
             "dropout makes every step train a different thinned network, so no unit can rely on "
             "another; is it applied after every hidden ReLU in training (dropout_p and train "
             "passed on to dropout_forward), and does the backward pass go through the same mask?")


@pytest.mark.slow
@pytest.mark.points(3)
def test_experiment_batchnorm(student):
    """train: from weights of std 0.01, batch norm trains in 20 epochs; without it the network stays near chance"""
    X, y = digits()
    sizes = [64] + [100] * 5 + [10]
    seeds = (0, 1)
    cases, subsets = [], []
    for s, bn in [(s, bn) for s in seeds for bn in (True, False)]:
        init = initial_params(sizes, 0.01, bn, seeded(300 + s))
        idx = seeded(310 + s).permutation(len(X))[:1000]
        cases.append((copy_params(init), {}, X[idx], y[idx], 20, 100, 0.01, 0.0, 0.0, seeded(320 + s)))
        subsets.append((s, bn, idx))
    runs = run_train(student, cases)
    acc = {}
    for (params, state, history), (s, bn, idx) in zip(runs, subsets):
        check_params(params, sizes, bn, fn="train")
        if bn and not all(f"running_mean{i}" in state for i in range(1, 6)):
            fail("train: with batch norm, state must hold each hidden layer's running statistics "
                 "after training (network_loss creates and updates them)")
        acc[(s, bn)] = accuracy(params, state, X[idx], y[idx])
        if s == seeds[0]:
            figure(title=f"training accuracy per epoch, {'with' if bn else 'without'} batch norm "
                         "(as your train reported it)", kind="curves",
                   data={"x_label": "epoch", "y_label": "accuracy", "y_range": [0, 1],
                         "series": [{"label": "yours", "values": reported_curve(history)}]})
    # measured with correct code: 1.000 with batch norm, 0.105-0.112 without, on every seed
    for s in seeds:
        if acc[(s, True)] < 0.9:
            fail(f"train: with batch norm, a network starting from weights of std 0.01 should reach "
                 f"a training accuracy near 1 in 20 epochs; yours reached {acc[(s, True)]:.2f} (computed "
                 "from your trained weights and running statistics): batch norm re-scales each layer's "
                 "input, so tiny weights no longer make the signal vanish. Check that the network "
                 "normalises every hidden layer with the batch statistics in training and updates "
                 "gamma and beta")
        if acc[(s, False)] > 0.3:
            fail(f"train: without batch norm, weights of std 0.01 should leave the network near chance "
                 f"(about 0.1) after 20 epochs; yours reached {acc[(s, False)]:.2f}: with "
                 "use_batchnorm=False, does your network still normalise?")
