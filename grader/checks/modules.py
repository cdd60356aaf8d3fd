"""Checking a student's torch module: run a script of steps (`grader.sandbox.torch_steps`)
on the student's class in the worker and on torch's own module here, then compare.

What the worker sends back is checked for its form first (a dict per step, arrays where
arrays belong) and decides nothing by itself: every verdict is computed here, from the
numbers, against torch run in this process on the same inputs (or, for random dropout,
against the student's own mask).
"""

from __future__ import annotations

import numpy as np

from grader.checks.arrays import as_array, describe, fail
from grader.checks.mistakes import Mistake

def _probe(cls, args, kwargs, script):
    from grader.sandbox.torch_steps import run
    return run(cls, args, kwargs, script)


def student_steps(student_class, script, *args, torch_own: "Mistake | str", **kwargs) -> list[dict]:
    """Run `script` on `student_class(*args, **kwargs)` in the worker; the result of each
    step (a dict), checked for form. A class that called torch's own dropout or batch norm
    fails here with the mistake `torch_own` (its `{used}` names what was called)."""
    name = student_class.__name__
    result = student_class.probe(_probe, args, kwargs, list(script))
    if type(result) is not dict or type(result.get("steps")) is not list or \
            len(result["steps"]) != len(script) or not all(type(s) is dict for s in result["steps"]) \
            or type(result.get("used_torch")) is not list:
        fail("the checks run in the sandbox sent back {what} instead of their results (does your code "
             "change torch or the grader?)", fn=name, what=describe(result))
    if result["used_torch"]:
        fail(torch_own, fn=name, used=", ".join(str(u)[:60] for u in result["used_torch"][:4]))
    return result["steps"]


def torch_steps(torch_class, script, *args, **kwargs) -> list[dict]:
    """The same script on torch's own module, in this process: the oracle."""
    from grader.sandbox import channel, worker
    from grader.sandbox.torch_steps import run

    def plain(obj):  # tensors as the worker sends them: the two sides compare alike
        value = worker.plain_torch(obj)
        if value is worker.NOT_PLAIN:
            raise TypeError(f"{type(obj).__name__} is not plain data")
        return value

    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tests' tensors are small: one thread is several times faster (and
    try:                      # 14 ms an op was measured with two, on a loaded 2-core machine)
        steps = run(torch_class, args, kwargs, list(script))["steps"]
        return channel.decode(channel.encode(steps, plain))
    finally:
        torch.set_num_threads(threads)


def raised(step: dict) -> str | None:
    """The exception class name a step raised, or None."""
    value = step.get("raised")
    return str(value)[:100] if value is not None else None


def output(step: dict, name: str, key: str = "out", *, shape=None, context: str = "",
           raised_mistake: "Mistake | None" = None, detached: "Mistake | None" = None) -> np.ndarray:
    """A step's array (`out`, `grad_x`), checked: a finite float array of `shape`. A step that
    raised fails (with `raised_mistake`, if the test knows which mistake that is); a missing
    gradient of x fails with `detached` (given `context=`), or a generic message."""
    if raised(step):
        if raised_mistake is not None:
            fail(raised_mistake, fn=name, error=str(step.get("message", ""))[:500], context=context)
        fail("it raised {error}{context}", fn=name, error=str(step.get("message", ""))[:500],
             context=f" ({context})" if context else "")
    what = {"out": "forward's output", "grad_x": "the gradient of the input x"}.get(key, key)
    if key == "grad_x" and step.get(key) is None and detached is not None:
        fail(detached, fn=name, context=f" {context}" if context else "")
    if key == "grad_x" and step.get(key) is None:
        fail("autograd found no path from x to the output{context}: the output must be computed from x "
             "with tensor operations (no .detach(), .data, numpy or torch.no_grad() in forward)",
             fn=name, context=f" {context}" if context else "")
    return as_array(step.get(key), name, what, shape=shape, context=context)
