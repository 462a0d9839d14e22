"""Order types and time in force where orders are created: the orders file (shared by `orders import`
and `compliance check`) and the OMS's create. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.clock import ManualClock
from engine.errors import ImportValidationError
from engine.markets.clock import MarketClock
from engine.oms.drafts import OrderDraft
from engine.oms.errors import OrderRejected
from engine.oms.importer import import_orders
from engine.oms.messages import NewOrder
from engine.oms.order_file import read_order_file
from engine.oms.order_terms import close_cutoffs, term_problems
from engine.oms.service import OrderManager
from engine.oms.tables import Order
from engine.store.database import Database
from tests.engine.oms.book import Gateway, PassAll, make_book, make_oms

OPEN = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # Monday; Nasdaq closes 21:00 UTC, London 16:30
HEADER = "account,symbol,side,quantity,order_type,limit_price,time_in_force,broker,stop_price,expire_at\n"


@pytest.fixture
def oms(database: Database) -> Iterator[tuple[OrderManager, Gateway]]:
    make_book(database)
    gw = Gateway()
    yield make_oms(database, gateway=gw, checker=PassAll(), clock=ManualClock(OPEN)), gw


def test_every_type_and_time_in_force_is_created_stored_and_routed(oms, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    m, gw = oms
    f = tmp_path / "orders.csv"
    f.write_text(
        HEADER
        + "ACC1,AAPL,buy,100,stop,,gtc,SIM,101.5,\n"
        + "ACC1,AAPL,sell,100,stop_limit,95,day,SIM,96,\n"
        + "ACC1,AAPL,buy,100,market_on_close,,day,SIM,,\n"
        + "ACC1,AAPL,buy,100,limit_on_close,99.5,,SIM,,\n"
        + "ACC2,AAPL,buy,100,limit,99,gtd,SIM,,2026-11-27\n"
        + "ACC2,AAPL,buy,100,limit,99,gtd,SIM,,2026-11-24T18:30:00Z\n"
        + "ACC3,AAPL,buy,100,market,,ioc,SIM,,\n"
        + "ACC3,AAPL,sell,100,limit,99,fok,SIM,,\n"
    )
    ids = import_orders(m, f).order_ids
    with m.database.session() as s:
        rows = [s.get(Order, i) for i in ids]
        terms = [(o.order_type, o.time_in_force, o.limit_price, o.stop_price, o.expire_at) for o in rows if o]
    assert terms == [
        ("stop", "gtc", None, Decimal("101.5"), None),
        ("stop_limit", "day", Decimal("95"), Decimal("96"), None),
        ("market_on_close", "day", None, None, None),
        ("limit_on_close", "day", Decimal("99.5"), None, None),
        # a date is that session's close: the day after Thanksgiving closes early, 13:00 New York
        ("limit", "gtd", Decimal("99"), None, datetime(2026, 11, 27, 18, 0, tzinfo=UTC)),
        ("limit", "gtd", Decimal("99"), None, datetime(2026, 11, 24, 18, 30, tzinfo=UTC)),
        ("market", "ioc", None, None, None),
        ("limit", "fok", Decimal("99"), None, None),
    ]
    m.route(ids)
    sent = {x.cl_ord_id: x for x in gw.sent if isinstance(x, NewOrder)}
    assert len(sent) == 8
    by_type = {(x.order_type, x.time_in_force): x for x in sent.values()}
    assert by_type[("stop", "gtc")].stop_price == Decimal("101.5")
    assert by_type[("stop_limit", "day")].limit_price == Decimal("95")
    assert {x.expire_at for x in sent.values() if x.time_in_force == "gtd"} == {
        datetime(2026, 11, 27, 18, 0, tzinfo=UTC),
        datetime(2026, 11, 24, 18, 30, tzinfo=UTC),
    }


def test_bad_terms_are_refused_with_row_column_and_reason_and_nothing_is_written(oms, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    m, _ = oms
    f = tmp_path / "orders.csv"
    f.write_text(
        HEADER
        + "ACC1,AAPL,buy,100,stop,,day,SIM,,\n"  # 2: no stop price
        + "ACC1,AAPL,buy,100,limit_on_close,,day,SIM,,\n"  # 3: no limit
        + "ACC1,AAPL,buy,100,limit,99,gtd,SIM,,2026-11-23T14:00:00Z\n"  # 4: expiry passed
        + "ACC1,AAPL,buy,100,market,,gtd,SIM,,\n"  # 5: no expiry
        + "ACC1,AAPL,buy,100,market,,day,SIM,99,\n"  # 6: a market order has no stop price
        + "ACC1,AAPL,buy,100,market_on_close,,gtc,SIM,,\n"  # 7: on-close is a day order
        + "ACC1,AAPL,buy,100,market,,day,SIM,,2026-11-24\n"  # 8: an expiry on a day order
        + "ACC1,AAPL,buy,100,limit,99,gtd,SIM,,2026-11-28\n"  # 9: a Saturday
        + "ACC1,AAPL,buy,100,limit,99,gtd,SIM,,2026-11-24T18:30:00\n"  # 10: no UTC offset
        + "ACC1,AAPL,buy,100,limit,99,gtd,SIM,,soon\n"  # 11: not a date
        + "ACC1,AAPL,buy,100,trailing_stop,,day,SIM,,\n"  # 12: unknown type
    )
    with pytest.raises(ImportValidationError) as err:
        import_orders(m, f)
    got = {(p.row, p.column): p.reason for p in err.value.problems}
    assert set(got) == {
        (2, "stop_price"), (3, "limit_price"), (4, "expire_at"), (5, "expire_at"), (6, "stop_price"),
        (7, "time_in_force"), (8, "expire_at"), (9, "expire_at"), (10, "expire_at"), (11, "expire_at"),
        (12, "order_type"),
    }  # fmt: skip
    assert got[(2, "stop_price")] == "a stop order needs a positive stop price"
    assert got[(3, "limit_price")] == "a limit_on_close order needs a positive limit price"
    assert "is not in the future" in got[(4, "expire_at")]
    assert got[(7, "time_in_force")] == "a market_on_close order is a day order"
    assert got[(9, "expire_at")] == "2026-11-28 is not a trading day at XNAS"
    with m.database.session() as s:
        assert s.scalar(select(func.count()).select_from(Order)) == 0


def test_old_files_without_the_new_columns_stay_valid(oms, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    m, _ = oms
    f = tmp_path / "orders.csv"
    f.write_text(
        "account,symbol,side,quantity,order_type,limit_price,time_in_force,broker\n"
        "ACC1,AAPL,buy,100,limit,101.5,gtc,SIM\nACC3,AAPL,sell,50,market,,day,SIM\n"
    )
    with m.database.session() as s:
        rows = read_order_file(s, f, ManualClock(OPEN))
    assert [(r.row, r.draft.order_type, r.draft.stop_price, r.draft.expire_at) for r in rows] == [
        (2, "limit", None, None),
        (3, "market", None, None),
    ]


def test_on_close_orders_only_before_the_exchanges_cut_off(database: Database) -> None:
    make_book(database)
    assert close_cutoffs()["XNAS"] == 5  # data: resources/reference/close_cutoffs.csv
    with database.session() as s:
        markets = MarketClock.from_store(s, ManualClock(OPEN))

    def refused(order_type: str, tif: str, mic: str, at: datetime) -> list[tuple[str, str]]:
        limit = Decimal(10) if order_type == "limit_on_close" else None
        return term_problems(order_type, tif, limit, None, None, mic=mic, markets=markets, now=at)

    nasdaq_ok, nasdaq_late = (
        datetime(2026, 11, 23, 20, 55, tzinfo=UTC),
        datetime(2026, 11, 23, 20, 56, tzinfo=UTC),
    )
    assert refused("market_on_close", "day", "XNAS", nasdaq_ok) == []
    [(col, why)] = refused("market_on_close", "day", "XNAS", nasdaq_late)
    assert col == "order_type" and why.startswith(
        "XNAS's on-close cut-off 2026-11-23T20:55:00+00:00 has passed"
    )
    assert (
        refused("market", "at_the_close", "XNAS", nasdaq_late)[0][0] == "order_type"
    )  # the same on the wire
    # London: not listed, so the default 10 minutes before its 16:30 close.
    assert refused("limit_on_close", "day", "XLON", datetime(2026, 11, 23, 16, 20, tzinfo=UTC)) == []
    assert refused("limit_on_close", "day", "XLON", datetime(2026, 11, 23, 16, 21, tzinfo=UTC)) != []
    # After the close the next session's cut-off applies: accepted for tomorrow's close.
    assert refused("market_on_close", "day", "XNAS", datetime(2026, 11, 23, 22, 0, tzinfo=UTC)) == []
    assert refused("market_on_close", "day", "XOFF", nasdaq_ok)[0][0] == "order_type"  # no closing auction


def test_create_refuses_bad_terms_and_writes_nothing(oms) -> None:  # type: ignore[no-untyped-def]
    m, _ = oms
    good = OrderDraft("ACC1", "AAPL", "buy", Decimal(100), broker="SIM")
    stop = OrderDraft("ACC2", "AAPL", "buy", Decimal(100), "stop", broker="SIM")
    with pytest.raises(OrderRejected, match=r"order 2 \(ACC2 buy AAPL\): stop_price: a stop order needs"):
        m.create([good, stop])
    late = OrderDraft("ACC1", "AAPL", "buy", Decimal(100), time_in_force="gtd", broker="SIM",
                      expire_at=datetime(2026, 11, 23, 14, 0, tzinfo=UTC))  # fmt: skip
    with pytest.raises(OrderRejected, match=r"expire_at: expiry .* is not in the future"):
        m.create([late])
    naive = OrderDraft("ACC1", "AAPL", "buy", Decimal(100), time_in_force="gtd", broker="SIM",
                       expire_at=datetime(2026, 11, 24, 14, 0))  # fmt: skip
    with pytest.raises(OrderRejected, match="expire_at: the expiry needs its UTC offset"):
        m.create([naive])
    with m.database.session() as s:
        assert s.scalar(select(func.count()).select_from(Order)) == 0


STRATEGY_HEADER = HEADER.rstrip("\n") + ",strategy,strategy_params\n"


def test_strategies_are_the_brokers_own_with_valid_parameters(oms, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    m, gw = oms
    good = tmp_path / "good.csv"
    good.write_text(
        STRATEGY_HEADER
        + "ACC1,AAPL,buy,100,market,,day,SIM,,,VWAP,start_time=10:00;end_time=15:30\n"
        + "ACC2,AAPL,buy,100,limit,99,gtc,SIM,,,pov,participation_rate=0.1\n"
        + "ACC3,AAPL,buy,100,market,,day,SIM,,,impact,\n"
    )
    ids = import_orders(m, good).order_ids
    with m.database.session() as s:
        stored = [(o.strategy, o.strategy_params) for o in (s.get(Order, i) for i in ids) if o]
    assert stored == [
        ("vwap", {"end_time": "15:30", "start_time": "10:00"}),
        ("pov", {"participation_rate": "0.1"}),
        ("impact", None),
    ]
    m.route(ids)
    sent = [(x.strategy, x.strategy_params) for x in gw.sent if isinstance(x, NewOrder)]
    assert sent == [  # TargetStrategy codes from resources/reference/broker_strategies.csv
        ("1", (("end_time", "15:30"), ("start_time", "10:00"))),
        ("2", (("participation_rate", "0.1"),)),
        ("3", ()),
    ]
    bad = tmp_path / "bad.csv"
    bad.write_text(
        STRATEGY_HEADER
        + "ACC1,AAPL,buy,100,market,,day,SIM,,,twap,\n"  # 2: SIM has no twap
        + "ACC1,AAPL,buy,100,market,,day,SIM,,,pov,\n"  # 3: pov needs its rate
        + "ACC1,AAPL,buy,100,market,,day,SIM,,,pov,participation_rate=1.5\n"  # 4: out of range
        + "ACC1,AAPL,buy,100,market,,day,SIM,,,vwap,start=10:00\n"  # 5: unknown parameter
        + "ACC1,AAPL,buy,100,market,,day,SIM,,,,start_time=10:00\n"  # 6: parameters, no strategy
        + "ACC1,AAPL,buy,100,market,,day,SIM,,,vwap,start_time\n"  # 7: not name=value
        + "ACC1,AAPL,buy,100,market,,ioc,SIM,,,vwap,\n"  # 8: an IOC is not worked over time
        + "ACC1,AAPL,buy,100,market,,day,BRK2,,,vwap,\n"  # 9: BRK2 offers none
    )
    with pytest.raises(ImportValidationError) as err:
        import_orders(m, bad)
    got = {p.row: (p.column, p.reason) for p in err.value.problems}
    assert got == {
        2: ("strategy", "broker SIM has no strategy 'twap' (has: impact, pov, vwap)"),
        3: ("strategy_params", "pov needs participation_rate"),
        4: ("strategy_params", "participation_rate=1.5: expected a rate above 0 and at most 1"),
        5: ("strategy_params", "vwap has no parameter 'start'"),
        6: ("strategy_params", "parameters without a strategy"),
        7: ("strategy_params", "write the parameters as name=value;name=value"),
        8: ("strategy", "a market ioc order cannot be worked by a strategy"),
        9: ("strategy", "broker BRK2 has no strategy 'vwap' (has: none)"),
    }
    draft = OrderDraft("ACC1", "AAPL", "buy", Decimal(1), broker="SIM", strategy="pov")
    with pytest.raises(OrderRejected, match="strategy_params: pov needs participation_rate"):
        m.create([draft])
