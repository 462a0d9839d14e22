"""The ISO 20022 message versions the workstation reads, detected from the Document's namespace.

Custodians and banks send whichever version their platform speaks: camt.053.001.02 is still the
most common bank statement, .04 and .08 follow SWIFT's yearly releases, and .10 to .14 are current.
Every camt.053 version here is validated against ISO's own schema (resources/custodian/iso20022).
semt.002 changed its root element at version 3 (CustodyStatementOfHoldingsV02 became
SecuritiesBalanceCustodyReportV03); no reachable registry ships its schemas, so the reader checks
the elements it reads itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.errors import ImportValidationError, Problem

PREFIX = "urn:iso:std:iso:20022:tech:xsd:"
SCHEMA_DIR = Path(__file__).resolve().parents[2] / "resources" / "custodian" / "iso20022"


@dataclass(frozen=True)
class MessageVersion:
    """One message version: `camt.053` version 8 is `camt.053.001.08`."""

    message: str  # "camt.053" or "semt.002"
    name: str  # "camt.053.001.08"
    number: int  # 8
    report: str  # the Document's only child: BkToCstmrStmt, SctiesBalCtdyRpt, CtdyStmtOfHldgsV02
    schema: Path | None  # ISO's XSD, when we ship it

    @property
    def namespace(self) -> str:
        return PREFIX + self.name


def _camt053(n: int) -> MessageVersion:
    name = f"camt.053.001.{n:02d}"
    return MessageVersion("camt.053", name, n, "BkToCstmrStmt", SCHEMA_DIR / f"{name}.xsd")


def _semt002(n: int, variant: str = "001") -> MessageVersion:
    report = "CtdyStmtOfHldgsV02" if n == 2 else "SctiesBalCtdyRpt"
    return MessageVersion("semt.002", f"semt.002.{variant}.{n:02d}", n, report, None)


CAMT053 = tuple(_camt053(n) for n in range(2, 15))
SEMT002 = (*(_semt002(n) for n in range(2, 13)), _semt002(11, "002"))
VERSIONS: dict[str, MessageVersion] = {v.namespace: v for v in (*CAMT053, *SEMT002)}
SUPPORTED = "camt.053.001.02 to .14, semt.002.001.02 to .12 and semt.002.002.11"


def detect(source: str, namespace: str, line: int = 1) -> MessageVersion:
    """The version a Document namespace names; one clear problem naming it when we do not read it."""
    found = VERSIONS.get(namespace)
    if found is not None:
        return found
    name = namespace.removeprefix(PREFIX)
    if name.startswith(("camt.053.", "semt.002.")):
        reason = (
            f"{name[:8]} version {name!r} (namespace {namespace!r}) is not one we read; we read {SUPPORTED}"
        )
    elif namespace:
        reason = f"namespace {namespace!r} is not a camt.053 or semt.002 message; we read {SUPPORTED}"
    else:
        reason = f"the Document has no ISO 20022 namespace; we read {SUPPORTED}"
    raise ImportValidationError(source, [Problem(line, "Document/@xmlns", reason)])
