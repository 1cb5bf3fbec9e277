"""The `button` command line: a thin layer over the config classes, the batch runner and the store."""

from __future__ import annotations

import cli.logs  # noqa: F401  (registers `button logs`)
import cli.replay  # noqa: F401  (registers `button replay`)
import cli.stages  # noqa: F401  (registers `button stages`)
import cli.worker  # noqa: F401  (registers `button worker`)
from cli import database, evaluate, export, generate, inspect, sql, train  # noqa: F401  (registers commands)
from cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point."""
    app()
