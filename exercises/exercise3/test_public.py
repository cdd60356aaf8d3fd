"""Public tests of exercise 3 (dropout). They ship with the exercise: run `grade exercise3`.

Dropout is random, so it is not compared value by value with a reference. Each check
looks at your own mask instead: the inputs are x = randn + 10, far from zero, so a zero
in the output marks a dropped unit and every other output must be x/(1-p) (inverted
dropout) or x (vanilla dropout). The dropped fraction, the average output and the
independence of the masks are checked statistically: every bound below is derived in a
comment and fails a correct solution with probability at most 1e-9 (the seeds are fixed,
so the same code always gets the same score). Backward passes are checked against the
gradient through your own forward pass (the same mask); where dx is wrong, a numerical
gradient of your forward pass tells whether the mistake is in the forward or the backward pass.
"""
import numpy as np
import pytest

from grader.checks import (GRAD_TOL, CheckFailed, as_array, assert_close, check_backward,
                           directional_gradient, expect_value_error, fail, keeps_points, matches,
                           normal_input, relative_error, seeded, stats, unpack)
from grader.sandbox.proxy import InputModified, StudentError

INV, VAN = "dropout_forward", "vanilla_dropout_forward"
INV_B, VAN_B = "dropout_backward", "vanilla_dropout_backward"

KEEP_PROB = ("you used p as the keep probability. Here p is the probability of DROPPING a "
             "unit, as in torch's nn.Dropout(p) (older TensorFlow code passes the keep "
             "probability instead, as keep_prob; some course notes call that p). Keep each unit "
             "with probability 1 - p, e.g. mask = rng.random(x.shape) >= p")


def big_input(shape, seed):
    """x = randn + 10: never zero, so a zero in the output marks a dropped unit."""
    return normal_input(shape, seed, loc=10.0)


def forward(student, fn, x, p, train, rng):
    """Call the student's forward pass; check it returned (out, cache) with out like x."""
    return forward_result(getattr(student, fn)(x, p, train, rng), fn, x, p, train)


def forward_result(result, fn, x, p, train):
    """Check that a forward call on (x, p, train) returned (out, cache) with out like x."""
    out, cache = unpack(result, fn, ("out", "cache"))
    return as_array(out, fn, "out", shape=x.shape, context=f"for p = {p:g}, train={train}"), cache


def calls(student, fn, arg_tuples):
    """`getattr(student, fn)(*args)` for every args: all in ONE round trip to the sandbox
    (`.many`), as a list in order. If one of them raises or changes its input, the batch is
    dropped and the calls are made again one at a time (a generator), each when the test
    asks for its result: the checks of the earlier results still run first, so the feedback
    is exactly that of separate calls. A worker that died or ran out of time is not asked
    again (that would cost another restart or time-out): its error is the test's."""
    f = getattr(student, fn)
    arg_tuples = [tuple(args) for args in arg_tuples]
    generators = [(g, g.bit_generator.state) for args in arg_tuples for g in args
                  if isinstance(g, np.random.Generator)]
    try:
        return f.many(arg_tuples)
    except StudentError as exc:
        if exc.exc_type is None:
            raise
    except InputModified:
        pass
    for g, state in generators:  # the calls before the one that failed advanced them
        g.bit_generator.state = state
    return (f(*args) for args in arg_tuples)


def forwards(student, fn, arg_tuples):
    """`forward` on every (x, p, train, rng), in one round trip (`calls`): (out, cache) in
    order, each checked when the test takes it."""
    arg_tuples = [tuple(args) for args in arg_tuples]
    return (forward_result(r, fn, *args[:3])
            for r, args in zip(calls(student, fn, arg_tuples), arg_tuples))


def forward_backward(student, fn_f, fn_b, cases):
    """(out, cache, dx) for every case (x, p, train, rng, dout): the forward pass, then the
    backward pass on its cache. All forward calls share one round trip, all backward calls a
    second. When a forward call fails or returns something malformed, the cases go one at a
    time (forward, then backward), so each failure reads as with separate calls."""
    f_args = [tuple(case[:4]) for case in cases]
    raw = calls(student, fn_f, f_args)
    try:
        fwd = [forward_result(r, fn_f, *args[:3]) for r, args in zip(raw, f_args)] \
            if type(raw) is list else None
    except CheckFailed:
        fwd = None
    if fwd is None:
        for r, args, case in zip(raw, f_args, cases):
            out, cache = forward_result(r, fn_f, *args[:3])
            yield out, cache, student_call(student, fn_b, case[4], cache)
        return
    dxs = calls(student, fn_b, [(case[4], cache) for case, (_, cache) in zip(cases, fwd)])
    for (out, cache), dx in zip(fwd, dxs):
        yield out, cache, dx


def check_gradient(dx, expected, own, fn_b, fn_f):
    """`check_backward`, the gradient of the student's own forward pass `own()` (one round
    trip) computed only when dx is wrong: a dx that is the exact gradient of a wrong forward
    pass keeps its points (with a note), any other wrong dx fails."""
    dx = as_array(dx, fn_b, "dx", shape=np.shape(expected))
    check_backward(dx, expected=expected, own_numeric=own, fn=fn_b, wrt="dx", forward=fn_f)


def own_gradient(student, fn, x, dout, p, train, seed):
    """A callable: the gradient of sum(dout * forward(x)) of the student's own forward pass
    along a few random directions (`directional_gradient`, 12 forward calls in one round trip
    whatever the size of x), each call with a fresh generator of `seed`, so every call replays
    the mask of the call made with seeded(seed)."""
    return lambda: directional_gradient(x, dout, lambda zs: forward_outputs(student, fn, zs, p, train, seed))


def forward_outputs(student, fn, xs, p, train, seed):
    """`forward` on many inputs in one round trip, each with a fresh generator of `seed`
    (so every call replays the same mask): the numerical gradient's evaluation points."""
    results = getattr(student, fn).many([(x, p, train, seeded(seed)) for x in xs])
    return [forward_result(r, fn, x, p, train)[0] for r, x in zip(results, xs)]


def mask_structure_hint(dropped):
    """Name a mask drawn with the wrong shape (one mask for all rows, or for whole rows)."""
    if dropped.ndim >= 2 and dropped.any() and not dropped.all():
        if (dropped == dropped[:1]).all():
            return (" Every row (sample) got the same mask: draw one random number per element, "
                    "rng.random(x.shape), not one per feature.")
        if (dropped == dropped[:, :1]).all():
            return (" Each row is dropped or kept as a whole: draw one random number per element, "
                    "rng.random(x.shape), not one per sample.")
    return ""


def check_dropped_fraction(out, p, fn):
    """The zeros of out (x is far from zero) must be a fraction p of all units."""
    # N = 250,000 independent Bernoulli(p) drops: the exact two-sided binomial interval
    # stats.DROP_INTERVAL[p] (scipy.stats.binom.ppf at 0.5e-9 and 1 - 0.5e-9, widened by one
    # count) holds the dropped fraction with probability >= 1 - 1e-9.
    assert out.size == stats.DROP_N, "the course test must use DROP_N units"
    dropped = out == 0
    frac = float(dropped.mean())
    lo, hi = stats.DROP_INTERVAL[p]
    if lo <= frac <= hi:
        return
    if frac == 0:
        fail(f"{fn}: no unit was dropped in training mode (p = {p}): with train=True each unit "
             "must be set to 0 with probability p")
    if abs(frac - (1 - p)) < 0.01:
        fail(f"{fn}: with p = {p} you dropped a fraction {frac:.4f} of the units, about 1 - p: "
             + KEEP_PROB)
    fail(f"{fn}: with p = {p} you dropped a fraction {frac:.4f} of the units (the zeros of out); "
         f"a correct mask drops between {lo} and {hi} of these {out.size} units. Each unit must be "
         "dropped independently with probability p." + mask_structure_hint(dropped))


# ================================================================ dropout_forward

@pytest.mark.points(2)
def test_dropout_drops_fraction_p(student):
    """dropout_forward: training drops a fraction p of the units"""
    cases = [(p, big_input(shape, seed), seed) for p, shape, seed in ((0.2, (400, 625), 1),
                                                                      (0.7, (625, 400), 2))]
    results = forwards(student, INV, [(x, p, True, seeded(100 + seed))
                                      for p, x, seed in cases])
    for (p, x, _), (out, _) in zip(cases, results):
        check_dropped_fraction(out, p, INV)


@pytest.mark.points(2)
def test_dropout_outputs_zero_or_rescaled(student):
    """dropout_forward: each training output is 0 or x/(1-p)"""
    cases = [(p, big_input(shape, seed), seed) for p, shape, seed in ((0.2, (30, 17), 3),
                                                                      (0.7, (17, 30), 4))]
    results = forwards(student, INV, [(x, p, True, seeded(100 + seed))
                                      for p, x, seed in cases])
    for (p, x, _), (out, _) in zip(cases, results):
        kept = out != 0
        # a correct mask keeps all 510 units with probability 0.8^510 < 1e-49, and drops them
        # all with probability 0.7^510 < 1e-78
        if not kept.any():
            fail(f"{INV}: every output is 0 in training mode (p = {p}, {x.size} units): only a "
                 "fraction p of the units may be dropped; the others are x/(1-p)")
        if kept.all():
            fail(f"{INV}: no unit was dropped in training mode (p = {p}, {x.size} units): with "
                 "train=True each unit must be set to 0 with probability p")
        assert_close(out, np.where(kept, x / (1 - p), 0.0), fn=INV, mistakes={
            "the kept units are not rescaled: inverted dropout divides them by the keep "
            "probability 1 - p during training (out = x * mask / (1 - p)), so that the expected "
            "output equals x and test time needs no scaling (that is what makes it inverted dropout)":
                np.where(kept, x, 0.0),
            "the kept units are divided by p, but p is the probability of DROPPING a unit, not "
            "the keep probability: divide by 1 - p": np.where(kept, x / p, 0.0),
            "the kept units are multiplied by (1 - p): that is vanilla dropout's test-time "
            "scaling. Inverted dropout divides the kept units by (1 - p) during training":
                np.where(kept, x * (1 - p), 0.0),
        }, hint=f"Given your mask (the zeros of out), each kept unit must be x/(1-p) (p = {p})")


@pytest.mark.points(1)
def test_dropout_expected_training_output_is_x(student):
    """dropout_forward: the average training output equals the input (E[out] = x)"""
    cases = [(p, big_input(shape, seed), seed) for p, shape, seed in ((0.2, (300, 200), 5),
                                                                      (0.7, (200, 300), 6))]
    results = forwards(student, INV, [(x, p, True, seeded(100 + seed))
                                      for p, x, seed in cases])
    for (p, x, _), (out, _) in zip(cases, results):
        # out_i = x_i * m_i / (1 - p) with independent m_i ~ Bernoulli(1 - p), so
        # E[mean(out)] = mean(x), and out_i lies in [0, c_i] with c_i = x_i / (1 - p).
        # Hoeffding for independent terms of ranges c_i:
        # P(|mean(out) - mean(x)| > t) <= 2 exp(-2 N^2 t^2 / sum(c_i^2)) = 1e-9 for
        # t = sqrt(mean(c^2)) * sqrt(ln(2e9) / (2N)) = stats.hoeffding(N, width=rms(c)).
        c = x / (1 - p)
        t = stats.hoeffding(x.size, float(np.sqrt(np.mean(c ** 2))))
        m, mx = float(out.mean()), float(x.mean())
        if abs(m - mx) <= t:
            continue
        if abs(m - (1 - p) * mx) <= t:
            fail(f"{INV}: with p = {p} your training output averages {m:.4f} = (1 - p) * mean(x): "
                 "inverted dropout must divide the kept units by (1 - p) so that the expected "
                 f"training output equals x (mean {mx:.4f}) and test time can return x unchanged")
        fail(f"{INV}: with p = {p} your training output averages {m:.4f}, but the expected "
             f"output of inverted dropout is x itself (mean {mx:.4f}; allowed deviation {t:.3g}). "
             "Keep each unit with probability 1 - p and divide the kept ones by (1 - p)")


@pytest.mark.points(2)
def test_dropout_test_mode_is_identity(student, reference_forward_test_mode):
    """dropout_forward: test mode is the identity"""
    cases = [(p, normal_input(shape, seed), seed)
             for p, shape, seed in ((0.2, (13, 7), 7), (0.7, (7, 13), 8))]
    results = forwards(student, INV, [(x, p, False, seeded(100 + seed))
                                      for p, x, seed in cases])
    for (p, x, _), (out, _) in zip(cases, results):
        expected, _ = reference_forward_test_mode(INV, x, p)
        if (out == 0).any():
            fail(f"{INV}: at test time (train=False) your output has zeros, so units were dropped: "
                 "at test time every unit is active (all units take part in the prediction); "
                 "apply no mask")
        assert_close(out, expected, fn=INV, mistakes={
            "test-time output equals x*(1-p): inverted dropout already rescaled during training, "
            "so test time must be the identity (scaling by 1-p at test time is vanilla dropout)":
                x * (1 - p),
            "test-time output equals x/(1-p): the 1/(1-p) scaling belongs to training only; at "
            "test time inverted dropout returns x unchanged": x / (1 - p),
            "test-time output equals x*p: inverted dropout does nothing at test time (and p is "
            "the drop probability, so x*p would be wrong for vanilla dropout too)": x * p,
        }, hint="At test time inverted dropout returns x unchanged")


@pytest.fixture
def reference_forward_test_mode(reference):
    """The reference's deterministic test-mode output (called with inputs the test made)."""
    def run(fn, x, p):
        return getattr(reference, fn)(x, p, False, seeded(0))
    return run


def agreement(a, b):
    """The fraction of positions where two boolean masks agree."""
    return float(np.mean(a == b))


def check_masks(student, fn, *, independent, draws):
    """`check_independent_masks` and/or `check_random_draws_from_rng`: their forward calls
    share one round trip (but the last call of the second, which needs the generator state
    that the one before it left behind)."""
    p = 0.3
    args = []
    if independent:
        args.append((big_input((300, 200), 9), p, True, seeded(109)))
    if draws:
        x, rng = big_input((50, 40), 10), seeded(11)
        args += [(x, p, True, seeded(7)), (x, p, True, seeded(7)),
                 (x, p, True, seeded(8)), (x, p, True, rng)]
    results = forwards(student, fn, args)
    if independent:
        check_independent_masks(fn, next(results)[0], p)
    if draws:
        check_random_draws_from_rng(student, fn, results, x, p, rng)


def check_independent_masks(fn, out, p):
    """Masks must be drawn independently for every element: across rows and across columns.
    `out`: the training output for x = big_input((300, 200), 9) and seeded(109)."""
    dropped = out == 0
    # independent masks make 300 identical rows (or 200 identical columns) impossible in
    # practice: probability below q^(299*200) with q = p^2 + (1-p)^2 = 0.58
    hint = mask_structure_hint(dropped)
    if hint:
        fail(f"{fn}:{hint} Each unit of each sample must be dropped independently (every "
             "sample trains a different sub-network)")
    # Two different units are both dropped or both kept with probability q = p^2 + (1-p)^2.
    # Disjoint pairs (rows 2i and 2i+1; columns 2j and 2j+1) give independent indicators, so
    # their mean is within Hoeffding's stats.hoeffding(n, 1, alpha/2) of q with probability
    # >= 1 - 0.5e-9 for each of the two directions (1e-9 in all).
    q = p ** 2 + (1 - p) ** 2
    rows = dropped[0::2] == dropped[1::2]
    cols = dropped[:, 0::2] == dropped[:, 1::2]
    for what, same in (("neighbouring rows (samples)", rows), ("neighbouring columns (features)", cols)):
        t = stats.hoeffding(same.size, 1.0, stats.ALPHA / 2)
        a = float(same.mean())
        if abs(a - q) > t:
            fail(f"{fn}: the masks of {what} agree at {a:.3f} of the positions; independent masks "
                 f"with p = {p} agree at {q:.3f} (within {t:.3f}). Draw one independent random "
                 "number per element: rng.random(x.shape)")


def check_random_draws_from_rng(student, fn, results, x, p, rng):
    """Same seed, same output; different seeds or successive calls, different masks.
    `results`: the forward passes on x with seeded(7) twice, (8), then rng."""
    # For a correct solution two independent masks of 2000 units are equal with probability
    # q^2000 = 0.58^2000 < 1e-400 (q = p^2 + (1-p)^2), so "different" never fails falsely.
    a, _ = next(results)
    b, _ = next(results)
    if not np.array_equal(a, b):
        fail(f"{fn}: two calls with generators seeded the same way (seeded(7)) gave "
             "different outputs, but the same seed must give the same result: draw every random "
             "number from the rng argument, not from a generator of your own "
             "(np.random.default_rng() without a seed) or from the clock")
    c, _ = next(results)
    if np.array_equal(a, c):
        fail(f"{fn}: different seeds (seeded(7) and (8)) gave exactly the same mask, "
             "so your mask does not come from the rng argument. Draw it from rng, e.g. "
             "rng.random(x.shape), not from np.random (np.random.rand, np.random.binomial, "
             "np.random.random) or a generator with a fixed seed")
    d, _ = next(results)
    e, _ = forward(student, fn, x, p, True, rng)  # rng as the call of d left it
    if np.array_equal(d, e):
        fail(f"{fn}: two successive calls with the same generator gave the same mask: every call "
             "(every mini-batch) must draw a new mask from rng, which then advances; do not copy "
             "or reseed the generator")


@pytest.mark.points(1)
def test_dropout_masks_independent(student):
    """dropout_forward: every unit of every sample is dropped independently"""
    check_masks(student, INV, independent=True, draws=False)


@pytest.mark.points(1)
def test_dropout_random_draws_from_rng(student):
    """dropout_forward: every random draw comes from rng (same seed, same output)"""
    check_masks(student, INV, independent=False, draws=True)


def check_p_range(student, fn):
    x = big_input((6, 5), 12)
    for p, why in ((1.0, "for p = 1 (it would drop every unit and divide by zero)"),
                   (1.5, "for p = 1.5 (p is a probability)"),
                   (-0.1, "for p = -0.1 (p is a probability)")):
        expect_value_error(lambda: getattr(student, fn)(x, p, True, seeded(0)),
                           fn=fn, why=why + ": p must be in [0, 1)")
    try:
        out, _ = forward(student, fn, x, 0.0, True, seeded(0))
    except StudentError as exc:
        if exc.exc_type == "ValueError":
            fail(f"{fn} raised ValueError for p = 0, but p = 0 is allowed (drop nothing): "
                 "only p outside [0, 1) is invalid")
        raise
    assert_close(out, x, fn=fn, hint="With p = 0 nothing is dropped and nothing is scaled: "
                 "the training output must equal x")


@pytest.mark.points(1)
def test_dropout_p_range(student):
    """dropout_forward: p outside [0, 1) raises ValueError; p = 0 drops nothing"""
    check_p_range(student, INV)


# ================================================================ dropout_backward

def check_train_backward(student, fn_f, fn_b, inverted):
    """dx through the student's own training mask, then a gradient check (numerical where dx is wrong)."""
    # the last case is the numerical gradient's (below)
    cases = [(p, big_input(shape, seed), normal_input(shape, 200 + seed), seed)
             for p, shape, seed in ((0.2, (30, 17), 13), (0.7, (17, 30), 14), (0.3, (6, 4), 15))]
    results = forward_backward(student, fn_f, fn_b, [
        (x, p, True, seeded(100 + seed), dout) for p, x, dout, seed in cases])
    for (p, x, dout, seed), (out, _, dx) in zip(cases[:2], results):
        dx = as_array(dx, fn_b, "dx", shape=x.shape)
        kept = out != 0
        scale = 1 / (1 - p) if inverted else 1.0
        true_dx = dout * kept * scale
        forward_ok = matches(out, x * kept * scale)
        # a correct mask drops all 510 units with probability 0.7^510 < 1e-78
        if not kept.any():
            fail(f"{fn_b}: dx cannot be checked: your {fn_f} dropped every unit (its output is all "
                 f"zeros), so any dx that is 0 would look right: fix {fn_f} first")
        # dout is never exactly 0 (normal draws), so dx is 0 exactly where the mask dropped.
        # (No statistics here: dx is judged given the student's own mask.)
        if not np.array_equal(dx == 0, ~kept):
            if (dx != 0).all():
                fail(f"{fn_b}: dx is nonzero for the units that the forward pass dropped: a "
                     "dropped unit passes no gradient back (a unit blocked in the forward pass is "
                     "blocked in the backward pass too); multiply dout by the mask")
            fail(f"{fn_b}: dx is zero at other places than the zeros of the forward output: "
                 "backward must reuse the mask that the forward pass drew (keep it in cache), "
                 "not draw a new one")
        if forward_ok:
            mistakes = {"dx equals dout: multiply dout by the forward pass's mask": dout}
            if inverted:
                mistakes["dx = dout * mask without the 1/(1-p) scale: the forward pass divided the "
                         "kept units by (1-p), so the backward pass must too: dx = dout * mask / (1-p)"] \
                    = dout * kept
                mistakes["dx is divided by p instead of (1-p): p is the drop probability"] \
                    = dout * kept / p
            else:
                mistakes["dx = dout * mask / (1-p): that is inverted dropout's backward; vanilla "
                         "dropout does not scale in training, so dx = dout * mask"] \
                    = dout * kept / (1 - p)
            assert_close(dx, true_dx, fn=fn_b, name="dx", mistakes=mistakes,
                         hint="Given the mask of your forward pass (the zeros of out), dx must be "
                              f"dout * mask{' / (1 - p)' if inverted else ''}")
        else:  # the forward pass is wrong: dx keeps its points if it is that forward's gradient
            check_gradient(dx, true_dx, own_gradient(student, fn_f, x, dout, p, True, 100 + seed),
                           fn_b, fn_f)
    # Gradient check through the student's forward pass: a fresh generator with the same
    # seed on every call replays the same mask (NUMERICS.md).
    p, x, dout, seed = cases[2]
    out, _, dx = next(results)
    kept = out != 0
    if not kept.any():  # a correct mask drops all 24 units with probability 0.3^24 < 1e-12
        fail(f"{fn_b}: dx cannot be checked: your {fn_f} dropped every unit (its output is all "
             f"zeros), so any dx that is 0 would look right: fix {fn_f} first")
    true_dx = dout * kept * (1 / (1 - p) if inverted else 1.0)
    check_gradient(dx, true_dx, own_gradient(student, fn_f, x, dout, p, True, 100 + seed), fn_b, fn_f)


def student_call(student, fn, *args):
    return getattr(student, fn)(*args)


def check_test_backward(student, reference, fn_f, fn_b, mistakes_of):
    """Test mode: dx against the reference (inputs made here), then a gradient check."""
    cases = [(p, normal_input(shape, seed),
              normal_input(shape, 200 + seed), seed)
             for p, shape, seed in ((0.2, (4, 3), 16), (0.7, (3, 7), 17))]
    results = forward_backward(student, fn_f, fn_b, [
        (x, p, False, seeded(100 + seed), dout) for p, x, dout, seed in cases])
    for (p, x, dout, seed), (_, _, dx) in zip(cases, results):
        _, ref_cache = getattr(reference, fn_f)(x, p, False, seeded(0))
        expected = getattr(reference, fn_b)(dout, ref_cache)
        dx = as_array(dx, fn_b, "dx", shape=x.shape)
        own = own_gradient(student, fn_f, x, dout, p, False, 100 + seed)
        # the exact gradient of a wrong test-time forward pass keeps its points (with a note)
        if keeps_points(dx, expected, own, fn=fn_b, wrt="dx", forward=fn_f):
            continue
        if (dx == 0).any():
            fail(f"{fn_b}: at test time dx has zeros, as if a mask were applied: at test time "
                 "every unit is active and passes its gradient")
        assert_close(dx, expected, fn=fn_b, name="dx", mistakes=mistakes_of(dout, p))


@pytest.mark.points(2)
def test_dropout_backward_train(student):
    """dropout_backward: training gradient uses the forward mask and the 1/(1-p) scale"""
    check_train_backward(student, INV, INV_B, inverted=True)


@pytest.mark.points(1)
def test_dropout_backward_test_mode(student, reference):
    """dropout_backward: at test time dx = dout"""
    check_test_backward(student, reference, INV, INV_B, lambda dout, p: {
        "at test time dx = dout * (1-p), but inverted dropout's test-time forward pass is the "
        "identity, so dx = dout": dout * (1 - p),
        "at test time dx = dout / (1-p), but inverted dropout's test-time forward pass is the "
        "identity, so dx = dout": dout / (1 - p),
    })


# ================================================================ vanilla_dropout_forward

@pytest.mark.points(2)
def test_vanilla_drops_fraction_p_without_scaling(student):
    """vanilla_dropout_forward: training drops a fraction p and leaves kept units unscaled"""
    cases = [(p, big_input(shape, seed), seed) for p, shape, seed in ((0.2, (625, 400), 18),
                                                                      (0.7, (400, 625), 19))]
    results = forwards(student, VAN, [(x, p, True, seeded(100 + seed))
                                      for p, x, seed in cases])
    for (p, x, _), (out, _) in zip(cases, results):
        check_dropped_fraction(out, p, VAN)
        kept = out != 0
        assert_close(out, np.where(kept, x, 0.0), fn=VAN, mistakes={
            "the kept units are divided by (1 - p): that is inverted dropout. Vanilla dropout "
            "keeps x unchanged during training (out = x * mask) and scales by (1 - p) at test "
            "time instead": np.where(kept, x / (1 - p), 0.0),
            "the kept units are multiplied by (1 - p) during training: vanilla dropout scales "
            "by (1 - p) at test time only; in training out = x * mask": np.where(kept, x * (1 - p), 0.0),
        }, hint="Given your mask (the zeros of out), each kept unit must equal x")


@pytest.mark.points(1)
def test_vanilla_test_mode_scales(student, reference_forward_test_mode):
    """vanilla_dropout_forward: test-time output is x*(1-p)"""
    cases = [(p, normal_input(shape, seed), seed)
             for p, shape, seed in ((0.2, (13, 7), 20), (0.7, (7, 13), 21))]
    results = forwards(student, VAN, [(x, p, False, seeded(100 + seed))
                                      for p, x, seed in cases])
    for (p, x, _), (out, _) in zip(cases, results):
        expected, _ = reference_forward_test_mode(VAN, x, p)
        if (out == 0).any():
            fail(f"{VAN}: at test time (train=False) your output has zeros, so units were dropped: "
                 "at test time every unit is active; apply no mask and scale by 1 - p")
        assert_close(out, expected, fn=VAN, mistakes={
            "test-time output equals x*p: it must be multiplied by the ratio KEPT during training, "
            "1 - p, not by the ratio dropped, p (some texts phrase it as the 'dropout ratio', but "
            "the keep ratio 1 - dropout_ratio is what makes test equal the training average)": x * p,
            "test-time output equals x: vanilla dropout does not rescale in training, so at test "
            "time it must scale by the keep probability: out = x * (1 - p)": x,
            "test-time output equals x/(1-p): that scaling belongs to inverted dropout's "
            "training; vanilla dropout's test output is x * (1 - p)": x / (1 - p),
        }, hint="At test time vanilla dropout returns x * (1 - p), the expected training output")


@pytest.mark.points(1)
def test_vanilla_test_output_is_training_average(student):
    """vanilla_dropout_forward: test-time output equals the average training output"""
    K, D = 2000, 30
    cases = [(p, big_input(D, seed), seed) for p, seed in ((0.2, 22), (0.7, 23))]
    args = []
    for p, row, seed in cases:
        X = np.tile(row, (K, 1))  # one call on K identical rows gives K independent masks
        args += [(X, p, True, seeded(100 + seed)),
                 (X[:3], p, False, seeded(200 + seed))]
    results = forwards(student, VAN, args)  # per p: training on X, then test mode on X[:3]
    for p, row, seed in cases:
        train_out, _ = next(results)
        test_out, _ = next(results)
        # a correct mask drops all 60,000 units with probability 0.7^60000: all zeros is a
        # forward pass that ignores x, and would match an all-zero test output vacuously
        if not train_out.any():
            fail(f"{VAN}: with p = {p} every training output is 0: only a fraction p of the units "
                 "may be dropped; the others keep their value x")
        mc = train_out.mean(axis=0)
        # Column j of train_out holds K independent values in [0, x_j] with mean (1-p) x_j.
        # Hoeffding with alpha/D per column and a union bound over the D columns: every
        # |mc_j - (1-p) x_j| <= hoeffding(K, x_j, 1e-9/D) with probability >= 1 - 1e-9.
        tol = np.array([stats.hoeffding(K, abs(r), stats.ALPHA / D) for r in row])
        bad = np.abs(test_out - mc) > tol
        if not bad.any():
            continue
        i, j = (int(v) for v in np.argwhere(bad)[0])
        msg = (f"{VAN}: with p = {p}, for x = {row[j]:.4f} your test-time output is "
               f"{test_out[i, j]:.4f}, but your training outputs average {mc[j]:.4f} over {K} "
               f"masks (allowed deviation {tol[j]:.3f}): vanilla dropout's test-time output must "
               "equal the expected training output, (1 - p) * x (the prediction imitates the "
               "average over the ensemble of thinned networks).")
        if np.all(np.abs(mc - p * row) <= tol):
            msg += " Your training outputs average p * x: " + KEEP_PROB
        fail(msg)


@pytest.mark.points(1)
def test_vanilla_masks_independent_and_from_rng(student):
    """vanilla_dropout_forward: independent masks, every random draw from rng"""
    check_masks(student, VAN, independent=True, draws=True)


@pytest.mark.points(1)
def test_vanilla_p_range(student):
    """vanilla_dropout_forward: p outside [0, 1) raises ValueError; p = 0 drops nothing"""
    check_p_range(student, VAN)


# ================================================================ vanilla_dropout_backward

@pytest.mark.points(1)
def test_vanilla_backward_train(student):
    """vanilla_dropout_backward: training gradient is dout times the forward mask"""
    check_train_backward(student, VAN, VAN_B, inverted=False)


@pytest.mark.points(1)
def test_vanilla_backward_test_mode(student, reference):
    """vanilla_dropout_backward: at test time dx = dout*(1-p)"""
    check_test_backward(student, reference, VAN, VAN_B, lambda dout, p: {
        "at test time dx = dout, but vanilla dropout's test-time forward pass multiplies by "
        "(1-p), so dx = dout * (1-p)": dout,
        "at test time dx = dout * p: the test-time forward pass multiplies by the keep "
        "probability (1-p), so dx = dout * (1-p)": dout * p,
        "at test time dx = dout / (1-p): the test-time forward pass multiplies by (1-p), so "
        "dx = dout * (1-p)": dout / (1 - p),
    })
