"""A tiny hand-made book for reconciliation tests: a US and a UK account at one custodian, an
ordinary share and its ADR, and users for the two-person adjustment rule."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import update

from engine.access.login import hash_password
from engine.model.identifiers import cusip_check_digit, isin_check_digit, sedol_check_digit
from engine.reconcile.load import store_statement
from engine.reconcile.statement import ParsedStatement, PositionLine
from engine.store.accounts import Account, Household
from engine.store.database import Database
from engine.store.people import User
from engine.store.positions import TaxLot
from engine.store.reference import Security

CUST = "SIM-CUSTODIAN-A"


def _cusip(body: str) -> str:
    return body + cusip_check_digit(body)


def _isin(body: str) -> str:
    return body + isin_check_digit(body)


def _sedol(body: str) -> str:
    return body + sedol_check_digit(body)


AAA_CUSIP = _cusip("00100010")
IDS = {
    "AAA": dict(isin=_isin("US" + AAA_CUSIP), cusip=AAA_CUSIP, sedol=_sedol("200001"), local_ticker="AAA"),
    "VODX.L": dict(
        isin=_isin("GB00" + _sedol("300001")), cusip=None, sedol=_sedol("300001"), local_ticker="VODX"
    ),
    "BPX.L": dict(
        isin=_isin("GB00" + _sedol("400001")), cusip=None, sedol=_sedol("400001"), local_ticker="BPX"
    ),
    "BPX": dict(
        isin=_isin("US" + _cusip("05500010")),
        cusip=_cusip("05500010"),
        sedol=_sedol("500001"),
        local_ticker="BPX",
    ),
}
# olivia.ops loads, runs and works breaks (an admin: no approvals); cora and cole approve.
USERS = (
    ("olivia.ops", "admin"),
    ("pat.pm", "portfolio_manager"),
    ("cora.compliance", "compliance"),
    ("cole.compliance", "compliance"),
    ("tara.trader", "trader"),
)
OPS = "olivia.ops"


def build(database: Database) -> dict[str, int]:
    """Write the book; returns security ids by symbol."""
    with database.transaction() as s:
        for username, role in USERS:
            s.add(User(username=username, display_name=username, role=role))
        sec: dict[str, Security] = {}
        for sym, ccy, mic, country, cls in (
            ("AAA", "USD", "XNYS", "US", "equity"),
            ("VODX.L", "GBP", "XLON", "GB", "equity"),
            ("BPX.L", "GBP", "XLON", "GB", "equity"),
            ("BPX", "USD", "XNYS", "GB", "adr"),
        ):
            sec[sym] = Security(
                symbol=sym, name=f"{sym} test", asset_class=cls, currency=ccy, mic=mic, country=country,
                sector="Energy", issuer=sym.split(".")[0], lot_size=1, price_multiplier=Decimal(1), **IDS[sym],
            )  # fmt: skip
            s.add(sec[sym])
        s.flush()
        sec["BPX"].adr_ordinary_id = sec["BPX.L"].id
        sec["BPX"].adr_ratio = Decimal(6)
        h = Household(code="H1", name="House")
        s.add(h)
        s.flush()
        common = dict(
            household_id=h.id, custodian=CUST, tax_status="taxable", model_id=None, client_type="retail",
            domicile="onshore", kyc_status="approved", risk_rating="medium", cash_target=Decimal("0.02"),
            cash_floor=Decimal(0), drift_band=Decimal("0.05"), lot_relief="fifo", keep_legacy=False,
            excluded_sectors=[], esg_exclusions=[],
        )  # fmt: skip
        us = Account(code="A000001", name="US", base_currency="USD", tax_jurisdiction="US", **common)
        uk = Account(code="A000002", name="UK", base_currency="GBP", tax_jurisdiction="GB", **common)
        s.add_all([us, uk])
        s.flush()
        for acct, sym, qty in ((us, "AAA", 100), (us, "BPX", 10), (uk, "VODX.L", 500), (uk, "BPX.L", 60)):
            s.add(
                TaxLot(account_id=acct.id, security_id=sec[sym].id, lot_ref=f"L-{sym}", quantity=Decimal(qty),
                       unit_cost=Decimal(10), acquired=date(2025, 1, 6), fx_rate=Decimal(1))
            )  # fmt: skip
        return {k: v.id for k, v in sec.items()}


def statement(
    database: Database, as_of: date, lines: list[tuple[str, str, str, str | int]], tag: str = ""
) -> None:
    """Store a positions statement of (account, id_type, ref, quantity) lines for CUST."""
    st = ParsedStatement(
        CUST,
        "generic-csv",
        "positions",
        as_of,
        positions=tuple(
            PositionLine(i + 2, a, a, ref, kind, Decimal(str(q)), None, None)
            for i, (a, kind, ref, q) in enumerate(lines)
        ),
    )
    with database.transaction() as s:
        store_statement(s, st, f"{as_of}{tag}.csv", f"{as_of}{tag}-{hash(tuple(lines))}", OPS)


PASSWORD = "correct horse battery"


def give_passwords(database: Database, *usernames: str, password: str = PASSWORD) -> None:
    """Let these users sign in with `password` (the CLI reads it from $WORKSTATION_PASSWORD)."""
    with database.transaction() as s:
        s.execute(
            update(User).where(User.username.in_(usernames)).values(password_hash=hash_password(password))
        )
