"""Resolve custodian identifiers to our securities through every identifier we hold.

ISIN, CUSIP and SEDOL match exactly; TICKER is the local ticker with the listing's MIC
("VOD.XLON"), so an ADR (its own ISIN/CUSIP, listed in New York) never resolves to its ordinary
and vice versa. An identifier that two securities share is ambiguous and resolves to neither:
it surfaces as an "unknown security" break, never as a guess.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.store.reference import Security


def identifier_table(session: Session) -> pd.DataFrame:
    """One row per (id_type, ref) -> security_id, ambiguous refs removed."""
    rows = session.execute(
        select(
            Security.id, Security.isin, Security.cusip, Security.sedol, Security.local_ticker, Security.mic
        )
    ).all()
    sec = pd.DataFrame(rows, columns=["security_id", "isin", "cusip", "sedol", "local_ticker", "mic"])
    ticker = sec["local_ticker"].str.upper() + "." + sec["mic"]
    parts = [
        pd.DataFrame({"id_type": kind, "ref": values.str.upper(), "security_id": sec["security_id"]})
        for kind, values in (
            ("ISIN", sec["isin"]),
            ("CUSIP", sec["cusip"]),
            ("SEDOL", sec["sedol"]),
            ("TICKER", ticker),
        )
    ]
    table = pd.concat(parts, ignore_index=True).dropna(subset=["ref"])
    return table.drop_duplicates(["id_type", "ref"], keep=False).reset_index(drop=True)


def resolve(table: pd.DataFrame, id_type: pd.Series, ref: pd.Series) -> np.ndarray:
    """security_id per line (float, NaN where unknown).

    The (kind, identifier) pairs are factorized on integer codes, so each distinct identifier is
    looked up once however many lines carry it. Lines come from the connectors already
    upper-cased (identifiers are normalised when read).
    """
    if not len(ref):
        return np.full(0, np.nan)
    ref_codes, ref_uniq = pd.factorize(np.asarray(ref, dtype=object))
    kind_codes, kind_uniq = pd.factorize(np.asarray(id_type, dtype=object))
    pair_codes, pairs = pd.factorize(ref_codes.astype(np.int64) * len(kind_uniq) + kind_codes)
    lookup = dict(zip(zip(table["id_type"], table["ref"]), table["security_id"].astype(float)))
    found = np.array(
        [
            lookup.get((kind_uniq[p % len(kind_uniq)], ref_uniq[p // len(kind_uniq)]), np.nan)
            for p in np.asarray(pairs, dtype=np.int64)
        ],
        dtype=float,
    )
    return found[pair_codes]


def resolve_announced_isins(
    renames: pd.DataFrame, id_type: pd.Series, ref: pd.Series, security_id: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Unresolved lines carrying the new ISIN of an announced, not yet applied ISIN change.

    Such a line resolves to the security the change is for, and names the action (a custodian
    that switched to the new ISIN before the book did). Returns (security_id, action ref or None).
    """
    via = np.full(len(ref), None, dtype=object)
    if renames.empty:
        return security_id, via
    todo = renames[~renames["applied"].astype(bool)].drop_duplicates("new_isin", keep=False)
    if todo.empty:
        return security_id, via
    open_ = np.isnan(security_id) & (id_type.to_numpy() == "ISIN")
    if not open_.any():
        return security_id, via
    out = security_id.copy()
    hits = pd.Series(ref.to_numpy()[open_]).map(
        pd.Series(np.arange(len(todo)), index=todo["new_isin"].str.upper().to_numpy())
    )
    rows = np.flatnonzero(open_)[hits.notna().to_numpy()]
    k = hits.dropna().to_numpy(dtype=np.int64)
    out[rows] = todo["security_id"].to_numpy(dtype=float)[k]
    via[rows] = todo["ref"].to_numpy(dtype=object)[k]
    return out, via
