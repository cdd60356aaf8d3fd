"""The public tests of an exercise as a module, for its hidden tests to reuse their checks."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType


def public_tests(hidden_file: str) -> ModuleType:
    """`test_public.py` next to `hidden_file` (pass `__file__`), loaded under a private name
    (pytest does not collect its tests twice); its checks are then the module's attributes."""
    path = Path(hidden_file).with_name("test_public.py")
    spec = importlib.util.spec_from_file_location(f"_{path.parent.name}_public_checks", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
