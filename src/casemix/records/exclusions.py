"""The exclusion log: every row left out of an analysis, counted by stage and reason."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

__all__ = ["ExclusionLog"]

_COLUMNS = ["stage", "scope", "reason", "n_rows"]


@dataclass
class ExclusionLog:
    """Counts of excluded rows by stage, scope and reason.

    A row can be excluded from everything (``scope="all"``, e.g. an impossible gestational age)
    or only from one indicator's denominator (``scope="sga"``, e.g. birthweight missing).

    Attributes
    ----------
    entries : list of dict
        One dict per (stage, scope, reason) with the number of rows.
    """

    entries: list[dict[str, object]] = field(default_factory=list)

    def add(self, stage: str, scope: str, reason: str, n_rows: int) -> None:
        """Record ``n_rows`` rows excluded at ``stage`` from ``scope`` for ``reason``.

        Zero counts are not recorded.
        """
        if n_rows:
            self.entries.append(
                {"stage": stage, "scope": scope, "reason": reason, "n_rows": int(n_rows)}
            )

    def extend(self, other: ExclusionLog) -> None:
        """Append the entries of another log."""
        self.entries.extend(other.entries)

    def to_frame(self) -> pd.DataFrame:
        """Return the log as a DataFrame with columns ``stage, scope, reason, n_rows``."""
        return pd.DataFrame(self.entries, columns=_COLUMNS).astype({"n_rows": "int64"})

    def total(self, scope: str = "all") -> int:
        """Number of rows excluded from ``scope``."""
        return int(sum(e["n_rows"] for e in self.entries if e["scope"] == scope))  # type: ignore[misc]

    def __len__(self) -> int:
        return len(self.entries)

    def __repr__(self) -> str:
        if not self.entries:
            return "ExclusionLog(no exclusions)"
        lines = [f"ExclusionLog({len(self.entries)} entries)"]
        for e in self.entries:
            lines.append(f"  [{e['stage']}] {e['scope']}: {e['reason']}: {e['n_rows']:,} rows")
        return "\n".join(lines)
