"""Read a custodian CSV's data rows column by column: each check runs once per column (numbers)
or once per distinct value (accounts, dates, currencies, identifiers), not once per cell.

A check here only ever *flags* a row; it never words a problem. Every flagged row is read again
by the line reader (csvfile.RowReader), so the problems (row as a spreadsheet numbers it, field,
reason) and the lines are exactly what reading the file row by row gives, and a row flagged only
because a check here is stricter (a padded cell, a number written as 1e3) is still read. Numbers
are checked by one regular expression over the whole column and converted by plain text
replacement (thousands removed, decimal mark to '.', trailing minus to the front): the decimal
text kept is what `parse_decimal` would have read.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from connectors.custodian.fields import FieldError, parse_currency, parse_date, parse_identifier
from engine.reconcile.statement import CASH_COLUMNS, POSITION_COLUMNS, StatementColumns

if TYPE_CHECKING:
    from connectors.custodian.csvfile import RowReader
    from connectors.custodian.csvrows import Rows

Array = Any  # a 1-d numpy array


def read_columns(rr: RowReader, rows: Rows) -> StatementColumns:
    """The data records (row 2 on) as columns; problems and dates go to `rr` as it collects them."""
    cells, irregular = rows.columns(len(rr.header))
    n = len(irregular)
    bad = irregular.copy()  # a record with another number of fields: read (and refused) by rr.row
    raw = {h: _array(cells[i]) for i, h in enumerate(rr.header)}
    del cells

    def col(f: str) -> Array | None:
        name = rr.cols.get(f)
        return raw.get(name) if name is not None else None

    out: dict[str, Array] = {"row": np.arange(2, n + 2, dtype=np.int64)}
    if rr.generic:
        bad |= col("custodian") != rr.profile.name
    theirs = col("account")
    assert theirs is not None
    out["custodian_account"] = theirs
    out["account_code"] = _by_value(theirs, bad, lambda u: _mapped(rr, u))
    _by_value(col("as_of"), bad, lambda u: _date(rr, u))
    out["currency"] = _by_value(col("currency"), bad, parse_currency)
    dec, thousands = str(rr.dec["decimal"]), str(rr.dec["thousands"])
    trailing, parens = bool(rr.signs.get("trailing_minus")), bool(rr.signs.get("parentheses"))
    number = _number_pattern(dec, thousands, trailing)
    if rr.kind == "positions":
        sec = col("security_id")
        assert sec is not None
        kinds = col("id_type") if "id_type" in rr.cols else None
        if "id_type" in rr.cols and kinds is None:
            kinds = np.full(n, "", dtype=object)  # a named column the file lacks: every row refused
        fixed = rr.lay.id_type or ""
        refs, types = _identifiers(sec, kinds, fixed, bad)
        out["security_ref"], out["id_type"] = refs, types
        qty = _numbers(col("quantity"), number, dec, thousands, trailing, parens, bad, empty_ok=False)
        out["quantity"] = _negate(qty, np.full(n, rr.lay.quantity_sign == -1))
        mv_col = col("market_value")
        if mv_col is None:
            out["market_value"] = np.full(n, None, dtype=object)
        else:
            out["market_value"] = _numbers(
                mv_col, number, dec, thousands, trailing, parens, bad, empty_ok=True
            )
        names = POSITION_COLUMNS
    else:
        amount = _numbers(col("amount"), number, dec, thousands, trailing, parens, bad, empty_ok=False)
        debit = np.zeros(n, dtype=bool)
        if rr.lay.debit_credit_column and not rr.generic:
            marks = set(rr.lay.debit_marks)
            codes, uniq = pd.factorize(raw[rr.lay.debit_credit_column.lower()])
            debit = np.array([u.strip() in marks for u in uniq], dtype=bool)[codes] if n else debit
        out["amount"] = _negate(amount, debit)
        names = CASH_COLUMNS
    return _assemble(rr, rows, bad, out, names)


def _array(values: Sequence[str]) -> Array:
    if isinstance(values, np.ndarray):
        return values
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _assemble(
    rr: RowReader, rows: Rows, bad: Array, out: dict[str, Array], names: Sequence[str]
) -> StatementColumns:
    """Good rows from the columns, flagged rows from the line reader, in file order."""
    flagged = np.flatnonzero(bad).tolist()
    extra = [(i + 2, rr.row(i + 2, rows.row(i + 1))) for i in flagged]
    good = ~bad
    data: dict[str, list[object]] = {c: out[c][good].tolist() for c in names}
    lines = [(r, ln) for r, ln in extra if ln is not None]
    if lines and not rr.problems:
        merged = {c: [] for c in names}  # type: dict[str, list[object]]
        rows = data["row"] + [r for r, _ in lines]
        order = np.argsort(np.array(rows, dtype=np.int64), kind="stable")
        for c in names:
            values = data[c] + [_text(getattr(ln, c)) for _, ln in lines]
            merged[c] = [values[i] for i in order]
        data = merged
    return StatementColumns(data)


def _text(value: object) -> object:
    return str(value) if isinstance(value, Decimal) else value


def _by_value(values: Array | None, bad: Array, read: Callable[[str], object]) -> Array:
    """`read` each distinct value once (a value with surrounding blanks, or one `read` refuses
    with FieldError or None, flags its rows); returns the read value per row."""
    if values is None:
        bad[:] = True  # a column the reader needs is missing: let the line reader say so
        return np.full(len(bad), None, dtype=object)
    codes, uniq = pd.factorize(values)
    got: list[object] = []
    ok = np.ones(len(uniq), dtype=bool)
    for i, u in enumerate(uniq):
        try:
            v = read(u) if u == u.strip() else None
        except FieldError:
            v = None
        ok[i] = v is not None
        got.append(v)
    if len(values):
        bad |= ~ok[codes]
    result = np.empty(len(uniq), dtype=object)
    result[:] = got
    return result[codes] if len(values) else np.array([], dtype=object)


def _mapped(rr: RowReader, theirs: str) -> str | None:
    return rr.profile.accounts.ours(theirs) or None if theirs else None


def _date(rr: RowReader, text: str) -> object:
    when = parse_date(text, rr.date_fmt)
    rr.dates.add(when)
    return when


def _identifiers(sec: Array, kinds: Array | None, fixed: str, bad: Array) -> tuple[Array, Array]:
    """(identifier, kind) per row, each distinct (identifier, kind) pair checked once."""
    n = len(sec)
    scodes, suniq = pd.factorize(sec)
    if kinds is None:
        kcodes, kuniq = np.zeros(n, dtype=np.int64), np.array([fixed], dtype=object)
    else:
        kcodes, kuniq = pd.factorize(kinds)
    pair = scodes.astype(np.int64) * max(len(kuniq), 1) + kcodes
    pcodes, puniq = pd.factorize(pair)
    refs = np.empty(len(puniq), dtype=object)
    types = np.empty(len(puniq), dtype=object)
    ok = np.ones(len(puniq), dtype=bool)
    width = max(len(kuniq), 1)
    for i, p in enumerate(puniq.tolist()):
        s, k = suniq[p // width], kuniq[p % width]
        try:
            if s != s.strip() or k != k.strip():
                raise FieldError("padded")
            refs[i], types[i] = parse_identifier(s, k)
        except FieldError:
            ok[i] = False
    if n:
        bad |= ~ok[pcodes]
    return refs[pcodes], types[pcodes]


def _number_pattern(dec: str, thousands: str, trailing: bool) -> re.Pattern[str]:
    """A plain number in the file's convention (the only form the column path converts)."""
    body = rf"(?:\d{{1,3}}(?:{re.escape(thousands)}\d{{3}})+|\d+)" if thousands else r"\d+"
    plain = rf"{body}(?:{re.escape(dec)}\d+)?"
    return re.compile(rf"[+-]?{plain}|{plain}-" if trailing else rf"[+-]?{plain}")


def _numbers(
    values: Array | None,
    form: re.Pattern[str],
    dec: str,
    thousands: str,
    trailing: bool,
    parens: bool,
    bad: Array,
    *,
    empty_ok: bool,
) -> Array:
    """Decimal text per row ('-1234.56'; None for an empty optional cell); rows whose cell is not a
    plain number in the file's convention are flagged (the line reader then reads or refuses it)."""
    if values is None:
        bad[:] = True
        return np.full(len(bad), None, dtype=object)
    n = len(values)
    empty = values == "" if empty_ok else np.zeros(n, dtype=bool)
    cells = np.where(empty, "0", values) if empty_ok else values
    big = "\n".join(cells.tolist())
    bad_line = re.compile(rf"^(?!(?:{form.pattern})$).*$", re.MULTILINE)  # a line that is not plain
    if n and (big.count("\n") != n - 1 or bad_line.search(big) is not None):
        # Some cell is not plain (or holds a line break): find which, one by one.
        odd = np.array([form.fullmatch(c) is None for c in cells.tolist()], dtype=bool)
        bad |= odd
        cells = np.where(odd, "0", cells)
        big = "\n".join(cells.tolist())
    if trailing:
        big = re.sub(r"^(.*)-$", r"-\1", big, flags=re.MULTILINE)
    if thousands:
        big = big.replace(thousands, "")
    if dec != ".":
        big = big.replace(dec, ".")
    texts = np.empty(n, dtype=object)
    if n:
        texts[:] = big.split("\n")
    if empty_ok:
        texts[empty] = None
    del parens  # parenthesised negatives are not plain: such cells are flagged and read per line
    return texts


def _negate(texts: Array, mask: Array) -> Array:
    """Decimal text negated where `mask` (sign flipped in the text: exact, no arithmetic)."""
    if not mask.any():
        return texts
    out = texts.copy()
    idx = np.flatnonzero(mask & np.array([t is not None for t in texts.tolist()], dtype=bool))
    out[idx] = [_neg(t) for t in texts[idx].tolist()]
    return out


def _neg(t: str) -> str:
    if t.startswith("-"):
        return t[1:]
    if t.startswith("+"):
        return "-" + t[1:]
    return "-" + t
