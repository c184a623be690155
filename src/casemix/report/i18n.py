"""The report's language: one message catalogue per language, read with Babel.

The report's text is written in English in the templates and in :mod:`casemix.report`
(``_("...")``); ``locale/<lang>/LC_MESSAGES/casemix.po`` holds the translations. The
catalogue is read from the ``.po`` file itself (Babel's reader), so no compiled ``.mo``
file is kept in the repository. ``make messages`` re-extracts the strings
(``pybabel extract``) and updates the catalogue; a test checks that every string has a
translation.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cache
from importlib import resources

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

__all__ = ["LANGUAGES", "Language", "language"]

#: Languages of the report; Dutch is the default of the Dutch templates.
LANGUAGES = ("nl", "en")
#: Babel locale of each language (number formats, decimal comma in Dutch).
LOCALES = {"nl": "nl_NL", "en": "en_GB"}
DOMAIN = "casemix"


@dataclass(frozen=True)
class Language:
    """A report language: its code, Babel locale and translations."""

    code: str
    locale: str
    translations: NullTranslations

    def gettext(self, message: str, **values: object) -> str:
        """The translation of ``message``, with ``%(name)s`` placeholders filled in."""
        text = self.translations.gettext(message)
        return text % values if values else text

    def ngettext(self, singular: str, plural: str, n: int, **values: object) -> str:
        """Singular or plural translation for ``n`` (``%(num)s`` is ``n``)."""
        text = self.translations.ngettext(singular, plural, n)
        return text % {"num": n, **values}


def catalogue_path(code: str) -> resources.abc.Traversable:
    """The ``.po`` file of a language."""
    return resources.files("casemix.report") / "locale" / code / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def language(code: str = "nl") -> Language:
    """The report language ``code`` (``nl`` or ``en``).

    Raises
    ------
    ValueError
        For a language without a catalogue.
    """
    if code not in LANGUAGES:
        raise ValueError(f"report language {code!r} is not available; choose one of "
                         f"{', '.join(LANGUAGES)}")
    if code == "en":  # the source language
        return Language(code, LOCALES[code], NullTranslations())
    with catalogue_path(code).open("rb") as po:
        catalog = read_po(po, locale=LOCALES[code], domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Language(code, LOCALES[code], Translations(buffer, domain=DOMAIN))
