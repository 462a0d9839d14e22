"""The ticket's engine side on the hand-made mini book (tests/engine/compliance/minibook.py), every
number computed by hand: as of 2026-10-30, 1 EUR = 1.10 USD = 0.85 GBP = 8.5 HKD = 0.95 CHF;
U1 is worth 20,000 USD, U2 10,000 USD, G1 6,000 GBP; HKX trades at 20 HKD in board lots of 100
(set here), with an ISIN, CUSIP and SEDOL (made valid by their check digits)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import update

from engine.clock import ManualClock
from engine.errors import NotFound
from engine.model.identifiers import cusip_check_digit, isin_check_digit, sedol_check_digit
from engine.store.database import Database
from engine.store.reference import Security
from engine.ticket.accounts import accounts_for, split_codes
from engine.ticket.lookup import find_security
from engine.ticket.service import TicketError, TicketRequest, check, plan
from engine.ticket.sizing import Size, board_lots, shares_for
from tests.conftest import migrated
from tests.engine.compliance.minibook import build_minibook

NOW = datetime(2026, 10, 30, 15, 0, tzinfo=UTC)  # New York open, Hong Kong closed (not needed to size)
ISIN = "HK0000000" + "01" + isin_check_digit("HK000000001")
CUSIP = "Y0000000" + cusip_check_digit("Y0000000")
SEDOL = "B00000" + sedol_check_digit("B00000")


@pytest.fixture(scope="module")
def mini(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    database = migrated(f"sqlite:///{tmp_path_factory.mktemp('ticket') / 'book.db'}")
    build_minibook(database)
    with database.transaction() as s:
        s.execute(
            update(Security)
            .where(Security.symbol == "HKX")
            .values(lot_size=100, isin=ISIN[:12], cusip=CUSIP, sedol=SEDOL)
        )
    yield database
    database.dispose()


def ticket(**kw: object) -> TicketRequest:
    base: dict[str, object] = dict(
        scope="accounts",
        keys=("U1", "U2", "G1"),
        security="HKX",
        side="buy",
        size=Size("quantity", Decimal(300)),
    )
    return TicketRequest(**{**base, **kw})  # type: ignore[arg-type]


def test_board_lots_round_down() -> None:
    assert board_lots(Decimal("386.36"), 100) == 300
    assert board_lots(Decimal("99.99"), 100) == 0
    assert board_lots(Decimal("7.9"), 1) == 7
    # 1,000 USD at 7.7272727273 HKD per USD, 20 HKD a share: 386.36 shares -> 3 lots of 100
    assert shares_for(
        Size("percent", Decimal(5)), price=Decimal(20), multiplier=Decimal(1), lot_size=100,
        account_value=Decimal(20000), fx_to_security=Decimal("7.7272727273"),
    ) == 300  # fmt: skip


def test_security_by_symbol_isin_cusip_sedol(mini: Database) -> None:
    with mini.session() as s:
        for text, how in (("hkx", "symbol"), (ISIN, "ISIN"), (CUSIP, "CUSIP"), (SEDOL, "SEDOL")):
            found = find_security(s, text)
            assert (found.symbol, found.matched, found.mic, found.currency, found.lot_size) == (
                "HKX", how, "XHKG", "HKD", 100,
            )  # fmt: skip
            assert found.name == "HKX test" and "Hong Kong" in found.venue
        with pytest.raises(NotFound, match="no symbol, ISIN, CUSIP or SEDOL 'ZZZ'"):
            find_security(s, "ZZZ")


def test_account_scopes(mini: Database) -> None:
    with mini.session() as s:
        assert [a.code for a in accounts_for(s, "household", ["H1"])] == ["U1", "U2"]
        assert [a.code for a in accounts_for(s, "model", ["M1"])] == ["U1", "U2"]
        assert [a.code for a in accounts_for(s, "accounts", split_codes("G1, U1;U1"))] == ["G1", "U1"]
        with pytest.raises(NotFound, match="no account X9"):
            accounts_for(s, "accounts", ["U1", "X9"])


def test_percent_of_account_in_each_base_currency(mini: Database) -> None:
    with mini.session() as s:
        p = plan(s, ticket(size=Size("percent", Decimal(5))), ManualClock(NOW))
    got = {ln.account: (ln.account_value, ln.quantity) for ln in p.lines}
    # U1: 5% of 20,000 USD = 1,000 USD = 1,000 x 8.5/1.10 = 7,727.27 HKD = 386.36 shares -> 300
    # U2: 500 USD = 3,863.64 HKD = 193.18 shares -> 100
    # G1: 5% of 6,000 GBP = 300 GBP = 300 x 8.5/0.85 = 3,000 HKD = 150 shares -> 100
    assert got == {
        "U1": (Decimal("20000.00"), 300),
        "U2": (Decimal("10000.00"), 100),
        "G1": (Decimal("6000.00"), 100),
    }
    assert {ln.account: ln.notional for ln in p.lines} == {
        "U1": Decimal("6000.00"), "U2": Decimal("2000.00"), "G1": Decimal("2000.00"),
    }  # fmt: skip
    assert p.price == 20 and p.listing.symbol == "HKX"
    assert "USDHKD 7.7272727273" in p.fx_note and "GBPHKD 10" in p.fx_note


def test_notional_in_another_currency(mini: Database) -> None:
    with mini.session() as s:
        eur = plan(s, ticket(size=Size("notional", Decimal(5000), "EUR")), ManualClock(NOW))
        chf = plan(s, ticket(size=Size("notional", Decimal(1000), "CHF")), ManualClock(NOW))
        tiny = plan(s, ticket(size=Size("notional", Decimal(100), "USD")), ManualClock(NOW))
    # 5,000 EUR = 42,500 HKD = 2,125 shares -> 2,100 for each account
    assert [ln.quantity for ln in eur.lines] == [2100, 2100, 2100]
    # 1,000 CHF = 1,000 / 0.95 x 8.5 = 8,947.37 HKD = 447.37 shares -> 400
    assert [ln.quantity for ln in chf.lines] == [400, 400, 400]
    # 100 USD = 772.73 HKD = 38.6 shares: less than a board lot, nothing ordered
    assert tiny.orders == [] and "less than one board lot of 100" in tiny.lines[0].note
    assert [d.quantity for d in eur.drafts()] == [2100, 2100, 2100]
    assert {d.symbol for d in eur.drafts()} == {"HKX"}


def test_every_problem_at_once(mini: Database) -> None:
    bad = ticket(
        security="NOPE", side="hold", size=Size("percent", Decimal(150)), scope="household", keys=("H9",)
    )
    with mini.session() as s, pytest.raises(TicketError) as err:
        plan(s, bad, ManualClock(NOW))
    fields = [f for f, _r in err.value.problems]
    assert fields == ["side", "size", "security", "accounts"]
    with mini.session() as s, pytest.raises(TicketError, match="limit_price: a limit order needs"):
        plan(s, ticket(order_type="limit"), ManualClock(NOW))
    with mini.session() as s, pytest.raises(TicketError, match="broker SIM has no strategy 'twap'"):
        plan(s, ticket(broker="SIM", strategy="twap"), ManualClock(NOW))


def test_compliance_verdict_per_account_before_send(mini: Database) -> None:
    with mini.session() as s:
        p = plan(s, ticket(), ManualClock(NOW))
        assert not p.checked
        p = check(s, p, "tr1", ManualClock(NOW))
    assert p.checked
    assert {ln.account for ln in p.lines} == {"U1", "U2", "G1"}
    assert all(ln.outcome in ("pass", "warn", "flag", "block") for ln in p.lines)
