"""The FIX 4.4 order state table: the unusual edges, and refusal of everything else."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.errors import InvalidTransition
from engine.oms.status import FINAL, OrderStatus
from engine.oms.transitions import BROKER, PREVIOUS, TABLE, Incoming, resolve

S, I = OrderStatus, Incoming  # noqa: E741


def test_happy_path() -> None:
    s = resolve(S.RELEASED, I.SUBMIT)
    s = resolve(s, I.NEW)
    s = resolve(s, I.PARTIAL_FILL)
    assert resolve(s, I.FULL_FILL) == S.FILLED


def test_fill_without_ack_is_accepted() -> None:
    assert resolve(S.PENDING_NEW, I.PARTIAL_FILL) == S.PARTIALLY_FILLED
    assert resolve(S.PENDING_NEW, I.FULL_FILL) == S.FILLED


def test_fill_after_cancel_request() -> None:
    assert resolve(S.PENDING_CANCEL, I.PARTIAL_FILL) == S.PENDING_CANCEL
    assert resolve(S.PENDING_CANCEL, I.FULL_FILL) == S.FILLED
    assert resolve(S.FILLED, I.CANCEL_REJECT) == S.FILLED  # the late reject changes nothing


def test_cancel_reject_returns_to_previous_status_advanced_by_fills() -> None:
    q = Decimal(100)
    assert (
        resolve(S.PENDING_CANCEL, I.CANCEL_REJECT, previous="new", cum_qty=Decimal(0), order_qty=q) == S.NEW
    )
    assert (
        resolve(S.PENDING_CANCEL, I.CANCEL_REJECT, previous="new", cum_qty=Decimal(40), order_qty=q)
        == S.PARTIALLY_FILLED
    )
    assert (
        resolve(
            S.PENDING_REPLACE, I.CANCEL_REJECT, previous="partially_filled", cum_qty=Decimal(40), order_qty=q
        )
        == S.PARTIALLY_FILLED
    )
    assert (
        resolve(S.PENDING_CANCEL, I.CANCEL_REJECT, previous="pending_new", cum_qty=Decimal(0), order_qty=q)
        == S.PENDING_NEW
    )


def test_unsolicited_cancels() -> None:
    for s in (S.PENDING_NEW, S.NEW, S.PARTIALLY_FILLED, S.PENDING_REPLACE, S.DONE_FOR_DAY):
        assert resolve(s, I.CANCELED) == S.CANCELED


def test_replaced_continues_by_quantity() -> None:
    assert (
        resolve(S.PENDING_REPLACE, I.REPLACED, previous="new", cum_qty=Decimal(0), order_qty=Decimal(50))
        == S.NEW
    )
    assert (
        resolve(
            S.PENDING_REPLACE,
            I.REPLACED,
            previous="partially_filled",
            cum_qty=Decimal(50),
            order_qty=Decimal(50),
        )
        == S.FILLED
    )


def test_status_reply_takes_the_brokers_status() -> None:
    assert resolve(S.PENDING_NEW, I.ORDER_STATUS, broker_status="partially_filled") == S.PARTIALLY_FILLED
    with pytest.raises(InvalidTransition):
        resolve(S.PENDING_NEW, I.ORDER_STATUS)


@pytest.mark.parametrize("final", sorted(FINAL - {S.REPLACED}))
def test_final_orders_take_no_fill_and_no_request(final: S) -> None:
    for incoming in (I.PARTIAL_FILL, I.NEW, I.CANCEL_REQUEST, I.REPLACE_REQUEST, I.SUBMIT):
        with pytest.raises(InvalidTransition):
            resolve(final, incoming)


def test_desk_cannot_skip_compliance_or_market_hours() -> None:
    with pytest.raises(InvalidTransition):
        resolve(S.PENDING_APPROVAL, I.SUBMIT)
    with pytest.raises(InvalidTransition):
        resolve(S.HELD, I.SUBMIT)
    assert resolve(S.HELD, I.RELEASE) == S.RELEASED


def test_every_edge_is_well_formed() -> None:
    for (current, incoming), target in TABLE.items():
        assert isinstance(current, S) and isinstance(incoming, I)
        assert target in (PREVIOUS, BROKER) or isinstance(target, S)
        if current in FINAL:  # from a final status only confirmations are allowed
            assert incoming in (I.CANCEL_REJECT, I.ORDER_STATUS) and target in (current, BROKER)
