"""Where each FIX session's incoming stream was last applied, so a crash loses no broker message.

QuickFIX advances a session's expected incoming MsgSeqNum as soon as a message is handed to the
application, before the OMS has applied it; a message still waiting in memory (the database was
locked) dies with the process, and the broker would never send it again. So the loop records,
after each applied batch, the MsgSeqNum of the last message it applied per session, and at start
the FIX gateway lowers QuickFIX's expected number to the one after it: the broker then resends
everything after it (PossDupFlag=Y), and what had been applied already is recognised by ExecID.
Recording after the batch's own commit means a crash in between only repeats messages, never
skips one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.oms.messages import Inbound, SequencedInbound
from engine.oms.tables import InboundProgress
from engine.store.database import Database


def last_seqs(messages: Iterable[Inbound]) -> dict[str, int]:
    """Session id -> MsgSeqNum of the last message of that session in `messages` (arrival order)."""
    out: dict[str, int] = {}
    for m in messages:
        if isinstance(m, SequencedInbound) and m.session_id and m.seq_num > 0:
            out[m.session_id] = m.seq_num
    return out


def record(session: Session, points: Mapping[str, int]) -> None:
    """Store each session's last applied MsgSeqNum (the latest, not the highest: a sequence reset
    starts a session again at 1)."""
    for session_id, seq in points.items():
        row = session.get(InboundProgress, session_id)
        if row is None:
            session.add(InboundProgress(session_id=session_id, last_seq=seq))
        else:
            row.last_seq = seq


def first_seen(session: Session, session_id: str, seq: int) -> None:
    """At a session's first logon in this book, start its record at the logon (if it has none)."""
    if session_id and seq >= 0 and session.get(InboundProgress, session_id) is None:
        session.add(InboundProgress(session_id=session_id, last_seq=seq))


def resume_points(database: Database) -> dict[str, int]:
    """Session id -> the MsgSeqNum the OMS expects next from it (last applied + 1)."""
    with database.session() as s:
        return {
            sid: seq + 1
            for sid, seq in s.execute(select(InboundProgress.session_id, InboundProgress.last_seq))
        }
