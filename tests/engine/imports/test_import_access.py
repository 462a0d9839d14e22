"""Imports into a book with users are permission-checked: models need models.edit (a trader cannot
change a model, not even through a CSV import), the other kinds book.import (admins). A refusal is
PermissionDenied, audited, and writes nothing; an allowed import is audited and model versions name
the signed-in user. A book without users is loaded without a user (as `import`)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.audit.verify import verify_chain
from engine.errors import PermissionDenied
from engine.imports.access import SignInRequired
from engine.imports.service import import_file
from engine.portfolio_models import service
from engine.portfolio_models.tables import ModelVersion
from engine.store.accounts import Model, ModelComponent
from engine.store.database import Database
from engine.store.market import PriceBar
from engine.store.people import AuditEntry

MODELS = "model,model_name,symbol,sub_model,weight\nTOP,Top,AAA,,60\nTOP,,,SUB,40\nSUB,Sub,CCC,,100\n"
PRICES = "symbol,date,close\nAAA,2026-10-31,101.5\n"


def write(tmp: Path, name: str, text: str) -> Path:
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    return path


def audit_after(db: Database, last: int) -> list[tuple[str, str, str | None]]:
    with db.session() as s:
        rows = s.execute(
            select(AuditEntry.action, AuditEntry.username, AuditEntry.entity_id)
            .where(AuditEntry.id > last)
            .order_by(AuditEntry.id)
        ).all()
        return [tuple(r) for r in rows]  # type: ignore[misc]


def last_audit(db: Database) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.max(AuditEntry.id))) or 0)


def book_state(db: Database) -> tuple[object, ...]:
    """What these imports could change: models, their components and versions, prices."""
    with db.session() as s:
        return (
            sorted(s.execute(select(Model.code, Model.name)).all()),
            sorted(s.execute(select(ModelComponent.model_id, ModelComponent.weight)).all()),
            s.scalar(select(func.count()).select_from(ModelVersion)),
            sorted(s.execute(select(PriceBar.security_id, PriceBar.date)).all()),
        )


@pytest.mark.parametrize(
    ("who", "kind", "text", "permission"),
    [
        ("tr1", "models", MODELS, "models.edit"),  # a trader cannot change a model
        ("co1", "models", MODELS, "models.edit"),
        ("pm1", "prices", PRICES, "book.import"),  # a PM does not load the book of record
        ("tr1", "prices", PRICES, "book.import"),
        ("nobody", "prices", PRICES, "book.import"),
    ],
)
def test_import_without_the_permission_is_refused_audited_and_writes_nothing(
    book_db: Database, tmp_path: Path, who: str, kind: str, text: str, permission: str
) -> None:
    before, last = book_state(book_db), last_audit(book_db)
    with pytest.raises(PermissionDenied) as err:
        import_file(book_db, kind, write(tmp_path, f"{kind}.csv", text), username=who)
    assert (err.value.user, err.value.permission) == (who, permission)
    assert audit_after(book_db, last) == [("permission.denied", who, permission)]
    assert book_state(book_db) == before
    with book_db.session() as s:
        assert verify_chain(s).ok


@pytest.mark.parametrize(("kind", "text"), [("models", MODELS), ("prices", PRICES)])
def test_import_without_a_user_into_a_book_with_users_is_refused(
    book_db: Database, tmp_path: Path, kind: str, text: str
) -> None:
    before, last = book_state(book_db), last_audit(book_db)
    with pytest.raises(SignInRequired, match=r"this book has users.*--user"):
        import_file(book_db, kind, write(tmp_path, f"{kind}.csv", text))
    [(action, user, perm)] = audit_after(book_db, last)
    assert (action, user) == ("permission.denied", "import")
    assert perm == ("models.edit" if kind == "models" else "book.import")
    assert book_state(book_db) == before


def test_pm_imports_models_through_the_model_service(book_db: Database, tmp_path: Path) -> None:
    """TOP names SUB before SUB's own rows: SUB is written first, then TOP; one version each, by pm1."""
    last = last_audit(book_db)
    result = import_file(book_db, "models", write(tmp_path, "models.csv", MODELS), username="pm1")
    assert (result.rows, result.inserted, result.updated, result.unchanged) == (3, 3, 0, 0)
    with book_db.session() as s:
        top, sub = service.history(s, "TOP"), service.history(s, "SUB")
        assert [(v["version"], v["created_by"], v["note"]) for v in top] == [(1, "pm1", "import models.csv")]
        assert top[0]["weights"] == [
            {"symbol": "AAA", "weight": "0.6"},
            {"sub_model": "SUB", "weight": "0.4"},
        ]
        assert [(v["version"], v["created_by"]) for v in sub] == [(1, "pm1")]
        assert service.show(s, "TOP")["name"] == "Top"
        assert verify_chain(s).ok
    assert audit_after(book_db, last) == [
        ("model.set", "pm1", "SUB"),
        ("model.set", "pm1", "TOP"),
        ("import.models", "pm1", "models.csv"),
    ]
    # The same file again changes nothing: no version, no audit entry.
    again = import_file(book_db, "models", write(tmp_path, "models.csv", MODELS), username="pm1")
    assert (again.unchanged, again.inserted, again.updated) == (3, 0, 0)
    assert len(audit_after(book_db, last)) == 3
    # New weights for TOP only (SUB dropped from it): one new version, one component removed.
    text = "model,symbol,weight\nTOP,AAA,50\nTOP,AAB,50\n"
    changed = import_file(book_db, "models", write(tmp_path, "models.csv", text), username="ad1")
    assert (changed.inserted, changed.updated, changed.unchanged, changed.removed) == (1, 1, 0, 1)
    with book_db.session() as s:
        assert [(v["version"], v["created_by"]) for v in service.history(s, "TOP")] == [
            (1, "pm1"),
            (2, "ad1"),
        ]


def test_admin_imports_prices_and_the_import_is_audited(book_db: Database, tmp_path: Path) -> None:
    last = last_audit(book_db)
    result = import_file(book_db, "prices", write(tmp_path, "prices.csv", PRICES), username="ad1")
    assert result.inserted == 1
    [(action, user, source)] = audit_after(book_db, last)
    assert (action, user, source) == ("import.prices", "ad1", "prices.csv")


def test_a_cycle_through_the_file_and_the_store_is_refused(book_db: Database, tmp_path: Path) -> None:
    """One cycle search (engine.portfolio_models.graph) for the service and the import."""
    from engine.errors import ImportValidationError

    import_file(book_db, "models", write(tmp_path, "m.csv", MODELS), username="pm1")
    text = "model,symbol,sub_model,weight\nSUB,,TOP,100\n"
    with pytest.raises(ImportValidationError) as err:
        import_file(book_db, "models", write(tmp_path, "m.csv", text), username="pm1")
    [p] = err.value.problems
    assert (p.row, p.column) == (2, "sub_model") and "SUB -> TOP -> SUB" in p.reason
    with book_db.transaction() as s, pytest.raises(ImportValidationError) as err2:
        service.set_weights(s, "pm1", "SUB", [service.WeightRow(2, Decimal(1), sub_model="TOP")])
    assert "SUB -> TOP -> SUB" in err2.value.problems[0].reason


def test_a_zero_weight_row_is_refused(book_db: Database, tmp_path: Path) -> None:
    from engine.errors import ImportValidationError

    text = "model,symbol,weight\nZ,AAA,100\nZ,AAB,0\n"
    with pytest.raises(ImportValidationError) as err:
        import_file(book_db, "models", write(tmp_path, "m.csv", text), username="pm1")
    [p] = err.value.problems
    assert (p.row, p.column) == (3, "weight") and "above 0" in p.reason


def test_a_book_without_users_is_loaded_without_a_user(database: Database, tmp_path: Path) -> None:
    """A new book: nobody to check yet. Imports run as `import` (audited); a user name is refused."""
    secs = "symbol,name,asset_class,currency,mic,country,sector\nAAA,A,equity,USD,XNYS,US,Information Technology\n"
    import_file(database, "securities", write(tmp_path, "s.csv", secs))
    result = import_file(database, "models", write(tmp_path, "m.csv", "model,symbol,weight\nM,AAA,100\n"))
    assert result.inserted == 1
    with database.session() as s:
        assert [(v["version"], v["created_by"]) for v in service.history(s, "M")] == [(1, "import")]
        actions = [a for a, u in s.execute(select(AuditEntry.action, AuditEntry.username)) if u == "import"]
        assert actions == ["import.securities", "model.set", "import.models"]
    with pytest.raises(PermissionDenied):
        import_file(database, "prices", write(tmp_path, "p.csv", PRICES), username="ghost")


def test_cli_import_signs_the_user_in(
    book_db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`workstation import KIND FILE --user NAME`: signed in with the password; refusals exit 2."""
    from engine.access.users import set_password
    from workstation.cli.main import main

    with book_db.transaction() as s:
        for name in ("pm1", "tr1"):
            set_password(s, "ad1", name, "a long password")
    monkeypatch.setenv("WORKSTATION_PASSWORD", "a long password")
    url = book_db.engine.url.render_as_string(hide_password=False)
    f = write(tmp_path, "models.csv", MODELS)
    before = book_state(book_db)
    assert main(["--db", url, "import", "models", str(f)]) == 2
    assert "this book has users" in capsys.readouterr().err
    assert main(["--db", url, "import", "models", str(f), "--user", "tr1"]) == 2
    assert "lacks permission 'models.edit'" in capsys.readouterr().err
    assert book_state(book_db) == before
    assert main(["--db", url, "import", "models", str(f), "--user", "pm1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["inserted"] == 3
    monkeypatch.setenv("WORKSTATION_PASSWORD", "wrong password!")
    assert main(["--db", url, "import", "models", str(f), "--user", "pm1"]) == 2
    assert "wrong user name or password" in capsys.readouterr().err
