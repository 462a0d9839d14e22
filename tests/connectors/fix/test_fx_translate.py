"""FX spot orders on the wire: FIX 4.4 NewOrderSingle / OrderCancelReplaceRequest with the pair as
Symbol, SecurityType FOR, Currency the dealt currency, SettlType 0 (regular spot), no exchange;
checked against the FIX 4.4 data dictionary. Equity orders are unchanged."""

from __future__ import annotations

from decimal import Decimal

import pytest

from connectors.fix import tags as T
from connectors.fix.dictionary import InvalidFixMessage, validate
from connectors.fix.translate import to_fix
from engine.oms.fx import fx_pair
from engine.oms.messages import NewOrder, ReplaceOrder

FX_NEW = NewOrder("SIM", "F1", "EURUSD", "XOFF", "buy", Decimal(100000), "market", "day", "USD", None, "ACC1")
FX_REPLACE = ReplaceOrder("SIM", "F2", "F1", "GBPJPY", "XOFF", "sell", Decimal("2500.5"), "limit", "day", "JPY",
                          Decimal("190.123"))  # fmt: skip


@pytest.mark.parametrize("out", [FX_NEW, FX_REPLACE], ids=["new", "replace"])
def test_an_fx_spot_order_is_valid_fix44_with_the_fx_fields(out) -> None:  # type: ignore[no-untyped-def]
    m = to_fix(out)
    validate(m)
    fields = {t: m.getField(t) for t in (T.SYMBOL, T.SECURITY_TYPE, T.CURRENCY, T.SETTL_TYPE, T.ORDER_QTY)}
    assert fields == {
        T.SYMBOL: out.symbol,
        T.SECURITY_TYPE: "FOR",
        T.CURRENCY: out.symbol[:3],  # the dealt currency, the one OrderQty counts
        T.SETTL_TYPE: "0",
        T.ORDER_QTY: str(out.quantity),
    }
    assert not m.isSetField(T.SECURITY_EXCHANGE)


def test_fxspot_is_not_a_fix44_security_type() -> None:
    """Why FOR: FXSPOT only exists from FIX 5.0 SP1, and a 4.4 counterparty's dictionary refuses it."""
    m = to_fix(FX_NEW)
    m.setField(T.SECURITY_TYPE, "FXSPOT")
    with pytest.raises(InvalidFixMessage, match="167"):
        validate(m)


def test_equity_and_bond_orders_are_unchanged() -> None:
    eq = to_fix(NewOrder("SIM", "E1", "AAPL", "XNAS", "buy", Decimal(100), "market", "day", "USD"))
    bond = to_fix(NewOrder("SIM", "E2", "UST30", "XOFF", "buy", Decimal(10), "market", "day", "USD"))
    for m, mic in ((eq, "XNAS"), (bond, "XOFF")):
        validate(m)
        assert m.getField(T.SECURITY_EXCHANGE) == mic and m.getField(T.CURRENCY) == "USD"
        assert not m.isSetField(T.SECURITY_TYPE) and not m.isSetField(T.SETTL_TYPE)


def test_fx_pair_reads_only_iso_currency_pairs() -> None:
    assert fx_pair("EURUSD") == ("EUR", "USD") and fx_pair("usdjpy") == ("USD", "JPY")
    assert [fx_pair(s) for s in ("UST30", "AAPL", "USDUSD", "EURXYZ", "7203.T")] == [None] * 5
