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
    """security_id per line (float, NaN where unknown), a hash lookup per identifier kind.

    Lines come from the connectors already upper-cased (identifiers are normalised when read).
    """
    out = np.full(len(ref), np.nan)
    kinds = id_type.to_numpy()
    refs = ref.to_numpy()
    for kind, sub in table.groupby("id_type"):
        sel = kinds == kind
        if sel.any():
            lookup = pd.Series(sub["security_id"].to_numpy(dtype=float), index=sub["ref"].to_numpy())
            out[sel] = pd.Series(refs[sel]).map(lookup).to_numpy(dtype=float)
    return out
