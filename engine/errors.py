"""Typed engine exceptions. The UI and CLI turn these into words a desk user understands."""

from __future__ import annotations

from dataclasses import dataclass


class WorkstationError(Exception):
    """Base of every error the engine raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one row of an input: where it is and why it is wrong."""

    row: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column}: {self.reason}"


class ImportValidationError(WorkstationError):
    """An input file failed validation; nothing was written. Lists every problem found."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = sorted(problems, key=lambda p: (p.row, p.column))
        super().__init__(f"{source}: {len(self.problems)} problem(s); nothing was written")

    def lines(self) -> list[str]:
        """One line per problem, as the CLI prints them."""
        return [f"{self.source}: {p}" for p in self.problems]


class NotFound(WorkstationError):
    """A named thing (account, security, model, order...) does not exist."""


class ConfigurationError(WorkstationError):
    """The workstation is configured in a way that cannot work (bad URL, missing file...)."""


class RebalanceInfeasible(WorkstationError):
    """No proposal meets every hard constraint; names the binding constraint."""

    def __init__(self, account: str, constraint: str, detail: str = "") -> None:
        self.account = account
        self.constraint = constraint
        self.detail = detail
        super().__init__(f"{account}: infeasible ({constraint}){': ' + detail if detail else ''}")


class ComplianceBlocked(WorkstationError):
    """A trade or order is blocked by a hard compliance rule."""


class InvalidTransition(WorkstationError):
    """A state change that the state table does not allow (order, proposal, approval...)."""

    def __init__(self, what: str, current: str, incoming: str) -> None:
        self.what = what
        self.current = current
        self.incoming = incoming
        super().__init__(f"{what}: cannot go from {current} on {incoming}")


class PermissionDenied(WorkstationError):
    """The user lacks the permission a service call needs. Always audited."""

    def __init__(self, user: str, permission: str) -> None:
        self.user = user
        self.permission = permission
        super().__init__(f"user {user!r} lacks permission {permission!r}")


class ConcurrentUpdate(WorkstationError):
    """Someone else changed the row first (optimistic concurrency); reload and retry."""
