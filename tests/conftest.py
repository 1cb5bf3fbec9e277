"""Shared fixtures: a fresh SQLite file or PostgreSQL database per test, and the tiny hand-written world.

`db_url` is parametrized over both backends, so a storage test written once runs on each. PostgreSQL is
a real throw-away cluster (tests/pg.py) started once per session, only when a test asks for it. Without
the PostgreSQL binaries those tests are skipped, except under CI (the `CI` variable set), where that is
a failure: CI must exercise PostgreSQL.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from db.engine import ensure_schema, make_engine, session_factory


def load_test_module(name: str, path: Path) -> ModuleType:
    """Import a helper module of the tests by path, once (test folders are not packages in importlib mode)."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # before exec: dataclasses look their module up
        spec.loader.exec_module(module)
    return sys.modules[name]


pg = load_test_module("button_tests_pg", Path(__file__).with_name("pg.py"))
tiny = load_test_module("button_tests_tiny_world", Path(__file__).parent / "simulator" / "tiny_world.py")

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgresql),
]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgresql: needs the throw-away PostgreSQL cluster (tests/pg.py)")


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Any]:
    """A PostgreSQL 15 cluster for the whole session; skipped (failed under CI) when unavailable."""
    with ExitStack() as stack:
        try:
            cluster = stack.enter_context(pg.start_cluster())
        except (pg.PgUnavailable, RuntimeError, OSError) as exc:
            if os.environ.get("CI"):
                pytest.fail(f"PostgreSQL tests must run in CI, but the cluster did not start: {exc}")
            pytest.skip(f"PostgreSQL unavailable: {exc}")
        yield cluster


@pytest.fixture
def pg_url(pg_cluster: Any) -> Iterator[str]:
    """URL of a new, empty PostgreSQL database, dropped after the test."""
    with pg.fresh_database(pg_cluster) as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """URL of a SQLite file (not yet created) in the test's temp dir."""
    return f"sqlite:///{tmp_path / 'button.db'}"


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest) -> str:
    """URL of an empty database, once per backend."""
    name = "sqlite_url" if request.param == "sqlite" else "pg_url"
    return str(request.getfixturevalue(name))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on an empty database brought to the newest schema."""
    made = make_engine(db_url)
    ensure_schema(made)
    yield made
    made.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    """Session factory on the migrated database."""
    return session_factory(engine)


@pytest.fixture
def tiny_world() -> ModuleType:
    """The hand-written tiny book world (tests/simulator/tiny_world.py) for role and episode tests."""
    return tiny


@pytest.fixture
def tiny_executor() -> Any:
    return tiny.TinyExecutor()


@pytest.fixture
def tiny_sequential_task() -> Any:
    return tiny.sequential_task()


@pytest.fixture
def tiny_parallel_task() -> Any:
    return tiny.parallel_task()
