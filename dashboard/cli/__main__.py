"""`python -m dashboard.cli`: the same as the `mmpos` command."""

from dashboard.cli import run

run()
