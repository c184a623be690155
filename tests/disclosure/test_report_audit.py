"""``casemix audit`` reads the report in Dutch and in English: its tables by their canonical
columns (the headers are labels in the report's language), its numbers in the document's
format, its hidden cells as hidden; a count planted back into either language is found."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

from casemix import CaseMixModel, load_spec, simulate_cohort, validate_births
from casemix.report import build_report, write_report
from casemix.workflow.audit import audit_files

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    spec = load_spec(ROOT / "models" / "big2.toml")
    report = validate_births(simulate_cohort(15_000, seed=21).births)
    folder = tmp_path_factory.mktemp("audit")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = CaseMixModel(spec).fit(report.births)
        return {lang: write_report(build_report(result, report.births, validation=report,
                                                lang=lang), folder / f"{lang}.html")
                for lang in ("nl", "en")}


def _hidden_row(html: str) -> tuple[str, list[str]]:
    """The first row of the unit table with hidden cells, and its cells."""
    table = html.split('id="unit-table"')[1].split("</table>")[0]
    for row in re.findall(r"<tr>(.*?)</tr>", table):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
        if cells and cells[2] == "x":
            return row, cells
    raise AssertionError("no suppressed unit in the report")


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_the_report_passes(reports, lang):
    result = audit_files([reports[lang]])
    assert result.ok, result.findings


@pytest.mark.parametrize("lang,count,rate", [("nl", "7", "12,5%"), ("en", "7", "12.5%")])
def test_a_planted_count_or_rate_is_found(reports, tmp_path, lang, count, rate):
    html = reports[lang].read_text()
    row, cells = _hidden_row(html)
    # the unit's events (third column) shown: a small count
    planted = row.replace(f'<td class="num">{cells[2]}</td>', f'<td class="num">{count}</td>',
                          1)
    path = tmp_path / "count.html"
    path.write_text(html.replace(row, planted, 1))
    findings = audit_files([path]).findings
    assert (findings["column"] == "observed").any()
    # a rate (fifth column) on a row whose events are hidden: computed from a hidden count
    cells_html = re.findall(r"<td[^>]*>.*?</td>", row)
    cells_html[4] = f'<td class="num">{rate}</td>'
    planted = "".join(cells_html)
    path = tmp_path / "rate.html"
    path.write_text(html.replace(row, planted, 1))
    findings = audit_files([path]).findings
    assert (findings["column"] == "crude_rate").any()


def test_a_small_exclusion_count_in_dutch_text_is_found(reports, tmp_path):
    html = reports["nl"].read_text()
    path = tmp_path / "text.html"
    path.write_text(html.replace("</h2>", "</h2><p>3 rijen uitgesloten bij de validatie.</p>",
                                 1))
    findings = audit_files([path]).findings
    assert findings["route"].str.contains("count in the text").any()


def test_the_alignment_section_passes_and_a_planted_difference_is_found(tmp_path):
    """The alignment section (published figures under other definitions): the report passes
    the audit; an exact small difference put back in place of its band is found."""
    from casemix.alignment import align
    from casemix.indicators import DefinitionSettings, indicator_rates

    spec = load_spec(ROOT / "models" / "big2.toml")
    births = validate_births(simulate_cohort(12_000, seed=23).births).births
    published, _ = indicator_rates(births, by="vsv", indicators=["preterm", "sga"],
                                   settings=DefinitionSettings.from_preset("perined-22wk"))
    reference = published[["unit", "indicator", "numerator", "denominator"]].assign(year=2024)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = CaseMixModel(spec).fit(births)
        aligned = align(births, reference, level="vsv", settings=spec.definitions)
        html = build_report(result, births, alignment=aligned, lang="nl")
    path = write_report(html, tmp_path / "aligned.html")
    assert 'id="alignment"' in html and audit_files([path]).ok
    band = re.search(r'<td class="\w+">(\+1\.\.\+9|-9\.\.-1)</td>', html)
    assert band, "no banded difference in the alignment section"
    planted = tmp_path / "planted.html"
    planted.write_text(html.replace(band.group(0), '<td class="txt">+3</td>', 1))
    findings = audit_files([planted]).findings
    assert findings["route"].str.contains("difference below").any()
