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

from grader.checks import (N_, StudentError, array, assert_close, check_draws_from_rng, expect_value_error,
                           fail, gradcheck_each, mistake, neighbour_agreement, normal_input, seeded, stats, tr)

OUT = (array("out", like="x"), "cache")

KEEP_PROB = mistake("dropout.keep_prob_swap")
NOT_RESCALED = mistake("dropout.no_rescale_train")


def big_input(shape, seed):
    """x = randn + 10: never zero, so a zero in the output marks a dropped unit."""
    return normal_input(shape, seed, loc=10.0)


def run(student, fn, cases, train=True):
    """The student's forward pass on big inputs, one round trip for all cases (p, shape, seed):
    (p, x, out) for each, checked as it is taken."""
    xs = [big_input(shape, seed) for _, shape, seed in cases]
    results = getattr(student, fn).each([(x, p, train, seeded(100 + seed)) for x, (p, _, seed) in zip(xs, cases)],
                                        returns=OUT)
    return ((p, x, out) for x, (p, _, _), (out, _) in zip(xs, cases, results))


def mask_structure(dropped):
    """The mistake of a mask drawn with the wrong shape (one mask for all rows, or for whole rows)."""
    if dropped.ndim >= 2 and dropped.any() and not dropped.all():
        if (dropped == dropped[:1]).all():
            return mistake("dropout.shared_mask_rows")
        if (dropped == dropped[:, :1]).all():
            return mistake("dropout.shared_mask_columns")


def check_not_vacuous(out, p):
    """A correct mask keeps some and drops some of the units these tests use (the chance of
    all kept or all dropped is below 1e-12 for every case): all zeros earns nothing."""
    if not out.any():
        fail("every output is 0 in training mode (p = {p}, {n} units): only a fraction p of the units may be "
             "dropped; the others keep their value", p=p, n=out.size)
    if out.all():
        fail("no unit was dropped in training mode (p = {p}, {n} units): with train=True each unit must be "
             "set to 0 with probability p", p=p, n=out.size)


def check_dropped_fraction(out, p):
    """The zeros of out (x is far from zero) must be a fraction p of all units: the exact
    two-sided binomial interval of N Bernoulli(p) drops (stats.binomial_interval) holds the
    dropped fraction with probability >= 1 - 1e-9."""
    dropped = out == 0
    frac = float(dropped.mean())
    lo, hi = stats.binomial_interval(out.size, p)
    if lo <= frac <= hi:
        return
    check_not_vacuous(out, p)
    if lo <= 1 - frac <= hi:
        fail("with p = {p} and x of shape {shape} you dropped a fraction {frac} of the units, about 1 - p: "
             "{mistake}", p=p, shape=out.shape, frac=f"{frac:.4f}", mistake=KEEP_PROB)
    found = mask_structure(dropped)
    fail("with p = {p} and x of shape {shape} you dropped a fraction {frac} of the units (the zeros of out); a "
         "correct mask drops between {lo} and {hi} of these {n} units. Each unit must be dropped independently "
         "with probability p.{found}", p=p, shape=out.shape, frac=f"{frac:.4f}", lo=f"{lo:.5f}", hi=f"{hi:.5f}",
         n=out.size, found=f" {found}" if found else "", mistake=found)


# ================================================================ dropout_forward

def check_kept(out, x, p, scale, mistakes, hint, **params):
    """Given the student's mask (the zeros of out), each kept unit must be x * scale; `mistakes`:
    {mistake: the scale it uses instead}."""
    kept = out != 0
    assert_close(out, np.where(kept, x * scale, 0.0), mistakes={m: np.where(kept, x * s, 0.0)
                                                                for m, s in mistakes.items()}, hint=hint, p=p, **params)


def check_test_output(out, x, expected, mistakes, hint, **params):
    """A test-mode output: no unit dropped, and equal to `expected`; `mistakes`: {mistake: the
    factor it multiplies x by}."""
    if (out == 0).any():
        fail(mistake("dropout.test_mode_masks"))
    assert_close(out, expected, mistakes={m: x * s for m, s in mistakes.items()}, hint=hint, **params)


@pytest.mark.points(2)
def test_dropout_drops_fraction_p(student):
    """dropout_forward: training drops a fraction p of the units"""
    for p, _, out in run(student, "dropout_forward", ((0.2, (400, 625), 1), (0.7, (625, 400), 2))):
        check_dropped_fraction(out, p)


@pytest.mark.points(2)
def test_dropout_outputs_zero_or_rescaled(student):
    """dropout_forward: each training output is 0 or x/(1-p)"""
    for p, x, out in run(student, "dropout_forward", ((0.2, (30, 17), 3), (0.7, (17, 30), 4))):
        check_not_vacuous(out, p)  # 510 units: all kept with probability 0.8^510 < 1e-49
        check_kept(out, x, p, 1 / (1 - p), {NOT_RESCALED: 1, mistake("dropout.divide_by_p"): 1 / p,
                                            mistake("dropout.train_times_keep"): 1 - p},
                   hint=N_("Given your mask (the zeros of out), each kept unit must be x/(1-p) (p = {p})"))


@pytest.mark.points(1)
def test_dropout_expected_training_output_is_x(student):
    """dropout_forward: the average training output equals the input (E[out] = x)"""
    for p, x, out in run(student, "dropout_forward", ((0.2, (300, 200), 5), (0.7, (200, 300), 6))):
        # out_i = x_i * m_i / (1 - p) with independent m_i ~ Bernoulli(1 - p), so
        # E[mean(out)] = mean(x), and out_i lies in [0, c_i] with c_i = x_i / (1 - p).
        # Hoeffding for independent terms of ranges c_i:
        # P(|mean(out) - mean(x)| > t) <= 2 exp(-2 N^2 t^2 / sum(c_i^2)) = 1e-9 for
        # t = sqrt(mean(c^2)) * sqrt(ln(2e9) / (2N)) = stats.hoeffding(N, width=rms(c)).
        t = stats.hoeffding(x.size, float(np.sqrt(np.mean((x / (1 - p)) ** 2))))
        m, mx = float(out.mean()), float(x.mean())
        if abs(m - mx) > t:
            found = NOT_RESCALED if abs(m - (1 - p) * mx) <= t else None  # it averages (1 - p) * mean(x)
            fail("with p = {p} your training output averages {m}, but the expected output of inverted dropout "
                 "is x itself (mean {mx}; allowed deviation {t}). Keep each unit with probability 1 - p and "
                 "divide the kept ones by (1 - p).{found}", p=p, m=f"{m:.4f}", mx=f"{mx:.4f}", t=f"{t:.3g}",
                 found=f" {found}" if found else "", mistake=found)


def check_test_mode(student, reference, fn, seeds, mistakes, hint):
    """Test mode (train=False) against the reference, on inputs made here."""
    for p, x, out in run(student, fn, ((0.2, (13, 7), seeds[0]), (0.7, (7, 13), seeds[1])), train=False):
        check_test_output(out, x, getattr(reference, fn)(x, p, False, seeded(0))[0], mistakes(p), hint)


@pytest.mark.points(2)
def test_dropout_test_mode_is_identity(student, reference):
    """dropout_forward: test mode is the identity"""
    check_test_mode(student, reference, "dropout_forward", (7, 8), lambda p: {
        mistake("dropout.test_scales_by_keep"): 1 - p, mistake("dropout.test_divides"): 1 / (1 - p),
        mistake("dropout.test_times_p"): p}, hint=N_("At test time inverted dropout returns x unchanged"))


def check_independent_masks(student, fn):
    """Masks must be drawn independently for every element: across rows and across columns."""
    p, _, out = next(run(student, fn, ((0.3, (300, 200), 9),)))
    dropped = out == 0
    # independent masks make 300 identical rows (or 200 identical columns) impossible in
    # practice: probability below q^(299*200) with q = p^2 + (1-p)^2 = 0.58
    structure = mask_structure(dropped)
    if structure:
        fail(structure)
    # neighbouring rows, then columns, agree as independent masks do: alpha/2 each, 1e-9 in all
    for what, axis in ((N_("neighbouring rows (samples)"), 0), (N_("neighbouring columns (features)"), 1)):
        agree, q, t = neighbour_agreement(dropped, p, axis, stats.ALPHA / 2)
        if abs(agree - q) > t:
            fail("the masks of {what} agree at {agree} of the positions; independent masks with p = {p} agree "
                 "at {q} (within {t}). Draw one independent random number per element: rng.random(x.shape)",
                 what=tr(what), agree=f"{agree:.3f}", p=p, q=f"{q:.3f}", t=f"{t:.3f}")


def check_rng(student, fn):
    # For a correct solution two independent masks of 2000 units are equal with probability
    # q^2000 = 0.58^2000 < 1e-400 (q = p^2 + (1-p)^2), so "different" never fails falsely.
    x = big_input((50, 40), 10)
    check_draws_from_rng(getattr(student, fn), lambda rng: (x, 0.3, True, rng), returns=OUT,
                         pick=lambda r: r[0], what="mask")


@pytest.mark.points(1)
def test_dropout_masks_independent(student):
    """dropout_forward: every unit of every sample is dropped independently"""
    check_independent_masks(student, "dropout_forward")


@pytest.mark.points(1)
def test_dropout_random_draws_from_rng(student):
    """dropout_forward: every random draw comes from rng (same seed, same output)"""
    check_rng(student, "dropout_forward")


def check_p_range(student, fn):
    x = big_input((6, 5), 12)
    whys = {1.0: N_("for p = 1 (it would drop every unit and divide by zero): p must be in [0, 1)"),
            1.5: N_("for p = 1.5 (p is a probability): p must be in [0, 1)"),
            -0.1: N_("for p = -0.1 (p is a probability): p must be in [0, 1)")}
    results = getattr(student, fn).each([(x, p, True, seeded(0)) for p in (*whys, 0.0)], returns=OUT)
    for i, why in enumerate(whys.values()):
        expect_value_error(lambda: results[i], why=why)
    try:
        out, _ = results[3]
    except StudentError as exc:
        if exc.exc_type == "ValueError":
            fail(mistake("dropout.p_zero_rejected"))
        raise
    assert_close(out, x, hint="With p = 0 nothing is dropped and nothing is scaled: the training "
                              "output must equal x")


@pytest.mark.points(1)
def test_dropout_p_range(student):
    """dropout_forward: p outside [0, 1) raises ValueError; p = 0 drops nothing"""
    check_p_range(student, "dropout_forward")


# ================================================================ dropout_backward

def dx_mistakes(inverted, train, dout, out, p):
    """The catalogued mistakes of dx: a predicate of dx, or the dx it gives (dout times a
    factor, and times the student's mask in training)."""
    kept = out != 0
    if train:
        factors = {mistake("dropout.backward_no_scale"): 1, mistake("dropout.backward_divide_by_p"): 1 / p} \
            if inverted else {mistake("dropout.vanilla_backward_scaled"): 1 / (1 - p)}
        # dout is never 0, so the zeros of dx are its mask (which tells nothing when nothing was dropped)
        return {mistake("dropout.backward_no_mask"): lambda dx: (dx != 0).all() and not kept.all(),
                mistake("dropout.backward_new_mask"): lambda dx: not np.array_equal(dx == 0, ~kept),
                mistake("dropout.backward_returns_dout"): dout, **{m: dout * kept * f for m, f in factors.items()}}
    factors = {mistake("dropout.backward_test_scales"): 1 - p, mistake("dropout.backward_test_divides"): 1 / (1 - p)} \
        if inverted else {mistake("vanilla.backward_test_unscaled"): 1, mistake("vanilla.backward_test_times_p"): p,
                          mistake("vanilla.backward_test_divides"): 1 / (1 - p)}
    return {mistake("dropout.backward_test_masks"): lambda dx: (dx == 0).any(), **{m: dout * f for m, f in factors.items()}}


TRAIN_GRADIENTS = ((0.2, (30, 17), 13, True), (0.7, (17, 30), 14, True), (0.3, (6, 4), 15, True))
TEST_GRADIENTS = ((0.2, (4, 3), 16, False), (0.7, (3, 7), 17, False))


def check_gradients(student, kind, cases):
    """`kind`_backward on each case (p, shape, seed, train), in two round trips: dx against
    dout through the student's own training mask (times 1/(1-p) for inverted dropout), or
    against the test-time scale; where dx is wrong, gradcheck compares it with the gradient
    of the student's own forward pass, replaying the same mask, to tell which pass is wrong."""
    inverted, forward = kind == "dropout", f"{kind}_forward"
    all_dropped = []  # p^size for each training case whose output is all zeros

    def case(p, shape, seed, train):
        x, dout = big_input(shape, seed), normal_input(shape, 200 + seed)
        scale = (1 / (1 - p) if inverted else 1.0) if train else (1.0 if inverted else 1 - p)

        def mask(out):  # the student's training mask
            # All-zero outputs make a zero dx pass vacuously. A correct mask drops every unit of a
            # set S of cases with probability prod_S p^size; failing when that is below 1e-12 fails
            # it with probability below 2^6 * 1e-12 (union over the sets of at most 6 cases).
            if not out.any():
                all_dropped.append(p ** out.size)
            if np.prod(all_dropped) < 1e-12:
                fail("dx cannot be checked: your {forward} dropped every unit (its output is all zeros), so any "
                     "dx that is 0 would look right: fix {forward} first", forward=forward)
            return out != 0
        return dict(args=(x, p, train, seeded(100 + seed)), dout=dout,
                    expected=lambda out: dout * (mask(out) if train else 1.0) * scale,
                    mistakes=lambda out: {"dx": dx_mistakes(inverted, train, dout, out, p)},
                    forward_expected=lambda out: x * ((out != 0) if train else 1.0) * scale)
    gradcheck_each(getattr(student, forward), getattr(student, f"{kind}_backward"), [case(*c) for c in cases],
                   wrt="x")


@pytest.mark.points(2)
def test_dropout_backward_train(student):
    """dropout_backward: training gradient uses the forward mask and the 1/(1-p) scale"""
    check_gradients(student, "dropout", TRAIN_GRADIENTS)


@pytest.mark.points(1)
def test_dropout_backward_test_mode(student):
    """dropout_backward: at test time dx = dout"""
    check_gradients(student, "dropout", TEST_GRADIENTS)


# ================================================================ vanilla_dropout_forward

@pytest.mark.points(2)
def test_vanilla_drops_fraction_p_without_scaling(student):
    """vanilla_dropout_forward: training drops a fraction p and leaves kept units unscaled"""
    for p, x, out in run(student, "vanilla_dropout_forward", ((0.2, (625, 400), 18), (0.7, (400, 625), 19))):
        check_dropped_fraction(out, p)
        check_kept(out, x, p, 1.0, {mistake("vanilla.rescales_train"): 1 / (1 - p),
                                    mistake("vanilla.train_times_keep"): 1 - p},
                   hint=N_("Given your mask (the zeros of out), each kept unit must equal x"))


@pytest.mark.points(1)
def test_vanilla_test_mode_scales(student, reference):
    """vanilla_dropout_forward: test-time output is x*(1-p)"""
    check_test_mode(student, reference, "vanilla_dropout_forward", (20, 21), lambda p: {
        mistake("vanilla.test_times_p"): p, mistake("vanilla.test_identity"): 1, mistake("vanilla.test_divides"):
        1 / (1 - p)}, hint=N_("At test time vanilla dropout returns x * (1 - p), the expected training output"))


@pytest.mark.points(1)
def test_vanilla_test_output_is_training_average(student):
    """vanilla_dropout_forward: test-time output equals the average training output"""
    K, D = 2000, 30
    rows = [(p, big_input(D, seed), seed) for p, seed in ((0.2, 22), (0.7, 23))]
    # one call on K identical rows gives K independent masks; test mode on 3 rows
    results = student.vanilla_dropout_forward.each([call for p, row, seed in rows for call in (
        (np.tile(row, (K, 1)), p, True, seeded(100 + seed)), (np.tile(row, (3, 1)), p, False, seeded(200 + seed)))],
        returns=OUT)
    for i, (p, row, _) in enumerate(rows):
        (train_out, _), (test_out, _) = results[2 * i], results[2 * i + 1]
        # a correct mask drops all 60,000 units with probability 0.7^60000: all zeros is a
        # forward pass that ignores x, and would match an all-zero test output vacuously
        check_not_vacuous(train_out, p)
        mc = train_out.mean(axis=0)
        # Column j of train_out holds K independent values in [0, x_j] with mean (1-p) x_j.
        # Hoeffding with alpha/D per column and a union bound over the D columns: every
        # |mc_j - (1-p) x_j| <= hoeffding(K, x_j, 1e-9/D) with probability >= 1 - 1e-9.
        tol = np.array([stats.hoeffding(K, abs(r), stats.ALPHA / D) for r in row])
        bad = np.abs(test_out - mc) > tol
        if bad.any():
            i, j = (int(v) for v in np.argwhere(bad)[0])
            swapped = KEEP_PROB if np.all(np.abs(mc - p * row) <= tol) else None
            fail("with p = {p}, for x = {x} your test-time output is {out}, but your training outputs average "
                 "{mean} over {k} masks (allowed deviation {t}): vanilla dropout's test-time output must equal "
                 "the expected training output, (1 - p) * x (the prediction imitates the average over the "
                 "ensemble of thinned networks).{swapped}", p=p, x=f"{row[j]:.4f}", out=f"{test_out[i, j]:.4f}",
                 mean=f"{mc[j]:.4f}", k=K, t=f"{tol[j]:.3f}", mistake=swapped, swapped=tr(N_(
                     " Your training outputs average p * x: {mistake}"), mistake=swapped) if swapped else "")


@pytest.mark.points(1)
def test_vanilla_masks_independent_and_from_rng(student):
    """vanilla_dropout_forward: independent masks, every random draw from rng"""
    check_independent_masks(student, "vanilla_dropout_forward")
    check_rng(student, "vanilla_dropout_forward")


@pytest.mark.points(1)
def test_vanilla_p_range(student):
    """vanilla_dropout_forward: p outside [0, 1) raises ValueError; p = 0 drops nothing"""
    check_p_range(student, "vanilla_dropout_forward")


# ================================================================ vanilla_dropout_backward

@pytest.mark.points(1)
def test_vanilla_backward_train(student):
    """vanilla_dropout_backward: training gradient is dout times the forward mask"""
    check_gradients(student, "vanilla_dropout", TRAIN_GRADIENTS)


@pytest.mark.points(1)
def test_vanilla_backward_test_mode(student):
    """vanilla_dropout_backward: at test time dx = dout*(1-p)"""
    check_gradients(student, "vanilla_dropout", TEST_GRADIENTS)
