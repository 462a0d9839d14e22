"""Broker strategies as data: which algorithms each broker offers, their FIX TargetStrategy (847)
code and their parameters (resources/reference/broker_strategies.csv, one row per parameter).

Parameters are written `name=value;name=value` (the form they take in TargetStrategyParameters,
848); kinds: `time` (HH:MM, exchange local), `rate` (0 < x <= 1; also sent as ParticipationRate, 849).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cache

import resources

KINDS = ("time", "rate")
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


@dataclass(frozen=True)
class Strategy:
    """One broker's algorithm: its TargetStrategy code and parameters (name -> (kind, required))."""

    broker: str
    name: str
    code: str
    parameters: dict[str, tuple[str, bool]] = field(default_factory=dict)


@cache
def broker_strategies() -> dict[tuple[str, str], Strategy]:
    """(broker, strategy) -> Strategy, from the shipped data file."""
    out: dict[tuple[str, str], Strategy] = {}
    with resources.path("reference", "broker_strategies.csv").open(newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            key = (r["broker"].strip(), r["strategy"].strip().lower())
            s = out.setdefault(key, Strategy(key[0], key[1], r["target_strategy"].strip()))
            if r["parameter"].strip():
                s.parameters[r["parameter"].strip()] = (
                    r["kind"].strip(),
                    r["required"].strip().upper() == "Y",
                )
    return out


def parse_params(text: str) -> dict[str, str] | None:
    """`a=1;b=2` as a dict; None when it is not of that form."""
    out: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        name, eq, value = part.partition("=")
        if not eq or not name.strip() or not value.strip() or name.strip() in out:
            return None
        out[name.strip()] = value.strip()
    return out


def strategy_problems(
    broker: str | None, strategy: str | None, params: dict[str, str], order_type: str, time_in_force: str
) -> list[tuple[str, str]]:
    """What is wrong with a strategy and its parameters for this broker and order, as (field, reason).
    An algorithm works an order over time: not an on-close, IOC or FOK order."""
    if strategy is None:
        return [("strategy_params", "parameters without a strategy")] if params else []
    if order_type not in ("market", "limit") or time_in_force in (
        "ioc",
        "fok",
        "at_the_open",
        "at_the_close",
    ):
        return [("strategy", f"a {order_type} {time_in_force} order cannot be worked by a strategy")]
    found = broker_strategies().get((broker or "", strategy))
    if found is None:
        offered = sorted(n for b, n in broker_strategies() if b == broker)
        return [
            (
                "strategy",
                f"broker {broker} has no strategy {strategy!r} (has: {', '.join(offered) or 'none'})",
            )
        ]
    bad: list[tuple[str, str]] = []
    for name, value in params.items():
        spec = found.parameters.get(name)
        if spec is None:
            bad.append(("strategy_params", f"{strategy} has no parameter {name!r}"))
        elif not _valid(spec[0], value):
            bad.append(("strategy_params", f"{name}={value}: {_expect(spec[0])}"))
    for name, (_kind, required) in found.parameters.items():
        if required and name not in params:
            bad.append(("strategy_params", f"{strategy} needs {name}"))
    return bad


def _valid(kind: str, value: str) -> bool:
    if kind == "time":
        return bool(_TIME.match(value))
    try:
        d = Decimal(value)
    except InvalidOperation:
        return False
    return d.is_finite() and 0 < d <= 1


def _expect(kind: str) -> str:
    return "expected HH:MM" if kind == "time" else "expected a rate above 0 and at most 1"
