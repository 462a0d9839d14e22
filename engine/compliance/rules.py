"""Rules as data: the rules in force on a date, where they apply, and audited changes to them.

A change never edits a version: it appends version n+1 effective from a date (retiring is a
version with retired=True). Assignments are effective-dated rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.access.guard import require
from engine.access.permissions import Permission
from engine.audit.chain import record
from engine.compliance.tables import RuleAssignment, RuleVersion
from engine.compliance.templates import RuleDefinitionError, get_template
from engine.shared.errors import ConcurrentChange

SEVERITIES = {"hard": "block", "soft": "flag", "info": "warn"}
SCOPES = ("firm", "model", "household", "account")


@dataclass(frozen=True)
class Rule:
    """One rule version in force, with its validated parameters and its assignments."""

    code: str
    version: int
    template: str
    severity: str
    params: dict[str, Any]
    description: str
    effective_from: date
    effective_to: date | None
    assignments: tuple[tuple[str, str | None], ...]

    @property
    def fail_outcome(self) -> str:
        return SEVERITIES[self.severity]

    def as_dict(self) -> dict[str, Any]:
        t = get_template(self.template)
        return {
            "code": self.code,
            "version": self.version,
            "template": self.template,
            "category": t.category,
            "title": t.title,
            "severity": self.severity,
            "on_fail": self.fail_outcome,
            "params": self.params,
            "description": self.description,
            "effective_from": self.effective_from.isoformat(),
            "effective_to": self.effective_to.isoformat() if self.effective_to else None,
            "assigned_to": [{"scope": s, "key": k} for s, k in self.assignments],
        }

    def account_mask(self, acct: pd.DataFrame) -> np.ndarray:
        """Which accounts (rows of a Book's acct frame) the rule applies to."""
        mask = np.zeros(len(acct), dtype=bool)
        for scope, key in self.assignments:
            if scope == "firm":
                return np.ones(len(acct), dtype=bool)
            col = {"model": "model", "household": "household", "account": "code"}[scope]
            mask |= (acct[col] == key).to_numpy()
        return mask


def _in_force(q: Any, model: Any, on: date) -> Any:
    return q.where(model.effective_from <= on, (model.effective_to.is_(None)) | (model.effective_to > on))


def rules_in_force(session: Session, on: date) -> list[Rule]:
    """The latest version of each rule effective on `on`, unless that version retires it."""
    latest = (
        _in_force(select(RuleVersion.code, func.max(RuleVersion.version).label("v")), RuleVersion, on)
        .group_by(RuleVersion.code)
        .subquery()
    )
    versions = session.scalars(
        select(RuleVersion)
        .join(latest, (RuleVersion.code == latest.c.code) & (RuleVersion.version == latest.c.v))
        .order_by(RuleVersion.code)
    ).all()
    assigned: dict[str, list[tuple[str, str | None]]] = {}
    for a in session.scalars(
        _in_force(select(RuleAssignment), RuleAssignment, on).order_by(RuleAssignment.id)
    ):
        assigned.setdefault(a.rule_code, []).append((a.scope, a.scope_key))
    out = []
    for v in versions:
        if v.retired:
            continue
        params = get_template(v.template).validate(dict(v.params or {}))
        out.append(
            Rule(
                v.code, v.version, v.template, v.severity, params, v.description or "",
                v.effective_from, v.effective_to, tuple(assigned.get(v.code, ())),
            )
        )  # fmt: skip
    return out


def _check_definition(template: str, severity: str, params: dict[str, Any]) -> dict[str, Any]:
    if severity not in SEVERITIES:
        raise RuleDefinitionError(f"severity must be hard, soft or info, not {severity!r}")
    return get_template(template).validate(params)


def save_rule(
    session: Session,
    username: str,
    code: str,
    template: str,
    severity: str,
    params: dict[str, Any],
    effective_from: date,
    reason: str,
    description: str = "",
    assign: list[tuple[str, str | None]] | None = None,
    retire: bool = False,
    expected_version: int | None = None,
) -> RuleVersion:
    """Add a rule or a new version of one (needs compliance.rules.edit); audited with before/after.

    No lost updates: `expected_version` is the version the editor saw (0 for a new rule); if
    another desk saved one since, ConcurrentChange. Two saves racing for the same new version
    number collide on the (code, version) key: the loser gets ConcurrentChange too."""
    require(session, username, Permission.RULES_EDIT)
    if not reason.strip():
        raise RuleDefinitionError("a rule change needs a reason")
    _check_definition(template, severity, params)
    prev = session.scalars(
        select(RuleVersion).where(RuleVersion.code == code).order_by(RuleVersion.version.desc()).limit(1)
    ).first()
    current = prev.version if prev else 0
    if expected_version is not None and expected_version != current:
        raise ConcurrentChange(
            f"rule {code}", f"at version {current} (you edited version {expected_version})"
        )
    if prev is not None and prev.template != template:
        raise RuleDefinitionError(
            f"rule {code} uses template {prev.template}; a new code is needed for {template}"
        )
    rv = RuleVersion(
        code=code,
        version=(prev.version + 1) if prev else 1,
        template=template,
        severity=severity,
        params=dict(params),
        description=description or (prev.description if prev else ""),
        effective_from=effective_from,
        effective_to=None,
        retired=retire,
        changed_by=username,
        changed_at=datetime.now(UTC),
        reason=reason,
    )
    session.add(rv)
    try:
        session.flush()
    except IntegrityError as exc:
        raise ConcurrentChange(
            f"rule {code}", f"at version {rv.version} or later, saved at another desk"
        ) from exc
    for scope, key in assign or ():
        _add_assignment(session, username, code, scope, key, effective_from)
    session.flush()
    before = (
        None if prev is None else {"version": prev.version, "severity": prev.severity, "params": prev.params}
    )
    after = {
        "version": rv.version,
        "template": template,
        "severity": severity,
        "params": params,
        "retired": retire,
    }
    record(session, username, "rule.retire" if retire else "rule.save", "rule", code, before, after, reason)
    return rv


def _add_assignment(
    session: Session, username: str, code: str, scope: str, key: str | None, effective_from: date
) -> RuleAssignment:
    if scope not in SCOPES:
        raise RuleDefinitionError(f"scope must be one of {', '.join(SCOPES)}, not {scope!r}")
    if (scope == "firm") != (key is None):
        raise RuleDefinitionError("a firm assignment has no key; model, household and account ones need one")
    a = RuleAssignment(
        rule_code=code, scope=scope, scope_key=key, effective_from=effective_from, created_by=username
    )
    session.add(a)
    return a


def assign_rule(
    session: Session, username: str, code: str, scope: str, key: str | None, effective_from: date, reason: str
) -> None:
    """Apply an existing rule to the firm, a model, a household or an account from a date."""
    require(session, username, Permission.RULES_EDIT)
    if session.scalars(select(RuleVersion.id).where(RuleVersion.code == code).limit(1)).first() is None:
        raise RuleDefinitionError(f"no rule {code!r}")
    a = _add_assignment(session, username, code, scope, key, effective_from)
    session.flush()
    record(
        session,
        username,
        "rule.assign",
        "rule",
        code,
        None,
        {"scope": scope, "key": key, "effective_from": effective_from, "assignment": a.id},
        reason,
    )


def end_assignment(session: Session, username: str, assignment_id: int, last_day: date, reason: str) -> None:
    """Stop an assignment after `last_day` (the row is kept; its end date is set)."""
    require(session, username, Permission.RULES_EDIT)
    a = session.get(RuleAssignment, assignment_id)
    if a is None:
        raise RuleDefinitionError(f"no assignment {assignment_id}")
    before = {"effective_to": a.effective_to}
    a.effective_to = date.fromordinal(last_day.toordinal() + 1)
    record(
        session,
        username,
        "rule.unassign",
        "rule",
        a.rule_code,
        before,
        {"effective_to": a.effective_to},
        reason,
    )
