"""The model edit service: validated, permission-checked, audited, versioned; and its CLI."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.audit.verify import verify_chain
from engine.errors import ImportValidationError, PermissionDenied
from engine.portfolio_models import service
from engine.portfolio_models.service import WeightRow, set_weights
from engine.portfolio_models.tables import ModelVersion
from engine.store.accounts import Model, ModelComponent
from engine.store.database import Database
from engine.store.people import AuditEntry
from engine.store.reference import Security


def _rows(*items: tuple[str, str]) -> list[WeightRow]:
    out = []
    for i, (target, w) in enumerate(items):
        kw = {"sub_model": target[6:]} if target.startswith("model:") else {"symbol": target}
        out.append(WeightRow(i + 2, Decimal(w), **kw))
    return out


def _components(db: Database, code: str) -> dict[str, Decimal]:
    with db.session() as s:
        q = (
            select(Security.symbol, ModelComponent.weight)
            .join(ModelComponent, ModelComponent.security_id == Security.id)
            .join(Model, Model.id == ModelComponent.model_id)
            .where(Model.code == code)
        )
        return dict(s.execute(q).all())


def test_pm_sets_weights_each_change_is_a_version_and_audited(book_db: Database) -> None:
    with book_db.transaction() as s:
        r1 = set_weights(s, "pm1", "M1", _rows(("AAA", "0.6"), ("CCC", "0.4")), note="launch")
    with book_db.transaction() as s:
        r2 = set_weights(
            s, "ad1", "M1", _rows(("AAA", "0.5"), ("HKX", "0.25"), ("CCC", "0.25")), note="add HK"
        )
    assert (r1.version, r2.version) == (1, 2) and r1.changed and r2.changed
    assert _components(book_db, "M1") == {
        "AAA": Decimal("0.5"),
        "HKX": Decimal("0.25"),
        "CCC": Decimal("0.25"),
    }
    with book_db.session() as s:
        hist = service.history(s, "M1")
        assert [(h["version"], h["created_by"], h["note"]) for h in hist] == [
            (1, "pm1", "launch"),
            (2, "ad1", "add HK"),
        ]
        assert hist[0]["weights"] == [{"symbol": "AAA", "weight": "0.6"}, {"symbol": "CCC", "weight": "0.4"}]
        assert service.show(s, "M1")["version"] == 2
        audits = s.scalars(
            select(AuditEntry).where(AuditEntry.action == "model.set").order_by(AuditEntry.id)
        ).all()
        assert [(a.username, a.entity_id, a.reason) for a in audits] == [
            ("pm1", "M1", "launch"),
            ("ad1", "M1", "add HK"),
        ]
        assert audits[1].before == {"version": 1, "weights": hist[0]["weights"]}
        assert audits[1].after == {"version": 2, "weights": hist[1]["weights"]}
        assert verify_chain(s).ok


def test_trader_cannot_change_a_model_denied_and_audited(book_db: Database) -> None:
    with pytest.raises(PermissionDenied), book_db.transaction() as s:
        set_weights(s, "tr1", "M1", _rows(("AAA", "1")))
    with book_db.session() as s:
        assert s.scalars(select(ModelVersion)).all() == []
        denied = s.scalars(select(AuditEntry).where(AuditEntry.action == "permission.denied")).all()
        assert [(d.username, d.entity_id) for d in denied] == [("tr1", "models.edit")]
    assert _components(book_db, "M1") == {}


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (
            [("AAA", "0.5"), ("CCC", "0.4")],
            "row 3, column weight: weights of model 'M1' sum to 0.9; they must sum to 1",
        ),
        ([("AAA", "0.5"), ("NOPE", "0.5")], "row 3, column symbol: unknown security 'NOPE'"),
        ([("AAA", "0.5"), ("AAA", "0.5")], "row 3, column symbol: 'AAA' is listed twice (first on row 2)"),
        (
            [("AAA", "1.5"), ("CCC", "-0.5")],
            "row 3, column weight: weight -0.5 must be above 0 and at most 1",
        ),
        ([("model:M1", "1")], "row 2, column sub_model: model 'M1' cannot contain itself"),
        ([("model:ZZ", "1")], "row 2, column sub_model: unknown sub-model 'ZZ'"),
    ],
)
def test_bad_weights_name_row_and_reason_and_change_nothing(
    book_db: Database, rows: list[tuple[str, str]], expected: str
) -> None:
    with pytest.raises(ImportValidationError) as err, book_db.transaction() as s:
        set_weights(s, "pm1", "M1", _rows(*rows))
    assert any(str(p).startswith(expected) for p in err.value.problems), [str(p) for p in err.value.problems]
    with book_db.session() as s:
        assert s.scalars(select(ModelVersion)).all() == []
        assert s.scalars(select(AuditEntry).where(AuditEntry.action == "model.set")).all() == []


def test_a_cycle_through_sub_models_is_refused(book_db: Database) -> None:
    with book_db.transaction() as s:
        set_weights(s, "pm1", "A", _rows(("AAA", "1")))
        set_weights(s, "pm1", "B", _rows(("model:A", "1")))
    with pytest.raises(ImportValidationError) as err, book_db.transaction() as s:
        set_weights(s, "pm1", "A", _rows(("model:B", "1")))
    assert [str(p) for p in err.value.problems] == [
        "row 2, column sub_model: model 'A' would contain itself: A -> B -> A"
    ]
    with book_db.session() as s:
        assert service.show(s, "A")["weights"] == [{"symbol": "AAA", "weight": "1"}]


def test_cli_model_set_show_history(
    book_db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine.access.users import set_password
    from workstation.cli.main import main

    with book_db.transaction() as s:
        for name in ("pm1", "tr1"):
            set_password(s, "ad1", name, "a long password")
    monkeypatch.setenv("WORKSTATION_PASSWORD", "a long password")

    url = book_db.engine.url.render_as_string(hide_password=False)
    f = tmp_path / "m1.csv"
    f.write_text("symbol,weight\nAAA,0.7\nCCC,0.3\n")
    assert (
        main(["--db", url, "model", "set", "M1", str(f), "--user", "pm1", "--note", "first", "--json"]) == 0
    )
    assert json.loads(capsys.readouterr().out) == {
        "code": "M1",
        "version": 1,
        "changed": True,
        "created": False,
    }
    assert main(["--db", url, "model", "show", "M1", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["version"] == 1
    assert shown["weights"] == [{"symbol": "AAA", "weight": "0.7"}, {"symbol": "CCC", "weight": "0.3"}]
    assert main(["--db", url, "model", "set", "M1", str(f), "--user", "tr1"]) == 2
    assert "lacks permission 'models.edit'" in capsys.readouterr().err
    f.write_text("symbol,weight\nAAA,0.7\nXYZ,0.3\n")
    assert main(["--db", url, "model", "set", "M1", str(f), "--user", "pm1"]) == 2
    assert "row 3, column symbol: unknown security 'XYZ'" in capsys.readouterr().err
    assert main(["--db", url, "model", "history", "M1", "--json"]) == 0
    hist = json.loads(capsys.readouterr().out)
    assert [v["version"] for v in hist["versions"]] == [1] and hist["versions"][0]["note"] == "first"


def test_migration_keeps_existing_models_as_version_one(sqlite_url: str) -> None:
    import resources
    from engine.store.migrate import upgrade
    from engine.store.reference_seed import seed_reference

    db = Database(sqlite_url)
    upgrade(db, "0001_foundation")
    with db.transaction() as s:
        seed_reference(s, resources.path("reference"))
        sec = Security(
            symbol="AAA", name="A", asset_class="equity", currency="USD", mic="XNYS", country="US",
            sector="X", issuer="A", esg_flags=[], restricted_client_types=[], restricted_domiciles=[],
            lot_size=1, price_multiplier=Decimal(1),
        )  # fmt: skip
        s.add_all([sec, Model(code="OLD", name="Old"), Model(code="TOP", name="Top")])
        s.flush()
        old, top = (s.scalar(select(Model.id).where(Model.code == c)) for c in ("OLD", "TOP"))
        s.add(ModelComponent(model_id=old, security_id=sec.id, weight=Decimal("1.0")))
        s.add(ModelComponent(model_id=top, sub_model_id=old, weight=Decimal("1")))
    upgrade(db)
    with db.session() as s:
        got = {v.model_code: (v.version, v.weights, v.created_by) for v in s.scalars(select(ModelVersion))}
    assert got == {
        "OLD": (1, [{"symbol": "AAA", "weight": "1"}], "migration"),
        "TOP": (1, [{"sub_model": "OLD", "weight": "1"}], "migration"),
    }
    db.dispose()


def test_model_imports_write_versions_too(book_db: Database, tmp_path: Path) -> None:
    from engine.imports.service import import_file

    f = tmp_path / "models.csv"
    f.write_text("model,symbol,weight\nM1,AAA,60\nM1,CCC,40\nM9,HKX,100\n")
    import_file(book_db, "models", f, username="pm1")
    import_file(book_db, "models", f, username="pm1")  # unchanged: no new version
    f.write_text("model,symbol,weight\nM1,AAA,50\nM1,CCC,50\n")
    import_file(book_db, "models", f, username="ad1")
    with book_db.session() as s:
        m1 = service.history(s, "M1")
        assert [(v["version"], v["created_by"]) for v in m1] == [(1, "pm1"), (2, "ad1")]
        assert m1[1]["weights"] == [{"symbol": "AAA", "weight": "0.5"}, {"symbol": "CCC", "weight": "0.5"}]
        assert [v["version"] for v in service.history(s, "M9")] == [1]
        assert verify_chain(s).ok


def test_deleting_a_model_takes_its_versions(book_db: Database) -> None:
    """A demo rebuild deletes every model with Core deletes: the versions must not block it."""
    from sqlalchemy import delete

    with book_db.transaction() as s:
        set_weights(s, "pm1", "SOLO", _rows(("AAA", "1")))
    with book_db.transaction() as s:
        s.execute(delete(ModelComponent))
        s.execute(delete(Model).where(Model.code == "SOLO"))
    with book_db.session() as s:
        assert s.scalars(select(ModelVersion)).all() == []
