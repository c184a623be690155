"""mkdocs hook: everything the site loads is part of the site.

KaTeX (the npm package pinned in ``package.json``, installed by ``make docs-assets``) is
added to the site's files under ``assets/katex/``, and the Pygments stylesheet of the code
blocks is generated as ``css/pygments.css``. The theme's highlight.js (a CDN) is off in
``mkdocs.yml``; ``tests/docs/test_docs_offline.py`` checks that nothing is fetched.
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files
from pygments.formatters import HtmlFormatter

ROOT = Path(__file__).resolve().parents[2]
KATEX = ROOT / "node_modules" / "katex"
#: Site path -> path in the KaTeX package (fonts are added per file).
KATEX_FILES = {"katex.min.js": "dist/katex.min.js", "katex.min.css": "dist/katex.min.css",
               "LICENSE": "LICENSE"}
PYGMENTS_STYLE = "default"


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    """Refuse to build without the local KaTeX: a site without it would show raw TeX."""
    if not (KATEX / "dist" / "katex.min.js").is_file():
        raise PluginError(f"KaTeX is not installed in {KATEX}: run `make docs-assets` "
                          "(npm ci) first.")
    return config


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Add KaTeX and the Pygments stylesheet to the site's files."""
    for name, source in _katex_sources().items():
        files.append(File.generated(config, f"assets/katex/{name}",
                                    abs_src_path=str(KATEX / source)))
    css = HtmlFormatter(style=PYGMENTS_STYLE).get_style_defs(".highlight")
    files.append(File.generated(config, "css/pygments.css", content=css))
    return files


def _katex_sources() -> dict[str, str]:
    """Every file of KaTeX the site needs: script, stylesheet, licence and fonts."""
    fonts = {f"fonts/{p.name}": f"dist/fonts/{p.name}"
             for p in sorted((KATEX / "dist" / "fonts").iterdir())}
    return {**KATEX_FILES, **fonts}
