"""A statement period (`2026Q3`) and the performance windows a statement shows inside it.

Windows end on the period's last day; each starts at the close of the day before it begins
(the quarter: 30 June for 2026Q3; year to date: 31 December of the year before; one year: the
same day a year earlier; since inception: the first value the account has).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from engine.errors import WorkstationError

_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")


@dataclass(frozen=True)
class Period:
    """A calendar quarter: its label, first and last day."""

    label: str
    first: date
    last: date

    @property
    def opening(self) -> date:
        """The day whose close opens the period (the last day of the quarter before)."""
        return self.first - timedelta(days=1)

    def windows(self) -> list[tuple[str, date]]:
        """(name, the day whose close opens it) of the quarter, year to date and one year."""
        year_ago = self.last.replace(year=self.last.year - 1)
        return [
            ("quarter", self.opening),
            ("ytd", date(self.last.year - 1, 12, 31)),
            ("1y", year_ago),
        ]


def parse_period(text: str) -> Period:
    """`2026Q3` -> 1 July to 30 September 2026; anything else is a clear error."""
    m = _QUARTER.match(text.strip().upper())
    if m is None:
        raise WorkstationError(f"period {text!r}: expected a quarter such as 2026Q3")
    year, q = int(m.group(1)), int(m.group(2))
    first = date(year, 3 * q - 2, 1)
    nxt = date(year + 1, 1, 1) if q == 4 else date(year, 3 * q + 1, 1)
    return Period(f"{year}Q{q}", first, nxt - timedelta(days=1))
