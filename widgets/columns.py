"""Column specifications for the numpy-backed table models: key, title, kind and formatting."""

from __future__ import annotations

from dataclasses import dataclass

NUMERIC_KINDS = frozenset({"int", "qty", "price", "money", "amount", "pct", "drift", "rate", "figure"})


@dataclass(frozen=True)
class Column:
    """One column: `key` in the frame, header `title`, and a `kind` that decides format and alignment.

    kinds: text, words (a code name shown as words: "Partially filled"; the raw value stays in the
    model for filters, sorting and copy), int, qty, price, money, amount (money whose currency the
    title names: its minor units, no code after each number), pct (a weight), drift (signed weight),
    rate, date, datetime,
    figure (a number already written out in its own unit, e.g. "16.32%" or "93 days": right-aligned).
    `currency_key` names the column holding each row's currency (money is shown with it);
    `signed` colours positive and negative numbers with the up/down colours.
    """

    key: str
    title: str
    kind: str = "text"
    currency_key: str | None = None
    signed: bool = False
    tooltip: str = ""

    @property
    def numeric(self) -> bool:
        return self.kind in NUMERIC_KINDS
