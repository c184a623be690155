"""Command-line interface (``casemix``)."""

from casemix.cli.main import app

__all__ = ["app"]
