"""Hidden tests of exercise 6 (a network from your layers): the whole network's gradients
with batch norm, dropout and weight decay together in a deeper network, and the
parameters of other sizes (one layer only; fan_in and fan_out far apart). Instructor-only.

Same method as the public tests, with the helpers of test_public.py next to this file.
"""
import pytest

from grader.checks import N_, public_tests, seeded

public = public_tests(__file__)


@pytest.mark.points(2)
def test_gradients_everything_together(student, reference):
    """network_loss: gradients of a deeper network with batch norm, dropout and weight decay together"""
    public.check_gradients(student, reference, [7, 6, 8, 5, 3], batchnorm=True, p=0.2, wd=0.05, seed=400,
                           hint=N_("Each hidden layer is affine -> batch norm -> ReLU -> dropout; its "
                                "backward runs the same steps in reverse, each with its own cache, "
                                "and weight decay adds lambda * W to each dW."))


@pytest.mark.points(1)
def test_init_other_sizes(student):
    """init_network: one layer only (no batch norm there), and fan_in far from fan_out"""
    public.check_params(student.init_network([10, 3], "he_normal", True, seeded(410)), [10, 3], True)
    sizes = [40, 900, 25]
    params = public.check_params(student.init_network(sizes, "he_normal", True, seeded(411)), sizes, True)
    for i in (1, 2):
        fi, fo = sizes[i - 1], sizes[i]
        public.check_std(params[f"W{i}"], (2 / fi) ** 0.5, f"W{i}", "he_normal", fi, fo)
