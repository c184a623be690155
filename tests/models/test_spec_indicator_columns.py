"""The columns an indicator outcome needs: ``fetal_death`` is both a data column and an
indicator (it recursed without end, so ``fit``/``refit`` of a mortality spec failed)."""

from __future__ import annotations

import pandas as pd
import pytest

from casemix import DefinitionSettings
from casemix.models.spec import _indicator_columns


@pytest.mark.parametrize(("name", "needs"), [
    ("fetal_death", {"gestational_age_days", "fetal_death"}),
    ("perinatal_mortality", {"gestational_age_days", "fetal_death", "neonatal_death_period"}),
    ("neonatal_death_28d", {"gestational_age_days", "fetal_death", "neonatal_death_period"}),
])
def test_mortality_indicators(name, needs):
    assert set(_indicator_columns(name, pd.DataFrame(), DefinitionSettings())) == needs
