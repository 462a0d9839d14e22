"""semt.002 V03 and later read in one lean pass per balance, into columns (no object per line).

The same reading as connectors.custodian.semt002 (which stays the reference, and the reader of
V02): the same elements, in the same order, with the same rules (first ISIN, else OthrId; the
first quantity element under AggtBal; SHOR negates; InstrmCcyAmts before AcctBaseCcyAmts; Sgn
false negates). It only reads documents without a problem: at the first thing that would be one
(a missing element, an identifier or currency that does not check, a number that is not a plain
decimal, an unmapped account) it gives up and the reference reader reads the file, so every
problem is worded, and located, by that reader.
"""

from __future__ import annotations

from typing import Any

from connectors.custodian.fields import (
    FieldError,
    negated_text,
    parse_currency,
    parse_identifier,
    plain_decimals,
)
from connectors.custodian.iso_versions import MessageVersion
from connectors.custodian.profile import Profile
from connectors.custodian.semt002 import QUANTITY_TAGS, _accounts, _identifier, _statement, _Tooling
from connectors.custodian.xmltree import Tree
from engine.reconcile.statement import ParsedStatement, StatementColumns


class _GiveUp(Exception):
    """Something the reference reader must word: stop and let it read the file."""


def read_semt002_columns(tree: Tree, version: MessageVersion, profile: Profile) -> ParsedStatement | None:
    """The statement as columns, or None when the reference reader must read the file."""
    if version.number == 2:
        return None
    try:
        return _read(tree, version, profile)
    except _GiveUp:
        return None


def _read(tree: Tree, version: MessageVersion, profile: Profile) -> ParsedStatement | None:
    tk = _Tooling(tree, version)
    rpt = tree.root.find(tk.path(version.report))
    if rpt is None:
        return None
    as_of = _statement(tk, rpt, False)
    groups = list(_accounts(tk, rpt, False))
    if tk.problems or as_of is None:
        return None
    t = tk.t
    fid_t, aggt_t, inst_t, base_t = t("FinInstrmId"), t("AggtBal"), t("InstrmCcyAmts"), t("AcctBaseCcyAmts")
    isin_t, short_t, sgn_t, hldg_t, amt_t = t("ISIN"), t("ShrtLngInd"), t("Sgn"), t("HldgVal"), t("Amt")
    qty_tags = tuple(t(n) for n in QUANTITY_TAGS)
    rows: list[int] = []
    theirs_c: list[str] = []
    ours_c: list[str] = []
    refs: list[str] = []
    kinds: list[str] = []
    qty: list[str] = []
    short: list[int] = []
    ccys: list[str | None] = []
    values: list[str | None] = []
    negative: list[int] = []
    for _, theirs, balances in groups:
        ours = profile.accounts.ours(theirs) if theirs else None
        if theirs and ours is None:
            return None
        for bal in balances:
            fid = aggt = inst = base = None
            for child in bal:
                tag = child.tag
                if tag == fid_t:
                    fid = child
                elif tag == aggt_t:
                    aggt = child
                elif tag == inst_t:
                    inst = child
                elif tag == base_t:
                    base = child
            if fid is None or aggt is None:
                return None
            isin = _child(fid, isin_t)
            try:
                ident = parse_identifier(isin.text or "", "ISIN") if isin is not None else _other(tk, fid)
            except FieldError:
                return None
            q = next(aggt.iter(*qty_tags), None)
            if q is None:
                return None
            ccy = mv = None
            neg = 0
            for holder in (inst, base):
                amt = _amount(holder, hldg_t, amt_t) if holder is not None else None
                if amt is not None:
                    try:
                        ccy = parse_currency(amt.get("Ccy", ""))
                    except FieldError:
                        return None
                    mv = (amt.text or "").strip()
                    sgn = amt.getnext()
                    neg = int(sgn is not None and sgn.tag == sgn_t and (sgn.text or "").strip() == "false")
                    break
            if not ours:
                return None  # an empty account id: the reference reader reads it (and its problems)
            rows.append(bal.sourceline or 1)
            theirs_c.append(theirs)
            ours_c.append(ours)
            refs.append(ident[0])
            kinds.append(ident[1])
            qty.append((q.text or "").strip())
            sl = _child(aggt, short_t)  # aggt.findtext(ShrtLngInd) == "SHOR"
            short.append(int(sl is not None and sl.text == "SHOR"))
            ccys.append(ccy)
            values.append(mv)
            negative.append(neg)
    if not plain_decimals(qty) or not plain_decimals([v for v in values if v is not None]):
        return None
    qty = [negated_text(x) if s else x for x, s in zip(qty, short)] if any(short) else qty
    if any(negative):
        values = [negated_text(v) if n and v is not None else v for v, n in zip(values, negative)]
    table = StatementColumns(
        {
            "row": rows,  # type: ignore[dict-item]
            "custodian_account": theirs_c,  # type: ignore[dict-item]
            "account_code": ours_c,  # type: ignore[dict-item]
            "security_ref": refs,  # type: ignore[dict-item]
            "id_type": kinds,  # type: ignore[dict-item]
            "quantity": qty,  # type: ignore[dict-item]
            "currency": ccys,  # type: ignore[dict-item]
            "market_value": values,  # type: ignore[dict-item]
        }
    )
    return ParsedStatement(profile.name, version.name, "positions", as_of, table=table)


def _child(parent: Any, tag: str) -> Any:
    """parent.find(tag) for a plain tag: the first child with it (a loop over a few children is
    several times cheaper than ElementPath or a filtered iterator per element)."""
    for child in parent:
        if child.tag == tag:
            return child
    return None


def _amount(holder: Any, hldg_t: str, amt_t: str) -> Any:
    """holder.find("HldgVal/Amt"): the first Amt of the first HldgVal that has one."""
    for hldg in holder:
        if hldg.tag == hldg_t:
            amt = _child(hldg, amt_t)
            if amt is not None:
                return amt
    return None


def _other(tk: _Tooling, fid: Any) -> tuple[str, str]:
    """An OthrId identifier through the reference reader's rule; a problem there gives up."""
    found = _identifier(tk, fid)
    if found is None or tk.problems:
        raise _GiveUp
    return found
