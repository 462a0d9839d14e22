"""Corporate-action timing beyond splits, on a hand-made book, on SQLite and PostgreSQL: a reverse
split (fractions paid in cash), a cash dividend the custodian credits a day late or before the
book applies it, and an ISIN change the custodian reports a day early (new ISIN) or late (old
ISIN). Each is explained naming the action; a difference the action does not account for stays
a break."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from engine.accounting.corporate import ActionSpec, apply_corporate_action
from engine.accounting.tables import CorporateAction
from engine.model.identifiers import isin_check_digit
from engine.reconcile.load import store_statement
from engine.reconcile.match import BreakType
from engine.reconcile.run import reconcile
from engine.reconcile.statement import CashLine, ParsedStatement
from engine.store.database import Database
from engine.store.reference import Security
from tests.engine.reconcile.minibook import CUST, IDS, build, statement

US, UK = "A000001", "A000002"
BASE = [(UK, "ISIN", IDS["VODX.L"]["isin"], 500), (UK, "ISIN", IDS["BPX.L"]["isin"], 60), (US, "CUSIP", IDS["BPX"]["cusip"], 10)]  # fmt: skip


def _new_isin() -> str:
    body = "US001099999"
    return body + isin_check_digit(body)


def _results(database: Database, as_of: date) -> dict[tuple[str, str | None, str | None], tuple]:
    """(account, security, currency) -> (outcome, type, refs, explanation, book, statement)."""
    with database.transaction() as s:
        r = reconcile(s, as_of, run_by="olivia.ops").results
    out = {}
    for a, sec, ccy, m, o, t, refs, e, b, st in zip(
        r["account_code"], r["security_ref"], r["currency"], r["measure"], r["outcome"], r["break_type"],
        r["refs"], r["explanation"], r["book"], r["statement"],
    ):  # fmt: skip
        key = (a, sec, None) if m == "quantity" else (a, None, ccy)
        out[key] = (o, t, list(refs or []), e, b, st)
    return out


def _cash(database: Database, as_of: date, lines: list[tuple[str, str, str]], tag: str = "") -> None:
    st = ParsedStatement(
        CUST,
        "generic-csv",
        "cash",
        as_of,
        cash=tuple(CashLine(i + 2, a, a, ccy, Decimal(amt)) for i, (a, ccy, amt) in enumerate(lines)),
    )
    with database.transaction() as s:
        store_statement(
            s, st, f"cash-{as_of}{tag}.csv", f"cash-{as_of}{tag}-{hash(tuple(lines))}", "olivia.ops"
        )


def test_reverse_split_booked_early_with_fractions_paid_in_cash(database: Database) -> None:
    build(database)
    with database.transaction() as s:
        apply_corporate_action(
            s, ActionSpec(ref="CA-VODX-1FOR3", symbol="VODX.L", kind="split", ex_date=date(2026, 11, 3),
                          ratio_new=Decimal(1), ratio_old=Decimal(3))
        )  # fmt: skip
    day = date(2026, 11, 2)
    # 500 shares become 166 2/3; the custodian books it a day early and shows 166 (2/3 in cash).
    statement(database, day, [(US, "ISIN", IDS["AAA"]["isin"], 100), *BASE[1:], (UK, "ISIN", IDS["VODX.L"]["isin"], 166)])  # fmt: skip
    o, t, refs, text, book, stmt = _results(database, day)[(UK, "VODX.L", None)]
    assert (o, t, refs, book, stmt) == ("explained", BreakType.CORPORATE_ACTION, ["CA-VODX-1FOR3"], 500, 166)
    assert "reverse split CA-VODX-1FOR3 (1 for 3)" in text and "fractions in cash" in text
    # 165 is not what the action gives: a quantity break.
    statement(database, day, [(US, "ISIN", IDS["AAA"]["isin"], 100), *BASE[1:], (UK, "ISIN", IDS["VODX.L"]["isin"], 165)], tag="-off")  # fmt: skip
    assert _results(database, day)[(UK, "VODX.L", None)][:2] == ("break", BreakType.QUANTITY)


def test_dividend_credited_on_another_day_is_explained_naming_it(database: Database) -> None:
    build(database)
    with database.transaction() as s:
        # Applied in the book: ex 29 Oct, paid 30 Oct; 100 AAA x 0.50 = 50.00 USD (US holder: no withholding).
        apply_corporate_action(
            s, ActionSpec(ref="CA-AAA-DIV", symbol="AAA", kind="dividend", ex_date=date(2026, 10, 29),
                          pay_date=date(2026, 10, 30), amount=Decimal("0.50"))
        )  # fmt: skip
        # Announced, not yet applied in the book: 500 VODX.L x 0.10 = 50.00 GBP, paid 30 Oct.
        vod = s.scalar(select(Security.id).where(Security.symbol == "VODX.L"))
        s.add(CorporateAction(ref="CA-VODX-DIV", security_id=vod, kind="dividend", ex_date=date(2026, 10, 28),
                              pay_date=date(2026, 10, 30), amount=Decimal("0.10")))  # fmt: skip
    day = date(2026, 10, 30)
    statement(database, day, [(US, "ISIN", IDS["AAA"]["isin"], 100), *BASE])
    # The custodian credits AAA's dividend a day late (0 USD) and VODX's on its pay date (50 GBP).
    _cash(database, day, [(US, "USD", "0.00"), (UK, "GBP", "50.00")])
    got = _results(database, day)
    o, t, refs, text, book, stmt = got[(US, None, "USD")]
    assert (o, t, refs, book, stmt) == ("explained", BreakType.CORPORATE_ACTION, ["CA-AAA-DIV"], 50.0, 0.0)
    assert "dividend CA-AAA-DIV" in text and "not yet credited by the custodian" in text
    o, t, refs, text, book, stmt = got[(UK, None, "GBP")]
    assert (o, t, refs, book, stmt) == ("explained", BreakType.CORPORATE_ACTION, ["CA-VODX-DIV"], 0.0, 50.0)
    assert "has not applied it yet" in text
    # Amounts the dividends do not account for are cash breaks.
    _cash(database, day, [(US, "USD", "10.00"), (UK, "GBP", "49.00")], tag="-off")
    got = _results(database, day)
    assert got[(US, None, "USD")][:2] == ("break", BreakType.CASH)
    assert got[(UK, None, "GBP")][:2] == ("break", BreakType.CASH)
    # Credited on time: simply matched.
    _cash(database, day, [(US, "USD", "50.00")], tag="-ok")
    assert _results(database, day)[(US, None, "USD")][0] == "matched"


def test_isin_change_reported_a_day_early_or_late_is_not_an_unknown_security(database: Database) -> None:
    build(database)
    new = _new_isin()
    with database.transaction() as s:
        aaa = s.scalar(select(Security.id).where(Security.symbol == "AAA"))
        s.add(CorporateAction(ref="CA-AAA-ISIN", security_id=aaa, kind="rename", ex_date=date(2026, 11, 3), new_isin=new))  # fmt: skip
    day = date(2026, 11, 2)
    # A day early: the custodian already reports the new ISIN; the book still has the old one.
    statement(database, day, [(US, "ISIN", new, 100), *BASE])
    o, t, refs, text, *_ = _results(database, day)[(US, "AAA", None)]
    assert (o, t, refs) == ("explained", BreakType.CORPORATE_ACTION, ["CA-AAA-ISIN"])
    assert f"to {new}" in text and "already reports the new ISIN" in text
    # The new ISIN with another quantity resolves too: a quantity break, not an unknown security.
    statement(database, day, [(US, "ISIN", new, 90), *BASE], tag="-qty")
    got = _results(database, day)
    assert got[(US, "AAA", None)][:2] == ("break", BreakType.QUANTITY)
    assert not any(k[1] and k[1].startswith("ISIN:") for k in got)
    # A day late: the book applied the change on the 3rd; the custodian still reports the old ISIN.
    old = IDS["AAA"]["isin"]
    with database.transaction() as s:
        s.delete(s.scalars(select(CorporateAction).where(CorporateAction.ref == "CA-AAA-ISIN")).one())
        s.flush()
        apply_corporate_action(
            s, ActionSpec(ref="CA-AAA-ISIN2", symbol="AAA", kind="rename", ex_date=date(2026, 11, 3), new_isin=new)
        )  # fmt: skip
    day = date(2026, 11, 3)
    statement(database, day, [(US, "ISIN", old, 100), *BASE])
    got = _results(database, day)
    o, t, refs, text, book, stmt = got[(US, "AAA", None)]
    assert (o, t, refs, book, stmt) == ("explained", BreakType.CORPORATE_ACTION, ["CA-AAA-ISIN2"], 100, 100)
    assert f"old ISIN {old}" in text
    assert not any(k[1] and k[1].startswith("ISIN:") for k in got)
    # The old ISIN with a quantity that does not agree is not paired: unknown and missing, as before.
    statement(database, day, [(US, "ISIN", old, 99), *BASE], tag="-off")
    got = _results(database, day)
    assert got[(US, f"ISIN:{old}", None)][:2] == ("break", BreakType.UNKNOWN_SECURITY)
    assert got[(US, "AAA", None)][:2] == ("break", BreakType.MISSING_AT_CUSTODIAN)
