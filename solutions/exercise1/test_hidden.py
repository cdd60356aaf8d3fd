"""Hidden tests of exercise1: more shapes and edge cases, with the public tests' checks.

The checks (and the derivation of every statistical bound, each with false-failure
probability at most 1e-9) live in test_public.py next to this file.
"""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from grader.checks import expect_value_error, fail, seeded

_spec = importlib.util.spec_from_file_location("_exercise1_public_checks",
                                               Path(__file__).with_name("test_public.py"))
public = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(public)

# 200,704 weights, like 784 x 256, so the same bounds apply; one orientation each (the public
# tests check both), to keep the grading fast.
OTHER = {"xavier_normal": (392, 512), "xavier_uniform": (512, 392),
         "he_normal": (512, 392), "he_uniform": (392, 512)}
TINY = [(1, 9), (9, 1)]


def other_shapes(student, fn, seed):
    """The statistical checks on another shape; shapes of one-row/one-column layers; and a
    generator shared by two calls advances (the second draw differs)."""
    fi, fo = OTHER[fn]
    W = public.weights(student, fn, fi, fo, seed)
    if fn in public.NORMAL:
        public.check_std(fn, W, fi, fo)
        public.check_normal_shape(fn, W, fi, fo)
    else:
        public.check_bound(fn, W, fi, fo)
        public.check_uniform_shape(fn, W, fi, fo)
    for fi, fo in TINY:
        W = public.as_weights(getattr(student, fn)(fi, fo, seeded(seed)), fn, fi, fo)
        a = public.std_of(fn, fi, fo)
        if fn not in public.NORMAL and np.max(np.abs(W)) > a * (1 + public.SLACK):
            fail(f"{fn}({fi}, {fo}, rng): weights lie outside [-a, a] with {public.FORMULA[fn]} = {a:.4g}")
    rng = seeded(seed)
    first = public.as_weights(getattr(student, fn)(30, 20, rng), fn, 30, 20)
    second = public.as_weights(getattr(student, fn)(30, 20, rng), fn, 30, 20)
    if np.array_equal(first, second):
        fail(f"{fn}: two calls with the same generator returned the same weights: draw from rng "
             "itself so that it advances (every layer of a network needs fresh weights)")


@pytest.mark.points(1)
def test_xavier_normal_other_shapes(student):
    """xavier_normal: other shapes (392 x 512, 1 x 9, 9 x 1); the generator advances"""
    other_shapes(student, "xavier_normal", 201)


@pytest.mark.points(1)
def test_xavier_uniform_other_shapes(student):
    """xavier_uniform: other shapes (512 x 392, 1 x 9, 9 x 1); the generator advances"""
    other_shapes(student, "xavier_uniform", 202)


@pytest.mark.points(1)
def test_he_normal_other_shapes(student):
    """he_normal: other shapes (512 x 392, 1 x 9, 9 x 1); the generator advances"""
    other_shapes(student, "he_normal", 203)


@pytest.mark.points(1)
def test_he_uniform_other_shapes(student):
    """he_uniform: other shapes (392 x 512, 1 x 9, 9 x 1); the generator advances"""
    other_shapes(student, "he_uniform", 204)


@pytest.mark.points(1)
def test_init_mlp_deep_network(student):
    """init_mlp: a deeper network, layers of width 1, and a fresh draw for every layer"""
    deep = None
    for sizes, method in [([30, 20, 30, 20, 10], "xavier_uniform"), ([1, 4, 1], "he_normal")]:
        layers = public.layers_of(student.init_mlp(sizes, method, seeded(205)),
                                  sizes, method)
        deep = deep or layers
        for i, (_, b) in enumerate(layers, 1):
            if np.any(b != 0):
                fail(f"init_mlp: b of layer {i} is not all zeros: biases start at 0")
    if np.array_equal(deep[0][0], deep[2][0]):
        fail("init_mlp: layers 1 and 3 (both 30 x 20) have identical weights: draw each layer "
             "with the same rng, one after the other, so every layer gets fresh weights")


@pytest.mark.points(1)
def test_init_mlp_more_invalid_arguments(student):
    """init_mlp: ValueError for other unknown methods and a single size"""
    for sizes, method, why in [([4, 3], "xavier", "for an unknown method ('xavier')"),
                               ([4, 3], "he", "for an unknown method ('he')"),
                               ([4, 3], "uniform", "for an unknown method ('uniform')"),
                               ([784], "xavier_normal", "for fewer than two sizes ([784])")]:
        expect_value_error(lambda: student.init_mlp(sizes, method, seeded(0)),
                           fn="init_mlp", why=why)
