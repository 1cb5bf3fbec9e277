"""`python -m simulator` runs the `button` CLI."""

from simulator.cli import main

main()
