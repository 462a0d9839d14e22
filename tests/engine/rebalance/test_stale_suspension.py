"""An account that holds a security with a stale price (or needs a stale FX rate) is suspended from
the rebalance: no trades, the reason names the price and its dates; the other accounts are solved.
`rebalance drift --json` and `report stale --json` show the same stale data."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, or_, select

from engine.rebalance.book import book_as_of, load_accounts, load_universe
from engine.rebalance.bulk import run_bulk
from engine.rebalance.settings import RebalanceSettings
from engine.rebalance.tables import Proposal
from engine.store.database import Database
from engine.store.market import FxRate, PriceBar
from workstation.cli.main import main


@pytest.fixture
def copy(book_path: Path, tmp_path: Path) -> tuple[Database, str]:
    path = tmp_path / "stale.db"
    shutil.copy(book_path, path)
    url = f"sqlite:///{path}"
    database = Database(url)
    yield database, url
    database.dispose()


def test_stale_price_and_fx_suspend_the_accounts_that_depend_on_them(
    copy: tuple[Database, str], capsys: pytest.CaptureFixture[str]
) -> None:
    database, url = copy
    with database.session() as s:
        as_of = book_as_of(s)
        u = load_universe(s, as_of)
        accounts = load_accounts(s, u)
    # The demo book is fresh: nothing stale, nobody suspended.
    assert u.stale == {} and u.stale_fx == {}

    # A US equity that some accounts hold or are modelled on (they depend on its price) and others not.
    def uses(a: object, i: int) -> bool:
        model = u.models.get(a.model_id or -1)  # type: ignore[attr-defined]
        return i in a.lot_sec or (model is not None and model[i] > 0)  # type: ignore[attr-defined]

    held = sorted(
        {int(i) for a in accounts for i in a.lot_sec if u.mic[i] == "XNYS" and u.asset_class[i] == "equity"}
    )
    x = min(held, key=lambda i: sum(uses(a, i) for a in accounts))
    holder = next(a for a in accounts if x in a.lot_sec)
    others = [a for a in accounts if not uses(a, x)]
    assert others
    other = others[0]
    sym = str(u.symbols[x])
    # Its last five days of closes never arrived: the last close is a week old.
    with database.transaction() as s:
        s.execute(
            delete(PriceBar).where(
                PriceBar.security_id == int(u.ids[x]), PriceBar.date > as_of - timedelta(days=7)
            )
        )
    with database.session() as s:
        last = s.scalar(
            select(PriceBar.date).where(PriceBar.security_id == int(u.ids[x])).order_by(PriceBar.date.desc())
        )
    reason = f"suspended: stale price for {sym} (last {last}, expected {as_of})"

    res = run_bulk(database, RebalanceSettings(), [holder.id, other.id], executor="inline", user="pat.pm")
    by = {r["account"]: r for r in res.records}
    h = by[holder.code]
    assert (
        h["status"] == "infeasible" and h["reason"] == reason and h["trades"] == [] and h["fx_trades"] == []
    )
    assert h["suspended"] == [
        {"kind": "price", "name": sym, "asset_class": "equity", "market": "XNYS", "last": str(last),
         "expected": str(as_of), "rule": "equity: 0 session(s) of XNYS", "reason": reason.removeprefix("suspended: ")}
    ]  # fmt: skip
    assert by[other.code]["status"] == "ok" and "suspended" not in by[other.code]
    with database.session() as s:
        stored = s.scalars(select(Proposal).where(Proposal.batch_id == res.batch_id)).all()
        assert {p.account_id: (p.status, p.reason) for p in stored}[holder.id] == ("infeasible", reason)

    assert (
        main(["--db", url, "rebalance", "drift", "--json", "--accounts", f"{holder.code},{other.code}"]) == 0
    )
    drift = {a["account"]: a for a in json.loads(capsys.readouterr().out)["accounts"]}
    assert drift[holder.code]["suspended"] == reason and [i["name"] for i in drift[holder.code]["stale"]] == [
        sym
    ]
    assert drift[other.code]["suspended"] is None and drift[other.code]["stale"] == []

    assert main(["--db", url, "report", "stale", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["as_of"] == str(as_of) and doc["fx"] == []
    [row] = doc["prices"]
    assert (row["name"], row["last"], row["expected"]) == (sym, str(last), str(as_of))
    assert row["accounts"] == sum(x in a.lot_sec for a in accounts)
    assert doc["policy"]["equity"] == {"rule": "sessions", "allowed": 0}
    # Read at an instant (Friday 10:00 in New York, before that day's close): Thursday's close
    # is expected; the week-old close is still stale. Text output: a row per item and a count.
    assert main(["--db", url, "report", "stale", "--at", f"{as_of}T10:00-04:00"]) == 0
    text = capsys.readouterr().out
    assert sym in text and str(last) in text
    assert f"1 stale price(s), 0 stale FX rate(s) as of {as_of}T10:00:00-04:00" in text

    # FX: a currency some accounts need (not the pivot, EUR) lost its fixings of the last ten days,
    # older than the policy's 5 days.
    def needs(a: object) -> set[str]:
        model = u.models.get(a.model_id or -1)  # type: ignore[attr-defined]
        ccys = set(u.currency[a.lot_sec]) | {c for c, v in a.cash.items() if v} | {a.base}  # type: ignore[attr-defined]
        if model is not None:
            ccys |= set(u.currency[model > 0])
        return ccys if len(ccys) > 1 else set()

    counts = {c: sum(c in needs(a) for a in accounts) for c in set(u.currency) - {"EUR"}}
    ccy = min((c for c, n in counts.items() if 0 < n < len(accounts)), key=lambda c: (counts[c], c))
    with database.transaction() as s:
        s.execute(
            delete(FxRate).where(
                or_(FxRate.base == ccy, FxRate.quote == ccy), FxRate.date > as_of - timedelta(days=10)
            )
        )
    assert main(["--db", url, "report", "stale", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    [fx] = doc["fx"]
    assert fx["name"] == ccy and fx["reason"].startswith(f"stale FX rate for {ccy} (last ")
    assert fx["expected"] == str(as_of - timedelta(days=5)) and fx["accounts"] > 0
    needy = next(a for a in accounts if ccy in needs(a) and not uses(a, x))
    calm = next(a for a in accounts if ccy not in needs(a) and not uses(a, x))
    res = run_bulk(
        database, RebalanceSettings(), [needy.id, calm.id], executor="inline", user="pat.pm", save=False
    )
    by = {r["account"]: r for r in res.records}
    assert by[needy.code]["reason"].startswith(f"suspended: stale FX rate for {ccy} (last ")
    assert by[needy.code]["trades"] == [] and by[calm.code]["status"] == "ok"
