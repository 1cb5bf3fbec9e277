"""`python -m cli` runs the `button` CLI (used by tests that need a real process to kill)."""

from cli import main

main()
