"""Read the ECB's euro foreign exchange reference rates exactly as the ECB publishes them.

Which file it is, is found from its content, not its name:

* `eurofxref-daily.xml` (and the -hist and -hist-90d XML): a gesmes Envelope whose
  Cube/Cube[@time]/Cube[@currency][@rate] hold the rates of each day.
* `eurofxref-hist.zip`: a zip holding one `eurofxref-hist.csv`.
* `eurofxref-hist.csv`: `Date,USD,JPY,...,` with ISO dates, every line ending in a comma (an
  empty last column), and `N/A` where a currency had no rate that day.
* `eurofxref.csv` (the daily CSV): `Date, USD, ...` with `30 October 2026` dates and spaces.

Each rate becomes one row (date, quote, rate) of units of the currency per euro, numbered by its
line in the file; its `column` is where it was (the currency's CSV column, or Cube/@rate).
Problems with the file itself (not a zip, not an ECB envelope, a header that is not `Date,...`)
are problems on row 1. Nothing here touches the store.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from lxml import etree

from engine.errors import Problem
from engine.imports.csvread import FILE

GESMES = "http://www.gesmes.org/xml/2002-08-01"
EUROFXREF = "http://www.ecb.int/vocabulary/2002-08-01/eurofxref"
NOT_AVAILABLE = "N/A"
MAX_UNZIPPED = 64 * 1024 * 1024
"""The history CSV is about 2 MB; a member larger than this is refused rather than inflated."""


@dataclass(frozen=True)
class EcbRate:
    """One published rate as text, with where it stands: its line, and the column (or attribute)
    its date, currency and rate were in."""

    row: int
    day: str
    currency: str
    rate: str
    day_at: str
    currency_at: str
    rate_at: str


@dataclass
class EcbFile:
    """The rates of one ECB file (`rows`), what form of file it was, and the problems met reading it.

    `header` lists a CSV's currency columns: their codes are checked once, on row 1.
    """

    source: str
    form: str = ""
    rows: list[EcbRate] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    header: tuple[str, ...] = ()


def read_ecb(path: Path) -> EcbFile:
    """Every rate of an ECB file; a file we cannot read gives problems and no rates."""
    out = EcbFile(path.name)
    try:
        data = path.read_bytes()
    except OSError as exc:
        out.problems.append(Problem(1, FILE, f"cannot read the file: {exc.strerror}"))
        return out
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:64]
    if data.startswith(b"PK\x03\x04"):
        _read_zip(data, out)
    elif head.startswith(b"<"):
        _read_xml(data, out)
    elif head[:4].lower() == b"date":
        _read_csv(data, out, "eurofxref-hist.csv")
    else:
        out.problems.append(
            Problem(
                1,
                FILE,
                "not an ECB reference rate file: expected eurofxref-daily.xml (gesmes XML), "
                "eurofxref-hist.zip, or a CSV whose header starts with 'Date'",
            )
        )
    return out


def _read_zip(data: bytes, out: EcbFile) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [m for m in archive.infolist() if not m.is_dir()]
    except zipfile.BadZipFile as exc:
        out.problems.append(Problem(1, FILE, f"not a readable zip file: {exc}"))
        return
    csvs = [m for m in members if m.filename.lower().endswith(".csv")]
    if len(csvs) != 1:
        names = ", ".join(m.filename for m in members) or "nothing"
        out.problems.append(Problem(1, FILE, f"the zip should hold one eurofxref-hist.csv; it holds {names}"))
        return
    member = csvs[0]
    if member.file_size > MAX_UNZIPPED:
        out.problems.append(
            Problem(1, FILE, f"{member.filename} unzips to {member.file_size:,} bytes; too large")
        )
        return
    out.source = f"{out.source}:{member.filename}"
    _read_csv(archive.read(member), out, "eurofxref-hist.zip")


def _read_csv(data: bytes, out: EcbFile, form: str) -> None:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        out.problems.append(Problem(1, FILE, f"file is not UTF-8 text ({exc.reason} at byte {exc.start})"))
        return
    records = list(csv.reader(io.StringIO(text, newline="")))
    if not records:
        out.problems.append(Problem(1, FILE, "file is empty: expected a header row starting with 'Date'"))
        return
    header = [h.strip() for h in records[0]]
    if header[0].lower() != "date":
        out.problems.append(Problem(1, FILE, f"the first column is {header[0]!r}, not 'Date'"))
        return
    # The ECB ends every line with a comma: the last header cell is empty, and so is each value.
    while header and header[-1] == "":
        header.pop()
    currencies = header[1:]
    out.header = tuple(currencies)
    for i, code in enumerate(currencies):
        if not code:
            out.problems.append(Problem(1, f"column {i + 2}", "a currency column has no name"))
        elif code in currencies[:i]:
            out.problems.append(Problem(1, code, f"currency {code!r} has two columns"))
    daily = False
    for number, cells in enumerate(records[1:], start=2):
        cells = [c.strip() for c in cells]
        while len(cells) > len(header) and cells[-1] == "":
            cells.pop()
        if not any(cells):
            continue
        if len(cells) != len(header):
            out.problems.append(
                Problem(number, FILE, f"row has {len(cells)} values but the header has {len(header)} columns")
            )
            continue
        day = cells[0]
        if day[:1].isdigit() and day[4:5] != "-":
            # The daily CSV writes "30 October 2026".
            try:
                day = datetime.strptime(day, "%d %B %Y").date().isoformat()
                daily = True
            except ValueError:
                pass
        for code, value in zip(currencies, cells[1:]):
            if value != NOT_AVAILABLE and value != "":
                out.rows.append(EcbRate(number, day, code, value, header[0], code, code))
    out.form = "eurofxref.csv" if daily and form == "eurofxref-hist.csv" else form


def _read_xml(data: bytes, out: EcbFile) -> None:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        out.problems.append(Problem(exc.lineno or 1, "(xml)", f"not well-formed XML: {exc.msg}"))
        return
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        out.problems.append(Problem(1, "(xml)", "a DOCTYPE (DTD or entities) is not accepted"))
        return
    if root.tag != f"{{{GESMES}}}Envelope":
        out.problems.append(
            Problem(
                root.sourceline or 1,
                "(xml)",
                f"the root element is {root.tag!r}, not the ECB's gesmes Envelope",
            )
        )
        return
    outer = root.find(f"{{{EUROFXREF}}}Cube")
    if outer is None:
        out.problems.append(Problem(root.sourceline or 1, "Cube", "the envelope has no Cube of rates"))
        return
    out.form = "eurofxref-daily.xml"
    days = outer.findall(f"{{{EUROFXREF}}}Cube")
    if len(days) > 1:
        out.form = "eurofxref-hist.xml"
    for day_cube in days:
        day = day_cube.get("time")
        if day is None:
            out.problems.append(Problem(day_cube.sourceline or 1, "Cube/@time", "a day's Cube has no time"))
            continue
        for rate in day_cube.findall(f"{{{EUROFXREF}}}Cube"):
            line = rate.sourceline or 1
            code, value = rate.get("currency"), rate.get("rate")
            if not code or value is None:
                out.problems.append(Problem(line, "Cube", "a rate Cube needs both currency and rate"))
                continue
            out.rows.append(
                EcbRate(line, day, code.strip(), value.strip(), "Cube/@time", "Cube/@currency", "Cube/@rate")
            )
