"""A script of steps run against a torch module: in the worker on the student's class, and in
the grader on torch's own (`torch.nn.BatchNorm1d`), so the two can be compared step by step.

A step is a tuple:
    ("train",) / ("eval",)           call it; record whether it returned the module and the
                                     `training` flag of the module and of every child
    ("double",)                      module.double() (float64 parameters and buffers)
    ("seed", s)                      torch.manual_seed(s)
    ("forward", x, dout, grad_mode)  out = module(tensor(x)) with autograd on or off
                                     (`grad_mode`); with `dout`, out.backward(dout): the
                                     gradients of x and of every parameter
    ("state",)                       state_dict(): keys, values, dtypes; parameter and buffer names
    ("load", state, strict)          load_state_dict({key: tensor}, strict)
A step that raises (other than NotImplementedError) records the error and the script goes
on. Everything returned is plain data (arrays, numbers, strings), and `used_torch` names
torch's own dropout or batch norm functions that the module called (watched while the
script runs, and seen in the autograd graph of each output).

Imported by the torch zygote before it forks (the worker may not be able to read the
grader's files afterwards). In the worker it is as exposed to the student's code as
anything else there: the grader decides only on the numbers it sends back.
"""

from __future__ import annotations

import contextlib

import numpy as np
import torch

# torch's own implementations a student must not call: where they are reached from, and
# the autograd nodes they leave in a graph.
_WATCHED = [(torch.nn.functional, "dropout"), (torch.nn.functional, "batch_norm"), (torch, "dropout"),
            (torch, "batch_norm"), (torch, "native_batch_norm"), (torch, "native_dropout"),
            (torch.nn.functional, "alpha_dropout"), (torch.nn.functional, "feature_alpha_dropout"),
            (torch.nn.functional, "dropout1d"), (torch.nn.functional, "instance_norm"),
            (torch.nn.modules.dropout.Dropout, "forward"), (torch.nn.modules.batchnorm._BatchNorm, "forward")]
_NODES = ("NativeDropoutBackward", "NativeBatchNormBackward", "CudnnBatchNormBackward",
          "MiopenBatchNormBackward", "BatchNormBackward")


def run(cls, args, kwargs, script) -> dict:
    used: set[str] = set()
    with _watch(used):
        module = cls(*args, **kwargs)
        results = [_step(module, step, used) for step in script]
    return {"steps": results, "used_torch": sorted(used)}


def _step(module, step, used: set) -> dict:
    kind = step[0]
    try:
        if kind in ("train", "eval"):
            returned = getattr(module, kind)()
            return {"returned_self": returned is module,
                    "training": [bool(m.training) for m in module.modules()]}
        if kind == "double":
            module.double()
            return {}
        if kind == "seed":
            torch.manual_seed(int(step[1]))
            return {}
        if kind == "forward":
            return _forward(module, *step[1:], used=used)
        if kind == "state":
            state = module.state_dict()  # its tensors share memory with the module's: copy them now
            return {"keys": [str(k) for k in state], "values": {str(k): _copy(v) for k, v in state.items()},
                    "dtypes": {str(k): str(v.dtype).removeprefix("torch.") for k, v in state.items()},
                    "parameters": [n for n, _ in module.named_parameters()],
                    "buffers": [n for n, _ in module.named_buffers()]}
        if kind == "load":
            state = {k: torch.from_numpy(np.array(v, copy=True)) for k, v in step[1].items()}
            module.load_state_dict(state, strict=step[2])
            return {}
    except NotImplementedError:
        raise
    except Exception as exc:  # noqa: BLE001 - the step's outcome (a ValueError may be right)
        return {"raised": type(exc).__name__, "message": f"{type(exc).__name__}: {exc}"[:500]}
    raise ValueError(f"unknown step {kind!r}")


def _forward(module, x, dout, grad_mode: bool, *, used: set) -> dict:
    xt = torch.tensor(x, requires_grad=dout is not None)
    for p in module.parameters():
        p.grad = None
    with torch.set_grad_enabled(grad_mode):
        out = module(xt)
    result = {"out": out, "same_object": out is xt}
    if isinstance(out, torch.Tensor):
        used.update(_graph_nodes(out))
        if dout is not None and out.requires_grad:
            out.backward(torch.tensor(dout))
        result["grad_x"] = xt.grad
        result["grads"] = {n: _copy(p.grad) for n, p in module.named_parameters() if p.grad is not None}
        result["out"] = _copy(out)  # a later step must not change what this one saw
    return result


def _copy(value):
    """A tensor's numbers as they are now (the module may change its own in place later)."""
    return value.detach().clone() if isinstance(value, torch.Tensor) else value


def _graph_nodes(out) -> set[str]:
    """Names of torch's own dropout and batch-norm nodes in the autograd graph of `out`."""
    found, seen, todo = set(), set(), [out.grad_fn]
    while todo and len(seen) < 10_000:
        node = todo.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        name = type(node).__name__
        if name.startswith(_NODES):
            found.add(name)
        todo.extend(n for n, _ in node.next_functions)
    return found


@contextlib.contextmanager
def _watch(used: set):
    """While the script runs, torch's own dropout and batch norm note their use in `used`.
    (A student who bound one of them at import, `from torch.nn.functional import dropout`,
    reaches the same functions below it, or leaves their node in the graph.)"""
    saved = [(owner, name, owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name))
             for owner, name in _WATCHED if hasattr(owner, name)]
    for owner, name, original in saved:
        setattr(owner, name, _noting(original, f"{getattr(owner, '__name__', owner)}.{name}", used))
    try:
        yield
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)


def _noting(original, label: str, used: set):
    def noted(*args, **kwargs):
        used.add(label)
        return original(*args, **kwargs)
    return noted
