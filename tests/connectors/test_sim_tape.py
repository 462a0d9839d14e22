"""The SIMULATED market's tape: deterministic prints within 0.2 % of the reference, one per step,
the same in every process for the same seed; references loaded once, on first use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from connectors.broker_sim.tape import SimulatedTape

T = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


def test_prints_are_deterministic_and_within_the_band() -> None:
    a, b = SimulatedTape({"AAPL": Decimal("200")}, seed=7), SimulatedTape({"AAPL": Decimal("200")}, seed=7)
    prints = a.prints("AAPL", T, T + timedelta(seconds=10))
    assert len(prints) == 41  # every 0.25 s from 15:00:00 to 15:00:10, both ends
    assert prints == b.prints("AAPL", T, T + timedelta(seconds=10))
    assert prints != SimulatedTape({"AAPL": Decimal("200")}, seed=8).prints(
        "AAPL", T, T + timedelta(seconds=10)
    )
    assert all(Decimal("199.60") <= p.price <= Decimal("200.40") for p in prints)
    assert all(100 <= p.quantity <= 5000 and p.quantity % 100 == 0 for p in prints)
    assert len({p.price for p in prints}) > 10  # it moves
    mid = T + timedelta(seconds=1.3)  # the print current at 1.3 s is the one of 1.25 s
    assert a.last("AAPL", mid) == prints[5] and prints[5].at == T + timedelta(seconds=1.25)
    assert a.price("AAPL", mid) == prints[5].price
    # Unknown symbols centre on 100; an FX pair is quoted to 5 decimals.
    assert Decimal("99.80") <= a.last("MSFT", T).price <= Decimal("100.20")  # type: ignore[union-attr]
    fx = SimulatedTape({"EURUSD": Decimal("1.08")}).last("EURUSD", T)
    assert fx is not None and fx.price.as_tuple().exponent == -5


def test_references_load_once_on_first_use() -> None:
    calls: list[int] = []

    def load() -> dict[str, Decimal]:
        calls.append(1)
        return {"AAPL": Decimal("50")}

    tape = SimulatedTape(load)
    assert calls == []
    assert Decimal("49.9") <= tape.last("AAPL", T).price <= Decimal("50.1")  # type: ignore[union-attr]
    tape.prints("AAPL", T, T + timedelta(seconds=1))
    assert calls == [1]
