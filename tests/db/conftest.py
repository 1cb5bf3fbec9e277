"""Fixtures of the storage tests: the literal sample tasks and trajectories of db_samples.py."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

_NAME = "button_tests_db_samples"


@pytest.fixture(scope="session")
def samples() -> ModuleType:
    """tests/db/db_samples.py, imported by path (test folders are not packages in importlib mode)."""
    if _NAME not in sys.modules:
        spec = importlib.util.spec_from_file_location(_NAME, Path(__file__).with_name("db_samples.py"))
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[_NAME] = module
        spec.loader.exec_module(module)
    return sys.modules[_NAME]
