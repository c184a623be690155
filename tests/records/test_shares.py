"""Assignment tables from care episodes (worked out by hand in the comments)."""

from __future__ import annotations

import pandas as pd
import pytest

from casemix.exceptions import DataError
from casemix.records import read_shares, shares_from_episodes

EPISODES = pd.DataFrame({
    "birth_id": ["a", "a", "a", "b", "c", "c", "d", "d"],
    "vsv": ["V1", "V1", "V2", "V1", "V3", "V4", "V5", "V6"],
    "contacts": [3, 1, 12, 2, 0, 5, 1, 2],
})


def test_shares_by_amount_of_care():
    shares = shares_from_episodes(EPISODES, level="vsv", by="contacts").frame
    got = {(r.birth_id, r.unit): r.share for r in shares.itertuples()}
    # a: V1 3+1 = 4 of 16 contacts, V2 12 of 16; b: one VSV (not listed); c: V3 has no
    # contacts (no share); d: 1 of 3 and 2 of 3
    assert got == pytest.approx({("a", "V1"): 0.25, ("a", "V2"): 0.75,
                                 ("d", "V5"): 1 / 3, ("d", "V6"): 2 / 3})
    assert set(shares["level"]) == {"vsv"}


def test_equal_shares_per_unit_without_amounts():
    shares = shares_from_episodes(EPISODES, level="vsv").frame
    assert shares.groupby("birth_id")["share"].apply(list).to_dict() == {
        "a": [0.5, 0.5], "c": [0.5, 0.5], "d": [0.5, 0.5]}


def test_episode_errors_name_the_column():
    with pytest.raises(DataError, match="'contacts' must be a number >= 0; 1 rows"):
        shares_from_episodes(EPISODES.assign(contacts=[-1, 1, 1, 1, 1, 1, 1, 1]),
                             level="vsv", by="contacts")
    with pytest.raises(DataError, match="missing"):
        shares_from_episodes(EPISODES, level="vsv", by="days")


def test_a_shares_file_is_read_back(tmp_path):
    path = tmp_path / "shares.csv"
    shares_from_episodes(EPISODES, level="vsv", by="contacts").frame.to_csv(path, index=False)
    assert len(read_shares(path).frame) == 4
