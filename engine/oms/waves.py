"""Route calls queued to the engine thread and routed together, a wave at a time.

A trader's ticket or the blotter routes one order per call; at a thousand calls a second each
call in its own transaction costs more than the wire. Callers on any thread queue a `RouteCall`
(engine.oms.loop.OmsLoop.route) and get a Future; the engine thread routes every call waiting
when it looks - "whatever is waiting now", no timer, so a lone call goes at once - in one
`Router.route` per user, broker and hours (one transaction: the permission once, the kill switch
once for every order in it, each order refused alone), and the orders' sent_at is written by
the next wave's transaction. Each call gets its own orders' outcome. A call the group's route
refuses for a reason of its own (a permission, a control that cannot answer, a fault) is routed
alone, so one bad call refuses only itself; a transient database error is raised for the loop to
retry the whole wave (nothing was written or sent).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

from engine.oms.retry import is_transient
from engine.oms.router import Router, RouteResult

log = logging.getLogger("engine.oms.service")


@dataclass(frozen=True, eq=False)
class RouteCall:
    """One caller's route of released orders (Router.route's arguments); the outcome on `done`."""

    order_ids: tuple[int, ...]
    username: str | None = None
    broker: str | None = None
    outside_hours: bool = False
    done: Future[RouteResult] = field(default_factory=Future)

    @property
    def key(self) -> tuple[str | None, str | None, bool]:
        return (self.username, self.broker, self.outside_hours)


def share(result: RouteResult, calls: Sequence[RouteCall]) -> dict[int, RouteResult]:
    """Each call's part of a wave's result (by id() of the call): the outcome of its own orders."""
    of: dict[int, list[RouteCall]] = {}
    for c in calls:
        for i in c.order_ids:
            of.setdefault(i, []).append(c)
    parts = {id(c): RouteResult([], [], [], {}) for c in calls}
    for name in ("sent", "held", "skipped"):
        for i in getattr(result, name):
            for c in of.get(i, ()):
                getattr(parts[id(c)], name).append(i)
    for i, why in result.refused.items():
        for c in of.get(i, ()):
            parts[id(c)].refused[i] = why
    return parts


def _tell(call: RouteCall, result: RouteResult | None = None, error: BaseException | None = None) -> None:
    if call.done.done() or not call.done.set_running_or_notify_cancel():
        return  # cancelled by its caller: its orders were routed all the same
    if error is not None:
        call.done.set_exception(error)
    else:
        assert result is not None
        call.done.set_result(result)


def route_calls(router: Router, calls: Sequence[RouteCall]) -> int:
    """Route every waiting call, a group of the same user, broker and hours in one `route`;
    returns how many calls were answered."""
    groups: dict[tuple[str | None, str | None, bool], list[RouteCall]] = {}
    for c in calls:
        groups.setdefault(c.key, []).append(c)
    for (username, broker, outside), group in groups.items():
        ids = sorted({i for c in group for i in c.order_ids})
        try:
            result = router.route(ids, outside_hours=outside, username=username, broker=broker, wave=True)
        except Exception as exc:
            if is_transient(exc):
                raise
            if len(group) == 1:
                _tell(group[0], error=exc)
                continue
            log.warning("a wave of %d route calls was refused (%s); routing them one by one", len(group), exc)
            for c in group:
                _alone(router, c)
            continue
        parts = share(result, group)
        for c in group:
            _tell(c, parts[id(c)])
    return len(calls)


def _alone(router: Router, c: RouteCall) -> None:
    try:
        result = router.route(
            list(c.order_ids), outside_hours=c.outside_hours, username=c.username, broker=c.broker, wave=True
        )
    except Exception as exc:
        if is_transient(exc):
            raise
        _tell(c, error=exc)
    else:
        _tell(c, result)
