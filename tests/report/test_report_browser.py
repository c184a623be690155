"""The HTML report renders in a real browser, in Dutch and in English, with the network off.

Headless Chromium (Debian package, driven by Playwright) loads the file; every request that
is not the file itself or an embedded ``data:`` image is recorded and refused. The rendered
page must hold every section and figure, no box that hides columns behind a horizontal scroll
bar, and in Dutch, numbers in the Dutch format. Skipped with a message where Chromium or
Playwright is absent (CI installs Chromium).
"""

from __future__ import annotations

import re
import shutil
import warnings
from pathlib import Path

import pytest

from casemix import CaseMixModel, load_spec, simulate_cohort, validate_births
from casemix.geography import boundaries_from_geojson
from casemix.report import build_report, write_report

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SECTIONS = ["framing", "findings", "maps", "data", "definitions", "model", "calibration",
            "funnel", "caterpillar", "units", "sensitivity"]
#: calibration, income calibration, the maternal-age curve, funnel, caterpillar, and two maps
#: (verdict, shrunken O/E) for each of the two levels of the spec
FIGURES = 9
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    spec = load_spec(ROOT / "models" / "big2.toml")
    cohort = simulate_cohort(25_000, seed=12)
    report = validate_births(cohort.births)
    geometry = boundaries_from_geojson(cohort.geography.boundaries())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = CaseMixModel(spec).fit(report.births)
        folder = tmp_path_factory.mktemp("report")
        return {lang: write_report(build_report(result, report.births, validation=report,
                                                lang=lang, geometry=geometry),
                                   folder / f"report_{lang}.html") for lang in ("nl", "en")}


def test_self_contained(reports):
    for path in reports.values():
        html = path.read_text()
        assert not re.search(r"(src|href)=\"(https?:)?//", html)
        assert html.count('src="data:image/png;base64,') == FIGURES
        for section in SECTIONS:
            assert f'id="{section}"' in html


def test_disclosure_threshold_reaches_every_part():
    """With a threshold above every count, all units are suppressed: the report says so and
    no unit is drawn or listed with its counts."""
    spec = load_spec(ROOT / "models" / "big2.toml")
    report = validate_births(simulate_cohort(8_000, seed=13).births)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = CaseMixModel(spec).fit(report.births)
        html = build_report(result, report.births, threshold=10**9, lang="en")
    assert "(70 of 70 units)" in html
    assert "VSV01" not in html.split('id="sensitivity"')[1]


def _playwright():
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (apt-get install chromium); CI installs it")
    return pytest.importorskip("playwright.sync_api", reason="playwright is a dev dependency")


#: Elements whose content is wider than their box while they clip or scroll it.
HIDDEN_BY_SCROLL = """() => [...document.querySelectorAll('body *')].filter(e => {
  const s = getComputedStyle(e);
  return ['auto', 'scroll', 'hidden', 'clip'].includes(s.overflowX)
         && e.scrollWidth > e.clientWidth + 1;
}).map(e => e.tagName + '#' + e.id)"""
#: Tables reaching beyond the page, and the page wider than the window.
TOO_WIDE = """() => ({page: document.documentElement.scrollWidth - window.innerWidth,
  tables: [...document.querySelectorAll('table')].filter(
    t => t.getBoundingClientRect().right > document.documentElement.clientWidth + 1
  ).map(t => t.id)})"""
#: Figures: every image decoded (natural width > 0).
IMAGES = "() => [...document.images].map(i => [i.alt, i.complete && i.naturalWidth > 0])"
#: Text of the numeric cells of a table.
NUMBERS = """id => [...document.querySelectorAll('#' + id + ' td.num')].map(c => c.innerText)"""


def _render(path: Path, sync_api, width: int = 1280):
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": width, "height": 900})
        requests: list[str] = []

        def refuse(route):
            requests.append(route.request.url)
            route.abort()

        page.route(re.compile(r"^(?!file:|data:).*"), refuse)
        page.goto(path.as_uri(), wait_until="load")
        found = {"requests": requests, "scroll": page.evaluate(HIDDEN_BY_SCROLL),
                 "wide": page.evaluate(TOO_WIDE), "images": page.evaluate(IMAGES),
                 "lang": page.evaluate("() => document.documentElement.lang"),
                 "units": page.evaluate(NUMBERS, "unit-table"),
                 "headers": page.evaluate(
                     "() => [...document.querySelectorAll('#unit-table th')].map(h => "
                     "h.innerText)"),
                 "ids": page.evaluate("() => [...document.querySelectorAll('[id]')].map("
                                      "e => e.id)")}
        browser.close()
    return found


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_renders_offline_in_chromium(reports, lang):
    sync_api = _playwright()
    page = _render(reports[lang], sync_api)
    assert page["requests"] == []
    assert page["lang"] == lang
    assert page["scroll"] == []
    assert page["wide"]["page"] <= 0 and page["wide"]["tables"] == []
    assert len(page["images"]) == FIGURES and all(ok for _, ok in page["images"])
    assert set(SECTIONS) <= set(page["ids"])
    assert not any("_" in h for h in page["headers"])  # labels, not column names


def test_dutch_number_format(reports):
    """In Dutch: decimal comma, a full stop between thousands; in English the reverse. The
    patterns are written here, independently of Babel."""
    sync_api = _playwright()
    nl = _render(reports["nl"], sync_api)["units"]
    en = _render(reports["en"], sync_api)["units"]
    assert len(nl) == len(en) > 0
    decimal_point = re.compile(r"\d\.\d{1,2}(?!\d)")  # 1.23 (not 1.234, a Dutch thousand)
    assert not any(decimal_point.search(c) for c in nl)
    assert any(re.search(r"\d,\d{2}", c) for c in nl)
    assert not any(re.search(r"\d,\d{1,2}(?!\d)", c) for c in en)
    for dutch, english in zip(nl, en, strict=True):  # the same numbers, marks swapped
        assert dutch == english.translate(str.maketrans({",": ".", ".": ","})), (dutch,
                                                                                   english)


def test_narrow_window_keeps_columns_visible(reports):
    """At a laptop's 1024 pixels the unit table still fits: no column is hidden."""
    sync_api = _playwright()
    page = _render(reports["nl"], sync_api, width=1024)
    assert page["scroll"] == [] and page["wide"]["tables"] == []
