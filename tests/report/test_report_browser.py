"""The HTML report renders in a real browser with the network off.

Headless Chromium (Debian package) loads the file with every host resolving to nothing; the
rendered DOM must hold every section, the embedded figures, and no reference to a network
resource. Skipped with a message where Chromium is absent (CI installs it).
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from casemix import CaseMixModel, load_spec, simulate_cohort, validate_births
from casemix.report import build_report, write_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SECTIONS = ["framing", "data", "definitions", "model", "calibration", "funnel", "caterpillar",
            "units", "sensitivity"]


@pytest.fixture(scope="module")
def report_file(tmp_path_factory):
    from pathlib import Path

    spec = load_spec(Path(__file__).resolve().parents[2] / "models" / "big2.toml")
    report = validate_births(simulate_cohort(25_000, seed=12).births)
    result = CaseMixModel(spec).fit(report.births)
    html = build_report(result, report.births, validation=report)
    return write_report(html, tmp_path_factory.mktemp("report") / "report.html")


def test_self_contained(report_file):
    html = report_file.read_text()
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
    assert html.count('src="data:image/png;base64,') >= 4
    for section in SECTIONS:
        assert f'id="{section}"' in html


def test_disclosure_threshold_reaches_every_part():
    """With a threshold above every count, all units are suppressed: the report says so and
    no unit is drawn or listed with its counts."""
    from pathlib import Path

    spec = load_spec(Path(__file__).resolve().parents[2] / "models" / "big2.toml")
    report = validate_births(simulate_cohort(8_000, seed=13).births)
    result = CaseMixModel(spec).fit(report.births)
    html = build_report(result, report.births, threshold=10**9)
    assert "(70 of 70 units)" in html
    assert "VSV01" not in html.split('id="sensitivity"')[1]


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install "
                    "chromium); CI installs it")
def test_renders_offline_in_chromium(report_file, tmp_path):
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
           "--host-resolver-rules=MAP * ~NOTFOUND", "--dump-dom", report_file.as_uri()]
    dom = subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout
    for section in SECTIONS:
        assert f'id="{section}"' in dom
    assert dom.count("<img") >= 4
    assert "Case-mix report: big2" in dom
