"""``python -m casemix``: the command line (as ``casemix``)."""

from casemix.cli.main import app

if __name__ == "__main__":
    app(prog_name="casemix")
