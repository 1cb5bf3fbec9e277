"""Shared fixtures: the tiny book world (tests/simulator/tiny_world.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest


def load_tiny_world() -> ModuleType:
    """Import tiny_world.py by path once (test directories are not packages in importlib mode)."""
    if "button_tests_tiny_world" not in sys.modules:
        path = Path(__file__).with_name("tiny_world.py")
        spec = importlib.util.spec_from_file_location("button_tests_tiny_world", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    return sys.modules["button_tests_tiny_world"]


@pytest.fixture
def tiny_world() -> ModuleType:
    return load_tiny_world()


@pytest.fixture
def tiny_executor(tiny_world: ModuleType):
    return tiny_world.TinyExecutor()


@pytest.fixture
def tiny_sequential_task(tiny_world: ModuleType):
    return tiny_world.sequential_task()


@pytest.fixture
def tiny_parallel_task(tiny_world: ModuleType):
    return tiny_world.parallel_task()
