"""Public tests of exercise1: weight initialization (Xavier and He).

Random weights are never compared number by number with an answer: any correct way of
drawing them must pass. They are checked for their shape, and statistically, for the
standard deviation (normal) or the bound (uniform) the contract's formulas give, and for
the shape of their distribution. Every statistic fails a correct solution with probability
at most 1e-9, a check of k statistics at most k * 1e-9 (k <= 3; derived in
grader.checks.samples), and every draw uses a fixed seed, so the same code always gets the
same score.

Shapes are non-square in both orientations, (784, 256) and (256, 784): with equal fans a
fan_in / fan_out mix-up would be invisible.
"""
import math
import weakref

import numpy as np
import pytest

from grader.checks import (N_, as_array, check_draws_from_rng, describe, expect_value_error, fail, mistake, samples,
                           seeded, tr)

BIG = [(784, 256), (256, 784)]  # 200,704 weights each (stats.INIT_N: the bounds in grader.checks.samples)

METHODS = ["xavier_normal", "xavier_uniform", "he_normal", "he_uniform"]
NORMAL = ("xavier_normal", "he_normal")
SEED = dict(zip(METHODS, (101, 102, 103, 104)))
FANS = {k: "(fan_in + fan_out)" if k.startswith("xavier") else "fan_in" for k in METHODS}
FORMULA = {k: f"{'std' if k in NORMAL else 'a'} = sqrt({2 if k in NORMAL else 6} / {FANS[k]})" for k in METHODS}


def std_of(method, fan_in, fan_out):
    """The contract: the std of a normal initializer, the bound a of a uniform one."""
    fans = fan_in + fan_out if method.startswith("xavier") else fan_in
    return math.sqrt((2.0 if method in NORMAL else 6.0) / fans)


# ------------------------------------------------------------------- mistake catalogue

def normal_catalogue(method, fi, fo):
    """{mistake: the std it gives}; the first whose statistics W fits is named."""
    std = std_of(method, fi, fo)
    own = {
        mistake("init.xavier_fan_in"): math.sqrt(2 / fi),
        mistake("init.xavier_fan_out"): math.sqrt(2 / fo),
        mistake("init.xavier_no_2"): math.sqrt(1 / (fi + fo)),
        mistake("init.xavier_lecun"): math.sqrt(1 / fi),
    } if method == "xavier_normal" else {
        mistake("init.he_fan_out"): math.sqrt(2 / fo),
        mistake("init.he_xavier"): math.sqrt(2 / (fi + fo)),
        mistake("init.he_no_2"): math.sqrt(1 / fi),
    }
    return {**own,
            mistake("init.variance_as_std"): math.sqrt(std),
            mistake("init.std_no_sqrt"): std ** 2,
            mistake("init.uniform_bound_as_std"): math.sqrt(3) * std,
            mistake("init.uniform_std"): std / math.sqrt(3),
            mistake("init.std_one"): 1.0,
            mistake("init.std_0_01"): 0.01}


def uniform_catalogue(method, fi, fo):
    """{mistake: the bound it gives}."""
    a = std_of(method, fi, fo)
    own = {
        mistake("init.xavier_uniform_fan_in"): math.sqrt(6 / fi),
        mistake("init.xavier_uniform_fan_out"): math.sqrt(6 / fo),
    } if method == "xavier_uniform" else {
        mistake("init.he_uniform_fan_out"): math.sqrt(6 / fo),
        mistake("init.he_uniform_xavier"): math.sqrt(6 / (fi + fo)),
    }
    return {**own,
            mistake("init.bound_sqrt3"): a / math.sqrt(2),
            mistake("init.std_as_bound"): a / math.sqrt(3),
            mistake("init.bound_no_sqrt"): a ** 2,
            mistake("init.bound_one"): 1.0}


def name_mistake(method, W, fi, fo, where=None, *, shape=False):
    """Fail with the catalogued mistake whose statistics W fits, if any: a normal
    initializer's by its mean and RMS (with `shape`, a uniform first), a uniform one's by max|w| or its shape."""
    where, scale = where or f"{method}({fi}, {fo}, rng)", std_of(method, fi, fo)
    if method in NORMAL:
        if shape and samples.looks_uniform(W):
            fail("{where}: {mistake}", where=where, mistake=mistake("init.uniform_for_normal"), method=method)
        mean, spread = float(np.mean(W)), float(np.std(W))
        if spread == 0:
            fail("{where}: {mistake}", where=where, mistake=mistake("init.constant_weights"), value=W.flat[0])
        if abs(mean) / spread > samples.normal_bounds(W.size)[0]:  # a large mean even next to the spread you drew
            fail("{where}: {mistake}", where=where, mistake=mistake("init.normal_not_centred"), mean=mean)
        found = samples.fitting_std(W, normal_catalogue(method, fi, fo))
    else:
        found = samples.fitting_bound(W, uniform_catalogue(method, fi, fo))
        if found is None and np.max(np.abs(W)) > scale and samples.looks_normal(W):
            found = mistake("init.normal_for_uniform")
    if found:  # the catalogue's placeholders: the formula's fans, the contract's std or bound a
        fail("{where}: {mistake}", where=where, mistake=found, a=scale, fans=FANS[method],
             bound=math.sqrt(3) * scale, third=scale / math.sqrt(3))


# --------------------------------------------------------------------- drawing and shapes

def as_weights(W, fan_in, fan_out, what="W"):
    """W must be a finite float array of shape (fan_in, fan_out); name the transpose."""
    if type(W) is np.ndarray and fan_in != fan_out and W.shape == (fan_out, fan_in):
        fail(mistake("init.transposed"), what=what, shape=W.shape, fi=fan_in, fo=fan_out)
    return as_array(W, name=what, shape=(fan_in, fan_out))


# One 784 x 256 draw is 1.6 MB through the sandbox: the shape, spread and distribution tests share
# each method's two draws (one round trip), kept per submission (weakly, so a later one never sees
# them; a failed call is made again by the next test). The functions are deterministic given the
# seed (the worker seeds np.random before every call), so this changes no outcome.
_draws = weakref.WeakKeyDictionary()


def draws(student, method):
    """[(W, fan_in, fan_out)] of `method` for each shape of BIG, validated as they are taken."""
    cache = _draws.setdefault(student, {})
    if method not in cache:  # the values only: Results would hold the submission, the weak key
        cache[method] = list(getattr(student, method).each([(fi, fo, seeded(SEED[method])) for fi, fo in BIG]))
    return [(as_weights(W, fi, fo), fi, fo) for W, (fi, fo) in zip(cache[method], BIG)]


# ----------------------------------------------------------------------------- checks

def check_spread(fn, W, fi, fo):
    """A normal initializer's mean and std; a uniform one's bound: every |w| <= a, and max|w| close to a.
    diagnose: a mean large next to the spread, then the named spread mistakes."""
    args = dict(where=f"{fn}({fi}, {fo}, rng)", formula=FORMULA[fn], diagnose=lambda: name_mistake(fn, W, fi, fo))
    if fn in NORMAL:
        samples.check_normal(W, std_of(fn, fi, fo), not_centred=mistake("init.normal_not_centred"), **args)
    else:
        samples.check_bound(W, std_of(fn, fi, fo), **args)


def check_distribution(fn, W, fi, fo):
    """Normal by a KS test (naming a uniform); or uniform: centred, mean(w^2) = a^2 / 3, and a KS test."""
    args = dict(where=f"{fn}({fi}, {fo}, rng)", formula=FORMULA[fn],
                diagnose=lambda: name_mistake(fn, W, fi, fo, shape=True))
    if fn in NORMAL:
        samples.check_normal_shape(W, std_of(fn, fi, fo), **args)
    else:
        samples.check_uniform_shape(W, std_of(fn, fi, fo), not_centred=mistake("init.uniform_not_centred"), **args)


def check_rng(student, fn):  # 600 weights: two correct draws are equal with probability 0 in practice
    check_draws_from_rng(getattr(student, fn), lambda rng: (30, 20, rng), pick=lambda W: as_array(W, name="W"),
                         what="weights", draw="rng.normal, rng.uniform")


def initializer_test(fn, points, what, run):
    """The test `run(student, fn)`, worth `points`, whose docstring is "fn: what" (mark `what`
    with N_ where it is written, for the catalogue: a test's name is translated)."""
    @pytest.mark.points(points)
    def test(student):
        run(student, fn)
    test.__doc__ = f"{fn}: {what}"
    return test


def initializer_tests(fn, spread):
    """The four tests of an initializer: shape (as_weights), spread (`spread` says what: the
    std of a normal initializer, the bound of a uniform one), distribution, rng; each on both
    of fn's draws (BIG, both orientations), but rng."""
    def on_draws(check):
        return lambda student, fn: [check(fn, W, fi, fo) for W, fi, fo in draws(student, fn)]
    normal = fn in NORMAL
    return (initializer_test(fn, 1, N_("returns an array of shape (fan_in, fan_out)"), on_draws(lambda *_: None)),
            initializer_test(fn, 2, spread, on_draws(check_spread)),
            initializer_test(fn, 1, N_("the weights are normally distributed") if normal else
                             N_("the weights are uniform on [-a, a] (mean 0, variance a^2 / 3)"),
                             on_draws(check_distribution)),
            initializer_test(fn, 1, N_("same seed, same weights; every draw comes from rng"), check_rng))


test_xavier_normal_shape, test_xavier_normal_std, test_xavier_normal_distribution, test_xavier_normal_uses_rng = \
    initializer_tests("xavier_normal", N_("mean 0 and std sqrt(2 / (fan_in + fan_out)), in both orientations"))
test_xavier_uniform_shape, test_xavier_uniform_bound, test_xavier_uniform_distribution, test_xavier_uniform_uses_rng = \
    initializer_tests("xavier_uniform", N_("every |w| <= sqrt(6 / (fan_in + fan_out)) and the bound is reached"))
test_he_normal_shape, test_he_normal_std, test_he_normal_distribution, test_he_normal_uses_rng = \
    initializer_tests("he_normal", N_("mean 0 and std sqrt(2 / fan_in), in both orientations"))
test_he_uniform_shape, test_he_uniform_bound, test_he_uniform_distribution, test_he_uniform_uses_rng = \
    initializer_tests("he_uniform", N_("every |w| <= sqrt(6 / fan_in) and the bound is reached"))


# --------------------------------------------------------------------------- init_mlp


def layers_of(result, sizes, method):
    """init_mlp's result as a list of (W, b) arrays with the right shapes."""
    call = f"init_mlp({sizes}, {method!r}, rng)"
    if not isinstance(result, (list, tuple)):
        fail("init_mlp must return a list of (W, b) pairs; {call} returned a {type}", call=call,
             type=type(result).__name__)
    if len(result) != len(sizes) - 1:
        fail("{call} returned {layers} layers; {sizes} sizes make {want} layers (one (W, b) pair between each two "
             "consecutive sizes)", call=call, layers=len(result), sizes=len(sizes), want=len(sizes) - 1)
    layers = []
    for i, (pair, d_in, d_out) in enumerate(zip(result, sizes[:-1], sizes[1:]), 1):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            fail("layer {i} of {call} must be a pair (W, b); it is {value}", i=i, call=call, value=describe(pair))
        W, b = as_weights(pair[0], d_in, d_out, what=tr("W of layer {i}", i=i)), pair[1]
        if type(b) is np.ndarray and b.shape != (d_out,) and b.size == d_out:
            fail(mistake("init.mlp_bias_shape"), i=i, shape=b.shape, d=d_out)
        layers.append((W, as_array(b, name=f"b of layer {i}", shape=(d_out,))))
    return layers


def check_biases_zero(layers):
    for i, (_, b) in enumerate(layers, 1):
        if np.any(b != 0):
            fail(mistake("init.mlp_bias_not_zero"), i=i)


def matches_method(W, method, fi, fo):
    """Does W pass the checks of `method` (a normal's with its tail: not a uniform of the same std)?
    A correct draw fails them with probability at most 3e-9 (three statistics, 1e-9 each:
    grader.checks.samples)."""
    scale = std_of(method, fi, fo)
    return samples.fits_normal(W, scale, tail=True) if method in NORMAL else samples.fits_uniform(W, scale)


def check_layer_method(W, method, fi, fo, i):
    if matches_method(W, method, fi, fo):
        return
    where = tr("init_mlp(..., {method}, rng), layer {i} ({fi} x {fo})", method=repr(method), i=i, fi=fi, fo=fo)
    for other in METHODS:
        if other != method and matches_method(W, other, fi, fo):
            fail("{where}: {mistake}", where=where, mistake=mistake("init.mlp_wrong_method"), other=other,
                 method=method)
    name_mistake(method, W, fi, fo, where, shape=True)
    fail("{where}: the weights do not have the statistics of {method} ({formula} = {std:.4g}); draw each layer "
         "with {method}(d_in, d_out, rng)", where=where, method=method, formula=FORMULA[method],
         std=std_of(method, fi, fo))


@pytest.mark.points(1)
def test_init_mlp_shapes(student):
    """init_mlp: one (W, b) pair per layer, W of shape (d_in, d_out), b of shape (d_out,)"""
    cases = [([7, 5, 3, 2], "xavier_normal"), ([3, 6], "he_uniform")]
    results = student.init_mlp.each([(sizes, method, seeded(105)) for sizes, method in cases])
    for (sizes, method), result in zip(cases, results):
        layers_of(result, sizes, method)


@pytest.mark.points(1)
def test_init_mlp_biases_zero(student):
    """init_mlp: every bias starts at zero"""
    sizes, methods = [7, 5, 3, 2], ["he_normal", "xavier_uniform"]
    results = student.init_mlp.each([(sizes, method, seeded(106)) for method in methods])
    for method, result in zip(methods, results):
        check_biases_zero(layers_of(result, sizes, method))


@pytest.mark.points(2)
def test_init_mlp_uses_the_named_method(student):
    """init_mlp: each layer's weights are drawn by the initializer that `method` names"""
    sizes = [784, 256, 784]  # two layers, 784 x 256 and 256 x 784: N = 200,704 weights each
    results = student.init_mlp.each([(sizes, method, seeded(seed)) for seed, method in enumerate(METHODS, 107)])
    for method, result in zip(METHODS, results):
        for i, ((W, _), fi, fo) in enumerate(zip(layers_of(result, sizes, method), sizes[:-1], sizes[1:]), 1):
            check_layer_method(W, method, fi, fo, i)


def check_invalid(student, cases):
    results = student.init_mlp.each([(sizes, method, seeded(0)) for sizes, method, _ in cases])
    for i, (_, _, why) in enumerate(cases):
        expect_value_error(lambda: results[i], why=why)


@pytest.mark.points(1)
def test_init_mlp_invalid_arguments(student):
    """init_mlp: ValueError for an unknown method or fewer than two sizes"""
    check_invalid(student, [([5, 3], "glorot", N_("for an unknown method ('glorot')")),
                            ([5, 3], "kaiming_normal", N_("for an unknown method ('kaiming_normal')")),
                            ([5], "he_normal", N_("for fewer than two sizes ([5]: no layer to make)")),
                            ([], "xavier_uniform", N_("for fewer than two sizes ([])"))])


@pytest.mark.points(1)
def test_init_mlp_uses_rng(student):
    """init_mlp: same seed, same network; every draw comes from rng"""
    sizes = [6, 5, 4]  # 50 weights: two correct draws are equal with probability 0 in practice
    check_draws_from_rng(student.init_mlp, lambda rng: (sizes, "he_normal", rng), what="weights",
                         pick=lambda r: np.concatenate([W.ravel() for W, _ in layers_of(r, sizes, "he_normal")]),
                         draw="rng.normal, rng.uniform")
