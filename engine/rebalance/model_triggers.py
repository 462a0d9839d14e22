"""Which accounts' models got new weights since the account was last rebalanced (a trigger)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.portfolio_models.tables import ModelVersion
from engine.rebalance.tables import Proposal
from engine.store.accounts import Account, ModelComponent


def model_changed_at(session: Session, *, include_baseline: bool) -> dict[int, datetime]:
    """Model id -> time of the newest version of the model or of any sub-model, transitively.

    With include_baseline=False, version 1 (a model's first weights) does not count as a change.
    """
    q = select(ModelVersion.model_id, func.max(ModelVersion.created_at)).group_by(ModelVersion.model_id)
    if not include_baseline:
        q = q.where(ModelVersion.version > 1)
    own: dict[int, datetime] = {mid: at for mid, at in session.execute(q)}
    children: dict[int, list[int]] = {}
    edges = select(ModelComponent.model_id, ModelComponent.sub_model_id).where(
        ModelComponent.sub_model_id.is_not(None)
    )
    for parent, child in session.execute(edges):
        if child is not None:
            children.setdefault(parent, []).append(child)
    result: dict[int, datetime] = {}
    for start in set(own) | set(children):
        # Every model reachable from `start` (itself included); a cycle cannot loop forever.
        seen, stack = {start}, [start]
        while stack:
            for child in children.get(stack.pop(), ()):
                if child not in seen:
                    seen.add(child)
                    stack.append(child)
        times = [own[m] for m in seen if m in own]
        if times:
            result[start] = max(times)
    return result


def accounts_with_new_model_weights(session: Session) -> set[int]:
    """Ids of accounts whose model, or any sub-model transitively, has new weights to trade to.

    Rule: an account with a rebalance proposal (table `proposals`, any status) is triggered when
    a version of its model tree (version 1 included: a model created or re-pointed after the
    proposal is new weights too) was written after the account's latest proposal's created_at.
    An account never rebalanced is triggered when its model tree has a version after the
    baseline (version >= 2). The store keeps no creation time for accounts, so every account is
    taken to be older than its model's changes: the first weights a model gets are its baseline,
    not a change, and an account still to be rebalanced for the first time is picked up by the
    drift triggers anyway. Accounts without a model are never triggered.
    """
    any_version = model_changed_at(session, include_baseline=True)
    changes = model_changed_at(session, include_baseline=False)
    last = (
        select(Proposal.account_id, func.max(Proposal.created_at).label("last"))
        .group_by(Proposal.account_id)
        .subquery()
    )
    q = (
        select(Account.id, Account.model_id, last.c.last)
        .outerjoin(last, last.c.account_id == Account.id)
        .where(Account.model_id.is_not(None))
    )
    triggered: set[int] = set()
    for account_id, model_id, last_at in session.execute(q):
        if last_at is None:
            if model_id in changes:
                triggered.add(account_id)
        elif model_id in any_version and any_version[model_id] > last_at:
            triggered.add(account_id)
    return triggered
