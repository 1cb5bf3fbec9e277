"""Start-up of the `button` command: wall time of light commands against a floor, and what each imports.

    .venv/bin/python bench/startup.py [--repeat 7]

The floor is `python -c "import typer, rich, sqlalchemy"`, the libraries every command needs; the target
is `button --help` within 2x of it. Each command runs in a fresh interpreter, as a user starts it, against
a small database made first (20 offline conversations); the figure is the median wall time of the repeats.
The last column lists the heavy libraries the command loaded (torch, transformers, trl, textual, AutoGen):
a read-only command should load none of them.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

HEAVY = ("torch", "transformers", "trl", "textual", "autogen_core", "autogen_agentchat", "autogen_ext")
FLOOR = "import typer, rich, sqlalchemy"
# Runs the CLI in-process like the console script does, then reports the heavy modules it loaded.
DRIVER = """
import sys
from cli import app
try:
    app(sys.argv[1:], standalone_mode=False)
finally:
    loaded = [m for m in {heavy!r} if m in sys.modules]
    sys.stderr.write("HEAVY:" + ",".join(loaded) + "\\n")
"""


def _seconds(argv: list[str], repeat: int) -> tuple[float, str]:
    times, heavy = [], ""
    for _ in range(repeat):
        started = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        times.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(argv[-3:])} failed: {done.stderr.strip().splitlines()[-1:]}")
        marks = [line for line in done.stderr.splitlines() if line.startswith("HEAVY:")]
        heavy = marks[-1].removeprefix("HEAVY:") if marks else ""
    return statistics.median(times), heavy or "none"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="Runs of each command; the median is kept.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db = f"sqlite:///{Path(folder) / 'startup.db'}"
        made = subprocess.run(
            [sys.executable, "-m", "cli", "generate", "--n", "20", "--workers", "0", "--db", db],
            capture_output=True,
            text=True,
            check=False,
        )
        if made.returncode != 0:
            raise SystemExit(f"could not make the sample database: {made.stderr.strip()}")
        floor, _ = _seconds([sys.executable, "-c", FLOOR], args.repeat)
        driver = DRIVER.format(heavy=HEAVY)
        commands = {
            "button --help": ["--help"],
            "button sql": ["sql", "SELECT COUNT(*) FROM conversations", "--db", db],
            "button logs": ["logs", "--db", db],
            "button show": ["show", "1", "--db", db],
            "button stats": ["stats", "--db", db],
        }
        table = Table(title=f"start-up, median of {args.repeat} runs", title_justify="left")
        for column in ("command", "seconds", "× floor", "heavy libraries loaded"):
            table.add_column(column)
        table.add_row(f"python -c '{FLOOR}'", f"{floor:.2f}", "1.0", "")
        for name, command in commands.items():
            seconds, heavy = _seconds([sys.executable, "-c", driver, *command], args.repeat)
            table.add_row(name, f"{seconds:.2f}", f"{seconds / floor:.1f}", heavy)
        Console().print(table)


if __name__ == "__main__":
    main()
