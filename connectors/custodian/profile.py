"""Per-custodian profiles (TOML): file format, CSV columns and number/date conventions, account map.

A profile is a small TOML file per custodian (resources/custodian/*.toml ship the simulated
ones). The account map turns the custodian's account numbers into ours, by an explicit table
and/or a regular expression with a template (`template = "A{1}"` uses capture group 1).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import ConfigurationError
from engine.reconcile.statement import ID_TYPES

FORMATS = ("generic-csv", "profile-csv", "iso20022")
POSITION_FIELDS = ("account", "security_id", "quantity", "currency", "market_value", "as_of")
CASH_FIELDS = ("account", "currency", "amount", "as_of")
PROFILE_DIR = Path(__file__).resolve().parents[2] / "resources" / "custodian"


@dataclass(frozen=True)
class AccountMap:
    """Custodian account number -> our account code."""

    explicit: dict[str, str] = field(default_factory=dict)
    pattern: re.Pattern[str] | None = None
    template: str = "{0}"
    _cache: dict[str, str | None] = field(default_factory=dict, compare=False, repr=False)

    def ours(self, theirs: str) -> str | None:
        """Our code, or None when the number is not mapped (identity when nothing is configured)."""
        cache = self._cache
        if theirs not in cache:
            cache[theirs] = self._ours(theirs)
        return cache[theirs]

    def _ours(self, theirs: str) -> str | None:
        """Our code, or None when the number is not mapped (identity when nothing is configured)."""
        if theirs in self.explicit:
            return self.explicit[theirs]
        if self.pattern is None:
            return None if self.explicit else theirs
        m = self.pattern.fullmatch(theirs)
        if m is None:
            return None
        return self.template.format(m.group(0), *m.groups())


@dataclass(frozen=True)
class CsvConventions:
    """How a custodian writes CSV: separators, encoding, dates, signs, the identifier type."""

    delimiter: str = ","
    encoding: str = "utf-8"
    date_format: str = "%Y-%m-%d"
    decimal: str = "."
    thousands: str = ""
    trailing_minus: bool = False
    parentheses: bool = False
    id_type: str | None = None


@dataclass(frozen=True)
class CsvLayout(CsvConventions):
    """Columns and conventions of a custodian's statement CSV files."""

    positions: dict[str, str] = field(default_factory=dict)
    cash: dict[str, str] = field(default_factory=dict)
    debit_credit_column: str | None = None
    debit_marks: tuple[str, ...] = ()
    quantity_sign: int = 1


@dataclass(frozen=True)
class Profile:
    """Everything needed to read one custodian's files."""

    name: str
    format: str
    simulated: bool
    accounts: AccountMap
    csv: CsvLayout
    source: str = "(built-in)"


def generic_profile(name: str) -> Profile:
    """The built-in generic CSV format (account numbers are ours)."""
    return Profile(name=name, format="generic-csv", simulated=False, accounts=AccountMap(), csv=CsvLayout())


def _need(d: dict[str, Any], key: str, where: str) -> Any:
    if key not in d:
        raise ConfigurationError(f"{where}: missing key {key!r}")
    return d[key]


def load_profile(path: Path) -> Profile:
    """Read and check one profile file; a mistake is a ConfigurationError naming the key."""
    where = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"{where}: {exc}") from None
    fmt = _need(data, "format", where)
    if fmt not in FORMATS:
        raise ConfigurationError(f"{where}: format {fmt!r} is not one of {', '.join(FORMATS)}")
    acc = data.get("accounts", {})
    pattern = acc.get("pattern")
    try:
        regex = re.compile(pattern) if pattern else None
    except re.error as exc:
        raise ConfigurationError(f"{where}: accounts.pattern: {exc}") from None
    accounts = AccountMap(
        explicit={str(k): str(v) for k, v in acc.get("map", {}).items()},
        pattern=regex,
        template=acc.get("template", "{0}"),
    )
    c = data.get("csv", {})
    id_type = c.get("id_type")
    if id_type is not None and id_type not in ID_TYPES:
        raise ConfigurationError(f"{where}: csv.id_type {id_type!r} is not one of {', '.join(ID_TYPES)}")
    positions = dict(c.get("positions", {}))
    cash = dict(c.get("cash", {}))
    if fmt == "profile-csv":
        for f in POSITION_FIELDS:
            if f not in positions and f != "market_value":
                raise ConfigurationError(f"{where}: csv.positions.{f} (a column name) is missing")
        if "id_type" not in positions and id_type is None:
            raise ConfigurationError(f"{where}: give csv.id_type or a csv.positions.id_type column")
        for f in CASH_FIELDS:
            if f not in cash:
                raise ConfigurationError(f"{where}: csv.cash.{f} (a column name) is missing")
    signs = c.get("signs", {})
    layout = CsvLayout(
        delimiter=c.get("delimiter", ","),
        encoding=c.get("encoding", "utf-8"),
        date_format=c.get("date_format", "%Y-%m-%d"),
        decimal=c.get("decimal", "."),
        thousands=c.get("thousands", ""),
        trailing_minus=bool(signs.get("trailing_minus", False)),
        parentheses=bool(signs.get("parentheses", False)),
        id_type=id_type,
        positions=positions,
        cash=cash,
        debit_credit_column=signs.get("debit_credit_column"),
        debit_marks=tuple(signs.get("debit_marks", ())),
        quantity_sign=-1 if signs.get("quantity_negated", False) else 1,
    )
    if layout.decimal == layout.thousands:
        raise ConfigurationError(f"{where}: decimal and thousands separators must differ")
    return Profile(
        name=_need(data, "name", where),
        format=fmt,
        simulated=bool(data.get("simulated", False)),
        accounts=accounts,
        csv=layout,
        source=where,
    )


def profile_for(custodian: str, directory: Path | None = None) -> Profile:
    """The profile named after the custodian (lower case, .toml) in `directory`, else generic CSV."""
    folder = directory or PROFILE_DIR
    path = folder / f"{custodian.lower()}.toml"
    if path.exists():
        profile = load_profile(path)
        if profile.name != custodian:
            raise ConfigurationError(f"{path}: profile is for {profile.name!r}, not {custodian!r}")
        return profile
    return generic_profile(custodian)
