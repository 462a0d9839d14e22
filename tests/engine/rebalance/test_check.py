"""The exact post-rounding checker, on hand-made accounts (pure function, no database)."""

from __future__ import annotations

from engine.rebalance.check import CheckFx, CheckTrade, Limits, LotFacts, SecurityFacts, check_proposal

SECS = {
    "AAA": SecurityFacts("USD", 100.0, 100.0, 1, "Tech", "US", "A Inc", "AAA", 0.001),
    "AAA.ADR": SecurityFacts("USD", 50.0, 50.0, 1, "Tech", "US", "A Inc", "AAA", 0.001),
    "BBB.T": SecurityFacts("JPY", 20.0, 3000.0, 100, "Energy", "JP", "B KK", "BBB.T", 0.001),
    "CCC": SecurityFacts("USD", 10.0, 10.0, 1, "Energy", "US", "C Inc", "CCC", 0.001),
}
FX = {"USD": 1.0, "JPY": 1.0 / 150.0}
HOLD = {"AAA": 100.0, "CCC": 500.0}
LOTS = {"1": LotFacts("AAA", 60.0, 20.0), "2": LotFacts("AAA", 40.0, -5.0), "3": LotFacts("CCC", 500.0, 1.0)}
CASH = {"USD": 5_000.0}


def run(trades: list[CheckTrade], fx: list[CheckFx] | None = None, **limits: object):  # type: ignore[no-untyped-def]
    lim = Limits(**{"cash_floor": 0.0, **limits})  # type: ignore[arg-type]
    return check_proposal("USD", SECS, HOLD, LOTS, CASH, FX, lim, trades, fx or [])


def names(out) -> list[str]:  # type: ignore[no-untyped-def]
    return [v.constraint for v in out.violations]


def test_a_clean_proposal_passes_and_balances_cash() -> None:
    out = run([CheckTrade("AAA", "sell", 10, (("1", 10.0),)), CheckTrade("CCC", "buy", 50)])
    assert out.ok
    assert out.holdings["AAA"] == 90 and out.holdings["CCC"] == 550
    assert abs(out.cash["USD"] - (5000 + 1000 * 0.999 - 500 * 1.001)) < 1e-9
    assert abs(out.realized_gain_base - 200.0) < 1e-9


def test_foreign_buy_without_fx_is_an_overdraft_and_fx_fixes_it() -> None:
    buy = CheckTrade("BBB.T", "buy", 100)
    assert names(run([buy])) == ["no overdraft"]
    need = 100 * 3000 * 1.001
    assert run([buy], [CheckFx("JPY", "buy", need, 1 / 150.0)]).ok


def test_round_lots_lots_exist_and_shorting() -> None:
    assert names(run([CheckTrade("BBB.T", "buy", 150)], [CheckFx("JPY", "buy", 5e5, 1 / 150)])) == [
        "round lot"
    ]
    assert "lots exist" in names(run([CheckTrade("AAA", "sell", 10, (("9", 10.0),))]))
    assert "lots exist" in names(run([CheckTrade("AAA", "sell", 70, (("1", 70.0),))]))
    assert "no shorting" in names(run([CheckTrade("AAA", "sell", 101, (("1", 60.0), ("2", 41.0)))]))


def test_exclusion_caps_floor_turnover_min_size_and_budget() -> None:
    assert names(run([], excluded=frozenset({"CCC"}))) == ["exclusion"]
    assert run([], excluded=frozenset({"CCC"}), keep_legacy=True).ok
    assert names(run([], sector_caps={"Tech": 0.4})) == ["sector cap"]
    assert names(run([], issuer_cap=0.4)) == ["issuer cap"]
    assert names(run([CheckTrade("CCC", "buy", 600)]))[0] == "no overdraft"
    assert "cash floor" in names(run([CheckTrade("CCC", "buy", 400)], cash_floor=0.5))
    sell = CheckTrade("AAA", "sell", 60, (("1", 60.0),))
    assert names(run([sell], max_turnover=0.2)) == ["max turnover"]
    assert names(run([sell], gains_budget_base=100.0)) == ["tax budget"]
    assert names(run([CheckTrade("CCC", "buy", 5)], min_trade_base=100.0)) == ["minimum trade size"]


def test_wash_sales_in_the_proposal_and_in_the_household() -> None:
    loss_sale = CheckTrade("AAA", "sell", 40, (("2", 40.0),))
    adr_buy = CheckTrade("AAA.ADR", "buy", 10)
    assert names(run([loss_sale, adr_buy])) == ["wash sale"]  # the ADR is the same security
    assert names(run([adr_buy], wash_blocked=frozenset({"AAA"}))) == ["wash sale"]
    assert run([CheckTrade("AAA", "sell", 60, (("1", 60.0),)), adr_buy]).ok  # a gain sale: no wash


def test_a_sale_settling_after_the_cash_raise_date_is_named() -> None:
    sell = CheckTrade("AAA", "sell", 10, (("1", 10.0),))
    out = run([sell], late_settling={"AAA": "2026-11-27"})
    assert names(out) == ["settlement"]
    assert "2026-11-27" in str(out.violations[0])
    assert run([sell], late_settling={"CCC": "2026-11-27"}).ok
