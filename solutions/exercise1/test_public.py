"""Public tests of exercise1: weight initialization (Xavier and He).

Random weights are never compared number by number with an answer: any correct way of
drawing them must pass. They are checked for their shape, and statistically, for the
standard deviation (normal) or the bound (uniform) the contract's formulas give, and for
the shape of their distribution. Every statistical check fails a correct solution with
probability at most 1e-9 (its derivation is in the comment next to it), and every draw
uses a fixed seed, so the same code always gets the same score.

Shapes are non-square in both orientations, (784, 256) and (256, 784): with equal fans a
fan_in / fan_out mix-up would be invisible.
"""
import math
import weakref

import numpy as np
import pytest

from grader.checks import as_array, expect_value_error, fail, seeded, stats

BIG = [(784, 256), (256, 784)]  # 200,704 weights each: stats.INIT_N
N = stats.INIT_N
RMS_LO, RMS_HI = stats.NORMAL_RMS_RATIO  # chi-square interval of RMS / std at N, 1e-9
MEAN_RATIO = stats.NORMAL_MEAN_RATIO     # |mean| / std, normal quantile at N, 1e-9
TOP_FRACTION = stats.uniform_max_fraction(N)  # 1.03e-4: max|w| >= a * (1 - this), 1e-9
H = stats.hoeffding(N, 1.0)              # 0.0073: a mean of N values in an interval of width 1
KS_BOUND = stats.dkw(N)                  # 0.0073: the DKW bound on a KS distance at N
SLACK = 2.0 ** -23                       # rounding at the bound (float32 draws too: 6e-8)

NORMAL = ("xavier_normal", "he_normal")


def std_of(method, fan_in, fan_out):
    """The contract: the std of a normal initializer, the bound a of a uniform one."""
    fans = fan_in + fan_out if method.startswith("xavier") else fan_in
    return math.sqrt((2.0 if method in NORMAL else 6.0) / fans)


FORMULA = {"xavier_normal": "std = sqrt(2 / (fan_in + fan_out))",
           "xavier_uniform": "a = sqrt(6 / (fan_in + fan_out))",
           "he_normal": "std = sqrt(2 / fan_in)",
           "he_uniform": "a = sqrt(6 / fan_in)"}

# ----------------------------------------------------------------------------- drawing

# One 784 x 256 draw is 1.6 MB through the sandbox. The shape, spread and distribution
# tests share each draw: a submission's answers are cached per submission (weakly, so a
# later submission never sees them). The functions are deterministic given the seed (the
# worker seeds np.random before every call), so the cache changes no outcome.
_draws = weakref.WeakKeyDictionary()


def draw(student, method, fan_in, fan_out, seed):
    cache = _draws.setdefault(student, {})
    key = (method, fan_in, fan_out, seed)
    if key not in cache:
        cache[key] = getattr(student, method)(fan_in, fan_out, seeded(seed))
    return cache[key]


def as_weights(W, fn, fan_in, fan_out, what="W"):
    """W must be a finite float array of shape (fan_in, fan_out); name the transpose."""
    if type(W) is np.ndarray and fan_in != fan_out and W.shape == (fan_out, fan_in):
        fail(f"{fn}: {what} has shape {W.shape} for fan_in={fan_in}, fan_out={fan_out}, which is "
             "(fan_out, fan_in). Weights have shape (fan_in, fan_out): a layer computes x @ W + b "
             "and x has fan_in columns (torch's Linear stores (out, in); we store (in, out))")
    return as_array(W, fn, what, shape=(fan_in, fan_out))


def weights(student, method, fan_in, fan_out, seed):
    return as_weights(draw(student, method, fan_in, fan_out, seed), method, fan_in, fan_out)


def ks_on_grid(W, cdf, lo, hi, points=2001):
    """max over a grid of x of |F_n(x) - F(x)|, F_n the empirical CDF of W's entries.

    A maximum over some points is at most the supremum over all x (the Kolmogorov-Smirnov
    distance), so the DKW bound P(KS > eps) <= 2 exp(-2 N eps^2) holds for it too; a fine
    grid loses almost no power and needs the exact CDF at 2,001 points only.
    """
    x = np.sort(W.ravel())
    grid = np.linspace(lo, hi, points)
    return float(np.max(np.abs(np.searchsorted(x, grid, side="right") / x.size - cdf(grid))))


def looks_normal(W):
    """W's entries pass a KS test against N(0, rms^2) (DKW bound, as above)."""
    s = float(np.sqrt(np.mean(W ** 2)))
    return s > 0 and ks_on_grid(W, stats.normal_cdf(s), -6 * s, 6 * s) <= KS_BOUND


def looks_uniform(W):
    """W's entries pass a KS test against U(-max|w|, max|w|)."""
    a = float(np.max(np.abs(W)))
    return a > 0 and ks_on_grid(W, stats.uniform_cdf(a), -a, a) <= KS_BOUND


# ------------------------------------------------------------------- mistake catalogue

def normal_mistakes(method, fi, fo):
    """Message -> the RMS a common mistake gives (the first whose statistics fit is named)."""
    std = std_of(method, fi, fo)
    if method == "xavier_normal":
        own = {
            "you used fan_in only (sqrt(2 / fan_in) is He's std, for ReLU); Xavier averages "
            "both sides: std = sqrt(2 / (fan_in + fan_out))": math.sqrt(2 / fi),
            "you used fan_out only; Xavier's std is sqrt(2 / (fan_in + fan_out))": math.sqrt(2 / fo),
            "your std is sqrt(1 / (fan_in + fan_out)): the 2 is missing; Xavier's std is "
            "sqrt(2 / (fan_in + fan_out))": math.sqrt(1 / (fi + fo)),
            "your std is sqrt(1 / fan_in) (LeCun's); Xavier's is sqrt(2 / (fan_in + fan_out))":
                math.sqrt(1 / fi),
        }
    else:
        own = {
            "you used fan_out; He's std uses fan_in, the number of inputs each neuron sums: "
            "std = sqrt(2 / fan_in)": math.sqrt(2 / fo),
            "your std is sqrt(2 / (fan_in + fan_out)), Xavier's; He's std (for ReLU) is "
            "sqrt(2 / fan_in)": math.sqrt(2 / (fi + fo)),
            "your std is sqrt(1 / fan_in): He's std has a 2, because ReLU zeroes half of its "
            "inputs: std = sqrt(2 / fan_in)": math.sqrt(1 / fi),
        }
    fans = "(fan_in + fan_out)" if method == "xavier_normal" else "fan_in"
    return {**own,
            f"you used sqrt(2 / {fans}) as the variance (your std is its square root). Some slides "
            f"write 'Var(W) = sqrt(2 / {fans})', but that expression is the standard deviation, "
            "not the variance: pass it to rng.normal as the scale": math.sqrt(std),
            f"your std is 2 / {fans}: you forgot the square root (that is the variance; "
            "rng.normal's scale is the standard deviation)": std ** 2,
            f"your std is {math.sqrt(3) * std:.4g} = sqrt(6 / {fans}), the bound of the uniform "
            f"version; the normal one uses std = sqrt(2 / {fans})": math.sqrt(3) * std,
            f"your weights have std {std / math.sqrt(3):.4g} = std / sqrt(3): did you draw from "
            "U(-std, std)? This initializer draws from the normal distribution N(0, std^2)":
                std / math.sqrt(3),
            "your weights have std 1: with std 1, sigmoid outputs pile up "
            "at 0 and 1 (vanishing gradients); scale by the formula": 1.0,
            "your weights have std 0.01: then all activations collapse "
            "to the same value; scale by the formula": 0.01}


def uniform_mistakes(method, fi, fo):
    """Message -> the bound a common mistake gives."""
    a = std_of(method, fi, fo)
    fans = "(fan_in + fan_out)" if method == "xavier_uniform" else "fan_in"
    if method == "xavier_uniform":
        own = {"you used fan_in only (sqrt(6 / fan_in) is He's bound); Xavier's bound is "
               "a = sqrt(6 / (fan_in + fan_out))": math.sqrt(6 / fi),
               "you used fan_out only; Xavier's bound is a = sqrt(6 / (fan_in + fan_out))":
                   math.sqrt(6 / fo)}
    else:
        own = {"you used fan_out; He's bound uses fan_in, the number of inputs: "
               "a = sqrt(6 / fan_in)": math.sqrt(6 / fo),
               "your bound is sqrt(6 / (fan_in + fan_out)), Xavier's; He's is a = sqrt(6 / fan_in)":
                   math.sqrt(6 / (fi + fo))}
    return {**own,
            f"your bound is sqrt(3 / {fans}). U(-a, a) has variance a^2 / 3; for the variance "
            f"2 / {fans} of the normal version you need a = sqrt(6 / {fans})": a / math.sqrt(2),
            f"your bound is sqrt(2 / {fans}), the normal version's std. U(-a, a) has variance "
            f"a^2 / 3, so the bound is sqrt(3) times the std: a = sqrt(6 / {fans})": a / math.sqrt(3),
            f"your bound is 6 / {fans}: you forgot the square root, a = sqrt(6 / {fans})": a ** 2,
            "your weights lie in [-1, 1]: scale the bound by the formula": 1.0}


def name_normal_mistake(fn, W, fi, fo, where=None):
    """Fail with the named mistake whose statistics W fits, if any."""
    where = where or f"{fn}({fi}, {fo}, rng)"
    mean, spread = float(np.mean(W)), float(np.std(W))
    if spread == 0:
        fail(f"{where}: every weight is {W.flat[0]:.4g}: did you swap the arguments of "
             "rng.normal(loc, scale)? Draw with rng.normal(0.0, std, size=...); equal weights make "
             "every neuron learn the same thing")
    if abs(mean) / spread > MEAN_RATIO:  # the mean is large even next to the spread you drew
        fail(f"{where}: the weights' mean is {mean:.4g}, but N(0, std^2) is centred on 0: check "
             "the order of rng.normal(loc, scale) (the first argument is the mean) and that "
             "nothing is added to the draws")
    rms = float(np.sqrt(np.mean(W ** 2)))
    for message, wrong in normal_mistakes(fn, fi, fo).items():
        if RMS_LO <= rms / wrong <= RMS_HI:
            fail(f"{where}: {message}")


def name_uniform_mistake(fn, W, fi, fo, where=None):
    where = where or f"{fn}({fi}, {fo}, rng)"
    top = float(np.max(np.abs(W)))
    for message, wrong in uniform_mistakes(fn, fi, fo).items():
        if wrong * (1 - TOP_FRACTION) <= top <= wrong * (1 + SLACK):
            fail(f"{where}: {message}")
    if top > std_of(fn, fi, fo) and looks_normal(W):
        fail(f"{where}: your weights look normally distributed (a bell curve, with "
             f"values beyond the bound a = {std_of(fn, fi, fo):.4g}); this initializer draws "
             "from the uniform distribution U(-a, a): use rng.uniform(-a, a, size=...)")


# ----------------------------------------------------------------------------- checks

def check_std(fn, W, fi, fo):
    """A normal initializer's mean and standard deviation (one draw of N weights)."""
    std = std_of(fn, fi, fo)
    mean, rms = float(np.mean(W)), float(np.sqrt(np.mean(W ** 2)))
    # mean(W) ~ N(0, std^2 / N): |mean| / std <= z_{1 - 5e-10} / sqrt(N) = 0.01364
    # (stats.NORMAL_MEAN_RATIO): a false failure has probability 1e-9.
    mean_bad = abs(mean) / std > MEAN_RATIO
    # sum(W^2) / std^2 ~ chi2(N): RMS / std lies in sqrt(chi2.ppf([5e-10, 1 - 5e-10], N) / N)
    # = [0.99037, 1.00966] (stats.NORMAL_RMS_RATIO) except with probability 1e-9.
    std_bad = not RMS_LO <= rms / std <= RMS_HI
    # The test fails when either check does; the order below only picks the message
    # (a mean that is large next to the spread first, then the named spread mistakes).
    if mean_bad or std_bad:
        name_normal_mistake(fn, W, fi, fo)
    if std_bad:
        fail(f"{fn}({fi}, {fo}, rng): the weights' standard deviation is {rms:.4g}; expected "
             f"{FORMULA[fn]} = {std:.4g} (the statistics of {W.size} draws allow "
             f"{RMS_LO:.4f} to {RMS_HI:.4f} times that)")
    if mean_bad:
        fail(f"{fn}({fi}, {fo}, rng): the weights' mean is {mean:.4g}, but N(0, std^2) is centred "
             f"on 0 (std = {std:.4g}): check the order of rng.normal(loc, scale) and that nothing "
             "is added to the draws")


def check_bound(fn, W, fi, fo):
    """A uniform initializer's bound: every |w| <= a, and max|w| close to a."""
    a = std_of(fn, fi, fo)
    top = float(np.max(np.abs(W)))
    # P(max|w| < a (1 - f)) = (1 - f)^N = 1e-9 at f = stats.uniform_max_fraction(N) = 1.03e-4;
    # |w| <= a holds always (SLACK covers the rounding of -a + 2a u, even in float32).
    if a * (1 - TOP_FRACTION) <= top <= a * (1 + SLACK):
        return
    name_uniform_mistake(fn, W, fi, fo)
    if top > a:
        outside = int(np.sum(np.abs(W) > a * (1 + SLACK)))
        fail(f"{fn}({fi}, {fo}, rng): {outside} weights lie outside [-a, a] (largest |w| = "
             f"{top:.4g}; {FORMULA[fn]} = {a:.4g}): draw with rng.uniform(-a, a, size=...)")
    fail(f"{fn}({fi}, {fo}, rng): the largest |w| is {top:.4g}, but {W.size} draws from U(-a, a) "
         f"with {FORMULA[fn]} = {a:.4g} come within {TOP_FRACTION:.2g}·a of a: your bound is "
         "too small")


def check_uniform_shape(fn, W, fi, fo):
    """Centred, mean(w^2) = a^2 / 3, and uniform by a KS test."""
    a = std_of(fn, fi, fo)
    # w / a lies in [-1, 1] (width 2): Hoeffding, |mean(w) / a| <= hoeffding(N, 2) = 0.0146
    # except with probability 1e-9.
    m = float(np.mean(W)) / a
    if abs(m) > stats.hoeffding(N, 2.0):
        fail(f"{fn}({fi}, {fo}, rng): the weights' mean is {m:.3g}·a, but U(-a, a) is centred "
             "on 0: draw with rng.uniform(-a, a, ...), not rng.uniform(0, a) or rng.random() * a")
    # w^2 / a^2 lies in [0, 1] with mean 1/3 (the variance of U(-a, a) is a^2 / 3):
    # Hoeffding, |mean(w^2) / a^2 - 1/3| <= H = 0.0073 except with probability 1e-9.
    s = float(np.mean(W ** 2)) / a ** 2
    if abs(s - 1 / 3) > H:
        name_uniform_mistake(fn, W, fi, fo)
        fail(f"{fn}({fi}, {fo}, rng): mean(w^2) / a^2 is {s:.4f}; U(-a, a) with {FORMULA[fn]} "
             f"= {a:.4g} gives 1/3 (its variance is a^2 / 3)")
    # The KS distance to U(-a, a) (on a grid, see ks_on_grid) is within the DKW bound
    # sqrt(ln(2 / 1e-9) / (2N)) = 0.0073 except with probability 1e-9.
    d = ks_on_grid(W, stats.uniform_cdf(a), -a, a)
    if d > KS_BOUND:
        name_uniform_mistake(fn, W, fi, fo)
        fail(f"{fn}({fi}, {fo}, rng): the weights do not look uniform on [-a, a] (Kolmogorov-"
             f"Smirnov distance {d:.3g} > {KS_BOUND:.3g}): draw with rng.uniform(-a, a, size=...)")


def check_normal_shape(fn, W, fi, fo):
    """A KS test against N(0, std^2)."""
    std = std_of(fn, fi, fo)
    # The KS distance to N(0, std^2) (on a grid over +-6 std, see ks_on_grid) is within the
    # DKW bound sqrt(ln(2 / 1e-9) / (2N)) = 0.0073 except with probability 1e-9; a uniform
    # with the same std sits at 0.057.
    d = ks_on_grid(W, stats.normal_cdf(std), -6 * std, 6 * std)
    if d <= KS_BOUND:
        return
    if looks_uniform(W):
        fail(f"{fn}({fi}, {fo}, rng): your weights look uniformly distributed (flat, with a hard "
             "bound); this initializer draws from the normal distribution N(0, std^2): use "
             "rng.normal(0.0, std, size=...)")
    name_normal_mistake(fn, W, fi, fo)
    fail(f"{fn}({fi}, {fo}, rng): the weights do not look like draws from N(0, std^2) with "
         f"{FORMULA[fn]} = {std:.4g} (Kolmogorov-Smirnov distance {d:.3g} > {KS_BOUND:.3g})")


def check_uses_rng(fn, call):
    """Same seed, same result; another seed, another result (np.random is not rng)."""
    first = as_array(call(seeded(7)), fn, "the result")
    again = as_array(call(seeded(7)), fn, "the result")
    other = as_array(call(seeded(8)), fn, "the result")
    if first.shape != again.shape or not np.array_equal(first, again):
        fail(f"{fn}: two calls with generators seeded alike returned different weights: draw every "
             "random number from the rng argument (rng.normal, rng.uniform), not from a new "
             "unseeded generator such as np.random.default_rng()")
    if first.shape == other.shape and np.array_equal(first, other):
        fail(f"{fn}: the weights do not depend on rng (generators with different seeds gave the "
             "same weights): draw from the rng argument (rng.normal, rng.uniform), not from "
             "np.random.* or a generator you seed yourself, so that one seed reproduces a run")


# ---------------------------------------------------------------------- xavier_normal

@pytest.mark.points(1)
def test_xavier_normal_shape(student):
    """xavier_normal: returns an array of shape (fan_in, fan_out)"""
    for fi, fo in BIG:
        weights(student, "xavier_normal", fi, fo, seed=101)


@pytest.mark.points(2)
def test_xavier_normal_std(student):
    """xavier_normal: mean 0 and std sqrt(2 / (fan_in + fan_out)), in both orientations"""
    for fi, fo in BIG:
        check_std("xavier_normal", weights(student, "xavier_normal", fi, fo, seed=101), fi, fo)


@pytest.mark.points(1)
def test_xavier_normal_distribution(student):
    """xavier_normal: the weights are normally distributed"""
    for fi, fo in BIG:
        check_normal_shape("xavier_normal", weights(student, "xavier_normal", fi, fo, seed=101), fi, fo)


@pytest.mark.points(1)
def test_xavier_normal_uses_rng(student):
    """xavier_normal: same seed, same weights; every draw comes from rng"""
    check_uses_rng("xavier_normal", lambda rng: student.xavier_normal(30, 20, rng))


# --------------------------------------------------------------------- xavier_uniform

@pytest.mark.points(1)
def test_xavier_uniform_shape(student):
    """xavier_uniform: returns an array of shape (fan_in, fan_out)"""
    for fi, fo in BIG:
        weights(student, "xavier_uniform", fi, fo, seed=102)


@pytest.mark.points(2)
def test_xavier_uniform_bound(student):
    """xavier_uniform: every |w| <= sqrt(6 / (fan_in + fan_out)) and the bound is reached"""
    for fi, fo in BIG:
        check_bound("xavier_uniform", weights(student, "xavier_uniform", fi, fo, seed=102), fi, fo)


@pytest.mark.points(1)
def test_xavier_uniform_distribution(student):
    """xavier_uniform: the weights are uniform on [-a, a] (mean 0, variance a^2 / 3)"""
    for fi, fo in BIG:
        check_uniform_shape("xavier_uniform", weights(student, "xavier_uniform", fi, fo, seed=102), fi, fo)


@pytest.mark.points(1)
def test_xavier_uniform_uses_rng(student):
    """xavier_uniform: same seed, same weights; every draw comes from rng"""
    check_uses_rng("xavier_uniform", lambda rng: student.xavier_uniform(30, 20, rng))


# -------------------------------------------------------------------------- he_normal

@pytest.mark.points(1)
def test_he_normal_shape(student):
    """he_normal: returns an array of shape (fan_in, fan_out)"""
    for fi, fo in BIG:
        weights(student, "he_normal", fi, fo, seed=103)


@pytest.mark.points(2)
def test_he_normal_std(student):
    """he_normal: mean 0 and std sqrt(2 / fan_in), in both orientations"""
    for fi, fo in BIG:
        check_std("he_normal", weights(student, "he_normal", fi, fo, seed=103), fi, fo)


@pytest.mark.points(1)
def test_he_normal_distribution(student):
    """he_normal: the weights are normally distributed"""
    for fi, fo in BIG:
        check_normal_shape("he_normal", weights(student, "he_normal", fi, fo, seed=103), fi, fo)


@pytest.mark.points(1)
def test_he_normal_uses_rng(student):
    """he_normal: same seed, same weights; every draw comes from rng"""
    check_uses_rng("he_normal", lambda rng: student.he_normal(30, 20, rng))


# ------------------------------------------------------------------------- he_uniform

@pytest.mark.points(1)
def test_he_uniform_shape(student):
    """he_uniform: returns an array of shape (fan_in, fan_out)"""
    for fi, fo in BIG:
        weights(student, "he_uniform", fi, fo, seed=104)


@pytest.mark.points(2)
def test_he_uniform_bound(student):
    """he_uniform: every |w| <= sqrt(6 / fan_in) and the bound is reached"""
    for fi, fo in BIG:
        check_bound("he_uniform", weights(student, "he_uniform", fi, fo, seed=104), fi, fo)


@pytest.mark.points(1)
def test_he_uniform_distribution(student):
    """he_uniform: the weights are uniform on [-a, a] (mean 0, variance a^2 / 3)"""
    for fi, fo in BIG:
        check_uniform_shape("he_uniform", weights(student, "he_uniform", fi, fo, seed=104), fi, fo)


@pytest.mark.points(1)
def test_he_uniform_uses_rng(student):
    """he_uniform: same seed, same weights; every draw comes from rng"""
    check_uses_rng("he_uniform", lambda rng: student.he_uniform(30, 20, rng))


# --------------------------------------------------------------------------- init_mlp

METHODS = ["xavier_normal", "xavier_uniform", "he_normal", "he_uniform"]


def layers_of(result, sizes, method):
    """init_mlp's result as a list of (W, b) arrays with the right shapes."""
    call = f"init_mlp({sizes}, {method!r}, rng)"
    if not isinstance(result, (list, tuple)):
        fail(f"init_mlp must return a list of (W, b) pairs; {call} returned a "
             f"{type(result).__name__}")
    if len(result) != len(sizes) - 1:
        fail(f"{call} returned {len(result)} layers; {len(sizes)} sizes make {len(sizes) - 1} "
             "layers (one (W, b) pair between each two consecutive sizes)")
    layers = []
    for i, (pair, d_in, d_out) in enumerate(zip(result, sizes[:-1], sizes[1:]), 1):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            fail(f"init_mlp: layer {i} of {call} must be a pair (W, b); it is a "
                 f"{type(pair).__name__}" + (f" of {len(pair)} items" if isinstance(pair, (list, tuple)) else ""))
        W = as_weights(pair[0], "init_mlp", d_in, d_out, what=f"W of layer {i}")
        b = pair[1]
        if type(b) is np.ndarray and b.shape != (d_out,) and b.size == d_out:
            fail(f"init_mlp: b of layer {i} has shape {b.shape}; biases are 1-D, shape (d_out,) = "
                 f"({d_out},) (broadcasting adds them to every row of x @ W)")
        layers.append((W, as_array(b, "init_mlp", f"b of layer {i}", shape=(d_out,))))
    return layers


def matches_method(W, method, fi, fo):
    """Does W (N = 200,704 weights) pass the checks of `method`? Each check below fails a
    correct draw with probability at most 1e-9 (derivations in check_std / check_bound)."""
    scale = std_of(method, fi, fo)
    if method in NORMAL:
        rms = float(np.sqrt(np.mean(W ** 2)))
        # Shape: the fraction of |w| > sqrt(3) std is P(|Z| > sqrt(3)) = 0.083265 for a normal
        # and 0 for a uniform of the same std; a mean of N indicators, Hoeffding half-width H
        # (probability 1e-9).
        tail = float(np.mean(np.abs(W) > math.sqrt(3) * scale))
        return (abs(float(np.mean(W))) / scale <= MEAN_RATIO and RMS_LO <= rms / scale <= RMS_HI
                and abs(tail - math.erfc(math.sqrt(1.5))) <= H)
    top = float(np.max(np.abs(W)))
    return (scale * (1 - TOP_FRACTION) <= top <= scale * (1 + SLACK)
            and abs(float(np.mean(W ** 2)) / scale ** 2 - 1 / 3) <= H)


def check_layer_method(W, method, fi, fo, i):
    if matches_method(W, method, fi, fo):
        return
    where = f"init_mlp(..., {method!r}, rng), layer {i} ({fi} x {fo})"
    for other in METHODS:
        if other != method and matches_method(W, other, fi, fo):
            fail(f"{where}: the weights look drawn by {other}, not by {method}: call the "
                 "initializer that `method` names")
    if method in NORMAL:
        if looks_uniform(W):
            fail(f"{where}: the weights look uniformly distributed; {method} draws from a normal "
                 "distribution")
        name_normal_mistake(method, W, fi, fo, where)
    else:
        name_uniform_mistake(method, W, fi, fo, where)
    fail(f"{where}: the weights do not have the statistics of {method} ({FORMULA[method]} = "
         f"{std_of(method, fi, fo):.4g}); draw each layer with {method}(d_in, d_out, rng)")


@pytest.mark.points(1)
def test_init_mlp_shapes(student):
    """init_mlp: one (W, b) pair per layer, W of shape (d_in, d_out), b of shape (d_out,)"""
    for sizes, method in [([7, 5, 3, 2], "xavier_normal"), ([3, 6], "he_uniform")]:
        layers_of(student.init_mlp(sizes, method, seeded(105)), sizes, method)


@pytest.mark.points(1)
def test_init_mlp_biases_zero(student):
    """init_mlp: every bias starts at zero"""
    sizes = [7, 5, 3, 2]
    for method in ["he_normal", "xavier_uniform"]:
        layers = layers_of(student.init_mlp(sizes, method, seeded(106)), sizes, method)
        for i, (_, b) in enumerate(layers, 1):
            if np.any(b != 0):
                fail(f"init_mlp: b of layer {i} is not all zeros: biases start at 0. Only the "
                     "weights need random values, to break the symmetry between neurons (if every "
                     "weight were 0, every neuron would learn the same thing)")


@pytest.mark.points(2)
def test_init_mlp_uses_the_named_method(student):
    """init_mlp: each layer's weights are drawn by the initializer that `method` names"""
    sizes = [784, 256, 784]  # two layers, 784 x 256 and 256 x 784: N = 200,704 weights each
    for seed, method in enumerate(METHODS, 107):
        layers = layers_of(student.init_mlp(sizes, method, seeded(seed)), sizes, method)
        for i, ((W, _), fi, fo) in enumerate(zip(layers, sizes[:-1], sizes[1:]), 1):
            check_layer_method(W, method, fi, fo, i)


@pytest.mark.points(1)
def test_init_mlp_invalid_arguments(student):
    """init_mlp: ValueError for an unknown method or fewer than two sizes"""
    for sizes, method, why in [([5, 3], "glorot", "for an unknown method ('glorot')"),
                               ([5, 3], "kaiming_normal", "for an unknown method ('kaiming_normal')"),
                               ([5], "he_normal", "for fewer than two sizes ([5]: no layer to make)"),
                               ([], "xavier_uniform", "for fewer than two sizes ([])")]:
        expect_value_error(lambda: student.init_mlp(sizes, method, seeded(0)),
                           fn="init_mlp", why=why)


@pytest.mark.points(1)
def test_init_mlp_uses_rng(student):
    """init_mlp: same seed, same network; every draw comes from rng"""
    sizes = [6, 5, 4]

    def weights_only(rng):
        layers = layers_of(student.init_mlp(sizes, "he_normal", rng), sizes, "he_normal")
        return np.concatenate([W.ravel() for W, _ in layers])

    check_uses_rng("init_mlp", weights_only)
