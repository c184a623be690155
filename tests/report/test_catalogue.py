"""Every string of the report has a Dutch translation with the same placeholders.

The strings are extracted with Babel from the same sources as ``make messages``
(``babel.cfg``), so a new English string without a translation fails here, naming it."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from casemix.report.i18n import catalogue_path, language

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"%\([a-z_0-9]+\)s|\{[a-z_]+\}|%%")


def _extracted() -> set[str]:
    method_map = [("src/casemix/report/**.py", "python"),
                  ("src/casemix/report/templates/**.j2", "jinja2"),
                  ("src/casemix/indicators/definitions.py", "python")]
    options = {"src/casemix/report/templates/**.j2": {"extensions": "jinja2.ext.i18n",
                                                       "trimmed": "true"}}
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None, "_rule": (1,)}
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options, keywords=keywords):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_string_is_translated():
    with catalogue_path("nl").open("rb") as po:
        catalog = read_po(po)
    translated = {m.id: m.string for m in catalog if m.id and m.string and not m.fuzzy}
    missing = sorted(_extracted() - set(translated))
    assert not missing, f"untranslated in casemix.po (run make messages): {missing}"
    for msgid, text in translated.items():
        assert sorted(PLACEHOLDER.findall(msgid)) == sorted(PLACEHOLDER.findall(text)), msgid


def test_the_dutch_catalogue_is_used():
    nl = language("nl")
    assert nl.gettext("Key findings") == "Kernbevindingen"
    assert nl.gettext("Verdict: %(analysis)s", analysis="GLMM") == "Oordeel: GLMM"
    assert language("en").gettext("Key findings") == "Key findings"
