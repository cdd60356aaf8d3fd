"""Kernel side: the exercise's functions as the running kernel defines them, as code to grade.

`capture(namespace, functions)` walks from the exercise's functions (as defined in the
kernel's globals, not in the last saved file) to every global name they use, found in
their bytecode (LOAD_GLOBAL and friends, nested functions and comprehensions included)
and in what a `def` evaluates when it runs (decorators, default values, annotations):

- a function or class defined in the notebook: its current source, from the cell that
  defined it (IPython keeps every cell in `linecache`), placed at its own line numbers in
  a unit named after the cell ("In [5]"), so the grader's messages name the cell and line;
- a module: `import numpy as np`; an object a module exports (`from math import sqrt`);
- a plain constant (numbers, numpy's number scalars, strings, bytes, None, and tuples,
  lists, sets and dicts of them): `EPS = 1e-05`, exactly.

Anything else (an array, a generator, an instance) cannot be sent to the grader as code:
`CaptureRefused` says which name, where it is used, and what to do. Nothing here imports
beyond the standard library, and nothing runs student code.
"""

from __future__ import annotations

import ast
import builtins
import dis
import inspect
import linecache
import math
import sys
import textwrap
import types
from dataclasses import dataclass

TABLES_UNIT = "tables of functions from your notebook"  # after the functions they name
IMPORTS_UNIT = "imports from your notebook"  # the unit of the imports and constants check() adds
_GLOBAL_OPS = {"LOAD_GLOBAL", "LOAD_NAME", "STORE_GLOBAL", "DELETE_GLOBAL"}
_PLAIN = (int, float, complex, str, bytes, bool, type(None))


class CaptureRefused(Exception):
    """The kernel's code cannot be sent to the grader as it is; the message says why and how."""


@dataclass(frozen=True)
class Captured:
    units: tuple[tuple[str, str], ...]  # (name shown to the student, source), in order
    missing: tuple[str, ...]            # exercise functions the kernel does not define
    left_out: tuple[str, ...] = ()      # why an exercise function was not sent (see `capture`)


def capture(namespace: dict, functions: tuple[str, ...], *, required: str | None = None) -> Captured:
    """The code that makes the exercise's module from the kernel's `namespace` (its globals).

    An exercise function that cannot be sent is left out (its tests then say it is
    missing) and `left_out` says why; for `required`, the function being checked,
    CaptureRefused is raised instead."""
    left_out = {}
    for name in functions:
        if name in namespace:
            try:
                _State(namespace).exercise_function(name)  # a dry run: can it be sent?
            except CaptureRefused as exc:
                if name == required:
                    raise
                left_out[name] = f"{name} was not graded: {exc}"
    state = _State(namespace)
    missing = []
    for name in functions:
        if name not in namespace:
            missing.append(name)
        elif name not in left_out:
            state.exercise_function(name)
    return Captured(state.units(), tuple(missing), tuple(left_out.values()))


class _State:
    def __init__(self, namespace: dict):
        self.namespace = namespace
        self.seen: set[str] = set()
        self.header: list[str] = []            # imports, then constants
        self.constants: list[str] = []
        self.tables: list[str] = []            # constants that name notebook functions: after them
        self.cells: dict[str, dict[int, str]] = {}  # cell file -> {line number: line}
        self.order: dict[str, tuple] = {}

    def exercise_function(self, name: str) -> None:
        obj = self.namespace[name]
        if not (inspect.isfunction(obj) or inspect.isclass(obj)):
            raise CaptureRefused(f"{name} is a {_kind(obj)} in your notebook, not a function: "
                                 f"run the cell that defines it with 'def {name}(...)'")
        if getattr(obj, "__module__", None) != "__main__":
            where = getattr(sys.modules.get(obj.__module__), "__file__", None) or obj.__module__
            raise CaptureRefused(f"{name} comes from {where}, not from this notebook: check() grades "
                                 f"the functions your notebook defines (to grade a file, run grade "
                                 f"with --submission)")
        self.add(name, obj, used_by=None)

    def add(self, name: str, obj, used_by: str | None) -> None:
        if name in self.seen:
            return
        self.seen.add(name)
        if inspect.ismodule(obj):
            self.header.append(_import_module(name, obj))
        elif (inspect.isfunction(obj) or inspect.isclass(obj)) and getattr(obj, "__module__", None) == "__main__":
            self._definition(name, obj)
        elif _exported(obj) is not None:
            module, attr = _exported(obj)
            self.header.append(f"from {module} import {attr}" + (f" as {name}" if attr != name else ""))
        elif _literal(obj) is not None:
            self.constants.append(f"{name} = {_literal(obj)}")
        elif (table := _literal(obj, named=self._notebook_name)) is not None:
            # a table of the notebook's functions ({"he_normal": he_normal, ...}): the functions
            # as definitions, the table after them
            for value in _leaves(obj):
                if self._notebook_name(value) is not None:
                    self.add(self._notebook_name(value), value, used_by=used_by)
            self.tables.append(f"{name} = {table}")
        else:
            raise CaptureRefused(
                f"{used_by} uses {name}, a {_kind(obj)} defined in your notebook; check() can send "
                f"the grader only functions, classes, imports and plain constants (numbers, strings, "
                f"tuples, ...). Pass {name} to {used_by} as an argument, or create it inside the function")

    def _definition(self, name: str, obj) -> None:
        filename, first, lines, node = _source(name, obj)
        cell = self.cells.setdefault(filename, {})
        for offset, line in enumerate(lines):
            cell[first + offset] = line
        self.order.setdefault(filename, (_execution_count(filename), filename))
        for used in sorted(_global_names(obj, node)):
            if used in self.namespace and used != name and not self._shells(used):
                self.add(used, self.namespace[used], used_by=name)

    def _notebook_name(self, value) -> str | None:
        """The name under which the notebook defines the function or class `value`, if it does."""
        if not ((inspect.isfunction(value) or inspect.isclass(value))
                and getattr(value, "__module__", None) == "__main__"):
            return None
        name = getattr(value, "__name__", "")
        return name if self.namespace.get(name) is value else None

    def _shells(self, name: str) -> bool:
        """IPython's own names in the kernel's namespace (In, Out, exit, get_ipython, ...),
        as long as the student did not rebind them: the sandbox has its builtins."""
        if name.startswith("__"):
            return True
        shell = getattr(builtins, "get_ipython", lambda: None)()
        hidden = getattr(shell, "user_ns_hidden", None) or {}
        return name in hidden and hidden[name] is self.namespace[name]

    def units(self) -> tuple[tuple[str, str], ...]:
        out = []
        header = self.header + self.constants
        if header:
            out.append((IMPORTS_UNIT, "\n".join(header) + "\n"))
        for filename in sorted(self.cells, key=lambda f: self.order[f]):
            cell = self.cells[filename]
            text = "\n".join(cell.get(n, "") for n in range(1, max(cell) + 1)) + "\n"
            out.append((_cell_label(filename), text))
        if self.tables:
            out.append((TABLES_UNIT, "\n".join(self.tables) + "\n"))
        return tuple(out)


# ------------------------------------------------------------------ sources

def _source(name: str, obj) -> tuple[str, int, list[str], ast.AST]:
    """(file of the cell, first line, the definition's lines, its AST node)."""
    code = _first_code(obj)
    if code is None:
        raise CaptureRefused(f"the source of {name} cannot be found (a class needs at least one "
                             f"method); define it in a notebook cell")
    filename = code.co_filename
    text = "".join(linecache.getlines(filename))
    if not text:
        raise CaptureRefused(f"the source of {name} cannot be found: define it in a notebook cell "
                             f"(not with exec or %run)")
    try:
        tree = ast.parse(text)
    except SyntaxError:
        raise CaptureRefused(f"the cell that defines {name} cannot be read back; run it again") from None
    node = _find_definition(tree, name, obj, code)
    if node is None:
        raise CaptureRefused(f"{name} is not defined at the top level of a notebook cell "
                             f"(with 'def {name}' or 'class {name}'); define it so to check it")
    start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    all_lines = text.splitlines()
    lines = textwrap.dedent("\n".join(all_lines[start - 1:node.end_lineno])).splitlines()
    return filename, start, lines, node


def _first_code(obj):
    if inspect.isfunction(obj):
        return obj.__code__
    for value in vars(obj).values():
        value = getattr(value, "__func__", value)
        value = getattr(value, "fget", value)
        if inspect.isfunction(value):
            return value.__code__
    return None


def _find_definition(tree: ast.Module, name: str, obj, code) -> ast.AST | None:
    """The top-level def/class (or `name = lambda ...`) of the cell that holds `code`."""
    line = code.co_firstlineno
    for node in tree.body:
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        if not start <= line <= node.end_lineno:
            continue
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            return node
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Lambda) \
                and [getattr(t, "id", None) for t in node.targets] == [name]:
            return node
    return None


def _execution_count(filename: str) -> int:
    shell = getattr(builtins, "get_ipython", lambda: None)()
    numbers = getattr(getattr(shell, "compile", None), "_filename_map", None) or {}
    return numbers.get(filename, 10**9)


def _cell_label(filename: str) -> str:
    """"In [5]" for a notebook cell (as Jupyter numbers it), else the file's name."""
    number = _execution_count(filename)
    if number != 10**9:
        return f"In [{number}]"
    return filename.rsplit("/", 1)[-1] or "your notebook"


# ------------------------------------------------------------------ names

def _global_names(obj, node: ast.AST) -> set[str]:
    """The global names a definition uses: in its bytecode, and in what `def`/`class`
    evaluates (decorators, defaults, annotations, base classes, class-level statements)."""
    names: set[str] = set()
    codes = [obj.__code__] if inspect.isfunction(obj) else [
        getattr(getattr(v, "__func__", v), "fget", getattr(v, "__func__", v)).__code__
        for v in vars(obj).values()
        if inspect.isfunction(getattr(getattr(v, "__func__", v), "fget", getattr(v, "__func__", v)))]
    for code in codes:
        names |= _code_names(code)
    for expr in _definition_time(node):
        names |= {n.id for n in ast.walk(expr) if isinstance(n, ast.Name)}
    return names - {"__class__"}


def _code_names(code: types.CodeType) -> set[str]:
    names = {ins.argval for ins in dis.get_instructions(code) if ins.opname in _GLOBAL_OPS}
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _code_names(const)
    return names


def _definition_time(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, ast.Assign):  # name = lambda ...: its defaults
        node = node.value
    out = list(getattr(node, "decorator_list", []))
    if isinstance(node, ast.ClassDef):
        out += node.bases + [k.value for k in node.keywords]
        out += [stmt for stmt in node.body if not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef))]
        for stmt in node.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                out += _definition_time(stmt)
        return out
    args = node.args
    out += [d for d in args.defaults + args.kw_defaults if d is not None]
    if not isinstance(node, ast.Lambda):
        every = args.posonlyargs + args.args + args.kwonlyargs + [a for a in (args.vararg, args.kwarg) if a]
        out += [a.annotation for a in every if a.annotation is not None]
        out += [node.returns] if node.returns is not None else []
    return out


# ------------------------------------------------------------------ values

def _import_module(name: str, module: types.ModuleType) -> str:
    real = module.__name__
    if real == name:
        return f"import {real}"
    return f"import {real} as {name}"


def _exported(obj) -> tuple[str, str] | None:
    """(module, attribute) when `from module import attribute` gives this very object."""
    module = getattr(obj, "__module__", None)
    attr = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    if not isinstance(module, str) or not isinstance(attr, str) or "." in attr or "<" in attr \
            or module == "__main__":
        return None
    if getattr(sys.modules.get(module), attr, None) is obj:
        return module, attr
    return None


def _leaves(value):
    """The items of a (nested) tuple, list, set or dict's values."""
    if type(value) in (tuple, list, set):
        for v in value:
            yield from _leaves(v)
    elif type(value) is dict:
        for v in value.values():
            yield from _leaves(v)
    else:
        yield value


def _literal(value, depth: int = 0, named=None) -> str | None:
    """Python source that rebuilds `value` exactly, for plain constants (numbers, strings,
    bytes, None, numpy's number scalars, and tuples, lists, sets and dicts of them); None
    for anything else. `named(value)`: a name to write for a value that is no constant (a
    notebook function), or None."""
    kind = type(value)
    if depth > 20:
        return None
    if named is not None and named(value) is not None:
        return named(value)
    if kind in (float, complex):
        parts = (value.real, value.imag) if kind is complex else (value,)
        return repr(value) if all(math.isfinite(p) for p in parts) else None
    if kind in _PLAIN:
        return repr(value)
    if kind in (tuple, list) or (kind is set and value):
        items = [_literal(v, depth + 1, named) for v in value]
        if any(i is None for i in items):
            return None
        inner = ", ".join(items) + ("," if kind is tuple and len(items) == 1 else "")
        return {tuple: "({})", list: "[{}]", set: "{{{}}}"}[kind].format(inner)
    if kind is dict:
        pairs = [(_literal(k, depth + 1), _literal(v, depth + 1, named)) for k, v in value.items()]
        if any(k is None or v is None for k, v in pairs):
            return None
        return "{" + ", ".join(f"{k}: {v}" for k, v in pairs) + "}"
    return _numpy_scalar(value)


def _numpy_scalar(value) -> str | None:
    """numpy.float64(1.4142135623730951) and the like, exactly (numpy imported by name)."""
    numpy = sys.modules.get("numpy")
    if numpy is None or not isinstance(value, numpy.generic) or value.dtype.kind not in "biuf" \
            or getattr(numpy, type(value).__name__, None) is not type(value) or value.dtype.itemsize > 8:
        return None
    plain = value.item()
    if isinstance(plain, float) and not math.isfinite(plain):
        return None
    return f"__import__('numpy').{type(value).__name__}({plain!r})"


def _kind(obj) -> str:
    kind = type(obj)
    return kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
