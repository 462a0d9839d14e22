"""SIMULATED custodian statements for the demo book, with known injected breaks and an answer key.

`write_custodian_files(database, out_dir, seed, breaks)` writes, for the demo book's statement
date, what three simulated custodians would send: SIM-CUSTODIAN-A the generic CSV (ISIN, CUSIP,
SEDOL and ticker.MIC identifiers), SIM-CUSTODIAN-B its own CSV profile (European numbers,
SEDOLs, values in the account's base currency at its own FX, its account numbers), and
SIM-CUSTODIAN-C ISO 20022 semt.002 holdings and camt.053 cash. A correct custodian reports
the book's settled positions; prices and FX differ slightly (within tolerance), as real
custodians' do.

To make the explained cases real, the generator first stages them in the book, idempotently
(same seed, same references): a few trades booked through the accounting engine on the
statement date (so they settle after it under their markets' cycles), and one announced 2-for-1
split with an ex-date on the next session, which the custodians book a day early. Then it
injects breaks into a fraction `breaks` of the accounts (at least one of each kind per
custodian), and writes answer_key.csv: custodian, account, security (symbol, or ID_TYPE:ref for
an unknown one, or the currency for cash), break_type.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.accounting.booking import LedgerBooker
from engine.accounting.corporate import ActionSpec, apply_corporate_action
from engine.accounting.settlement import _sessions
from engine.accounting.tables import Booking, CorporateAction
from engine.errors import WorkstationError
from engine.model.currency import minor_units
from engine.model.enums import Side
from engine.model.identifiers import isin_check_digit, sedol_check_digit
from engine.model.trades import TradeFill
from engine.pricing.fx import FxTable
from engine.pricing.prices import last_prices
from engine.reconcile.book import load_book
from engine.reconcile.match import BreakType
from engine.reconcile.securities import identifier_table
from engine.store.accounts import Account
from engine.store.database import Database
from engine.store.meta import BookMeta
from engine.store.reference import Exchange, Security

CUSTODIANS = ("SIM-CUSTODIAN-A", "SIM-CUSTODIAN-B", "SIM-CUSTODIAN-C")
INJECTED = (
    BreakType.QUANTITY,
    BreakType.MISSING_AT_CUSTODIAN,
    BreakType.MISSING_IN_BOOK,
    BreakType.UNKNOWN_SECURITY,
    BreakType.CASH,
    BreakType.VALUATION,
)
SEMT = "urn:iso:std:iso:20022:tech:xsd:semt.002.001.11"
CAMT = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"


class NotADemoBook(WorkstationError):
    """Simulated custodian files are only written for the simulated demo book."""


def _as_of(database: Database) -> date:
    with database.session() as session:
        meta = {m.key: m.value for m in session.scalars(select(BookMeta))}
    if meta.get("kind") != "simulated-demo":
        raise NotADemoBook(
            "custodian files are simulated for the demo book only: build it with `workstation demo`"
        )
    return date.fromisoformat(meta["as_of"])


def _stage_pending(
    database: Database, as_of: date, seed: int, rng: np.random.Generator, avoid: tuple[int, ...]
) -> None:
    """Book a buy and a sell per custodian on the statement date (idempotent by source_ref).

    Accounts holding a security with a staged corporate action are left out, so each line has
    one explanation.
    """
    booker = LedgerBooker()
    prefix = f"SIM-CUSTFILES-{seed}-"
    with database.transaction() as session:
        staged = session.scalars(select(Booking.id).where(Booking.source_ref.like(prefix + "%"))).first()
        if staged is not None:
            return
        book = load_book(session, as_of, list(CUSTODIANS))
        sec = book.securities
        prices = last_prices(session, as_of)["close"]
        touched = book.positions.loc[
            book.positions["security_id"].isin(avoid) & (book.positions["td_qty"].abs() > 0), "account_id"
        ]
        pos = book.positions[
            (book.positions["settled_qty"] > 0) & ~book.positions["account_id"].isin(set(touched))
        ]
        pos = pos.merge(book.accounts, on="account_id")
        pos = pos[sec.loc[pos["security_id"], "asset_class"].isin(["equity", "etf", "adr"]).to_numpy()]
        lot = dict(session.execute(select(Security.id, Security.lot_size)).all())
        n = 0
        for cust in CUSTODIANS:
            mine = pos[pos["custodian"] == cust]
            accounts = mine["account_code"].drop_duplicates().to_numpy()
            if len(accounts) < 2:
                continue
            picks = rng.choice(accounts, size=2, replace=False)
            for side, code in zip((Side.BUY, Side.SELL), picks):
                row = mine[mine["account_code"] == code].iloc[
                    int(rng.integers(0, (mine["account_code"] == code).sum()))
                ]
                sid = int(row["security_id"])
                size = lot.get(sid, 1) or 1
                qty = (
                    size * int(rng.integers(1, 4))
                    if side == Side.BUY
                    else size * max(1, int(row["settled_qty"] // size // 2))
                )
                if side == Side.SELL and qty > row["settled_qty"]:
                    continue
                n += 1
                booker.book(
                    session,
                    TradeFill(
                        account=str(code),
                        symbol=str(sec.at[sid, "symbol"]),
                        side=side,
                        quantity=Decimal(int(qty)),
                        price=Decimal(repr(round(float(prices[sid]), 4))),
                        trade_date=as_of,
                        source_ref=f"{prefix}{cust[-1]}-{side.value}",
                    ),
                )


@dataclass(frozen=True)
class StagedActions:
    """The corporate actions staged in the book for the custodians to book on another day.

    split / reverse: announced, ex-date the next session, the custodians book them a day early.
    dividend: applied (ex-date the previous session, paid on the statement date); the custodians
    credit it a day late. isin_early: an announced ISIN change (ex-date the next session) whose
    new ISIN the custodians already report. isin_late: an ISIN change the book applied on the
    statement date while the custodians still report `old_isin`.
    """

    split: int
    reverse: int
    dividend: int
    isin_early: int
    new_isin: str
    isin_late: int
    old_isin: str

    @property
    def securities(self) -> tuple[int, ...]:
        return (self.split, self.reverse, self.dividend, self.isin_early, self.isin_late)


def _session_next(session: Session, mic: str, day: date, step: int) -> date:
    cal = session.get(Exchange, mic).calendar  # type: ignore[union-attr]
    sessions = _sessions(cal)
    at = np.searchsorted(sessions, np.datetime64(day, "D"), side="right" if step > 0 else "left")
    return pd.Timestamp(sessions[at if step > 0 else at - 1]).date()


def _fresh_isin(prefix: str, taken: set[str], rng: np.random.Generator) -> str:
    while True:
        body = prefix + "".join(str(d) for d in rng.integers(0, 10, 9))
        isin = body + isin_check_digit(body)
        if isin not in taken:
            return isin


def _stage_actions(database: Database, as_of: date, seed: int, rng: np.random.Generator) -> StagedActions:
    """Stage five corporate actions on thinly held equities (idempotent per seed, by ref)."""
    refs = {
        "split": f"SIM-SPLIT-{seed}",
        "reverse": f"SIM-RSPLIT-{seed}",
        "dividend": f"SIM-DIV-{seed}",
        "isin_early": f"SIM-ISIN-{seed}-EARLY",
        "isin_late": f"SIM-ISIN-{seed}-LATE-",  # + the old ISIN, which the book no longer keeps
    }
    with database.transaction() as session:
        done = {
            a.ref: a
            for a in session.scalars(
                select(CorporateAction).where(CorporateAction.ref.like(f"SIM-%-{seed}%"))
            )
        }
        late = [a for r, a in done.items() if r.startswith(refs["isin_late"])]
        if refs["split"] in done and late:
            return StagedActions(
                split=done[refs["split"]].security_id,
                reverse=done[refs["reverse"]].security_id,
                dividend=done[refs["dividend"]].security_id,
                isin_early=done[refs["isin_early"]].security_id,
                new_isin=str(done[refs["isin_early"]].new_isin),
                isin_late=late[0].security_id,
                old_isin=late[0].ref[len(refs["isin_late"]) :],
            )
        book = load_book(session, as_of, list(CUSTODIANS))
        held = book.positions[book.positions["settled_qty"] > 0].merge(book.accounts, on="account_id")
        sec = book.securities
        eq = held[sec.loc[held["security_id"], "asset_class"].eq("equity").to_numpy()]
        per = eq.groupby("security_id").agg(n=("account_id", "size"), c=("custodian", "nunique"))
        cands = per[(per["c"] == len(CUSTODIANS))].sort_values("n")
        if len(cands) < 5:
            cands = per.sort_values("n")
        pool = cands.index[: max(5, min(12, len(cands)))].to_numpy()
        split, reverse, dividend, early, late_sid = (int(x) for x in rng.choice(pool, size=5, replace=False))
        taken = {i for i in session.scalars(select(Security.isin)) if i}
        info = {sid: session.get_one(Security, sid) for sid in (split, reverse, dividend, early, late_sid)}
        nxt = {sid: _session_next(session, str(sec.at[sid, "mic"]), as_of, +1) for sid in info}
        session.add_all(
            [
                CorporateAction(ref=refs["split"], security_id=split, kind="split", ex_date=nxt[split],
                                ratio_new=Decimal(2), ratio_old=Decimal(1)),
                CorporateAction(ref=refs["reverse"], security_id=reverse, kind="split", ex_date=nxt[reverse],
                                ratio_new=Decimal(1), ratio_old=Decimal(4)),
            ]
        )  # fmt: skip
        new_isin = _fresh_isin(str(info[early].isin)[:2], taken, rng)
        session.add(
            CorporateAction(ref=refs["isin_early"], security_id=early, kind="rename", ex_date=nxt[early],
                            new_isin=new_isin)
        )  # fmt: skip
        session.flush()
        price = float(last_prices(session, as_of)["close"][dividend])
        per_share = Decimal(repr(max(0.01, round(price * 0.01, 2))))
        apply_corporate_action(
            session,
            ActionSpec(
                ref=refs["dividend"],
                symbol=str(info[dividend].symbol),
                kind="dividend",
                ex_date=_session_next(session, str(sec.at[dividend, "mic"]), as_of, -1),
                pay_date=as_of,
                amount=per_share,
            ),
        )
        old_isin = str(info[late_sid].isin)
        apply_corporate_action(
            session,
            ActionSpec(
                ref=refs["isin_late"] + old_isin,
                symbol=str(info[late_sid].symbol),
                kind="rename",
                ex_date=as_of,
                new_isin=_fresh_isin(old_isin[:2], taken | {new_isin}, rng),
            ),
        )
        return StagedActions(split, reverse, dividend, early, new_isin, late_sid, old_isin)


def _unknown_ids(table: pd.DataFrame, rng: np.random.Generator, n: int) -> list[tuple[str, str]]:
    """Valid-looking identifiers (right check digit) that match nothing in the book."""
    have = set(zip(table["id_type"], table["ref"]))
    out: list[tuple[str, str]] = []
    while len(out) < n:
        body = "XS" + "".join(str(d) for d in rng.integers(0, 10, 9))
        isin = body + isin_check_digit(body)
        sbody = "9" + "".join(str(d) for d in rng.integers(0, 10, 5))
        sedol = sbody + sedol_check_digit(sbody)
        if ("ISIN", isin) not in have and ("SEDOL", sedol) not in have:
            out.append((isin, sedol))
    return out


def write_custodian_files(database: Database, out_dir: Path, seed: int, breaks: float) -> Path:
    """Write the three simulated custodians' statements and answer_key.csv into `out_dir`."""
    if not 0 <= breaks <= 0.5:
        raise WorkstationError("--breaks is a fraction of accounts between 0 and 0.5")
    as_of = _as_of(database)
    staged = _stage_actions(database, as_of, seed, np.random.default_rng([seed, 1]))
    _stage_pending(database, as_of, seed, np.random.default_rng([seed, 2]), staged.securities)
    rng = np.random.default_rng([seed, 3])
    out_dir.mkdir(parents=True, exist_ok=True)
    with database.session() as session:
        book = load_book(session, as_of, list(CUSTODIANS))
        prices = last_prices(session, as_of)["close"]
        fx = FxTable.load(session, start=as_of, end=as_of)
        ids = identifier_table(session)
        sec_rows = pd.DataFrame(
            session.execute(
                select(
                    Security.id,
                    Security.isin,
                    Security.cusip,
                    Security.sedol,
                    Security.local_ticker,
                    Security.mic,
                    Security.lot_size,
                )
            ).all(),
            columns=["security_id", "isin", "cusip", "sedol", "local_ticker", "mic", "lot_size"],
        ).set_index("security_id")
        base_ccy = dict(session.execute(select(Account.code, Account.base_currency)).all())
    sec = book.securities.join(sec_rows.drop(columns=["mic"]))
    sec.attrs["ids"] = ids
    accounts = book.accounts
    pos = book.positions.merge(accounts, on="account_id")
    pos = pos[pos["settled_qty"].abs() > 1e-9].copy()
    pos["symbol"] = pos["security_id"].map(sec["symbol"])
    pos["quantity"] = pos["settled_qty"]
    pos["sec_ccy"] = pos["security_id"].map(sec["currency"])
    pos["mv_local"] = (
        pos["quantity"] * pos["security_id"].map(prices) * pos["security_id"].map(sec["multiplier"])
    )
    pos["noise"] = 1.0 + rng.uniform(-0.001, 0.001, len(pos))
    pos["injected"] = ""
    cash = book.cash.merge(accounts, on="account_id")
    cash = cash[cash["settled"].abs() > 1e-9].copy()
    cash["amount"] = cash["settled"]
    key_rows: list[tuple[str, str, str, str]] = []
    # Explained cases staged above: pending trades and the split booked a day early.
    for r in book.pending.merge(accounts, on="account_id").itertuples():
        key_rows.append(
            (r.custodian, r.account_code, str(sec.at[r.security_id, "symbol"]), BreakType.PENDING_SETTLEMENT)
        )
    for r in (
        book.pending_cash.merge(accounts, on="account_id")
        .drop_duplicates(["account_id", "currency"])
        .itertuples()
    ):
        key_rows.append((r.custodian, r.account_code, r.currency, BreakType.PENDING_SETTLEMENT))
    # The staged corporate actions, as the custodians book them on another day than the book.
    pos["unknown"] = None  # or (id kind, identifier) the custodian reports instead of ours
    split = pos["security_id"] == staged.split
    pos.loc[split, "quantity"] = pos.loc[split, "quantity"] * 2
    reverse = pos["security_id"] == staged.reverse
    pos.loc[reverse, "quantity"] = np.floor(pos.loc[reverse, "quantity"] / 4 + 1e-9)
    early = pos["security_id"] == staged.isin_early
    late = pos["security_id"] == staged.isin_late
    pos["unknown"] = [
        ("ISIN", staged.new_isin) if e else ("ISIN", staged.old_isin) if la else None
        for e, la in zip(early.to_numpy(), late.to_numpy())
    ]
    acted = split | reverse | early | late
    for r in pos[acted].itertuples():
        key_rows.append((r.custodian, r.account_code, r.symbol, BreakType.CORPORATE_ACTION))
    dividends = book.dividends[book.dividends["security_id"] == staged.dividend].merge(
        accounts, on="account_id"
    )
    for r in dividends.itertuples():
        # Credited by the custodian a day after the pay date: today it shows the cash without it.
        hit = (cash["account_id"] == r.account_id) & (cash["currency"] == r.currency)
        if hit.any():
            cash.loc[hit, "amount"] = cash.loc[hit, "amount"] - r.net
        key_rows.append((r.custodian, r.account_code, r.currency, BreakType.CORPORATE_ACTION))
    holders = book.positions.loc[
        book.positions["security_id"].isin(staged.securities) & (book.positions["td_qty"].abs() > 0),
        "account_id",
    ]
    busy = (
        set(book.pending["account_id"])
        | set(book.pending_cash["account_id"])
        | set(holders)
        | set(dividends["account_id"])
    )
    extra_rows: list[dict[str, object]] = []
    equities = sec.index[sec["asset_class"].isin(["equity", "etf"])].to_numpy()
    for cust in CUSTODIANS:
        mine = accounts[(accounts["custodian"] == cust) & ~accounts["account_id"].isin(busy)][
            "account_id"
        ].to_numpy()
        want = max(len(INJECTED), round(breaks * len(accounts[accounts["custodian"] == cust])))
        want = min(want, len(mine))
        chosen: Any = rng.choice(mine, size=want, replace=False) if want else []
        unknown = iter(_unknown_ids(ids, rng, want))
        for i, aid in enumerate(chosen):
            kind = INJECTED[i % len(INJECTED)]
            code = accounts.loc[accounts["account_id"] == aid, "account_code"].iloc[0]
            held = pos[(pos["account_id"] == aid)]
            if kind in (BreakType.QUANTITY, BreakType.MISSING_AT_CUSTODIAN, BreakType.VALUATION):
                if held.empty:
                    continue
                idx = held.index[int(rng.integers(0, len(held)))]
                sym = str(pos.at[idx, "symbol"])
                if kind == BreakType.QUANTITY:
                    size = float(sec.at[pos.at[idx, "security_id"], "lot_size"] or 1)
                    delta = size * int(rng.integers(1, 6)) * (1 if rng.random() < 0.5 else -1)
                    if pos.at[idx, "quantity"] + delta <= 0:
                        delta = abs(delta)
                    pos.at[idx, "quantity"] += delta
                    pos.at[idx, "mv_local"] *= pos.at[idx, "quantity"] / (pos.at[idx, "quantity"] - delta)
                elif kind == BreakType.MISSING_AT_CUSTODIAN:
                    pos = pos.drop(index=idx)
                else:
                    pos.at[idx, "noise"] = 1.0 + float(rng.uniform(0.03, 0.08)) * (
                        1 if rng.random() < 0.5 else -1
                    )
                key_rows.append((cust, code, sym, kind))
            elif kind == BreakType.MISSING_IN_BOOK:
                free = np.setdiff1d(equities, held["security_id"].to_numpy())
                free = free[~np.isin(free, staged.securities)]
                sid = int(rng.choice(free))
                q = float(sec.at[sid, "lot_size"] or 1) * int(rng.integers(1, 10))
                extra_rows.append(
                    dict(
                        account_id=aid,
                        account_code=code,
                        custodian=cust,
                        security_id=sid,
                        symbol=sec.at[sid, "symbol"],
                        quantity=q,
                        sec_ccy=sec.at[sid, "currency"],
                        mv_local=q * float(prices[sid]) * float(sec.at[sid, "multiplier"]),
                        noise=1.0,
                        injected="",
                        unknown=None,
                    )
                )
                key_rows.append((cust, code, str(sec.at[sid, "symbol"]), kind))
            elif kind == BreakType.UNKNOWN_SECURITY:
                isin, sedol = next(unknown)
                ref = ("SEDOL", sedol) if cust == "SIM-CUSTODIAN-B" else ("ISIN", isin)
                extra_rows.append(
                    dict(
                        account_id=aid,
                        account_code=code,
                        custodian=cust,
                        security_id=-1,
                        symbol=None,
                        quantity=float(int(rng.integers(1, 50)) * 10),
                        sec_ccy="USD",
                        mv_local=float(rng.uniform(1000, 50000)),
                        noise=1.0,
                        injected="",
                        unknown=ref,
                    )
                )
                key_rows.append((cust, code, f"{ref[0]}:{ref[1]}", kind))
            else:  # cash
                mine_cash = cash[cash["account_id"] == aid]
                delta = float(rng.integers(100, 5000)) * (1 if rng.random() < 0.5 else -1)
                if mine_cash.empty:
                    ccy = base_ccy[code]
                    cash = pd.concat(
                        [
                            cash,
                            pd.DataFrame(
                                [
                                    dict(
                                        account_id=aid,
                                        currency=ccy,
                                        account_code=code,
                                        custodian=cust,
                                        amount=delta,
                                    )
                                ]
                            ),
                        ],
                        ignore_index=True,
                    )
                else:
                    idx = mine_cash.index[0]
                    ccy = str(cash.at[idx, "currency"])
                    cash.at[idx, "amount"] += delta
                key_rows.append((cust, code, ccy, kind))
    if extra_rows:
        pos = pd.concat([pos, pd.DataFrame(extra_rows)], ignore_index=True)
    if "unknown" not in pos:
        pos["unknown"] = None
    pos["mv_local"] = pos["mv_local"] * pos["noise"]
    pos = pos[pos["quantity"].abs() > 1e-9]
    _write_a(
        out_dir,
        as_of,
        pos[pos["custodian"] == CUSTODIANS[0]],
        cash[cash["custodian"] == CUSTODIANS[0]],
        sec,
        rng,
    )
    _write_b(
        out_dir,
        as_of,
        pos[pos["custodian"] == CUSTODIANS[1]],
        cash[cash["custodian"] == CUSTODIANS[1]],
        sec,
        fx,
        base_ccy,
        rng,
    )
    _write_c(
        out_dir, as_of, pos[pos["custodian"] == CUSTODIANS[2]], cash[cash["custodian"] == CUSTODIANS[2]], sec
    )
    key = out_dir / "answer_key.csv"
    with key.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["custodian", "account", "security", "break_type"])
        for row in sorted(set(key_rows)):
            w.writerow(row)
    (out_dir / "README.txt").write_text(
        "SIMULATED custodian statements for the demo book (not from any real custodian).\n"
        f"Statement date {as_of}; seed {seed}; injected break rate {breaks}.\n"
        "sim-custodian-a_*.csv: generic CSV; sim-custodian-b_*.csv: custodian B's CSV profile;\n"
        "sim-custodian-c_semt002.xml / _camt053.xml: ISO 20022. answer_key.csv lists every\n"
        "injected break and every explained difference (pending settlement, corporate-action timing).\n",
        encoding="utf-8",
    )
    return out_dir


def _dp(ccy: str) -> int:
    return minor_units(ccy)


def _qty_text(q: float) -> str:
    return f"{q:.6f}".rstrip("0").rstrip(".")


def _write_a(
    out: Path, as_of: date, pos: pd.DataFrame, cash: pd.DataFrame, sec: pd.DataFrame, rng: np.random.Generator
) -> None:
    with (out / "sim-custodian-a_positions.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(
            [
                "custodian",
                "account",
                "security_id",
                "id_type",
                "quantity",
                "currency",
                "market_value",
                "as_of",
            ]
        )
        opts: dict[int, list[tuple[str, str]]] = {}
        for kind, ref, sid in zip(
            sec.attrs["ids"]["id_type"], sec.attrs["ids"]["ref"], sec.attrs["ids"]["security_id"]
        ):
            opts.setdefault(int(sid), []).append((str(kind), str(ref)))
        draw = rng.random(len(pos))
        for acct, sid, unknown, qty, ccy, mv, u in zip(
            pos["account_code"],
            pos["security_id"],
            pos["unknown"],
            pos["quantity"],
            pos["sec_ccy"],
            pos["mv_local"],
            draw,
        ):
            if isinstance(unknown, tuple):
                kind, ref = unknown
            else:
                options = opts[int(sid)]
                kind, ref = options[int(u * len(options))]
            w.writerow(
                [CUSTODIANS[0], acct, ref, kind, _qty_text(qty), ccy, f"{mv:.{_dp(ccy)}f}", as_of.isoformat()]
            )
    with (out / "sim-custodian-a_cash.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["custodian", "account", "currency", "amount", "as_of"])
        for r in cash.itertuples():
            w.writerow(
                [
                    CUSTODIANS[0],
                    r.account_code,
                    r.currency,
                    f"{r.amount:.{_dp(r.currency)}f}",
                    as_of.isoformat(),
                ]
            )


def _eu(x: float, dp: int) -> str:
    """1234567.891 -> '1.234.567,89'; negatives with a trailing minus."""
    s = f"{abs(x):,.{dp}f}".replace(",", "_").replace(".", ",").replace("_", ".")
    return s + ("-" if x < 0 else "")


def _b_account(code: str) -> str:
    return "4711-" + code[1:]


def _write_b(
    out: Path,
    as_of: date,
    pos: pd.DataFrame,
    cash: pd.DataFrame,
    sec: pd.DataFrame,
    fx: FxTable,
    base: dict[str, str],
    rng: np.random.Generator,
) -> None:
    d = as_of.strftime("%d.%m.%Y")
    with (out / "sim-custodian-b_positions.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter=";")
        w.writerow(["Depot", "Kennungsart", "Kennung", "Bestand", "Waehrung", "Kurswert", "Stichtag"])
        b_ids = {
            sid: ("SEDOL", sedol) if isinstance(sedol, str) and sedol else ("ISIN", isin)
            for sid, sedol, isin in zip(sec.index, sec["sedol"], sec["isin"])
        }
        rows = list(pos.itertuples())
        ccy_to = [base[r.account_code] for r in rows]
        rates: Any = fx.rates([r.sec_ccy for r in rows], ccy_to, as_of) if rows else []
        own_fx = 1.0 + rng.uniform(-0.002, 0.002, len(rows))
        for r, to, rate, own in zip(rows, ccy_to, rates, own_fx):
            if isinstance(r.unknown, tuple):
                kind, ref = r.unknown
            else:
                kind, ref = b_ids[r.security_id]
            w.writerow(
                [
                    _b_account(r.account_code),
                    kind,
                    ref,
                    _eu(r.quantity, 0 if float(r.quantity).is_integer() else 6),
                    to,
                    _eu(r.mv_local * rate * own, _dp(to)),
                    d,
                ]
            )
    with (out / "sim-custodian-b_cash.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter=";")
        w.writerow(["Depot", "Waehrung", "Saldo", "S/H", "Stichtag"])
        for r in cash.itertuples():
            w.writerow(
                [
                    _b_account(r.account_code),
                    r.currency,
                    _eu(abs(r.amount), _dp(r.currency)),
                    "S" if r.amount < 0 else "H",
                    d,
                ]
            )


def _c_account(code: str) -> str:
    return "SIMC/" + code[1:]


def _write_c(out: Path, as_of: date, pos: pd.DataFrame, cash: pd.DataFrame, sec: pd.DataFrame) -> None:
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<Document xmlns="{SEMT}">',
        "<SctiesBalCtdyRpt>",
        "<Pgntn><PgNb>1</PgNb><LastPgInd>true</LastPgInd></Pgntn>",
        f"<StmtGnlDtls><StmtId>SIMC-{as_of:%Y%m%d}</StmtId><StmtDtTm><Dt>{as_of.isoformat()}</Dt></StmtDtTm>"
        "<Frqcy><Cd>DAIL</Cd></Frqcy><UpdTp><Cd>COMP</Cd></UpdTp><StmtBsis><Cd>SETT</Cd></StmtBsis>"
        "<ActvtyInd>true</ActvtyInd><AudtdInd>false</AudtdInd><SubAcctInd>true</SubAcctInd></StmtGnlDtls>",
        "<AcctSvcr><AnyBIC>SIMCXXXXXXX</AnyBIC></AcctSvcr>",
        "<SfkpgAcct><Id>SIMC/OMNIBUS</Id><Nm>SIMULATED custodian C omnibus</Nm></SfkpgAcct>",
    ]
    isins = dict(zip(sec.index, sec["isin"]))
    for code, grp in pos.groupby("account_code", sort=True):
        parts.append(
            f"<SubAcctDtls><SfkpgAcct><Id>{escape(_c_account(str(code)))}</Id></SfkpgAcct><ActvtyInd>true</ActvtyInd>"
        )
        for r in grp.itertuples():
            isin = (
                r.unknown[1]
                if isinstance(r.unknown, tuple) and r.unknown[0] == "ISIN"
                else isins[r.security_id]
            )
            q = float(r.quantity)
            parts.append(
                f"<BalForSubAcct><FinInstrmId><ISIN>{isin}</ISIN></FinInstrmId><AggtBal>"
                + ("<ShrtLngInd>SHOR</ShrtLngInd>" if q < 0 else "")
                + f"<Qty><Qty><Unit>{_qty_text(abs(q))}</Unit></Qty></Qty></AggtBal>"
                f'<InstrmCcyAmts><HldgVal><Amt Ccy="{r.sec_ccy}">{abs(r.mv_local):.{_dp(r.sec_ccy)}f}</Amt>'
                + ("<Sgn>false</Sgn>" if r.mv_local < 0 else "")
                + "</HldgVal></InstrmCcyAmts></BalForSubAcct>"
            )
        parts.append("</SubAcctDtls>")
    parts += ["</SctiesBalCtdyRpt>", "</Document>"]
    (out / "sim-custodian-c_semt002.xml").write_text("\n".join(parts) + "\n", encoding="utf-8")
    cp = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<Document xmlns="{CAMT}">',
        "<BkToCstmrStmt>",
        f"<GrpHdr><MsgId>SIMC-CASH-{as_of:%Y%m%d}</MsgId><CreDtTm>{as_of.isoformat()}T18:00:00</CreDtTm></GrpHdr>",
    ]
    for i, r in enumerate(cash.sort_values(["account_code", "currency"]).itertuples(), start=1):
        amt = float(r.amount)
        cp.append(
            f"<Stmt><Id>SIMC-{as_of:%Y%m%d}-{i}</Id><Acct><Id><Othr><Id>{escape(_c_account(r.account_code))}</Id></Othr></Id>"
            f"<Ccy>{r.currency}</Ccy></Acct><Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp>"
            f'<Amt Ccy="{r.currency}">{abs(amt):.{_dp(r.currency)}f}</Amt><CdtDbtInd>{"DBIT" if amt < 0 else "CRDT"}</CdtDbtInd>'
            f"<Dt><Dt>{as_of.isoformat()}</Dt></Dt></Bal></Stmt>"
        )
    cp += ["</BkToCstmrStmt>", "</Document>"]
    (out / "sim-custodian-c_camt053.xml").write_text("\n".join(cp) + "\n", encoding="utf-8")
