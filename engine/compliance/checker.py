"""Pre-trade compliance: every rule in force against a batch of orders, vectorized.

`ComplianceChecker` implements engine.ports.PreTradeChecker for the OMS. `run_check` is the
engine call behind it (and behind the CLI): it returns a `CheckRun` whose verdicts are arrays
(rules x orders) and whose sentences are written only when someone reads them.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, cast

import numpy as np
from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from engine.access.guard import require
from engine.access.permissions import Permission
from engine.audit.chain import record
from engine.clock import Clock, SystemClock
from engine.compliance import preview
from engine.compliance.book import Book, book_as_of, load_book
from engine.compliance.projection import Context, FxLeg, Orders, prepare_orders
from engine.compliance.rules import Rule, rules_in_force
from engine.compliance.scope import book_scope
from engine.compliance.tables import CheckResult
from engine.compliance.templates import Eval, get_template
from engine.ports import CheckOutcome, OrderIntent

OUTCOMES = ("pass", "warn", "flag", "block")
RANK = {o: i for i, o in enumerate(OUTCOMES)}
NOT_ASSIGNED = -1
PERSIST_ALL_LIMIT = 20_000  # rule results stored in full up to this many (rules x orders); hits beyond


def _clean(x: float) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), 10)


@dataclass
class CheckRun:
    """The verdicts of one check: `codes[r, i]` is rule r's outcome rank on order i (-1: not assigned)."""

    run_id: str
    book: Book
    orders: Orders
    rules: list[Rule]
    evals: list[Eval]
    codes: np.ndarray
    rounds: int = 1  # checks of the batch until no new order was blocked (see `evaluate`)

    @property
    def order_codes(self) -> np.ndarray:
        if not len(self.rules):
            return np.zeros(len(self.orders), dtype=np.int8)
        return np.maximum(self.codes.max(axis=0), 0)

    def outcome(self, i: int) -> str:
        return OUTCOMES[int(self.order_codes[i])]

    def counts(self) -> dict[str, int]:
        c = np.bincount(self.order_codes, minlength=len(OUTCOMES))
        return {o: int(c[k]) for k, o in enumerate(OUTCOMES)}

    def hard_block(self, i: int) -> bool:
        return bool((self.codes[:, i] == RANK["block"]).any()) if len(self.rules) else False

    def result(self, r: int, i: int) -> dict[str, Any]:
        rule, ev = self.rules[r], self.evals[r]
        return {
            "rule": rule.code,
            "version": rule.version,
            "template": rule.template,
            "severity": rule.severity,
            "outcome": OUTCOMES[int(self.codes[r, i])],
            "limit": _clean(ev.limit[i]),
            "before": _clean(ev.before[i]),
            "after": _clean(ev.after[i]),
            "unit": ev.unit,
            "message": ev.describe(i),
        }

    def results(self, i: int, hits_only: bool = False) -> list[dict[str, Any]]:
        """Each assigned rule's result on order i (only warn/flag/block if `hits_only`)."""
        rows = []
        for r in range(len(self.rules)):
            c = int(self.codes[r, i])
            if c == NOT_ASSIGNED or (hits_only and c == 0):
                continue
            rows.append(self.result(r, i))
        return rows

    def outcomes(self) -> list[CheckOutcome]:
        """The port's view: one outcome per order with a sentence per rule that did not pass."""
        out = []
        codes = self.order_codes
        for i, o in enumerate(self.orders.intents):
            msgs: tuple[str, ...] = ()
            if codes[i] > 0:
                msgs = tuple(
                    f"[{res['rule']} {res['outcome']}] {res['message']}"
                    for res in self.results(i, hits_only=True)
                )
            out.append(CheckOutcome(ref=o.ref or str(i), outcome=OUTCOMES[int(codes[i])], messages=msgs))
        return out

    def order_dict(self, i: int, row: int | None = None) -> dict[str, Any]:
        o = self.orders.intents[i]
        d: dict[str, Any] = {}
        if row is not None:
            d["row"] = row
        d.update(
            ref=o.ref or None,
            account=o.account,
            symbol=o.symbol,
            side=str(o.side).lower(),
            quantity=float(Decimal(o.quantity)),
            order_type=str(o.order_type).lower(),
            limit_price=None if o.limit_price is None else float(Decimal(o.limit_price)),
            outcome=self.outcome(i),
            results=self.results(i),
        )
        return d

    def persist(self, session: Session, username: str, entity: str, entity_ids: Sequence[str | None]) -> int:
        """Append the results (all of them for small batches, non-pass ones for big ones)."""
        hits_only = self.codes.size > PERSIST_ALL_LIMIT
        now = datetime.now(UTC)
        rows = []
        for i, o in enumerate(self.orders.intents):
            for res in self.results(i, hits_only=hits_only):
                rows.append(
                    {
                        "run_id": self.run_id,
                        "entity": entity,
                        "entity_id": entity_ids[i],
                        "account_code": o.account,
                        "symbol": o.symbol,
                        "side": str(o.side).lower(),
                        "quantity": Decimal(o.quantity),
                        "rule_code": res["rule"],
                        "rule_version": res["version"],
                        "outcome": res["outcome"],
                        "limit_value": res["limit"],
                        "before_value": res["before"],
                        "after_value": res["after"],
                        "message": res["message"],
                        "checked_by": username,
                        "checked_at": now,
                    }
                )
        if rows:
            session.execute(insert(cast(Table, CheckResult.__table__)), rows)  # Core executemany, no ORM path
        return len(rows)


def _round(
    session: Session | None,
    book: Book,
    orders: Orders,
    rules: Sequence[Rule],
    now: datetime,
    fx_legs: Sequence[FxLeg],
    counted: np.ndarray,
    previous: tuple[np.ndarray, list[Eval], np.ndarray] | None = None,
) -> tuple[np.ndarray, list[Eval], np.ndarray]:
    """Every rule on every order, the others seeing only the `counted` orders: the codes, the
    Evals, and which rules read anything that depends on the counted orders. With `previous`
    (the first round's result) a rule that read nothing of the kind keeps its verdicts."""
    ctx = Context(session, book, orders, now, fx_legs, counted)
    codes = np.full((len(rules), len(orders)), NOT_ASSIGNED, dtype=np.int8)
    evals: list[Eval] = []
    depends = np.ones(len(rules), dtype=bool)
    for r, rule in enumerate(rules):
        if previous is not None and not previous[2][r]:
            codes[r], depends[r] = previous[0][r], False
            evals.append(previous[1][r])
            continue
        ctx.batch_read = False
        ev = get_template(rule.template).evaluate(ctx, rule.params)
        depends[r] = ctx.batch_read
        assigned = rule.account_mask(book.acct)[orders.a]
        codes[r] = np.where(assigned, np.where(ev.fail, RANK[rule.fail_outcome], 0), NOT_ASSIGNED)
        evals.append(ev)
    return codes, evals, depends


def _pick(rounds: list[list[Eval]], round_of: np.ndarray, r: int) -> Eval:
    """Rule r's Eval with each order's arrays and sentence taken from the round that decided it."""
    evs = [evals[r] for evals in rounds]
    if all(e is evs[0] for e in evs):  # one round, or a rule that does not depend on the batch
        return evs[0]

    cols = np.arange(len(round_of))

    def take(name: str) -> np.ndarray:
        stacked: np.ndarray = np.stack([np.asarray(getattr(e, name)) for e in evs])
        picked: np.ndarray = stacked[round_of, cols]
        return picked

    return Eval(
        take("relevant"),
        take("fail"),
        take("limit"),
        take("before"),
        take("after"),
        evs[-1].unit,
        lambda i: evs[int(round_of[i])].describe(i),
    )


def evaluate(
    session: Session | None,
    book: Book,
    orders: Orders,
    rules: Sequence[Rule],
    now: datetime,
    fx_legs: Sequence[FxLeg] = (),
) -> CheckRun:
    """Run every rule on every order: the heart of the check, no database writes.

    A hard-blocked order will not trade, so it stops counting in the projection the other orders
    see, and the batch is checked again until no new order is blocked (a fixed point). An order
    keeps the verdict of the round that blocked it; the others get the last round's. Blocked
    orders only ever leave the projection, so there is at most one round more than there are
    orders. Rules that read nothing depending on the batch (a restricted list, a price collar)
    are evaluated once and keep their verdicts.
    """
    n = len(orders)
    counted = np.ones(n, dtype=bool)
    round_of = np.zeros(n, dtype=np.int64)
    rounds: list[list[Eval]] = []
    codes = np.full((len(rules), n), NOT_ASSIGNED, dtype=np.int8)
    first: tuple[np.ndarray, list[Eval], np.ndarray] | None = None
    while True:
        k = len(rounds)
        round_codes, evals, depends = _round(session, book, orders, rules, now, fx_legs, counted, first)
        first = first or (round_codes, evals, depends)
        rounds.append(evals)
        codes[:, counted] = round_codes[:, counted]
        round_of[counted] = k
        blocked = counted & (round_codes == RANK["block"]).any(axis=0)
        if not blocked.any():
            break
        counted = counted & ~blocked
    merged = [_pick(rounds, round_of, r) for r in range(len(rules))]
    return CheckRun(uuid.uuid4().hex, book, orders, list(rules), merged, codes, len(rounds))


def run_check(
    session: Session,
    intents: Sequence[OrderIntent],
    *,
    as_of: date | None = None,
    now: datetime | None = None,
    book: Book | None = None,
    rules: Sequence[Rule] | None = None,
    source: str = "orders",
    first_row: int = 1,
    rows: Sequence[int] | None = None,
    fx_legs: Sequence[FxLeg] = (),
) -> CheckRun:
    """Check orders (and any FX funding legs with them) against the projected post-trade book.
    Without `book`, a small batch loads only what its rules read (engine.compliance.scope), a large
    one the full book. Writes nothing."""
    now = now or datetime.now(UTC)
    if book is None:
        basis = check_basis(session, intents, now, as_of=as_of, rules=rules)
        book, rules = basis.book, basis.rules
    elif rules is None:
        rules = rules_in_force(session, as_of or book.as_of)
    orders = prepare_orders(book, intents, source=source, first_row=first_row, rows=rows)
    return evaluate(session, book, orders, list(rules), now, fx_legs)


@dataclass(frozen=True, slots=True)
class CheckBasis:
    """What a check reads besides its orders: the book (scoped to what its rules read), the rules
    in force and the instant. Loaded once, it serves many separate checks (one per approval case)."""

    book: Book
    rules: list[Rule]
    now: datetime


def check_basis(
    session: Session,
    intents: Sequence[OrderIntent],
    now: datetime,
    *,
    as_of: date | None = None,
    rules: Sequence[Rule] | None = None,
) -> CheckBasis:
    """The book and rules a check of `intents` reads (a small batch: only what its rules read, a
    large one: the full book). A basis loaded for many orders is a superset of each one's own."""
    as_of = as_of or book_as_of(session)
    rules = list(rules) if rules is not None else rules_in_force(session, as_of)
    scope = book_scope(session, intents, rules, now)
    book = (
        load_book(session, as_of)
        if scope is None
        else load_book(session, as_of, scope.account_codes, scope.security_ids, scope.order_security_ids)
    )
    return CheckBasis(book, rules, now)


class ComplianceChecker:
    """engine.ports.PreTradeChecker: checks, stores the results and audits the run."""

    def __init__(
        self,
        clock: Clock | None = None,
        persist: bool = True,
        enforce_permission: bool = True,
        remember: bool = False,
    ) -> None:
        """The caller (the user the check runs for) needs compliance.check; a refusal raises
        PermissionDenied and is audited. `enforce_permission=False` is for system jobs that run
        on nobody's behalf (benchmarks, a book rebuild), never for a user's action. `remember`:
        a preview (the ticket's, before Send) whose run a check of the same orders may reuse when
        nothing it read has changed (engine.compliance.preview)."""
        self.clock = clock or SystemClock()
        self.persist = persist
        self.enforce_permission = enforce_permission
        self.remember = remember
        self.last_run: CheckRun | None = None
        self.last_reused = False

    def check(self, session: Session, orders: Sequence[OrderIntent], username: str) -> list[CheckOutcome]:
        if self.enforce_permission:
            require(session, username, Permission.CHECK_RUN)
        if not orders:
            return []
        now = self.clock.now()
        run = None if self.remember else _reused(session, orders, username, now)
        self.last_reused = run is not None
        if run is None and self.remember:
            run = preview.preview_check(
                session, orders, username, now, lambda: run_check(session, orders, now=now)
            )
        elif run is None:
            run = run_check(session, orders, now=now)
        self.last_run = run
        if self.persist:
            run.persist(session, username, "order", [o.ref or None for o in orders])
            after = {"orders": len(orders), "outcomes": run.counts(), "refs": [o.ref for o in orders][:50]}
            if self.last_reused:
                after["preview"] = "reused: nothing it read had changed"
            record(session, username, "compliance.check", "check_run", run.run_id, after=after)
        return [
            CheckOutcome(ref=o.ref or str(i), outcome=c.outcome, messages=c.messages)
            for i, (o, c) in enumerate(zip(orders, run.outcomes(), strict=True))
        ]


def _reused(session: Session, orders: Sequence[OrderIntent], username: str, now: datetime) -> CheckRun | None:
    """The ticket preview's run of these very orders if provably still the check now; any error
    on the way means no reuse (the full check runs)."""
    try:
        return preview.reuse(session, orders, username, now)
    except Exception:  # fail closed: the full check decides
        return None
