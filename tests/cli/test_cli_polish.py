"""The polish of the command line (issue "the CLI"): --version, help and errors printed
literally (no console markup), metavars that help, a readable fit summary, progress on
long steps, no ``nan``/``None``/``True`` leaking out, and counts with thousands separators.
"""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata

from typer.testing import CliRunner

from casemix.cli import app

runner = CliRunner()


def test_version_prints_the_installed_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"casemix {metadata.version('casemix')}"


def test_python_dash_m_casemix_runs_the_cli():
    done = subprocess.run([sys.executable, "-m", "casemix", "--version"], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("casemix ")
