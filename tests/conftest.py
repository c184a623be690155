"""Shared fixtures.

``hoftiezer`` reads the packaged Hoftiezer et al. (2019) table with the standard-library ``csv``
module, i.e. without any casemix code, so that tests can compare the package's lookups against
the values printed in the publication's table (the CSV in ``src/casemix/resources`` *is* that
table).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

HOFTIEZER_CSV = (
    Path(__file__).resolve().parents[1]
    / "src"
    / "casemix"
    / "resources"
    / "hoftiezer2019_birthweight_percentiles.csv"
)


def _read_hoftiezer() -> dict[tuple[str, int], dict[str, int]]:
    rows: dict[tuple[str, int], dict[str, int]] = {}
    with HOFTIEZER_CSV.open(newline="", encoding="utf-8") as fh:
        for rec in csv.DictReader(fh):
            key = (rec["sex"], int(rec["ga_days"]))
            rows[key] = {k: int(v) for k, v in rec.items() if k != "sex"}
    return rows


@pytest.fixture(scope="session")
def hoftiezer() -> dict[tuple[str, int], dict[str, int]]:
    """``{(sex, ga_days): {"week":, "day":, "ga_days":, "p3":, ..., "p97":}}`` from the CSV."""
    return _read_hoftiezer()
