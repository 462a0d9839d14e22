"""Against the simulated three-custodian statements: every injected break and every explained
difference is found, and nothing else (precision and recall both 100%), across the generic CSV,
custodian B's CSV profile and ISO 20022 files. Also: loading is idempotent, a malformed file is
refused whole, and `reconcile run --json` prints the documented shape.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select

import resources
from connectors.custodian.load import load_files
from engine.demo.build import build_demo_book
from engine.demo.custodian_files import CUSTODIANS, INJECTED, write_custodian_files
from engine.errors import ImportValidationError
from engine.reconcile.match import BreakType
from engine.reconcile.run import reconcile
from engine.reconcile.tables import Statement, StatementCash, StatementPosition
from engine.store.database import Database
from tests.conftest import migrated
from tests.engine.reconcile.minibook import PASSWORD, give_passwords
from workstation.cli.main import main

AS_OF = date(2026, 10, 30)
OPS = "ada.admin"  # the demo admin loads and runs (reconcile.load, reconcile.run)
PATTERNS = {
    "SIM-CUSTODIAN-A": "sim-custodian-a_*",
    "SIM-CUSTODIAN-B": "sim-custodian-b_*",
    "SIM-CUSTODIAN-C": "sim-custodian-c_*",
}


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Database, Path, str]]:
    d = tmp_path_factory.mktemp("recon")
    url = f"sqlite:///{d / 'book.db'}"
    database = migrated(url)
    build_demo_book(database, resources.path("reference"), accounts=90, seed=11, today=date(2026, 11, 22))
    out = d / "files"
    write_custodian_files(database, out, seed=5, breaks=0.08)
    for cust, pattern in PATTERNS.items():
        load_files(database, sorted(out.glob(pattern)), cust, loaded_by=OPS)
    yield database, out, url
    database.dispose()


def _found(results: pd.DataFrame) -> set[tuple[str, str, str, str]]:
    b = results[results["outcome"] != "matched"]
    what = b["security_ref"].where(
        b["measure"].eq("quantity") | b["break_type"].eq(BreakType.VALUATION), b["currency"]
    )
    return set(zip(b["custodian"], b["account_code"], what, b["break_type"]))


def test_precision_and_recall_are_both_100_percent(book: tuple[Database, Path, str]) -> None:
    database, out, _ = book
    key = pd.read_csv(out / "answer_key.csv", dtype=str)
    want = set(map(tuple, key.to_numpy().tolist()))
    with database.transaction() as session:
        result = reconcile(session, AS_OF, run_by=OPS)
    got = _found(result.results)
    assert got - want == set(), "false breaks"
    assert want - got == set(), "missed breaks"
    assert result.no_statement.empty  # full statements: every account compared
    # Every kind is present in the answer key for every custodian (each file format).
    for cust in CUSTODIANS:
        kinds = set(key.loc[key["custodian"] == cust, "break_type"])
        assert set(INJECTED) <= kinds, cust
        assert BreakType.CORPORATE_ACTION in kinds, cust
    assert BreakType.PENDING_SETTLEMENT in set(key["break_type"])
    # Explained lines name what explains them.
    ex = result.results[result.results["outcome"] == "explained"]
    assert (ex["refs"].map(len) > 0).all()
    pend = ex[ex["break_type"] == BreakType.PENDING_SETTLEMENT]
    assert pend["explanation"].str.contains("SIM-CUSTFILES-5-").all()
    ca = ex[ex["break_type"] == BreakType.CORPORATE_ACTION]
    # Each staged action explains lines and names itself: a 2-for-1 split and a 1-for-4 reverse
    # split booked a day early, a dividend credited a day late (cash), and an ISIN change the
    # custodians report a day early (new ISIN) and one they report a day late (old ISIN).
    named = ca["refs"].map(lambda r: r[0])
    kinds = {
        "SIM-SPLIT-5": "split SIM-SPLIT-5 (2 for 1)",
        "SIM-RSPLIT-5": "reverse split SIM-RSPLIT-5 (1 for 4)",
        "SIM-DIV-5": "dividend SIM-DIV-5",
        "SIM-ISIN-5-EARLY": "the custodian already reports the new ISIN",
        "SIM-ISIN-5-LATE-": "under the old ISIN",
    }
    for ref, text in kinds.items():
        mine = ca[named.str.startswith(ref)]
        assert len(mine) > 0, ref
        assert mine["explanation"].str.contains(text, regex=False).all(), ref
    assert set(ca.loc[named.eq("SIM-DIV-5"), "measure"]) == {"amount"}
    assert not ca["explanation"].str.contains("unknown", regex=False).any()
    # Matched lines are the great majority and none of them is in the key.
    assert (result.results["outcome"] == "matched").sum() > 10 * len(want)


def test_reloading_is_idempotent_and_a_bad_file_changes_nothing(
    book: tuple[Database, Path, str], tmp_path: Path
) -> None:
    database, out, _ = book

    def counts() -> tuple[int, int, int]:
        with database.session() as s:
            return tuple(
                s.scalar(select(func.count()).select_from(t))
                for t in (Statement, StatementPosition, StatementCash)
            )  # type: ignore[return-value]

    before = counts()
    again = load_files(
        database, sorted(out.glob(PATTERNS["SIM-CUSTODIAN-B"])), "SIM-CUSTODIAN-B", loaded_by=OPS
    )
    assert all(r.duplicate for r in again)
    assert counts() == before
    # A copy of custodian B's positions with one bad number on the last line: refused whole,
    # and the good file given with it in the same call is not stored either.
    src = (out / "sim-custodian-b_positions.csv").read_text(encoding="utf-8").splitlines()
    cells = src[-1].split(";")
    cells[3] = "12,3,4"
    bad = tmp_path / "b_bad.csv"
    bad.write_text("\n".join([*src[:-1], ";".join(cells)]) + "\n", encoding="utf-8")
    good = tmp_path / "b_cash_copy.csv"
    good.write_text((out / "sim-custodian-b_cash.csv").read_text(encoding="utf-8") + "\n", encoding="utf-8")
    with pytest.raises(ImportValidationError) as e:
        load_files(database, [good, bad], "SIM-CUSTODIAN-B", loaded_by=OPS)
    assert [(p.row, p.column) for p in e.value.problems] == [(len(src), "bestand")]
    assert counts() == before
    # An account held at another custodian is refused by the loader (row, field, reason).
    a_lines = (out / "sim-custodian-a_cash.csv").read_text(encoding="utf-8").splitlines()
    with database.session() as s:
        from engine.store.accounts import Account

        b_acct = s.scalars(select(Account.code).where(Account.custodian == "SIM-CUSTODIAN-B")).first()
    wrong = tmp_path / "a_wrong.csv"
    wrong.write_text(
        "\n".join([a_lines[0], f"SIM-CUSTODIAN-A,{b_acct},EUR,1.00,2026-10-30"]) + "\n", encoding="utf-8"
    )
    with pytest.raises(ImportValidationError) as e:
        load_files(database, [wrong], "SIM-CUSTODIAN-A", loaded_by=OPS)
    assert e.value.problems[0].row == 2 and "SIM-CUSTODIAN-B" in e.value.problems[0].reason
    assert counts() == before


def test_cli_run_json_shape_and_summary(
    book: tuple[Database, Path, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    database, out, url = book
    give_passwords(database, OPS)
    monkeypatch.setenv("WORKSTATION_PASSWORD", PASSWORD)
    assert main(["--db", url, "reconcile", "run", "--as-of", "2026-10-30", "--user", OPS, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["as_of"] == "2026-10-30"
    assert doc["lines"] == doc["matched"] + doc["explained"] + doc["open"]
    key = pd.read_csv(out / "answer_key.csv", dtype=str)
    assert len(doc["breaks"]) == len(key)
    b = doc["breaks"][0]
    assert set(b) == {
        "id",
        "type",
        "outcome",
        "custodian",
        "account",
        "security",
        "currency",
        "measure",
        "book",
        "statement",
        "difference",
        "explanation",
        "refs",
    }
    q = next(x for x in doc["breaks"] if x["type"] == "quantity")
    assert q["difference"] == pytest.approx(q["statement"] - q["book"])
    summary = pd.DataFrame(doc["summary"])
    assert set(summary["custodian"]) == set(CUSTODIANS)
    assert summary["open"].sum() == doc["open"] and summary["explained"].sum() == doc["explained"]
    assert summary["matched"].sum() == doc["matched"]
    assert main(["--db", url, "reconcile", "summary", "--as-of", "2026-10-30", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == doc["summary"]
    assert main(["--db", url, "reconcile", "breaks", "--type", "quantity", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {x["id"] for x in listed} == {x["id"] for x in doc["breaks"] if x["type"] == "quantity"}
    assert all(x["age"] == 0 for x in listed)


def test_generator_is_repeatable(book: tuple[Database, Path, str], tmp_path: Path) -> None:
    database, out, _ = book
    again = write_custodian_files(database, tmp_path / "again", seed=5, breaks=0.08)
    for name in ("answer_key.csv", "sim-custodian-c_semt002.xml", "sim-custodian-b_cash.csv"):
        assert (again / name).read_bytes() == (out / name).read_bytes(), name
    shutil.rmtree(again)
