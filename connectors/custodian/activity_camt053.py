"""camt.053 (BankToCustomerStatement) entries as activity, every version we read (.02 to .14).

The document is validated against ISO's schema of its own version first. Each booked entry (Ntry
with status BOOK; pending and information-only entries are not activity) is one line: its amount
and currency, CdtDbtInd, BookgDt (the booking date) and ValDt (the value date: cash settles then),
AcctSvcrRef (the custodian's reference: the natural key; TxDtls/Refs/AcctSvcrRef when the entry
has none), and the bank transaction code (BkTxCd Domn/Cd, Fmly/Cd, SubFmlyCd) mapped to a kind
by the profile (connectors.custodian.activity_profile.CAMT053_CODES). From the entry's one
transaction (TxDtls): the security (FinInstrmId/ISIN), a dividend's gross (AmtDtls/InstdAmt) and
withholding (Tax/TtlTaxAmt, else the taxes of its charges, Chrgs/Rcrd/Tax/Amt), an FX conversion's other leg (AmtDtls/CntrValAmt).

A batch (one entry, several TxDtls) is one line per transaction, each with its own amount
(TxDtls/Amt, else AmtDtls/TxAmt), direction and code when it has them, and its own key (its
Refs/AcctSvcrRef, else the entry's with the end-to-end id); the amounts must add up to the entry.
A reversal (RvslInd, or a reversal subfamily code) is a line of kind `reversal` naming the line it
cancels by Refs/AcctSvcrRef and/or Refs/EndToEndId (engine.activity.reversals).
"""

from __future__ import annotations

from dataclasses import dataclass
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
# ISO external bank transaction subfamily codes of reversals: of a returned payment, a payment
# cancelled on request, a reversed or unpaid direct debit.
REVERSAL_CODES = frozenset({"RRTN", "RPCR", "PRDD", "UPDD", "RCDD"})
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


@dataclass(frozen=True, slots=True)
class _Entry:
    """What an entry says for all of its transactions."""

    ntry: Any
    theirs: str
    ours: str
    ref: str
    code: str
    ccy: str
    amount: Decimal
    credit: bool
    reversal: bool
    booked: date
    value: date | None


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

    def code(self, elem: Any) -> str:
        """The bank transaction code of an entry or a transaction ('' when it has none)."""
        ns = self.ns
        domain = elem.find(q(ns, "BkTxCd/Domn"))
        if domain is not None:
            return "/".join(
                x for x in (domain.findtext(q(ns, "Cd")), domain.findtext(q(ns, "Fmly/Cd")),
                            domain.findtext(q(ns, "Fmly/SubFmlyCd"))) if x
            )  # fmt: skip
        return (elem.findtext(q(ns, "BkTxCd/Prtry/Cd")) or "").strip()

    def entry(self, ntry: Any, theirs: str, ours: str) -> None:
        ns = self.ns
        status = (ntry.findtext(q(ns, "Sts/Cd")) or ntry.findtext(q(ns, "Sts")) or "").strip()
        if status != BOOKED:
            return
        try:
            ccy, amount = _amount(ntry.find(q(ns, "Amt")))  # type: ignore[misc]
        except (FieldError, ArithmeticError) as exc:
            self.p(ntry, "Ntry/Amt", str(exc))
            return
        booked = _date(ntry.find(q(ns, "BookgDt")), ns)
        value = _date(ntry.find(q(ns, "ValDt")), ns)
        if booked is None:
            booked = value
        if booked is None:
            self.p(ntry, "Ntry/BookgDt", "the entry has neither a booking date nor a value date")
            return
        e = _Entry(
            ntry=ntry, theirs=theirs, ours=ours, ref=(ntry.findtext(q(ns, "AcctSvcrRef")) or "").strip(),
            code=self.code(ntry), ccy=ccy, amount=amount,
            credit=(ntry.findtext(q(ns, "CdtDbtInd")) or "").strip() == "CRDT",
            reversal=(ntry.findtext(q(ns, "RvslInd")) or "").strip() in ("true", "1"),
            booked=booked, value=value if value and value >= booked else None,
        )  # fmt: skip
        txs = ntry.findall(q(ns, "NtryDtls/TxDtls"))
        if len(txs) <= 1:
            self.transaction(e, txs[0] if txs else None, batch=None)
            return
        self.batch(e, txs)

    def batch(self, e: _Entry, txs: list[Any]) -> None:
        """One entry booking several transactions: each is a line with its own amount and key."""
        ns = self.ns
        if not e.ref:
            self.p(e.ntry, "Ntry/AcctSvcrRef", "no account servicer reference: the entry has no natural key")
            return
        counts = [int(n) for n in (x.text for x in e.ntry.findall(q(ns, "NtryDtls/Btch/NbOfTxs"))) if n]
        if counts and sum(counts) != len(txs):
            self.p(
                e.ntry,
                "Ntry/NtryDtls/Btch/NbOfTxs",
                f"says {sum(counts)} transactions, the entry has {len(txs)}",
            )
            return
        amounts = [self.transaction(e, tx, batch=i) for i, tx in enumerate(txs, start=1)]
        if any(a is None for a in amounts):
            return
        total = sum((a for a in amounts if a is not None), Decimal(0))
        signed = e.amount * (1 if e.credit else -1)
        if total != signed:
            self.p(
                e.ntry,
                "Ntry/Amt",
                f"the entry is {signed} {e.ccy}, its {len(txs)} transactions add up to {total}",
            )

    def transaction(self, e: _Entry, tx: Any | None, batch: int | None) -> Decimal | None:
        """One line: the entry itself (batch None), or the batch's transaction number `batch`.
        Returns its amount in the entry's currency, signed by its direction (None: refused)."""
        ns = self.ns
        where = tx if batch is not None else e.ntry
        ccy, amount, credit, code = e.ccy, e.amount, e.credit, e.code
        tx_ref = e2e = None
        if tx is not None:
            tx_ref = (tx.findtext(q(ns, "Refs/AcctSvcrRef")) or "").strip() or None
            e2e = (tx.findtext(q(ns, "Refs/EndToEndId")) or "").strip() or None
            if e2e == "NOTPROVIDED":
                e2e = None
            if batch is not None:  # a batch's transactions may each have their own code and direction
                code = self.code(tx) or code
                credit = (
                    tx.findtext(q(ns, "CdtDbtInd")) or ("CRDT" if e.credit else "DBIT")
                ).strip() == "CRDT"
        if batch is not None:
            assert tx is not None
            try:
                got = _amount(tx.find(q(ns, "Amt"))) or _amount(tx.find(q(ns, "AmtDtls/TxAmt/Amt")))
            except (FieldError, ArithmeticError) as exc:
                self.p(tx, "TxDtls/Amt", str(exc))
                return None
            if got is None:
                self.p(
                    tx, "TxDtls/Amt", "a transaction of a batch needs its own amount (Amt or AmtDtls/TxAmt)"
                )
                return None
            if got[0] != e.ccy:
                self.p(tx, "TxDtls/Amt", f"in {got[0]}, the entry is in {e.ccy}")
                return None
            ccy, amount = got
        signed = amount if credit else -amount
        reversal = e.reversal or code.rsplit("/", 1)[-1] in REVERSAL_CODES
        ref = e.ref
        if batch is not None:
            ref = tx_ref if tx_ref and tx_ref != e.ref else f"{e.ref}/{e2e or batch}"
        elif not ref:
            ref = tx_ref or ""
        if reversal:
            own = e.ref if batch is None or not e.ref else f"{e.ref}/{batch}"
            return signed if self.reversal(e, where, own, tx_ref, e2e, ccy, amount, credit) else None
        if not ref:
            self.p(e.ntry, "Ntry/AcctSvcrRef", "no account servicer reference: the entry has no natural key")
            return None
        kind = _kind(self.layout.camt053_codes, code)
        if kind is None:
            self.p(where, "Ntry/BkTxCd", f"bank transaction code {code or '(none)'!r} is not mapped to an activity kind "
                   "(add it to the profile's [activity.camt053.codes])")  # fmt: skip
            return None
        if (kind in CREDIT_KINDS and not credit) or (kind in DEBIT_KINDS and credit):
            self.p(
                where, "Ntry/CdtDbtInd", f"a {kind} ({code}) cannot be a {'credit' if credit else 'debit'}"
            )
            return None
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
                return None
            for name, got_amt in (("gross", gross), ("withholding", tax)):
                if got_amt is not None and kind in ("dividend", "interest"):
                    if got_amt[0] != ccy:
                        self.p(tx, f"TxDtls/{name}", f"in {got_amt[0]}, the entry is in {ccy}")
                        return None
                    fields[name] = got_amt[1]
            if kind == "fx":
                if counter is None:
                    self.p(where, "TxDtls/AmtDtls/CntrValAmt", "an FX entry needs the other leg (CntrValAmt)")
                    return None
                if credit:
                    fields.update(counter_currency=counter[0], counter_amount=counter[1])
                else:
                    fields.update(counter_currency=ccy, counter_amount=amount)
                    ccy, amount = counter
        self.add(e, where, ref, kind, ccy, amount, code, end_to_end=e2e, **fields)
        return signed

    def reversal(
        self, e: _Entry, where: Any, ref: str, tx_ref: str | None, e2e: str | None, ccy: str, amount: Decimal,
        credit: bool,
    ) -> bool:  # fmt: skip
        """A reversal: a line of kind `reversal` (its key `ref`, else RVSL/<what it names>) naming
        the original by its AcctSvcrRef and/or EndToEndId (engine.activity.reversals finds it and
        cancels its booking once)."""
        names = tuple(x for x in (tx_ref if tx_ref != e.ref else None, e2e) if x)
        if not names:
            self.p(
                where,
                "TxDtls/Refs",
                "a reversal must name the entry it reverses (Refs/AcctSvcrRef or EndToEndId)",
            )
            return False
        if not ref:
            ref = f"RVSL/{names[0]}"
        self.add(e, where, ref, "reversal", ccy, amount, e.code, reverses=names, credit=credit)
        return True

    def add(
        self, e: _Entry, where: Any, ref: str, kind: str, ccy: str, amount: Decimal, code: str, **fields: Any
    ) -> None:  # fmt: skip
        self.rows.append(
            ActivityRow(
                row=self.tree.line(where), reference=ref, custodian_account=e.theirs, account=e.ours, kind=kind,
                trade_date=e.booked, settle_date=e.value, currency=ccy, amount=amount,
                description=(e.ntry.findtext(q(self.ns, "AddtlNtryInf")) or code).strip()[:200],
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
