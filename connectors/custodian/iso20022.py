"""ISO 20022 statements: semt.002 (custody holdings) and camt.053 (cash), parsed with a real XML parser.

The document is first validated against the message structure (the subset schemas in
resources/custodian, with xmlschema); any violation refuses the whole file with the element's
line and path. Then xml.etree reads the values. Safekeeping and cash account ids are mapped
to ours through the custodian's profile. semt.002 may carry many accounts as sub-accounts
(SubAcctDtls, SubAcctInd=true) under one omnibus safekeeping account.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from xml.parsers import expat

import xmlschema

from connectors.custodian.fields import FieldError, parse_currency, parse_identifier
from connectors.custodian.profile import PROFILE_DIR, Profile
from engine.errors import ImportValidationError, Problem
from engine.reconcile.statement import CashLine, ParsedStatement, PositionLine

SEMT = "urn:iso:std:iso:20022:tech:xsd:semt.002.001.11"
CAMT = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
SCHEMAS = {SEMT: "semt.002.001.11-subset.xsd", CAMT: "camt.053.001.08-subset.xsd"}
# OthrId/Tp/Cd (ExternalFinancialInstrumentIdentificationType1Code) -> our id kind.
OTHER_ID_CODES = {"CUSP": "CUSIP", "SEDL": "SEDOL", "TICK": "TICKER"}
CLOSING_BOOKED = "CLBD"


@lru_cache(maxsize=4)
def _schema(namespace: str) -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(PROFILE_DIR / SCHEMAS[namespace]))


class _Tree:
    """A parsed document and the source line of each element (expat reports it while building)."""

    def __init__(self, source: str, data: bytes) -> None:
        builder = ET.TreeBuilder()
        parser = expat.ParserCreate(namespace_separator="}")
        self.lines: dict[int, int] = {}

        def tag(name: str) -> str:
            return "{" + name if "}" in name else name

        def start(name: str, attrs: dict[str, str]) -> None:
            elem = builder.start(tag(name), attrs)
            self.lines[id(elem)] = parser.CurrentLineNumber

        parser.StartElementHandler = start
        parser.EndElementHandler = lambda name: builder.end(tag(name))
        parser.CharacterDataHandler = builder.data
        try:
            parser.Parse(data, True)
        except expat.ExpatError as exc:
            raise ImportValidationError(
                source,
                [Problem(exc.lineno or 1, "(xml)", f"not well-formed XML: {expat.ErrorString(exc.code)}")],
            ) from None
        self.root: ET.Element = builder.close()

    def line(self, elem: ET.Element | None) -> int:
        return self.lines.get(id(elem), 1) if elem is not None else 1


def _validate(source: str, tree: _Tree, namespace: str) -> None:
    problems = []
    for err in _schema(namespace).iter_errors(tree.root):
        elem = err.elem if isinstance(err.elem, ET.Element) else None
        problems.append(Problem(tree.line(elem), err.path or "(document)", err.reason or str(err.message)))
        if len(problems) >= 50:
            break
    if problems:
        raise ImportValidationError(source, problems)


def message_namespace(data: bytes) -> str | None:
    """The Document namespace when the file is a semt.002 or camt.053 we read, else None."""
    try:
        for _event, elem in ET.iterparse(io.BytesIO(data), events=("start",)):
            ns = elem.tag[1:].split("}")[0] if elem.tag.startswith("{") else ""
            return ns if ns in SCHEMAS else None
    except ET.ParseError:
        return None
    return None


def read_iso_statement(path: Path, profile: Profile, data: bytes | None = None) -> ParsedStatement:
    """Parse a semt.002 or camt.053 file for `profile.name`; refuses it whole on any problem."""
    source = path.name
    raw = data if data is not None else path.read_bytes()
    tree = _Tree(source, raw)
    root = tree.root
    ns = root.tag[1:].split("}")[0] if root.tag.startswith("{") else ""
    if ns not in SCHEMAS:
        raise ImportValidationError(
            source,
            [Problem(1, "Document", f"namespace {ns!r} is neither semt.002.001.11 nor camt.053.001.08")],
        )
    _validate(source, tree, ns)
    if ns == SEMT:
        return _semt002(source, tree, profile)
    return _camt053(source, tree, profile)


def _q(ns: str, path: str) -> str:
    return "/".join(f"{{{ns}}}{p}" for p in path.split("/"))


def _map_account(problems: list[Problem], profile: Profile, line: int, theirs: str, field: str) -> str | None:
    ours = profile.accounts.ours(theirs)
    if ours is None:
        problems.append(Problem(line, field, f"custodian account {theirs!r} is not mapped to one of ours"))
    return ours


def _semt002(source: str, tree: _Tree, profile: Profile) -> ParsedStatement:
    ns = SEMT
    _line = tree.line
    rpt = tree.root.find(_q(ns, "SctiesBalCtdyRpt"))
    assert rpt is not None  # the schema requires it
    gen = rpt.find(_q(ns, "StmtGnlDtls"))
    assert gen is not None
    problems: list[Problem] = []
    basis = gen.findtext(_q(ns, "StmtBsis/Cd"))
    if basis != "SETT":
        problems.append(
            Problem(
                _line(gen),
                "StmtGnlDtls/StmtBsis",
                f"statement basis {basis!r}: only settled (SETT) is reconciled",
            )
        )
    d = gen.findtext(_q(ns, "StmtDtTm/Dt")) or (gen.findtext(_q(ns, "StmtDtTm/DtTm")) or "")[:10]
    as_of = date.fromisoformat(d)
    omnibus = rpt.find(_q(ns, "SfkpgAcct/Id"))
    assert omnibus is not None
    groups: list[tuple[ET.Element, str, list[ET.Element]]] = []
    top = rpt.findall(_q(ns, "BalForAcct"))
    if top:
        groups.append((omnibus, (omnibus.text or "").strip(), top))
    for sub in rpt.findall(_q(ns, "SubAcctDtls")):
        acct = sub.find(_q(ns, "SfkpgAcct/Id"))
        assert acct is not None
        groups.append((acct, (acct.text or "").strip(), sub.findall(_q(ns, "BalForSubAcct"))))
    positions: list[PositionLine] = []
    for acct_elem, theirs, balances in groups:
        ours = _map_account(problems, profile, _line(acct_elem), theirs, "SfkpgAcct/Id")
        for bal in balances:
            line = _line(bal)
            ident = _identifier(problems, ns, bal, line)
            unit = bal.findtext(_q(ns, "AggtBal/Qty/Qty/Unit")) or bal.findtext(
                _q(ns, "AggtBal/Qty/Qty/FaceAmt")
            )
            if unit is None:
                problems.append(Problem(line, "AggtBal/Qty", "a proprietary quantity cannot be reconciled"))
                continue
            qty = Decimal(unit)
            if bal.findtext(_q(ns, "AggtBal/ShrtLngInd")) == "SHOR":
                qty = -qty
            ccy, mv = None, None
            for amounts in ("InstrmCcyAmts", "AcctBaseCcyAmts"):
                amt = bal.find(_q(ns, f"{amounts}/HldgVal/Amt"))
                if amt is not None:
                    try:
                        ccy = parse_currency(amt.get("Ccy", ""))
                    except FieldError as exc:
                        problems.append(Problem(_line(amt), f"{amounts}/HldgVal/Amt/@Ccy", str(exc)))
                    mv = Decimal((amt.text or "0").strip())
                    if bal.findtext(_q(ns, f"{amounts}/HldgVal/Sgn")) == "false":
                        mv = -mv
                    break
            if ours and ident:
                positions.append(PositionLine(line, theirs, ours, ident[0], ident[1], qty, ccy, mv))
    if problems:
        raise ImportValidationError(source, problems)
    return ParsedStatement(profile.name, "semt.002", "positions", as_of, positions=tuple(positions))


def _identifier(problems: list[Problem], ns: str, bal: ET.Element, line: int) -> tuple[str, str] | None:
    fid = bal.find(_q(ns, "FinInstrmId"))
    assert fid is not None
    isin = fid.findtext(_q(ns, "ISIN"))
    try:
        if isin:
            return parse_identifier(isin, "ISIN")
        for other in fid.findall(_q(ns, "OthrId")):
            code = other.findtext(_q(ns, "Tp/Cd"))
            if code in OTHER_ID_CODES:
                return parse_identifier(other.findtext(_q(ns, "Id")) or "", OTHER_ID_CODES[code])
    except FieldError as exc:
        problems.append(Problem(line, "FinInstrmId", str(exc)))
        return None
    problems.append(Problem(line, "FinInstrmId", "no ISIN, and no OthrId of type CUSP, SEDL or TICK"))
    return None


def _camt053(source: str, tree: _Tree, profile: Profile) -> ParsedStatement:
    ns = CAMT
    _line = tree.line
    root = tree.root
    problems: list[Problem] = []
    cash: list[CashLine] = []
    dates: set[date] = set()
    for stmt in root.findall(_q(ns, "BkToCstmrStmt/Stmt")):
        acct = stmt.find(_q(ns, "Acct/Id/Othr/Id"))
        if acct is None:
            acct = stmt.find(_q(ns, "Acct/Id/IBAN"))
        assert acct is not None
        theirs = (acct.text or "").strip()
        ours = _map_account(problems, profile, _line(acct), theirs, "Acct/Id")
        closing = [
            b for b in stmt.findall(_q(ns, "Bal")) if b.findtext(_q(ns, "Tp/CdOrPrtry/Cd")) == CLOSING_BOOKED
        ]
        if len(closing) != 1:
            problems.append(
                Problem(
                    _line(stmt),
                    "Stmt/Bal",
                    f"needs exactly one closing booked (CLBD) balance, found {len(closing)}",
                )
            )
            continue
        bal = closing[0]
        amt = bal.find(_q(ns, "Amt"))
        assert amt is not None
        try:
            ccy = parse_currency(amt.get("Ccy", ""))
        except FieldError as exc:
            problems.append(Problem(_line(amt), "Bal/Amt/@Ccy", str(exc)))
            continue
        acct_ccy = stmt.findtext(_q(ns, "Acct/Ccy"))
        if acct_ccy and acct_ccy != ccy:
            problems.append(
                Problem(_line(amt), "Bal/Amt/@Ccy", f"{ccy} differs from the account currency {acct_ccy}")
            )
        amount = Decimal((amt.text or "0").strip())
        if bal.findtext(_q(ns, "CdtDbtInd")) == "DBIT":
            amount = -amount
        d = bal.findtext(_q(ns, "Dt/Dt")) or (bal.findtext(_q(ns, "Dt/DtTm")) or "")[:10]
        dates.add(date.fromisoformat(d))
        if ours:
            cash.append(CashLine(_line(stmt), theirs, ours, ccy, amount))
    if len(dates) > 1:
        problems.append(Problem(1, "Bal/Dt", f"one statement date per file, found {sorted(map(str, dates))}"))
    if problems:
        raise ImportValidationError(source, problems)
    if not dates:
        raise ImportValidationError(source, [Problem(1, "Stmt", "no statements")])
    return ParsedStatement(profile.name, "camt.053", "cash", dates.pop(), cash=tuple(cash))
