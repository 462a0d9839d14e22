"""The compliance book's plain-row columns: hand-computed numbers (engine.compliance.book_rows)."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd

from engine.compliance.book_rows import ADV_DAYS, average_volumes, days_since_buy, fx_matrix
from engine.pricing.fx import FxTable


def test_average_volume_is_the_mean_of_the_last_twenty_bars_by_date() -> None:
    rows = [(7, date(2026, 10, d), 100 * d) for d in range(1, 26)]  # 25 bars, 100..2500
    rows.reverse()  # any order: sorted by date first
    rows += [
        (7, date(2026, 9, 30), None),
        (9, None, 5),
        (9, date(2026, 10, 1), 40),
        (9, date(2026, 10, 2), 60),
    ]
    adv = average_volumes(rows)
    assert adv[7] == sum(100 * d for d in range(6, 26)) / ADV_DAYS  # bars 6..25: 1,550.0
    assert adv[7] == 1550.0
    assert adv[9] == 50.0  # the row without a date is ignored
    assert set(adv) == {7, 9}


def test_days_since_buy_per_position_and_inf_without_a_recent_lot() -> None:
    acct_pos, sec_pos = {10: 0, 11: 1}, {5: 0, 6: 1, 8: 2}
    pos_a, pos_s = np.array([0, 0, 1]), np.array([0, 2, 1])  # (10, 5), (10, 8), (11, 6)
    rows = [
        (10, 8, date(2026, 11, 20)),
        (11, 6, datetime(2026, 11, 1, 15, 30)),
        (11, 5, date(2026, 11, 21)),  # no such position: ignored
        (99, 5, date(2026, 11, 21)),  # an account not loaded: ignored
    ]
    days = days_since_buy(rows, date(2026, 11, 22), acct_pos, sec_pos, pos_a, pos_s)
    assert days.tolist() == [np.inf, 2.0, 21.0]


def test_fx_matrix_is_remembered_per_table_and_handed_out_as_a_copy() -> None:
    rows = pd.DataFrame(
        [("EUR", "USD", date(2026, 11, 20), 1.10), ("USD", "HKD", date(2026, 11, 20), 7.80)],
        columns=["base", "quote", "date", "rate"],
    )
    table = FxTable(rows, 5)
    ccys = ("EUR", "HKD", "USD")
    m = fx_matrix(table, ccys, date(2026, 11, 20))
    assert m[0, 2] == 1.10 and m[2, 1] == 7.80
    assert abs(m[0, 1] - 1.10 * 7.80) < 1e-12 and abs(m[2, 0] - 1 / 1.10) < 1e-12
    m[0, 2] = 99.0  # a caller's change never reaches the next check
    assert fx_matrix(table, ccys, date(2026, 11, 20))[0, 2] == 1.10
