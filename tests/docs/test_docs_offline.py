"""The documentation site works offline: nothing is fetched, every formula is rendered.

The site is built with ``mkdocs build --strict`` into a temporary folder; its HTML must load
no script or stylesheet from another host and hold no Sphinx ``:math:`` left unconverted.
Headless Chromium (the Debian package, driven by playwright) then opens every page with
formulas with all requests other than ``file:`` aborted: none may be made, and KaTeX from
the site itself must have rendered every formula, with its fonts. Skipped with a message
where Chromium is absent (CI installs it).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]
#: A script or stylesheet that is loaded from elsewhere (absolute or protocol-relative URL).
EXTERNAL = re.compile(r"<(?:script[^>]*\ssrc|link[^>]*\shref)\s*=\s*[\"']?(?:https?:)?//",
                      re.I)
#: Pages with formulas in the sources (the API page shows those of the docstrings).
FORMULA_PAGES = ["models", "shrinkage", "bayes", "verdict", "diagnostics", "api"]


def _mkdocs() -> list[str]:
    """The mkdocs of the running environment (its script, else ``python -m mkdocs``)."""
    script = Path(sys.executable).with_name("mkdocs")
    return [str(script)] if script.exists() else [sys.executable, "-m", "mkdocs"]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([*_mkdocs(), "build", "--strict", "-d", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"mkdocs build failed:\n{done.stdout}\n{done.stderr}"
    return out


def _pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def test_no_external_scripts_or_stylesheets(site):
    pages = _pages(site)
    assert len(pages) > 20
    loaded = [(p.relative_to(site), m.group(0)) for p in pages
              for m in EXTERNAL.finditer(p.read_text(encoding="utf-8"))]
    assert loaded == []


def test_stylesheets_fetch_nothing(site):
    """No ``url(http...)`` or ``@import`` of another host in any stylesheet of the site."""
    remote = re.compile(r"(?:url\(\s*[\"']?|@import\s+[\"']?)(?:https?:)?//", re.I)
    found = [css.relative_to(site) for css in site.rglob("*.css")
             if remote.search(css.read_text(encoding="utf-8", errors="replace"))]
    assert found == []


def test_no_sphinx_math_left(site):
    left = [p.relative_to(site) for p in _pages(site)
            if ":math:" in (text := p.read_text(encoding="utf-8")) or ".. math::" in text]
    assert left == []


def test_katex_is_part_of_the_site(site):
    assert (site / "assets" / "katex" / "katex.min.js").is_file()
    assert list((site / "assets" / "katex" / "fonts").glob("KaTeX_Main-Regular.woff2"))
    for name in FORMULA_PAGES:
        html = (site / name / "index.html").read_text(encoding="utf-8")
        assert 'class="arithmatex"' in html, name
        assert "assets/katex/katex.min.js" in html


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install "
                    "chromium); CI installs it")
def test_formulas_render_offline_in_chromium(site):
    from playwright.sync_api import sync_playwright

    requested: list[str] = []

    def route(r):
        if r.request.url.startswith("file:"):
            return r.continue_()
        requested.append(r.request.url)
        return r.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.route("**/*", route)
            rendered = {name: _rendered(page, site / name / "index.html")
                        for name in FORMULA_PAGES}
        finally:
            browser.close()
    assert requested == []
    for name, (n_formulas, n_katex, n_errors, n_spans, font) in rendered.items():
        assert n_formulas > 0, name
        assert n_katex == n_formulas, f"{name}: {n_katex} of {n_formulas} formulas rendered"
        assert n_errors == 0, f"{name}: {n_errors} formulas KaTeX could not parse"
        assert n_spans > 5 * n_formulas, name
        assert font, f"{name}: KaTeX's fonts did not load"


def _rendered(page, path: Path) -> tuple[int, int, int, int, bool]:
    """Formulas, formulas rendered by KaTeX, KaTeX errors, rendered spans, and whether a
    KaTeX font was loaded (from the site: every other request is aborted)."""
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    font = page.evaluate("document.fonts.ready.then(fonts => [...fonts].some(f => "
                         "f.family.replaceAll('\"', '') === 'KaTeX_Main' && "
                         "f.status === 'loaded'))")
    return (page.locator(".arithmatex").count(),
            page.locator(".arithmatex > .katex, .arithmatex > .katex-display").count(),
            page.locator(".katex-error").count(),
            page.locator(".arithmatex .katex-html span").count(),
            font)
