"""The firm's starting rule set (version 1, assigned firm-wide). Compliance edits it as data.

The first compliance migration stores a frozen copy of this list; changing this file later
changes nothing in an existing database (use `workstation compliance rule-set` for that).
"""

from __future__ import annotations

from typing import Any

# code, template, severity, params, description
DEFAULT_RULES: tuple[tuple[str, str, str, dict[str, Any], str], ...] = (
    ("SEC-WEIGHT", "security_weight_max", "soft", {"max_weight": 0.10}, "No security above 10% of an account"),
    ("ISSUER-WEIGHT", "issuer_weight_max", "soft", {"max_weight": 0.12}, "No issuer above 12% of an account"),
    ("SECTOR-WEIGHT", "sector_weight_max", "soft", {"max_weight": 0.40}, "No sector above 40% of an account"),
    ("COUNTRY-WEIGHT", "country_weight_max", "info", {"max_weight": 0.80}, "Country above 80%: warn"),
    ("CCY-WEIGHT", "currency_weight_max", "info", {"max_weight": 0.90}, "Currency above 90%: warn"),
    ("ESG-SCREEN", "esg_exclusion", "hard", {"use_account": True}, "Client ESG exclusions are hard limits"),
    ("ESG-SCORE", "esg_min_score", "soft", {"use_account": True}, "Client minimum ESG score"),
    ("RESTRICTED", "restricted_list", "hard", {"list": "restricted"}, "Firm and account restricted lists"),
    ("WATCH", "restricted_list", "info", {"list": "watch"}, "Watch list: warn on any trade"),
    ("NO-SHORT", "no_short", "hard", {}, "Accounts may not go short"),
    ("OVERDRAFT", "cash_overdraft", "soft", {"tolerance": 0.0}, "No overdraft in any currency"),
    ("MIN-CASH", "min_cash", "soft", {"use_account": True}, "Keep each account's cash floor"),
    ("ADV-20", "adv_max", "soft", {"max_pct": 0.20}, "Order at most 20% of 20-day average volume"),
    ("FAT-FINGER", "fat_finger", "hard", {"max_pct": 0.10}, "Limit price within 10% of the last price"),
    ("MAX-QTY", "order_quantity_max", "hard", {"max_quantity": 1_000_000}, "At most 1,000,000 units per order"),
    ("MAX-NOTIONAL", "order_notional_max", "hard", {"max_notional": 5_000_000, "currency": "USD"},
     "At most 5,000,000 USD per order"),
    ("DUPLICATE", "duplicate_order", "soft", {"window_seconds": 60}, "Same order twice within 60 s"),
    ("DAILY-ACCOUNT", "daily_notional_account", "soft", {"max_notional": 10_000_000, "currency": "USD"},
     "At most 10,000,000 USD per account per day"),
    ("DAILY-DESK", "daily_notional_desk", "hard", {"max_notional": 500_000_000, "currency": "USD"},
     "At most 500,000,000 USD per desk per day"),
    ("WASH-SALE", "wash_sale", "soft", {"window_days": 30}, "US taxable accounts: wash sales"),
    ("MARKET-SANCTIONS", "market_restriction", "hard", {"jurisdictions": ["US"], "countries": ["RU", "KP", "IR"]},
     "US accounts do not buy securities of sanctioned countries (firm market restriction)"),
    ("KYC", "kyc_sell_only", "hard", {}, "KYC missing or expired: sells only"),
    ("CLIENT-TYPE", "client_restriction", "hard", {}, "Securities restricted by client type or domicile"),
)  # fmt: skip
