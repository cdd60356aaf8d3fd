"""The fixed signatures of the student's functions, read from the exercise's stub file.

The stub (`exercises/<id>/<module>`) is the course's own file; it is parsed, never
imported. Calls are bound against it in the trusted process and sent positionally, so
a student who renamed a parameter is still graded on what the function computes.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from grader.errors import CourseError

_NO_DEFAULT = object()


@dataclass(frozen=True)
class Parameter:
    name: str
    default: object = _NO_DEFAULT

    @property
    def required(self) -> bool:
        return self.default is _NO_DEFAULT


@dataclass(frozen=True)
class Signature:
    name: str
    params: tuple[Parameter, ...]
    text: str

    def bind(self, args: tuple, kwargs: dict) -> tuple:
        """Arguments in the order of the contract, defaults filled in where a later one is given."""
        if len(args) > len(self.params):
            raise TypeError(f"{self.text} takes {len(self.params)} arguments; the test gave {len(args)}")
        values = list(args)
        names = [p.name for p in self.params]
        unknown = set(kwargs) - set(names)
        if unknown:
            raise TypeError(f"{self.text} has no parameter {sorted(unknown)[0]!r}")
        last = max([len(args) - 1] + [names.index(k) for k in kwargs])
        for param in self.params[len(args):last + 1]:
            if param.name in kwargs:
                values.append(kwargs[param.name])
            elif not param.required:
                values.append(param.default)
            else:
                raise TypeError(f"{self.text}: missing argument {param.name!r}")
        return tuple(values)


def read_signatures(exercise) -> dict[str, Signature]:
    """The signatures of the exercise's functions, from its stub (or reference solution)."""
    for path in (exercise.student_dir / exercise.module, exercise.solution_dir / exercise.module):
        if path.is_file():
            break
    else:
        raise CourseError(f"{exercise.student_dir / exercise.module} is missing; "
                          "restore it (or run 'grade build' where solutions/ exists)")
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            out[node.name] = _signature(node.name, node.args)
        elif isinstance(node, ast.ClassDef):  # a class is called as its __init__, without self
            init = next((n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"), None)
            args = init.args if init else ast.arguments([], [ast.arg("self")], None, [], [], None, [])
            args = ast.arguments(args.posonlyargs, args.args[1:], args.vararg, args.kwonlyargs,
                                 args.kw_defaults, args.kwarg, args.defaults)
            out[node.name] = _signature(node.name, args)
    missing = [f for f in exercise.functions if f not in out]
    if missing:
        raise CourseError(f"{path} does not define {', '.join(missing)} (listed in course.yml)")
    return out


def _signature(name: str, args: ast.arguments) -> Signature:
    defaults = [_NO_DEFAULT] * (len(args.args) - len(args.defaults)) + [
        ast.literal_eval(d) for d in args.defaults]
    params = tuple(Parameter(a.arg, d) for a, d in zip(args.args, defaults))
    return Signature(name, params, f"{name}({ast.unparse(args)})")
