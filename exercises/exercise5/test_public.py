"""Public tests of exercise 5 (Dropout and BatchNorm1d as torch modules). They ship with the
exercise: run `grade exercise5`.

Your classes run in the sandbox; each test sends them a script of steps (construct,
train() or eval(), forward passes with autograd on or off, backward, state_dict()) and
gets back plain numbers. Batch norm is compared, in float64, with torch.nn.BatchNorm1d run
here on the same inputs. Dropout is random: each check looks at your own mask (the inputs
are x = randn + 10, so a zero in the output marks a dropped element), and the dropped
fraction is checked with an exact binomial bound that fails a correct solution with
probability at most 1e-9 (the seeds are fixed, so the same code always gets the same score).
Calling torch's own dropout or batch norm earns nothing.
"""
import numpy as np
import pytest
import torch

from grader.checks import (StudentError, assert_close, expect_value_error, fail, matches, mistake, normal_input,
                           stats, tr)
from grader.checks.modules import output, raised, student_steps, torch_steps

# ------------------------------------------------------------------------------ dropout

KEEP_PROB = mistake("dropout.keep_prob_swap")
NOTHING_DROPPED = mistake("dropout.nothing_dropped")
NO_RESCALE = mistake("dropout.no_rescale")
TIMES_KEEP = mistake("dropout.times_keep")
EVAL_SCALES = mistake("dropout.eval_scales")
EVAL_DROPS = mistake("dropout.eval_drops")
GRAD_ENABLED = mistake("dropout.grad_enabled_mode")
NOT_RETURNED = mistake("dropout.mode_not_returned")
SEQUENTIAL = mistake("dropout.sequential_not_switched")
DETACHED = mistake("dropout.detached")
GRAD_NO_MASK = mistake("dropout.grad_no_mask")
GRAD_NO_SCALE = mistake("dropout.grad_no_scale")
P_ONE_NAN = mistake("dropout.p_one_nan")
P_ONE_REJECTED = mistake("dropout.p_one_rejected")
NOT_TORCH_SEEDED = mistake("dropout.not_torch_seeded")
SAME_MASK = mistake("dropout.same_mask_always")
DROPOUT_OWN = mistake("dropout.torch_own")


def dropout(student, p, script):
    """Run `script` on the student's Dropout(p); the result of each step."""
    return student_steps(student.Dropout, script, p, torch_own=DROPOUT_OWN)


def big_input(shape, seed):
    """x = randn + 10: never zero, so a zero in the output marks a dropped element."""
    return normal_input(shape, seed, loc=10.0)


def check_training_output(out, x, p, context=""):
    """Every element of out is 0 (dropped) or x/(1-p) (kept and scaled)."""
    kept = out != 0
    if np.allclose(out[kept], x[kept], rtol=1e-12, atol=0) and p > 0:
        fail(NO_RESCALE, context=context)
    if np.allclose(out[kept], x[kept] * (1 - p), rtol=1e-12, atol=0) and p > 0:
        fail(TIMES_KEEP, context=context)
    if not np.allclose(out[kept], x[kept] / (1 - p), rtol=1e-12, atol=0):
        i = np.argwhere(kept & ~np.isclose(out, x / (1 - p), rtol=1e-12, atol=0))[0]
        fail("in training each output must be 0 or x/(1-p){context}; at index {index} x = {x:.6g} gave "
             "{out:.6g}, expected 0 or {expected:.6g}", context=context, index=tuple(int(j) for j in i),
             x=x[tuple(i)], out=out[tuple(i)], expected=x[tuple(i)] / (1 - p))


def check_dropped_fraction(out, p):
    # N = 250,000 independent drops: the exact two-sided binomial interval
    # stats.DROP_INTERVAL[p] holds the dropped fraction with probability >= 1 - 1e-9.
    assert out.size == stats.DROP_N, "the course test must use DROP_N elements"
    frac = float((out == 0).mean())
    lo, hi = stats.DROP_INTERVAL[p]
    if lo <= frac <= hi:
        return
    if frac == 0:
        fail(NOTHING_DROPPED, p=p)
    if abs(frac - (1 - p)) < 0.01:
        fail(KEEP_PROB, p=p, frac=frac)
    fail("with p = {p} you zeroed a fraction {frac:.4f} of the elements; it must be p (for 250,000 "
         "elements, between {lo} and {hi} with probability 1 - 1e-9)", p=p, frac=frac, lo=lo, hi=hi)


def check_identity(out, x, p, when):
    """In eval mode the output is x itself."""
    if np.array_equal(out, x):
        return
    if p > 0 and np.allclose(out, x * (1 - p), rtol=1e-12, atol=0):
        fail(EVAL_SCALES, when=when)
    if (out == 0).any():
        fail(EVAL_DROPS, when=when)
    assert_close(out, x, fn="Dropout", name=tr("the output {when}", when=when), rtol=0, atol=0)


@pytest.mark.points(3)
def test_dropout_training_drops_a_fraction_p(student):
    """Dropout: in training, a fraction p is zeroed and the rest scaled by 1/(1-p)"""
    for p, seed in ((0.2, 501), (0.7, 502)):  # asymmetric: p = 0.5 hides a keep/drop mix-up
        x = big_input((500, 500), seed)
        step, = dropout(student, p, [("forward", x, None, True)])
        out = output(step, "Dropout", shape=x.shape, context=tr("for p = {p}", p=p))
        check_dropped_fraction(out, p)
        check_training_output(out, x, p, context=tr(" (p = {p})", p=p))


@pytest.mark.points(2)
def test_dropout_eval_is_identity(student):
    """Dropout: after eval() it returns x unchanged"""
    x = big_input((64, 50), 511)
    train, _, step = dropout(student, 0.3, [("forward", x, None, True), ("eval",), ("forward", x, None, True)])
    if not (output(train, "Dropout", shape=x.shape, context=tr("in training")) == 0).any():
        # an identity in eval mode earns points only with a training mode that drops
        fail(NOTHING_DROPPED, p=0.3)
    check_identity(output(step, "Dropout", shape=x.shape), x, 0.3, tr("after eval()"))


@pytest.mark.points(2)
def test_dropout_mode_is_self_training(student):
    """Dropout: the mode comes from self.training, not from torch.is_grad_enabled()"""
    x = big_input((64, 50), 512)
    p = 0.3
    _, in_eval, _, in_train = dropout(student, p, [("eval",), ("forward", x, None, True),
                                                   ("train",), ("forward", x, None, False)])
    out_eval = output(in_eval, "Dropout", shape=x.shape, context=tr("after eval() (autograd on)"))
    out_train = output(in_train, "Dropout", shape=x.shape, context=tr("after train() under torch.no_grad()"))
    eval_drops, train_drops = (out_eval == 0).any(), (out_train == 0).any()
    if eval_drops and not train_drops:
        fail(GRAD_ENABLED)
    check_identity(out_eval, x, p, tr("after eval() (with autograd on)"))
    if not train_drops:  # 3,200 elements at p = 0.3: all kept has probability 0.7**3200
        fail(NOTHING_DROPPED, p=p)
    check_training_output(out_train, x, p, context=tr(" after train() under torch.no_grad()"))


def sequential_modes(cls, x):
    """Probe (runs in the sandbox): two of the student's Dropout layers in an nn.Sequential,
    switched with the Sequential's own eval() and train()."""
    import torch

    seq = torch.nn.Sequential(cls(0.5), torch.nn.Identity(), cls(0.5))
    eval_returned = seq.eval() is seq
    eval_modes = [m.training for m in seq]
    out_eval = seq(torch.tensor(x))
    train_returned = seq.train() is seq
    train_modes = [m.training for m in seq]
    out_train = seq(torch.tensor(x))
    return {"eval_modes": eval_modes, "train_modes": train_modes, "out_eval": out_eval,
            "out_train": out_train, "returned": [eval_returned, train_returned]}


@pytest.mark.points(2)
def test_dropout_train_eval_return_the_module(student):
    """Dropout: train() and eval() return the module and switch every layer of an nn.Sequential"""
    x = big_input((40, 30), 513)
    steps = dropout(student, 0.5, [("eval",), ("train",), ("forward", x, None, True)])
    for step, method in zip(steps, ("eval", "train")):
        if raised(step):
            fail("{method}() raised {error}", method=method, error=step.get("message"))
        if step.get("returned_self") is not True:
            fail(NOT_RETURNED, method=method)
    result = student.Dropout.probe(sequential_modes, x)
    if type(result) is not dict:
        fail("Dropout: the check in the sandbox sent back something else than its results")
    out_eval = output(result, "Dropout", "out_eval", shape=x.shape, context=tr("after nn.Sequential.eval()"))
    out_train = output(result, "Dropout", "out_train", shape=x.shape, context=tr("after nn.Sequential.train()"))
    if result.get("eval_modes") != [False, False, False] or (out_eval == 0).any():
        fail(SEQUENTIAL)
    check_identity(out_eval, x, 0.5, tr("inside nn.Sequential after eval()"))
    if not (out_train == 0).any():  # 1,200 elements, two layers at p = 0.5
        fail("Dropout: after nn.Sequential(...).train() your layers dropped nothing")


@pytest.mark.points(2)
def test_dropout_gradient_uses_the_same_mask(student):
    """Dropout: the gradient flows through the same mask, scaled by 1/(1-p)"""
    p = 0.3
    x, dout = big_input((80, 60), 514), normal_input((80, 60), 515)
    step, = dropout(student, p, [("forward", x, dout, True)])
    out = output(step, "Dropout", shape=x.shape, context=tr("for p = {p}", p=p))
    grad = output(step, "Dropout", "grad_x", shape=x.shape, context=tr("for p = {p}", p=p), detached=DETACHED)
    check_training_output(out, x, p, context=tr(" (p = {p})", p=p))
    expected = np.where(out == 0, 0.0, dout / (1 - p))
    assert_close(grad, expected, fn="Dropout", name=tr("the gradient of x"), rtol=1e-12, atol=0, mistakes={
        GRAD_NO_MASK: dout, GRAD_NO_SCALE: np.where(out == 0, 0.0, dout)},
        hint="The gradient must use the same mask as the forward pass: compute out from x "
             "with tensor operations and let autograd derive it")


@pytest.mark.points(2)
def test_dropout_p_zero_and_one(student):
    """Dropout: p = 0 returns x and p = 1 returns zeros in training (with their gradients)"""
    x, dout = big_input((30, 20), 516), normal_input((30, 20), 517)
    step, = dropout(student, 0.0, [("forward", x, dout, True)])
    out = output(step, "Dropout", shape=x.shape, context=tr("for p = 0"))
    assert_close(out, x, fn="Dropout", name=tr("the output for p = 0"), rtol=0, atol=0)
    assert_close(output(step, "Dropout", "grad_x", shape=x.shape, context=tr("for p = 0"), detached=DETACHED), dout,
                 fn="Dropout", name=tr("the gradient of x for p = 0"), rtol=0, atol=0)
    step, = dropout(student, 1.0, [("forward", x, dout, True)])
    if raised(step) or step.get("out") is not None and type(step["out"]) is np.ndarray \
            and not np.isfinite(step["out"]).all():
        fail(P_ONE_NAN, got=tr("raised {error}", error=step["message"]) if raised(step) else
             tr("returned NaN or inf"))
    out = output(step, "Dropout", shape=x.shape, context=tr("for p = 1"))
    assert_close(out, np.zeros_like(x), fn="Dropout", name=tr("the output for p = 1"), rtol=0, atol=0)
    assert_close(output(step, "Dropout", "grad_x", shape=x.shape, context=tr("for p = 1"), detached=DETACHED),
                 np.zeros_like(x),
                 fn="Dropout", name=tr("the gradient of x for p = 1"), rtol=0, atol=0)


@pytest.mark.points(2)
def test_dropout_rejects_p_outside_0_1(student):
    """Dropout: p outside [0, 1] raises ValueError (p = 1 is allowed)"""
    dropout(student, 0.5, [("forward", big_input((4, 5), 518), None, True)])  # torch's own earns nothing
    for p in (-0.1, 1.5):
        expect_value_error(lambda: student.Dropout(p), fn="Dropout", why="for p = {p} (p must be in [0, 1])", p=p)
    try:
        student.Dropout(1.0)
    except StudentError as exc:
        if exc.exc_type == "ValueError":
            fail(P_ONE_REJECTED, error=exc)
        raise


@pytest.mark.points(2)
def test_dropout_same_seed_same_mask(student):
    """Dropout: the same torch.manual_seed gives the same mask"""
    x = big_input((50, 40), 519)
    steps = dropout(student, 0.4, [("seed", 7), ("forward", x, None, True), ("seed", 7),
                                   ("forward", x, None, True), ("seed", 8), ("forward", x, None, True)])
    first, again, other = (output(steps[i], "Dropout", shape=x.shape) for i in (1, 3, 5))
    if not np.array_equal(first == 0, again == 0):
        fail(NOT_TORCH_SEEDED)
    if np.array_equal(first == 0, other == 0):  # 2,000 elements: equal masks by chance, 0.52**2000
        fail(SAME_MASK)


# ------------------------------------------------------------------------------ batch norm

BIASED = mistake("batchnorm.unbiased_normalize")
EPS_OUTSIDE = mistake("batchnorm.eps_outside_sqrt")
BATCH_ONLY = mistake("batchnorm.stats_over_batch_only")
DECAY = mistake("batchnorm.momentum_as_decay")
BIASED_RUNNING = mistake("batchnorm.biased_running_var")
NOT_UPDATED = mistake("batchnorm.running_not_updated")
EVAL_BATCH = mistake("batchnorm.eval_batch_stats")
EVAL_CHANGES = mistake("batchnorm.eval_changes_state")
BN_GRAD_ENABLED = mistake("batchnorm.grad_enabled_mode")
NOT_A_BUFFER = mistake("batchnorm.not_a_buffer")
COUNTER_DTYPE = mistake("batchnorm.counter_dtype")
NOT_COUNTED = mistake("batchnorm.counter_not_counted")
NO_WEIGHT_GRAD = mistake("batchnorm.no_weight_grad")
ONE_VALUE = mistake("batchnorm.one_value_accepted")
BN_OWN = mistake("batchnorm.torch_own")


def batchnorm(student, script, *args, **kwargs):
    """Run `script` on the student's BatchNorm1d(*args, **kwargs); the result of each step."""
    return student_steps(student.BatchNorm1d, script, *args, torch_own=BN_OWN, **kwargs)


def reference(script, *args, **kwargs):
    """The same script on torch.nn.BatchNorm1d, here."""
    return torch_steps(torch.nn.BatchNorm1d, script, *args, **kwargs)


def bn_input(shape, seed):
    """Features on different scales, one with a variance far below eps (std 1e-3), where
    an eps in the wrong place shows."""
    x = normal_input(shape, seed)
    scale = np.array([1e-3, 1.0, 3.0, 0.5, 10.0, 2.0][:shape[1]]).reshape((1, -1) + (1,) * (len(shape) - 2))
    shift = np.array([5.0, -2.0, 0.0, 1.0, 3.0, -1.0][:shape[1]]).reshape(scale.shape)
    return x * scale + shift


def wrong_normalizations(x, ddof_wrong=True):
    """Common mistakes' outputs on x (weight 1, bias 0)."""
    dims = (0,) if x.ndim == 2 else (0, 2)
    mean = x.mean(axis=dims, keepdims=True)
    n = x.size // x.shape[1]
    out = {BIASED: (x - mean) / np.sqrt(x.var(axis=dims, keepdims=True) * n / (n - 1) + 1e-5),
           EPS_OUTSIDE: (x - mean) / (np.sqrt(x.var(axis=dims, keepdims=True)) + 1e-5)}
    if x.ndim == 3:
        out[BATCH_ONLY] = (x - x.mean(axis=0, keepdims=True)) / np.sqrt(x.var(axis=0, keepdims=True) + 1e-5)
    return out


def compare(mine, theirs, what, *, key="out", mistakes=None, context=""):
    """A step's array against torch's, in float64."""
    expected = theirs[key] if key in theirs else None
    actual = output(mine, "BatchNorm1d", key, shape=np.shape(expected),
                    context=context or tr("({what})", what=what))
    assert_close(actual, expected, fn="BatchNorm1d", name=what, rtol=1e-8, atol=1e-10, mistakes=mistakes)


def compare_grads(mine, theirs, context=""):
    compare(mine, theirs, tr("the gradient of x{context}", context=context), key="grad_x")
    grads = mine.get("grads")
    for name in ("weight", "bias"):
        if type(grads) is not dict or name not in grads:
            fail(NO_WEIGHT_GRAD, name=name, context=context)
        assert_close(output(grads, "BatchNorm1d", name, shape=theirs["grads"][name].shape),
                     theirs["grads"][name], fn="BatchNorm1d",
                     name=tr("the gradient of {name}{context}", name=name, context=context),
                     rtol=1e-8, atol=1e-10)


@pytest.mark.points(3)
def test_batchnorm_training_2d(student):
    """BatchNorm1d: training output and gradients equal torch.nn.BatchNorm1d's for (N, C)"""
    x, dout = bn_input((16, 5), 521), normal_input((16, 5), 522)
    script = [("double",), ("forward", x, dout, True)]
    mine, theirs = batchnorm(student, script, 5)[1], reference(script, 5)[1]
    compare(mine, theirs, tr("the training output"), mistakes=wrong_normalizations(x))
    compare_grads(mine, theirs)


@pytest.mark.points(2)
def test_batchnorm_training_3d(student):
    """BatchNorm1d: for (N, C, L) the statistics are over N and L"""
    x, dout = bn_input((6, 3, 7), 523), normal_input((6, 3, 7), 524)
    script = [("double",), ("forward", x, dout, True)]
    mine, theirs = batchnorm(student, script, 3)[1], reference(script, 3)[1]
    compare(mine, theirs, tr("the training output for an (N, C, L) input"), mistakes=wrong_normalizations(x))
    compare_grads(mine, theirs, tr(" for an (N, C, L) input"))


def running_mistakes(xs, momentum):
    """What running_mean / running_var would be after training on xs with common mistakes."""
    mean, var = np.zeros(xs[0].shape[1]), np.ones(xs[0].shape[1])
    decay_mean, decay_var, biased_var = mean.copy(), var.copy(), var.copy()
    for x in xs:
        dims = (0,) if x.ndim == 2 else (0, 2)
        n = x.size // x.shape[1]
        m_b, v_b = x.mean(axis=dims), x.var(axis=dims)
        decay_mean = momentum * decay_mean + (1 - momentum) * m_b
        decay_var = momentum * decay_var + (1 - momentum) * v_b * n / (n - 1)
        biased_var = (1 - momentum) * biased_var + momentum * v_b
    return {DECAY: decay_mean}, {DECAY: decay_var, BIASED_RUNNING: biased_var}


def check_state(mine, theirs, context):
    """running_mean, running_var and num_batches_tracked after the steps."""
    values, dtypes = mine.get("values"), mine.get("dtypes")
    if raised(mine) or type(values) is not dict or type(dtypes) is not dict:
        fail("state_dict() failed: {error}", error=mine.get("message") or "it sent back no state")
    for key in ("running_mean", "running_var", "num_batches_tracked"):
        if key not in values:
            fail(NOT_A_BUFFER, key=key, context=context)
    return values


@pytest.mark.points(3)
def test_batchnorm_running_statistics(student):
    """BatchNorm1d: running statistics after 3 training steps with momentum 0.3"""
    xs = [bn_input((12, 4), 530 + i) for i in range(3)]
    script = [("double",), *[("forward", x, None, True) for x in xs], ("state",)]
    mine, theirs = batchnorm(student, script, 4, momentum=0.3), reference(script, 4, momentum=0.3)
    for i in range(1, 4):
        output(mine[i], "BatchNorm1d", shape=xs[0].shape, context=tr("in training step {i}", i=i))
    values = check_state(mine[-1], theirs[-1], tr(" after training"))
    wrong_mean, wrong_var = running_mistakes(xs, 0.3)
    for key, mistakes in (("running_mean", wrong_mean), ("running_var", wrong_var)):
        if np.array_equal(np.asarray(values[key], dtype=float), np.zeros(4) if key == "running_mean" else np.ones(4)):
            fail(NOT_UPDATED, key=key)
        compare(mine[-1]["values"], theirs[-1]["values"], tr("{key} after 3 training steps (momentum 0.3)", key=key),
                key=key, mistakes=mistakes)
    check_counter(values, theirs[-1]["values"], 3, tr("after 3 training steps"))


def check_counter(values, expected, steps, when):
    count = values.get("num_batches_tracked")
    if type(count) is not np.ndarray or count.dtype != np.int64 or count.shape != ():
        fail(COUNTER_DTYPE, what=_what(count))
    if int(count) != int(expected["num_batches_tracked"]):
        fail(NOT_COUNTED, count=int(count), when=when, steps=steps)


def _what(value) -> str:
    if type(value) is np.ndarray:
        return f"a tensor of dtype {value.dtype} and shape {value.shape}"
    return type(value).__name__


def normalized(x, mean, var, eps=1e-5):
    """(x - mean) / sqrt(var + eps) per channel (weight 1, bias 0: the parameters untrained)."""
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return (x - np.reshape(mean, shape)) / np.sqrt(np.reshape(var, shape) + eps)


def batch_normalized(x, eps=1e-5):
    dims = (0,) if x.ndim == 2 else (0, 2)
    return normalized(x, x.mean(axis=dims), x.var(axis=dims), eps)


def own_running(values, key, channels):
    """The student's own running statistic (after check_state), as a float array of (C,)."""
    value = values[key]
    if type(value) is not np.ndarray or value.shape != (channels,):
        fail("{key} must be a tensor of shape ({channels},); yours is {what}", key=key, channels=channels,
             what=_what(value))
    return value.astype(float)


@pytest.mark.points(2)
def test_batchnorm_eval_uses_running_statistics(student):
    """BatchNorm1d: after eval() it normalizes with the running statistics and changes nothing"""
    # one mistake, one deduction: the eval output is compared with the normalization by YOUR
    # running statistics (whether they are updated right is the running statistics' test)
    xs = [bn_input((10, 5), 540 + i) for i in range(3)]
    script = [("double",), ("forward", xs[0], None, True), ("forward", xs[1], None, True), ("state",),
              ("eval",), ("forward", xs[2], None, True), ("state",)]
    mine, theirs = batchnorm(student, script, 5), reference(script, 5)
    before, after = check_state(mine[3], theirs[3], ""), check_state(mine[6], theirs[6], tr(" after eval()"))
    for key in ("running_mean", "running_var", "num_batches_tracked"):
        if not np.array_equal(np.asarray(before[key]), np.asarray(after[key])):
            fail(EVAL_CHANGES, key=key)
    mean, var = own_running(before, "running_mean", 5), own_running(before, "running_var", 5)
    out = output(mine[5], "BatchNorm1d", shape=xs[2].shape, context=tr("after eval()"))
    assert_close(out, normalized(xs[2], mean, var), fn="BatchNorm1d",
                 name=tr("the output after eval() (normalized with your running_mean and running_var)"),
                 rtol=1e-8, atol=1e-10, mistakes={EVAL_BATCH: batch_normalized(xs[2])})


@pytest.mark.points(2)
def test_batchnorm_mode_is_self_training(student):
    """BatchNorm1d: the mode comes from self.training, not from torch.is_grad_enabled()"""
    x1, x2 = bn_input((10, 3), 545), bn_input((10, 3), 546)
    script = [("double",), ("forward", x1, None, True), ("state",), ("eval",), ("forward", x2, None, True),
              ("state",), ("train",), ("forward", x2, None, False), ("state",)]
    mine, theirs = batchnorm(student, script, 3), reference(script, 3)
    # your eval output is judged against your own running statistics (as they were before or
    # after that step: whether eval changes them is the eval test's question)
    first, second = check_state(mine[2], theirs[2], ""), check_state(mine[5], theirs[5], tr(" after eval()"))
    by_running = [normalized(x2, own_running(v, "running_mean", 3), own_running(v, "running_var", 3))
                  for v in (first, second)]
    in_eval = output(mine[4], "BatchNorm1d", shape=x2.shape, context=tr("after eval() with autograd on"))
    in_train = output(mine[7], "BatchNorm1d", shape=x2.shape, context=tr("in training under torch.no_grad()"))
    if matches(in_eval, batch_normalized(x2), rtol=1e-8, atol=1e-10) or \
            any(matches(in_train, r, rtol=1e-8, atol=1e-10) for r in by_running):
        fail(BN_GRAD_ENABLED, what="after eval() with autograd on it used the batch's statistics, or in "
                                   "training under torch.no_grad() the running ones")
    if not any(matches(in_eval, r, rtol=1e-8, atol=1e-10) for r in by_running):
        assert_close(in_eval, by_running[0], fn="BatchNorm1d", rtol=1e-8, atol=1e-10,
                     name=tr("the output after eval() with autograd on (normalized with your running statistics)"))
    compare(mine[7], theirs[7], tr("the training output under torch.no_grad()"))
    counted = check_state(mine[8], theirs[8], tr(" after a training step under torch.no_grad()"))
    if int(np.asarray(counted["num_batches_tracked"])) != int(np.asarray(second["num_batches_tracked"])) + 1:
        fail(BN_GRAD_ENABLED, what=tr("a training forward pass under torch.no_grad() did not count in "
                                      "num_batches_tracked (torch.no_grad() does not change the mode)"))


COMBINATIONS = [(True, True), (True, False), (False, True), (False, False)]


@pytest.mark.points(3)
def test_batchnorm_state_dict(student):
    """BatchNorm1d: state_dict() has torch's keys and dtypes, and load_state_dict(strict=True) round-trips"""
    x, x2 = bn_input((8, 4), 550), bn_input((8, 4), 551)
    for affine, track in COMBINATIONS:
        options = dict(affine=affine, track_running_stats=track)
        context = f" (affine={affine}, track_running_stats={track})"
        trained = reference([("double",), ("forward", x, None, True), ("state",)], 4, **options)[2]
        script = [("double",), ("state",), ("load", trained["values"], True), ("eval",),
                  ("forward", x2, None, True), ("state",)]
        mine, theirs = batchnorm(student, script, 4, **options), reference(script, 4, **options)
        state = mine[1]
        if raised(state) or type(state.get("keys")) is not list:
            fail("state_dict() failed{context}: {error}", context=context, error=state.get("message", ""))
        keys, expected = sorted(map(str, state["keys"])), sorted(theirs[1]["keys"])
        if keys != expected:
            missing, extra = sorted(set(expected) - set(keys)), sorted(set(keys) - set(expected))
            fail("state_dict() has the keys {keys}{context}; torch's has {expected} (missing: {missing}; "
                 "extra: {extra}). Register the running statistics with self.register_buffer(name, "
                 "tensor) and the parameters with nn.Parameter; without affine, "
                 "register_parameter(name, None); without track_running_stats, register_buffer(name, None)",
                 keys=keys, context=context, expected=expected, missing=missing, extra=extra,
                 mistake=NOT_A_BUFFER if set(missing) & {"running_mean", "running_var", "num_batches_tracked"}
                 else None)
        for key, dtype in theirs[1]["dtypes"].items():
            if state["dtypes"].get(key) != dtype:
                if key == "num_batches_tracked":
                    fail(COUNTER_DTYPE, what=f"{state['dtypes'].get(key)}{context}")
                fail("{key} has dtype {yours}{context}; torch's is {dtype}", key=key,
                     yours=state["dtypes"].get(key), context=context, dtype=dtype)
        if raised(mine[2]):
            fail("load_state_dict(torch's state_dict(), strict=True) raised {error}{context}",
                 error=mine[2]["message"], context=context)
        output(mine[4], "BatchNorm1d", shape=x2.shape,
               context=tr("after load_state_dict and eval(){context}", context=context))
        loaded = mine[5].get("values") if type(mine[5].get("values")) is dict else {}
        for key, value in trained["values"].items():  # what was loaded is what state_dict() gives back
            if key not in loaded or not np.array_equal(np.asarray(loaded[key], dtype=float), value.astype(float)):
                fail("after load_state_dict(strict=True){context}, state_dict()['{key}'] is not the value that "
                     "was loaded: keep parameters and buffers in the module's own attributes (nn.Parameter, "
                     "register_buffer), which load_state_dict fills in place", context=context, key=key)


@pytest.mark.points(1)
def test_batchnorm_one_value_per_channel_raises(student):
    """BatchNorm1d: a training batch of one value per channel raises ValueError"""
    for x in (bn_input((1, 4), 555), bn_input((1, 4, 1), 556)):
        step = batchnorm(student, [("double",), ("forward", x, None, True)], 4)[1]
        if raised(step) != "ValueError":
            got = tr("raised {error}", error=step["message"]) if raised(step) else tr("returned normally")
            fail(ONE_VALUE, shape=x.shape, got=got)

