"""The `[activity]` section of a custodian's TOML profile: how its activity files are written.

    [activity]
    format = "profile-csv"      # or "generic-csv" (our columns, docs/reconcile.md), or "camt.053"
    delimiter, decimal, thousands, date_format, encoding   # default: the profile's [csv] values
    id_type = "SEDOL"           # when the file has no id_type column
    [activity.columns]          # our field = the custodian's column name
    [activity.kinds]            # the custodian's code = our kind (buy, sell, dividend, ...)
    [activity.camt053.codes]    # "DOMAIN/FAMILY/SUBFAMILY" (or a prefix) = our kind

Account numbers map through the profile's `[accounts]` section, as statements do.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from connectors.custodian.profile import CsvConventions, Profile
from engine.activity.rows import KINDS
from engine.errors import ConfigurationError

ACTIVITY_FORMATS = ("generic-csv", "profile-csv", "camt.053")
FIELDS = (
    "reference", "account", "kind", "trade_date", "settle_date", "id_type", "security_id", "quantity",
    "price", "commission", "currency", "amount", "gross", "withholding", "cost_basis", "acquired",
    "fx_rate", "counter_currency", "counter_amount", "description", "lots",
)  # fmt: skip
REQUIRED = ("reference", "account", "kind", "trade_date")
# ISO 20022 external bank transaction codes (domain/family/subfamily) -> our kind. A profile's
# [activity.camt053.codes] adds to these or overrides them; the longest matching prefix wins.
CAMT053_CODES: dict[str, str] = {
    "PMNT/RCDT": "deposit",  # received credit transfers
    "PMNT/RCHQ": "deposit",  # received cheques
    "PMNT/ICDT": "withdrawal",  # issued credit transfers
    "PMNT/ICHQ": "withdrawal",  # issued cheques
    "SECU/CORP/DVCA": "dividend",  # corporate action: cash dividend
    "SECU/CORP/INTR": "interest",  # corporate action: interest payment (coupons)
    "SECU/CUST/CHRG": "fee",  # custody charges
    "ACMT/MCOP/INTR": "interest",  # miscellaneous credit operations: interest
    "ACMT/MDOP/CHRG": "fee",  # miscellaneous debit operations: charges
    "ACMT/MDOP/FEES": "fee",
    "ACMT/MDOP/COMM": "fee",
    "FORX/SPOT": "fx",  # foreign exchange: spot
    "FORX/FWRD": "fx",
}


@dataclass(frozen=True)
class ActivityLayout(CsvConventions):
    """How one custodian writes activity: format, CSV conventions, column and code maps."""

    format: str = "generic-csv"
    columns: dict[str, str] = field(default_factory=lambda: {f: f for f in FIELDS})
    kinds: dict[str, str] = field(default_factory=lambda: {k: k for k in KINDS})
    camt053_codes: dict[str, str] = field(default_factory=lambda: dict(CAMT053_CODES))


def _check_kinds(where: str, section: str, mapping: dict[str, str]) -> None:
    for code, kind in mapping.items():
        if kind not in KINDS:
            raise ConfigurationError(f"{where}: {section}.{code} = {kind!r} is not one of {', '.join(KINDS)}")


def layout_from(data: dict[str, object], profile: Profile, where: str) -> ActivityLayout:
    """The layout of a profile's parsed TOML (generic CSV when it has no [activity] section)."""
    section = data.get("activity")
    if section is None:
        return ActivityLayout()
    if not isinstance(section, dict):
        raise ConfigurationError(f"{where}: [activity] must be a table")
    fmt = section.get("format", "generic-csv")
    if fmt not in ACTIVITY_FORMATS:
        raise ConfigurationError(
            f"{where}: activity.format {fmt!r} is not one of {', '.join(ACTIVITY_FORMATS)}"
        )
    csv = profile.csv
    columns = {f: f for f in FIELDS}
    kinds = {k: k for k in KINDS}
    if fmt == "profile-csv":
        columns = {str(k): str(v) for k, v in section.get("columns", {}).items()}
        unknown = sorted(set(columns) - set(FIELDS))
        if unknown:
            raise ConfigurationError(f"{where}: activity.columns.{unknown[0]} is not one of our fields")
        for f in REQUIRED:
            if f not in columns:
                raise ConfigurationError(f"{where}: activity.columns.{f} (a column name) is missing")
        kinds = {str(k): str(v) for k, v in section.get("kinds", {}).items()}
        if not kinds:
            raise ConfigurationError(f"{where}: activity.kinds (the custodian's codes) is missing")
        _check_kinds(where, "activity.kinds", kinds)
    codes = dict(CAMT053_CODES)
    extra = {str(k): str(v) for k, v in section.get("camt053", {}).get("codes", {}).items()}
    _check_kinds(where, "activity.camt053.codes", extra)
    codes.update(extra)
    same_csv = fmt == "profile-csv"
    return ActivityLayout(
        format=fmt,
        delimiter=section.get("delimiter", csv.delimiter if same_csv else ","),
        encoding=section.get("encoding", csv.encoding if same_csv else "utf-8"),
        date_format=section.get("date_format", csv.date_format if same_csv else "%Y-%m-%d"),
        decimal=section.get("decimal", csv.decimal if same_csv else "."),
        thousands=section.get("thousands", csv.thousands if same_csv else ""),
        trailing_minus=csv.trailing_minus if same_csv else False,
        parentheses=csv.parentheses if same_csv else False,
        id_type=section.get("id_type"),
        columns=columns,
        kinds=kinds,
        camt053_codes=codes,
    )


def activity_layout(profile: Profile) -> ActivityLayout:
    """The [activity] section of the profile's file (the built-in generic profile: generic CSV)."""
    if profile.source == "(built-in)":
        return ActivityLayout()
    path = Path(profile.source)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"{path}: {exc}") from None
    return layout_from(data, profile, str(path))
