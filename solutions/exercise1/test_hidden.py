"""Hidden tests of exercise1: more shapes and edge cases, with the public tests' checks.

The checks live in test_public.py next to this file, the derivation of every statistical bound
(false-failure probability at most 1e-9 each) in grader.checks.samples.
"""
import numpy as np
import pytest

from grader.checks import N_, fail, mistake, public_tests, samples, seeded

public = public_tests(__file__)

# 200,704 weights, like 784 x 256, so the same bounds apply; one orientation each (the public
# tests check both), to keep the grading fast. (shape, seed)
OTHER = {"xavier_normal": ((392, 512), 201), "xavier_uniform": ((512, 392), 202),
         "he_normal": ((512, 392), 203), "he_uniform": ((392, 512), 204)}
TINY = [(1, 9), (9, 1)]


def other_shapes(student, fn):
    """The statistical checks on another shape; shapes of one-row/one-column layers; and a
    generator shared by two calls advances (the second draw differs). One round trip."""
    (fi, fo), seed = OTHER[fn]
    shapes, rng = [(fi, fo), *TINY, (30, 20), (30, 20)], seeded(seed)
    results = getattr(student, fn).each([(a, b, seeded(seed)) for a, b in shapes[:3]] + [(30, 20, rng)] * 2)
    W, *tiny, first, second = (public.as_weights(W, a, b) for W, (a, b) in zip(results, shapes))
    public.check_spread(fn, W, fi, fo)
    public.check_distribution(fn, W, fi, fo)
    for W, (a, b) in zip(tiny, TINY):
        bound = public.std_of(fn, a, b)
        if fn not in public.NORMAL and np.max(np.abs(W)) > bound * (1 + samples.ROUNDING):
            fail("{fn}({a}, {b}, rng): weights lie outside [-a, a] with {formula} = {bound:.4g}", fn=fn, a=a, b=b,
                 formula=public.FORMULA[fn], bound=bound)
    if np.array_equal(first, second):
        fail(mistake("init.rng_not_advancing"))


OTHER_SHAPES = "other shapes ({} x {}, 1 x 9, 9 x 1); the generator advances"
N_("other shapes (392 x 512, 1 x 9, 9 x 1); the generator advances")  # the names it makes, for the catalogue
N_("other shapes (512 x 392, 1 x 9, 9 x 1); the generator advances")
test_xavier_normal_other_shapes, test_xavier_uniform_other_shapes, test_he_normal_other_shapes, \
    test_he_uniform_other_shapes = (public.initializer_test(fn, 1, OTHER_SHAPES.format(*OTHER[fn][0]), other_shapes)
                                    for fn in public.METHODS)


@pytest.mark.points(1)
def test_init_mlp_deep_network(student):
    """init_mlp: a deeper network, layers of width 1, and a fresh draw for every layer"""
    cases = [([30, 20, 30, 20, 10], "xavier_uniform"), ([1, 4, 1], "he_normal")]
    results = student.init_mlp.each([(sizes, method, seeded(205)) for sizes, method in cases])
    deep, narrow = (public.layers_of(result, *case) for result, case in zip(results, cases))
    for layers in (deep, narrow):
        public.check_biases_zero(layers)
    if np.array_equal(deep[0][0], deep[2][0]):
        fail(mistake("init.mlp_layers_identical"))


@pytest.mark.points(1)
def test_init_mlp_more_invalid_arguments(student):
    """init_mlp: ValueError for other unknown methods and a single size"""
    public.check_invalid(student, [([4, 3], "xavier", N_("for an unknown method ('xavier')")),
                                   ([4, 3], "he", N_("for an unknown method ('he')")),
                                   ([4, 3], "uniform", N_("for an unknown method ('uniform')")),
                                   ([784], "xavier_normal", N_("for fewer than two sizes ([784])"))])
