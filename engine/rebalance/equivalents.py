"""Equivalents by account type, as data: a model security replaced by another for some accounts.

`resources/rebalance/equivalents.csv` (`account_type,symbol,equivalent`; account type is the
account's tax status: taxable, tax_deferred, exempt): an account of that type holds `equivalent`
where its model says `symbol` (for example a taxable account holds a government bond fund, whose
interest is state-tax exempt, for the model's credit fund; an IRA the higher-dividend income
fund). The file is validated against the security master before any solve (unknown type or
security, a symbol listed twice for one type, a security its own equivalent: `FILE: row R,
column C: reason`, nothing solved). Each model gets one derived model per account type at load
(`derive`), and each account of that type is pointed at it (`assign`); the derived model keeps
the model's code, so records and drift name the model the PM knows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.errors import ImportValidationError, Problem
from engine.rebalance.book import AccountInput, Universe
from engine.rebalance.data_file import csv_rows

COLUMNS = ("account_type", "symbol", "equivalent")
TYPES = ("taxable", "tax_deferred", "exempt")
EQUIVALENTS_FILE = Path(__file__).resolve().parents[2] / "resources" / "rebalance" / "equivalents.csv"


def read_equivalents(path: Path, u: Universe) -> dict[str, list[tuple[int, int]]]:
    """Per account type: (model security, equivalent) universe indices. Every bad row is named."""
    index = {str(s): i for i, s in enumerate(u.symbols)}
    out: dict[str, list[tuple[int, int]]] = {}
    errors: list[Problem] = []
    for row_no, (kind, sym, eq) in csv_rows(path, COLUMNS):
        if kind not in TYPES:
            errors.append(Problem(row_no, "account_type", f"{kind!r} is not one of {', '.join(TYPES)}"))
            continue
        i, j = index.get(sym), index.get(eq)
        if i is None:
            errors.append(Problem(row_no, "symbol", f"unknown security {sym!r}"))
            continue
        if j is None:
            errors.append(Problem(row_no, "equivalent", f"unknown security {eq!r}"))
            continue
        if i == j:
            errors.append(Problem(row_no, "equivalent", f"{sym} cannot be its own equivalent"))
            continue
        if any(a == i for a, _b in out.get(kind, [])):
            errors.append(Problem(row_no, "symbol", f"{sym} already has an equivalent for {kind} accounts"))
            continue
        out.setdefault(kind, []).append((i, j))
    if errors:
        raise ImportValidationError(str(path), errors)
    return out


def derived_id(model_id: int, kind: str) -> int:
    """The derived model's id: negative, so it never meets a stored model id."""
    return -(model_id * len(TYPES) + TYPES.index(kind) + 1)


def derive(u: Universe, path: str | None) -> None:
    """Add to `u.models` each model's derived model per account type that changes it (before the
    universe is shipped to workers)."""
    pairs = read_equivalents(Path(path) if path else EQUIVALENTS_FILE, u)
    for mid, w in list(u.models.items()):
        if mid < 0:
            continue
        for kind, swaps in pairs.items():
            moved = w.copy()
            for i, j in swaps:
                moved[j] += moved[i]
                moved[i] = 0.0
            if not np.array_equal(moved, w):
                u.models[derived_id(mid, kind)] = moved
                u.model_codes[derived_id(mid, kind)] = u.model_codes.get(mid, "?")


def assign(u: Universe, accounts: list[AccountInput]) -> None:
    """Point each account at its type's derived model, where one exists."""
    for a in accounts:
        if a.model_id is None or a.model_id < 0:
            continue
        d = derived_id(a.model_id, a.tax_status) if a.tax_status in TYPES else None
        if d is not None and d in u.models:
            a.model_id = d
