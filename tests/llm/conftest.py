"""Fixtures of the LLM tests: the scripted OpenAI-compatible server on loopback, and its world policy.

The helper modules sit next to the tests and are imported by name (tests use importlib mode, so this
folder is put on sys.path once, here).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from openai_server import FaultPlan, OpenAIServer, serve  # noqa: E402
from world_policy import WorldPolicy  # noqa: E402

from datamodel.behaviours import BehaviourMix  # noqa: E402

N_TASKS = 12  # tasks of most LLM runs in these tests
POLICY_TASKS = 48  # tasks the server can play (runs sharded over worker processes need more)


@pytest.fixture(scope="session")
def world_policy() -> WorldPolicy:
    """Plays the first POLICY_TASKS tasks of seed 0 in world 0, the default `button generate` dataset."""
    return WorldPolicy.for_tasks(POLICY_TASKS, seed=0)


@pytest.fixture(scope="session")
def plain_policy() -> WorldPolicy:
    """The same tasks without behaviours: what `button eval` draws from the world."""
    plain = BehaviourMix(clarify=0, follow_up=0, irrelevant=0, tool_error=0, look_alike=0)
    return WorldPolicy.for_tasks(POLICY_TASKS, seed=0, mix=plain)


@pytest.fixture
def plain_server(plain_policy: WorldPolicy) -> Iterator[OpenAIServer]:
    """A fault-free server playing the world's plain tasks (evaluations)."""
    with serve(plain_policy) as server:
        yield server


@pytest.fixture
def llm_server(world_policy: WorldPolicy) -> Iterator[OpenAIServer]:
    """A fault-free server playing the world."""
    with serve(world_policy) as server:
        yield server


@pytest.fixture
def faulty_server(world_policy: WorldPolicy) -> Iterator[OpenAIServer]:
    """The world server with 30% of first-seen requests answered by a fault of every kind."""
    with serve(world_policy, FaultPlan(share=0.3, hang_s=2.0)) as server:
        yield server
