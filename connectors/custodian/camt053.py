"""camt.053 (BankToCustomerStatement), versions .02 to .14: each account's closing booked balance.

The document has been validated against ISO's schema of its own version first, so every path read
here exists where the schema says. From .02 on the parts read are the same in every version:
Stmt/Acct/Id (IBAN or Othr/Id), Acct/Ccy, and Bal with Tp/CdOrPrtry/Cd, Amt/@Ccy, CdtDbtInd, Dt.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import lru_cache

from connectors.custodian.fields import FieldError, parse_currency
from connectors.custodian.iso_versions import MessageVersion
from connectors.custodian.profile import Profile
from connectors.custodian.xmltree import Tree
from engine.errors import ImportValidationError, Problem
from engine.reconcile.statement import CashLine, ParsedStatement

CLOSING_BOOKED = "CLBD"


@lru_cache(maxsize=256)
def q(ns: str, path: str) -> str:
    """A namespaced ElementPath (built once per path)."""
    return "/".join(f"{{{ns}}}{p}" for p in path.split("/"))


def read_camt053(tree: Tree, version: MessageVersion, profile: Profile) -> ParsedStatement:
    """Closing booked balance per statement (account and currency); refuses the file on any problem."""
    ns = version.namespace
    line = tree.line
    problems: list[Problem] = []
    cash: list[CashLine] = []
    dates: set[date] = set()
    for stmt in tree.root.findall(q(ns, f"{version.report}/Stmt")):
        acct = stmt.find(q(ns, "Acct/Id/Othr/Id"))
        if acct is None:
            acct = stmt.find(q(ns, "Acct/Id/IBAN"))
        if acct is None:
            problems.append(Problem(line(stmt), "Stmt/Acct/Id", "the account has no IBAN or Othr/Id"))
            continue
        theirs = (acct.text or "").strip()
        ours = profile.accounts.ours(theirs)
        if ours is None:
            problems.append(
                Problem(line(acct), "Acct/Id", f"custodian account {theirs!r} is not mapped to one of ours")
            )
        closing = [
            b for b in stmt.findall(q(ns, "Bal")) if b.findtext(q(ns, "Tp/CdOrPrtry/Cd")) == CLOSING_BOOKED
        ]
        if len(closing) != 1:
            problems.append(
                Problem(
                    line(stmt),
                    "Stmt/Bal",
                    f"needs exactly one closing booked (CLBD) balance, found {len(closing)}",
                )
            )
            continue
        bal = closing[0]
        amt = bal.find(q(ns, "Amt"))
        assert amt is not None  # the schema requires it
        try:
            ccy = parse_currency(amt.get("Ccy", ""))
        except FieldError as exc:
            problems.append(Problem(line(amt), "Bal/Amt/@Ccy", str(exc)))
            continue
        acct_ccy = stmt.findtext(q(ns, "Acct/Ccy"))
        if acct_ccy and acct_ccy != ccy:
            problems.append(
                Problem(line(amt), "Bal/Amt/@Ccy", f"{ccy} differs from the account currency {acct_ccy}")
            )
        amount = Decimal((amt.text or "0").strip())
        if bal.findtext(q(ns, "CdtDbtInd")) == "DBIT":
            amount = -amount
        d = bal.findtext(q(ns, "Dt/Dt")) or (bal.findtext(q(ns, "Dt/DtTm")) or "")[:10]
        dates.add(date.fromisoformat(d))
        if ours:
            cash.append(CashLine(line(stmt), theirs, ours, ccy, amount))
    if len(dates) > 1:
        problems.append(Problem(1, "Bal/Dt", f"one statement date per file, found {sorted(map(str, dates))}"))
    if problems:
        raise ImportValidationError(tree.source, problems)
    if not dates:
        raise ImportValidationError(tree.source, [Problem(1, "Stmt", "no statements")])
    return ParsedStatement(profile.name, version.name, "cash", dates.pop(), cash=tuple(cash))
