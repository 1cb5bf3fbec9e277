"""The `button` command line: a thin layer over the config classes, the batch runner and the store."""

from __future__ import annotations

import simulator.cli.logs  # noqa: F401  (registers `button logs`)
import simulator.cli.replay  # noqa: F401  (registers `button replay`)
import simulator.cli.stages  # noqa: F401  (registers `button stages`)
from simulator.cli import database, evaluate, export, generate, inspect, sql, train  # noqa: F401  (registers commands)
from simulator.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point."""
    app()
