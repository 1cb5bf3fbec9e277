"""A throw-away PostgreSQL 15 cluster for the test session, and fresh databases inside it.

Tests need a real server (JSONB, transactional DDL, read-only sessions behave differently from SQLite),
but developer machines and CI run as root and `initdb` refuses root; so the cluster is created and run
as the unprivileged `postgres` user through `runuser` (as the current user when not root), in a temp
dir, on a free loopback port, with fsync off and trust auth. It is stopped with `-m immediate`: the data
is thrown away anyway.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import text

from db.engine import make_engine

__all__ = [
    "PG_BIN",
    "PgCluster",
    "PgUnavailable",
    "fresh_database",
    "pg_binaries_present",
    "rows",
    "start_cluster",
]

PG_BIN = Path(os.environ.get("BUTTON_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
_OS_USER = "postgres"


class PgUnavailable(RuntimeError):
    """The PostgreSQL binaries (or the user to run them as) are missing on this machine."""


@dataclass(frozen=True)
class PgCluster:
    """A running cluster: where to reach it and where its files are."""

    host: str
    port: int
    user: str
    datadir: Path
    root: Path

    def url(self, dbname: str = "postgres") -> str:
        """SQLAlchemy URL of one database of the cluster (psycopg 3 driver)."""
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{dbname}"

    def conninfo(self, dbname: str = "postgres") -> str:
        """libpq connection string of one database of the cluster."""
        return f"host={self.host} port={self.port} user={self.user} dbname={dbname}"


def pg_binaries_present() -> bool:
    """Whether initdb and pg_ctl exist where Debian puts PostgreSQL 15."""
    return (PG_BIN / "initdb").is_file() and (PG_BIN / "pg_ctl").is_file()


def _as_cluster_user(argv: list[str]) -> list[str]:
    """Prefix a command so it runs as `postgres` when we are root (initdb refuses root)."""
    if os.geteuid() == 0:
        return ["runuser", "-u", _OS_USER, "--", *argv]
    return argv


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(argv: list[str]) -> None:
    done = subprocess.run(_as_cluster_user(argv), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")


@contextmanager
def start_cluster() -> Iterator[PgCluster]:
    """Create and start a cluster; stop it and remove its files on exit."""
    if not pg_binaries_present():
        raise PgUnavailable(f"PostgreSQL binaries not found in {PG_BIN}")
    root = Path(tempfile.mkdtemp(prefix="button-pg-"))
    datadir, sockdir = root / "data", root / "sock"
    datadir.mkdir()
    sockdir.mkdir()
    if os.geteuid() == 0:
        for path in (root, datadir, sockdir):
            shutil.chown(path, _OS_USER, _OS_USER)
    user = _OS_USER if os.geteuid() == 0 else os.environ.get("USER", "postgres")
    port = _free_port()
    try:
        _run(
            [
                str(PG_BIN / "initdb"),
                "-D",
                str(datadir),
                "-U",
                user,
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ]
        )
        options = f"-p {port} -k {sockdir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        _run(
            [
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(datadir),
                "-l",
                str(root / "log"),
                "-w",
                "-o",
                options,
                "start",
            ]
        )
        yield PgCluster(host="127.0.0.1", port=port, user=user, datadir=datadir, root=root)
    finally:
        if (datadir / "postmaster.pid").exists():
            stop = [str(PG_BIN / "pg_ctl"), "-D", str(datadir), "-m", "immediate", "-w", "stop"]
            subprocess.run(_as_cluster_user(stop), capture_output=True, check=False)
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def fresh_database(cluster: PgCluster) -> Iterator[str]:
    """Create an empty database with a unique name; drop it (forcibly) on exit. Yields its URL."""
    name = f"test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(cluster.conninfo(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield cluster.url(name)
    finally:
        with psycopg.connect(cluster.conninfo(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def rows(url: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """Every row of one query on the database at `url` (an engine of its own, disposed after)."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql), params)]
    finally:
        engine.dispose()
