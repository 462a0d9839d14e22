"""Money on the desk as a desk reads it: an account's position lines, as displayed, add up to the
account's value displayed in the accounts grid, and its weights to 100.00%; amounts carry their
currency's minor units. The sums are done here on the displayed text, with Decimal."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from PySide6.QtCore import Qt

from tests.ui.helpers import close_window, open_window


def shown(model, row: int, key: str) -> str:  # type: ignore[no-untyped-def]
    col = next(i for i, c in enumerate(model.columns) if c.key == key)
    return str(model.data(model.index(row, col), Qt.ItemDataRole.DisplayRole))


def amount(text: str) -> tuple[Decimal, str]:
    number, ccy = text.rsplit(" ", 1)
    return Decimal(number.replace(",", "")), ccy


def test_position_lines_add_up_to_the_account_value_shown(qtbot, demo_db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    window = open_window(qtbot, demo_db, "pat.pm", tmp_path / "p.ini")
    try:
        panel = window.docks["holdings"]
        grid = panel.grid
        accounts = grid.models["accounts"]
        values = {
            int(accounts.value(r, "account_id")): amount(shown(accounts, r, "value_base"))
            for r in range(accounts.rowCount())
        }
        assert len(values) == 12
        for account_id, (value, ccy) in values.items():
            panel.open_account(account_id)
            pos = grid.models["positions"]
            lines = [amount(shown(pos, r, "mv_base_shown")) for r in range(pos.rowCount())]
            assert {c for _, c in lines} == {ccy}
            places = 0 if ccy == "JPY" else 2
            assert all(-v.as_tuple().exponent == places for v, _ in lines), (ccy, lines[:3])
            assert sum(v for v, _ in lines) == value, account_id  # the lines add up to the value shown
            weights = [Decimal(shown(pos, r, "weight_shown").rstrip("%")) for r in range(pos.rowCount())]
            assert sum(weights) == Decimal("100.00"), account_id
            assert f"{value:,} {ccy}" in grid.crumb.text()
    finally:
        close_window(window)


def test_fx_exposure_lines_add_up_to_the_caption_and_100_percent(qtbot, demo_db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    window = open_window(qtbot, demo_db, "pat.pm", tmp_path / "fx.ini")
    try:
        fx = window.docks["fx"].panel
        m = fx.model
        assert m.rowCount() >= 2
        ccy = fx.caption.text().split(": ", 1)[1].split(" · ")[0].rsplit(" ", 1)[1]
        lines = [Decimal(shown(m, r, "exposure").replace(",", "")) for r in range(m.rowCount())]
        total = Decimal(
            fx.caption.text().split(": ", 1)[1].split(" · ")[0].rsplit(" ", 1)[0].replace(",", "")
        )
        assert sum(lines) == total and ccy in {"USD", "EUR", "GBP", "CHF", "CAD", "AUD", "JPY"}
        pcts = [Decimal(shown(m, r, "pct").rstrip("%")) for r in range(m.rowCount())]
        assert sum(pcts) == Decimal("100.00")
    finally:
        close_window(window)


def test_fx_exposure_amounts_carry_the_view_currencys_minor_units(qtbot) -> None:  # type: ignore[no-untyped-def]
    """A JPY household's exposure shows whole yen; a KWD one three decimals (ISO 4217)."""
    import pandas as pd

    from widgets.fx_exposure import FxExposurePanel

    panel = FxExposurePanel()
    qtbot.addWidget(panel)
    frame = pd.DataFrame(
        {
            "currency": ["JPY", "USD"],
            "exposure": [1_234_567.4, 765_432.6],
            "pct": [0.6173, 0.3827],
            "change_today": [-1_234.5, 2_000.25],
            "hedge_ratio": [0.0, 0.0],
            "positions": [1_000_000.4, 700_000.6],
            "cash": [234_567.0, 65_432.0],
            "local": [1_234_567.0, 5_100.55],
        }
    )
    panel.set_exposure(frame, "Household H1", "JPY", "2026-12-04 vs 2026-12-03")
    m = panel.model
    assert [shown(m, r, "exposure") for r in range(2)] == ["1,234,567", "765,433"]  # add up to 2,000,000
    assert shown(m, 0, "change_today") == "-1,234" and shown(m, 1, "change_today") == "2,000"
    assert shown(m, 1, "local") == "5,100.55 USD"
    assert "2,000,000 JPY" in panel.caption.text()
    panel.set_exposure(frame, "Household H2", "KWD", "2026-12-04 vs 2026-12-03")
    assert shown(m, 0, "positions") == "1,000,000.400"
