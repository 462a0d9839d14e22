"""camt.053 (BankToCustomerStatement) entries as activity, every version we read (.02 to .14).

The document is validated against ISO's schema of its own version first. Each booked entry (Ntry
with status BOOK; pending and information-only entries are not activity) is one line: its amount
and currency, CdtDbtInd, BookgDt (the booking date) and ValDt (the value date: cash settles then),
AcctSvcrRef (the custodian's reference: the natural key; TxDtls/Refs/AcctSvcrRef when the entry
has none), and the bank transaction code (BkTxCd Domn/Cd, Fmly/Cd, SubFmlyCd) mapped to a kind
by the profile (connectors.custodian.activity_profile.CAMT053_CODES). From the entry's one
transaction (TxDtls): the security (FinInstrmId/ISIN), a dividend's gross (AmtDtls/InstdAmt) and
withholding (Tax/TtlTaxAmt, else the taxes of its charges, Chrgs/Rcrd/Tax/Amt), an FX conversion's other leg (AmtDtls/CntrValAmt).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from connectors.custodian.activity_profile import ActivityLayout
from connectors.custodian.camt053 import q
from connectors.custodian.fields import FieldError, parse_currency
from connectors.custodian.iso_versions import MessageVersion
from connectors.custodian.profile import Profile
from connectors.custodian.xmltree import Tree
from engine.activity.rows import ActivityRow, ParsedActivity
from engine.errors import ImportValidationError, Problem

BOOKED = "BOOK"
CREDIT_KINDS = frozenset({"deposit", "dividend", "interest", "transfer_in"})
DEBIT_KINDS = frozenset({"withdrawal", "fee", "transfer_out"})


def _date(elem: Any, ns: str) -> date | None:
    if elem is None:
        return None
    text = elem.findtext(q(ns, "Dt")) or (elem.findtext(q(ns, "DtTm")) or "")[:10]
    return date.fromisoformat(text) if text else None


def _amount(elem: Any) -> tuple[str, Decimal] | None:
    if elem is None:
        return None
    return parse_currency(elem.get("Ccy", "")), Decimal((elem.text or "").strip())


def _charged_tax(tx: Any, ns: str) -> tuple[str, Decimal] | None:
    """Tax withheld as charges: the sum of TxDtls/Chrgs/(Rcrd/)Tax/Amt, when there is any."""
    found = [_amount(a) for a in tx.findall(f".//{{{ns}}}Chrgs//{{{ns}}}Tax/{{{ns}}}Amt")]
    taxes = [t for t in found if t is not None]
    if not taxes:
        return None
    return taxes[0][0], sum((t[1] for t in taxes), Decimal(0))


def _kind(codes: dict[str, str], code: str) -> str | None:
    parts = code.split("/")
    for n in range(len(parts), 0, -1):
        found = codes.get("/".join(parts[:n]))
        if found:
            return found
    return None


class _Entries:
    """Reads one document's entries into rows, collecting problems."""

    def __init__(self, tree: Tree, version: MessageVersion, profile: Profile, layout: ActivityLayout) -> None:
        self.tree, self.ns, self.profile, self.layout = tree, version.namespace, profile, layout
        self.problems: list[Problem] = []
        self.rows: list[ActivityRow] = []

    def p(self, elem: Any, path: str, reason: str) -> None:
        self.problems.append(Problem(self.tree.line(elem), path, reason))

    def statement(self, stmt: Any) -> None:
        ns = self.ns
        acct = stmt.find(q(ns, "Acct/Id/Othr/Id"))
        if acct is None:
            acct = stmt.find(q(ns, "Acct/Id/IBAN"))
        if acct is None:
            self.p(stmt, "Stmt/Acct/Id", "the account has no IBAN or Othr/Id")
            return
        theirs = (acct.text or "").strip()
        ours = self.profile.accounts.ours(theirs)
        if ours is None:
            self.p(acct, "Stmt/Acct/Id", f"custodian account {theirs!r} is not mapped to one of ours")
            return
        for ntry in stmt.findall(q(ns, "Ntry")):
            self.entry(ntry, theirs, ours)

    def entry(self, ntry: Any, theirs: str, ours: str) -> None:
        ns = self.ns
        status = (ntry.findtext(q(ns, "Sts/Cd")) or ntry.findtext(q(ns, "Sts")) or "").strip()
        if status != BOOKED:
            return
        if (ntry.findtext(q(ns, "RvslInd")) or "").strip() == "true":
            self.p(
                ntry, "Ntry/RvslInd", "a reversal is not booked from a file: correct the booking it reverses"
            )
            return
        txs = ntry.findall(q(ns, "NtryDtls/TxDtls"))
        if len(txs) > 1:
            self.p(ntry, "Ntry/NtryDtls", f"a batch of {len(txs)} transactions in one entry is not read")
            return
        tx = txs[0] if txs else None
        ref = (ntry.findtext(q(ns, "AcctSvcrRef")) or "").strip()
        if not ref and tx is not None:
            ref = (tx.findtext(q(ns, "Refs/AcctSvcrRef")) or "").strip()
        if not ref:
            self.p(ntry, "Ntry/AcctSvcrRef", "no account servicer reference: the entry has no natural key")
            return
        domain = ntry.find(q(ns, "BkTxCd/Domn"))
        if domain is not None:
            code = "/".join(
                x for x in (domain.findtext(q(ns, "Cd")), domain.findtext(q(ns, "Fmly/Cd")),
                            domain.findtext(q(ns, "Fmly/SubFmlyCd"))) if x
            )  # fmt: skip
        else:
            code = (ntry.findtext(q(ns, "BkTxCd/Prtry/Cd")) or "").strip()
        kind = _kind(self.layout.camt053_codes, code)
        if kind is None:
            self.p(ntry, "Ntry/BkTxCd", f"bank transaction code {code or '(none)'!r} is not mapped to an activity kind "
                   "(add it to the profile's [activity.camt053.codes])")  # fmt: skip
            return
        try:
            ccy, amount = _amount(ntry.find(q(ns, "Amt")))  # type: ignore[misc]
        except (FieldError, ArithmeticError) as exc:
            self.p(ntry, "Ntry/Amt", str(exc))
            return
        credit = (ntry.findtext(q(ns, "CdtDbtInd")) or "").strip() == "CRDT"
        if (kind in CREDIT_KINDS and not credit) or (kind in DEBIT_KINDS and credit):
            self.p(ntry, "Ntry/CdtDbtInd", f"a {kind} ({code}) cannot be a {'credit' if credit else 'debit'}")
            return
        booked = _date(ntry.find(q(ns, "BookgDt")), ns)
        value = _date(ntry.find(q(ns, "ValDt")), ns)
        if booked is None:
            booked = value
        if booked is None:
            self.p(ntry, "Ntry/BookgDt", "the entry has neither a booking date nor a value date")
            return
        fields: dict[str, Any] = {}
        if tx is not None:
            isin = tx.findtext(q(ns, "FinInstrmId/ISIN"))
            if isin:
                fields.update(id_type="ISIN", security_ref=isin.strip())
            try:
                gross = _amount(tx.find(q(ns, "AmtDtls/InstdAmt/Amt")))
                tax = _amount(tx.find(q(ns, "Tax/TtlTaxAmt"))) or _charged_tax(tx, ns)
                counter = _amount(tx.find(q(ns, "AmtDtls/CntrValAmt/Amt")))
            except (FieldError, ArithmeticError) as exc:
                self.p(tx, "TxDtls/AmtDtls", str(exc))
                return
            for name, got in (("gross", gross), ("withholding", tax)):
                if got is not None and kind in ("dividend", "interest"):
                    if got[0] != ccy:
                        self.p(tx, f"TxDtls/{name}", f"in {got[0]}, the entry is in {ccy}")
                        return
                    fields[name] = got[1]
            if kind == "fx":
                if counter is None:
                    self.p(ntry, "TxDtls/AmtDtls/CntrValAmt", "an FX entry needs the other leg (CntrValAmt)")
                    return
                if credit:
                    fields.update(counter_currency=counter[0], counter_amount=counter[1])
                else:
                    fields.update(counter_currency=ccy, counter_amount=amount)
                    ccy, amount = counter
        self.rows.append(
            ActivityRow(
                row=self.tree.line(ntry), reference=ref, custodian_account=theirs, account=ours, kind=kind,
                trade_date=booked, settle_date=value if value and value >= booked else None, currency=ccy,
                amount=amount, description=(ntry.findtext(q(ns, "AddtlNtryInf")) or code).strip()[:200],
                **fields,
            )
        )  # fmt: skip


def read_camt053_activity(
    tree: Tree, version: MessageVersion, profile: Profile, layout: ActivityLayout
) -> ParsedActivity:
    """Every booked entry of every statement; refuses the file on any problem."""
    reader = _Entries(tree, version, profile, layout)
    for stmt in tree.root.findall(q(version.namespace, f"{version.report}/Stmt")):
        reader.statement(stmt)
    if reader.problems:
        raise ImportValidationError(tree.source, reader.problems)
    return ParsedActivity(profile.name, version.name, tuple(reader.rows))
