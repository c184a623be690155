"""The canonical birth-record columns: names, types, allowed values and plausible ranges.

One row per child. Everything downstream (indicators, models, reports) reads these names only;
:mod:`casemix.records.mapping` translates registry extracts to them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "COLUMNS",
    "MIGRATION_BACKGROUNDS",
    "REQUIRED_COLUMNS",
    "UNIT_LEVELS",
    "Column",
    "column_key",
]

Kind = Literal["id", "int", "float", "bool", "category"]

MIGRATION_BACKGROUNDS: tuple[str, ...] = (
    "dutch",
    "western",
    "moroccan",
    "turkish",
    "surinamese",
    "antillean",
    "other_nonwestern",
)
UNIT_LEVELS: tuple[str, ...] = ("vsv", "municipality", "ggd_region", "care_office_region")
NEONATAL_DEATH_PERIODS: tuple[str, ...] = ("early", "late", "post_neonatal")


@dataclass(frozen=True)
class Column:
    """Definition of one canonical column.

    Attributes
    ----------
    name : str
        Canonical (snake_case) name.
    kind : {"id", "int", "float", "bool", "category"}
        Logical type. Integers are stored as pandas nullable ``Int64``.
    description : str
        Meaning, with units.
    required : bool
        Whether every births table must have the column.
    categories : tuple of str, optional
        Allowed labels of a categorical column (missing is always allowed unless required).
    plausible : tuple of float, optional
        Inclusive range outside which a value is impossible (the row is handled by the
        validation policy and counted).
    nullable : bool
        Whether missing values are allowed (they become an explicit missing category).
    """

    name: str
    kind: Kind
    description: str
    required: bool = False
    categories: tuple[str, ...] | None = None
    plausible: tuple[float, float] | None = None
    nullable: bool = True


COLUMNS: dict[str, Column] = {
    c.name: c
    for c in (
        Column("birth_id", "id", "unique identifier per child", required=True, nullable=False),
        Column("year", "int", "year of birth", required=True, plausible=(1990, 2100),
               nullable=False),
        Column("gestational_age_days", "int", "completed days of gestation (37+0 = 259)",
               required=True, plausible=(140, 315), nullable=False),
        Column("birthweight_g", "int", "birthweight in grams", plausible=(200, 6500)),
        Column("birthweight_percentile", "float",
               "birthweight percentile (0..100) on the Hoftiezer 2019 curves, if supplied",
               plausible=(0, 100)),
        Column("infant_sex", "category", "infant sex", categories=("female", "male")),
        Column("plurality", "int", "1 singleton, 2 twins, 3 or more", plausible=(1, 8)),
        Column("parity", "int", "number of previous births (0 = nulliparous)",
               plausible=(0, 25)),
        Column("maternal_age", "int", "maternal age at delivery in years", plausible=(12, 60)),
        Column("fetal_death", "bool", "stillbirth (fetal death)"),
        Column("neonatal_death_day", "int",
               "day of death after live birth (0 = day of birth); missing if alive",
               plausible=(0, 366)),
        Column("neonatal_death_period", "category",
               "early (day 0-6), late (day 7-27) or post_neonatal; derived from "
               "neonatal_death_day, or given directly by a registry code",
               categories=NEONATAL_DEATH_PERIODS),
        Column("income_quintile", "int", "household income quintile 1..5", plausible=(1, 5)),
        Column("education", "category", "maternal education level",
               categories=("low", "middle", "high")),
        Column("migration_background", "category", "maternal migration background",
               categories=MIGRATION_BACKGROUNDS),
        Column("neighbourhood_ses", "float", "neighbourhood socio-economic status score"),
        Column("urbanisation", "int", "urbanisation class 1 (very strong) .. 5 (none)",
               plausible=(1, 5)),
        Column("vsv", "id", "VSV (regional obstetric collaboration) code"),
        Column("municipality", "id", "municipality (gemeente) code"),
        Column("ggd_region", "id", "GGD region code"),
        Column("care_office_region", "id", "zorgkantoor region code"),
    )
}

REQUIRED_COLUMNS: tuple[str, ...] = tuple(c.name for c in COLUMNS.values() if c.required)


_SPACES = re.compile(r"\s+")


def column_key(name: object) -> str:
    """Normalised form of a column name for case- and space-insensitive matching.

    Notes
    -----
    Surrounding whitespace is removed, inner runs of whitespace become one underscore and the
    name is case-folded: ``" Birthweight_g "`` and ``"birthweight_g"`` share the key
    ``"birthweight_g"``, and so do ``"Birth ID"`` and ``"birth_id"``.

    Examples
    --------
    >>> column_key(" Birthweight_g ")
    'birthweight_g'
    >>> column_key("Birth  ID")
    'birth_id'
    """
    return _SPACES.sub("_", str(name).strip()).casefold()
