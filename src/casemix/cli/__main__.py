"""``python -m casemix.cli``."""

from casemix.cli.main import app

app()
