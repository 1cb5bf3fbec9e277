"""`python -m simulator.cli` runs the `button` CLI (used by tests that need a real process to kill)."""

from simulator.cli import main

main()
