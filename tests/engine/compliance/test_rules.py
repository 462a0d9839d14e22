"""Rules are data: versioned, effective-dated, assigned by scope, validated, and every change audited."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from engine.compliance.checker import run_check
from engine.compliance.rules import assign_rule, rules_in_force, save_rule
from engine.compliance.tables import RuleVersion
from engine.compliance.templates import RuleDefinitionError
from engine.ports import OrderIntent
from engine.store.database import Database
from engine.store.people import AuditEntry

D = date(2026, 10, 30)


def test_seeded_rule_set_covers_every_template(minibook: Database) -> None:
    from engine.compliance.templates import TEMPLATES

    with minibook.session() as s:
        rules = rules_in_force(s, D)
    assert len(rules) == 23 and {r.template for r in rules} == set(TEMPLATES)
    assert {r.severity for r in rules} == {"hard", "soft", "info"}


def test_new_version_takes_effect_on_its_date_and_old_one_stays(book_db: Database) -> None:
    with book_db.transaction() as s:
        save_rule(
            s,
            "co1",
            "SEC-WEIGHT",
            "security_weight_max",
            "hard",
            {"max_weight": 0.6},
            date(2026, 10, 15),
            "tighter desk policy",
        )
        save_rule(
            s,
            "co1",
            "SEC-WEIGHT",
            "security_weight_max",
            "soft",
            {"max_weight": 0.05},
            date(2026, 12, 1),
            "next month",
        )
    with book_db.session() as s:
        by_day = {
            d: next(r for r in rules_in_force(s, d) if r.code == "SEC-WEIGHT")
            for d in (date(2026, 10, 1), D, date(2026, 12, 2))
        }
        versions = s.scalars(select(RuleVersion.version).where(RuleVersion.code == "SEC-WEIGHT")).all()
        audit = s.scalars(select(AuditEntry).where(AuditEntry.action == "rule.save")).all()
    assert (by_day[date(2026, 10, 1)].version, by_day[date(2026, 10, 1)].params["max_weight"]) == (1, 0.1)
    assert (by_day[D].version, by_day[D].severity, by_day[D].params["max_weight"]) == (2, "hard", 0.6)
    assert by_day[date(2026, 12, 2)].version == 3
    assert sorted(versions) == [1, 2, 3]
    assert audit[0].before == {"version": 1, "severity": "soft", "params": {"max_weight": 0.1}}
    assert audit[0].after["params"] == {"max_weight": 0.6} and audit[0].reason == "tighter desk policy"


def test_retiring_and_scoped_assignment(book_db: Database) -> None:
    with book_db.transaction() as s:
        save_rule(s, "co1", "KYC", "kyc_sell_only", "hard", {}, D, "moved to account level", retire=True)
        save_rule(s, "co1", "G1-ONLY", "order_quantity_max", "hard", {"max_quantity": 3}, D, "tiny account",
                  assign=[("account", "G1")])  # fmt: skip
        assign_rule(s, "co1", "G1-ONLY", "model", "M1", D, "and model M1")
    with book_db.session() as s:
        codes = {r.code for r in rules_in_force(s, D)}
        assert "KYC" not in codes and "G1-ONLY" in codes
        orders = [OrderIntent("G1", "CCC", "sell", Decimal(5)), OrderIntent("U1", "AAA", "sell", Decimal(5))]
        run = run_check(s, orders)
        u2 = run_check(s, [OrderIntent("G1", "CCC", "sell", Decimal(2))])
    qty = [r for r in run.rules if r.code == "G1-ONLY"]
    assert len(qty) == 1 and qty[0].assignments == (("account", "G1"), ("model", "M1"))
    assert [res["outcome"] for res in run.results(0) if res["rule"] == "G1-ONLY"] == ["block"]
    assert [res["outcome"] for res in run.results(1) if res["rule"] == "G1-ONLY"] == [
        "block"
    ]  # U1 is on model M1
    assert [res["outcome"] for res in u2.results(0) if res["rule"] == "G1-ONLY"] == ["pass"]


@pytest.mark.parametrize(
    ("template", "severity", "params", "match"),
    [
        ("no_such", "hard", {}, "unknown template"),
        ("fat_finger", "hard", {}, "required"),
        ("fat_finger", "hard", {"max_pct": "ten"}, "number"),
        ("fat_finger", "hard", {"max_pct": 0.1, "typo": 1}, "unknown parameter"),
        ("fat_finger", "severe", {"max_pct": 0.1}, "severity"),
        ("esg_exclusion", "hard", {"flags": "tobacco"}, "list"),
    ],
)
def test_bad_rule_definitions_are_refused_and_nothing_is_written(
    minibook: Database, template: str, severity: str, params: dict[str, object], match: str
) -> None:
    with pytest.raises(RuleDefinitionError, match=match), minibook.transaction() as s:
        save_rule(s, "co1", "BAD", template, severity, params, D, "test")
    with minibook.session() as s:
        assert s.scalar(select(RuleVersion.id).where(RuleVersion.code == "BAD")) is None


def _save(s, who: str, cap: float, seen: int | None = None) -> None:  # type: ignore[no-untyped-def]
    save_rule(s, who, "SEC-WEIGHT", "security_weight_max", "hard", {"max_weight": cap}, D, "desk policy",
              expected_version=seen)  # fmt: skip


def _caps(db: Database) -> list[tuple[int, float]]:
    with db.session() as s:
        rows = s.execute(
            select(RuleVersion.version, RuleVersion.params).where(RuleVersion.code == "SEC-WEIGHT")
        )
        return sorted((v, p["max_weight"]) for v, p in rows)


def test_a_rule_edited_from_a_stale_version_is_refused(book_db: Database) -> None:
    from engine.shared.errors import ConcurrentChange

    with book_db.transaction() as s:
        _save(s, "co1", 0.2, seen=1)  # both reviewers saw version 1; the first save wins
    with pytest.raises(ConcurrentChange, match="at version 2"), book_db.transaction() as s:
        _save(s, "co1", 0.3, seen=1)
    assert _caps(book_db) == [(1, 0.1), (2, 0.2)]


@pytest.mark.postgres
def test_two_desks_saving_the_same_rule_at_once_one_wins(book_db: Database) -> None:
    """Both read version 1 and write version 2; the (code, version) key makes the second lose."""
    import threading

    from engine.shared.errors import ConcurrentChange

    if book_db.dialect != "postgresql":
        pytest.skip("SQLite serialises writers: the second waits, then reads the first's version")
    second = Database(book_db.url)
    written, commit = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        with book_db.transaction() as s:
            _save(s, "co1", 0.4)
            written.set()
            commit.wait(10)

    def other() -> None:
        try:
            with second.transaction() as s:
                _save(s, "co1", 0.5)  # reads version 1, then waits on the first desk's key
        except BaseException as exc:
            errors.append(exc)

    a = threading.Thread(target=first)
    a.start()
    assert written.wait(10)
    b = threading.Thread(target=other)
    b.start()
    b.join(1.0)  # blocked on the unique key until the first commits
    commit.set()
    a.join(10)
    b.join(10)
    second.dispose()
    assert len(errors) == 1 and isinstance(errors[0], ConcurrentChange), errors
    assert _caps(book_db) == [(1, 0.1), (2, 0.4)]
