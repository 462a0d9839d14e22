"""compliance: rules as data, assignments, lists, check results, approvals, kill switches, desks,
and the audit chain head; seeds the firm's starting rule set (a frozen copy, version 1).

Revision ID: 0301_compliance
Revises: 0001_foundation
"""

from collections.abc import Sequence
from datetime import UTC, date, datetime

import sqlalchemy as sa
from alembic import op

import engine.store.base

revision: str = "0301_compliance"
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = ("compliance",)
depends_on: str | Sequence[str] | None = None

# code, template, severity, params, description (frozen copy of engine/compliance/defaults.py)
DEFAULT_RULES = [
    ["SEC-WEIGHT", "security_weight_max", "soft", {"max_weight": 0.1}, "No security above 10% of an account"],
    ["ISSUER-WEIGHT", "issuer_weight_max", "soft", {"max_weight": 0.12}, "No issuer above 12% of an account"],
    ["SECTOR-WEIGHT", "sector_weight_max", "soft", {"max_weight": 0.4}, "No sector above 40% of an account"],
    ["COUNTRY-WEIGHT", "country_weight_max", "info", {"max_weight": 0.8}, "Country above 80%: warn"],
    ["CCY-WEIGHT", "currency_weight_max", "info", {"max_weight": 0.9}, "Currency above 90%: warn"],
    ["ESG-SCREEN", "esg_exclusion", "hard", {"use_account": True}, "Client ESG exclusions are hard limits"],
    ["ESG-SCORE", "esg_min_score", "soft", {"use_account": True}, "Client minimum ESG score"],
    ["RESTRICTED", "restricted_list", "hard", {"list": "restricted"}, "Firm and account restricted lists"],
    ["WATCH", "restricted_list", "info", {"list": "watch"}, "Watch list: warn on any trade"],
    ["NO-SHORT", "no_short", "hard", {}, "Accounts may not go short"],
    ["OVERDRAFT", "cash_overdraft", "soft", {"tolerance": 0.0}, "No overdraft in any currency"],
    ["MIN-CASH", "min_cash", "soft", {"use_account": True}, "Keep each account's cash floor"],
    ["ADV-20", "adv_max", "soft", {"max_pct": 0.2}, "Order at most 20% of 20-day average volume"],
    ["FAT-FINGER", "fat_finger", "hard", {"max_pct": 0.1}, "Limit price within 10% of the last price"],
    ["MAX-QTY", "order_quantity_max", "hard", {"max_quantity": 1000000}, "At most 1,000,000 units per order"],
    [
        "MAX-NOTIONAL",
        "order_notional_max",
        "hard",
        {"currency": "USD", "max_notional": 5000000},
        "At most 5,000,000 USD per order",
    ],
    ["DUPLICATE", "duplicate_order", "soft", {"window_seconds": 60}, "Same order twice within 60 s"],
    [
        "DAILY-ACCOUNT",
        "daily_notional_account",
        "soft",
        {"currency": "USD", "max_notional": 10000000},
        "At most 10,000,000 USD per account per day",
    ],
    [
        "DAILY-DESK",
        "daily_notional_desk",
        "hard",
        {"currency": "USD", "max_notional": 500000000},
        "At most 500,000,000 USD per desk per day",
    ],
    ["WASH-SALE", "wash_sale", "soft", {"window_days": 30}, "US taxable accounts: wash sales"],
    [
        "MARKET-SANCTIONS",
        "market_restriction",
        "hard",
        {"jurisdictions": ["US"], "countries": ["RU", "KP", "IR"]},
        "US accounts do not buy securities of sanctioned countries (firm market restriction)",
    ],
    ["KYC", "kyc_sell_only", "hard", {}, "KYC missing or expired: sells only"],
    ["CLIENT-TYPE", "client_restriction", "hard", {}, "Securities restricted by client type or domicile"],
]


def upgrade() -> None:
    op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("last_id", sa.Integer(), nullable=True),
        sa.Column("hash", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_head")),
    )
    op.create_table(
        "compliance_approvals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity", sa.String(length=16), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("outcome", sa.String(length=8), nullable=True),
        sa.Column("hard_block", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("terms", sa.JSON(), nullable=False),
        sa.Column("run_id", sa.String(length=40), nullable=True),
        sa.Column("opened_at", engine.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", engine.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compliance_approvals")),
        sa.UniqueConstraint("entity", "entity_id", name=op.f("uq_compliance_approvals_entity_entity_id")),
    )
    with op.batch_alter_table("compliance_approvals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_compliance_approvals_state"), ["state"], unique=False)

    op.create_table(
        "compliance_check_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=40), nullable=False),
        sa.Column("entity", sa.String(length=16), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=True),
        sa.Column("account_code", sa.String(length=32), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("side", sa.String(length=8), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=20, scale=6), nullable=False),
        sa.Column("rule_code", sa.String(length=40), nullable=False),
        sa.Column("rule_version", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=8), nullable=False),
        sa.Column("limit_value", sa.Float(), nullable=True),
        sa.Column("before_value", sa.Float(), nullable=True),
        sa.Column("after_value", sa.Float(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("checked_by", sa.String(length=64), nullable=False),
        sa.Column("checked_at", engine.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compliance_check_results")),
    )
    with op.batch_alter_table("compliance_check_results", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_compliance_check_results_entity_id"), ["entity_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_compliance_check_results_run_id"), ["run_id"], unique=False)

    op.create_table(
        "compliance_desk_accounts",
        sa.Column("account_code", sa.String(length=32), nullable=False),
        sa.Column("desk", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("account_code", name=op.f("pk_compliance_desk_accounts")),
    )
    with op.batch_alter_table("compliance_desk_accounts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_compliance_desk_accounts_desk"), ["desk"], unique=False)

    op.create_table(
        "compliance_kill_switches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("scope_key", sa.String(length=64), nullable=True),
        sa.Column("engaged_by", sa.String(length=64), nullable=False),
        sa.Column("engaged_at", engine.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("released_by", sa.String(length=64), nullable=True),
        sa.Column("released_at", engine.store.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("release_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compliance_kill_switches")),
    )
    op.create_table(
        "compliance_list_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("list_kind", sa.String(length=16), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("account_code", sa.String(length=32), nullable=True),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("effective_to", sa.Date(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("added_by", sa.String(length=64), nullable=False),
        sa.Column("added_at", engine.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compliance_list_entries")),
    )
    with op.batch_alter_table("compliance_list_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_compliance_list_entries_symbol"), ["symbol"], unique=False)

    op.create_table(
        "compliance_rule_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_code", sa.String(length=40), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("scope_key", sa.String(length=64), nullable=True),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("effective_to", sa.Date(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", engine.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compliance_rule_assignments")),
    )
    with op.batch_alter_table("compliance_rule_assignments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_compliance_rule_assignments_rule_code"), ["rule_code"], unique=False
        )

    op.create_table(
        "compliance_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("template", sa.String(length=40), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("effective_to", sa.Date(), nullable=True),
        sa.Column("retired", sa.Boolean(), nullable=False),
        sa.Column("changed_by", sa.String(length=64), nullable=False),
        sa.Column("changed_at", engine.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compliance_rules")),
        sa.UniqueConstraint("code", "version", name=op.f("uq_compliance_rules_code_version")),
    )
    with op.batch_alter_table("compliance_rules", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_compliance_rules_code"), ["code"], unique=False)

    op.create_table(
        "compliance_approval_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("approval_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=40), nullable=True),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("reason_code", sa.String(length=32), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("override", sa.Boolean(), nullable=False),
        sa.Column("at", engine.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["approval_id"],
            ["compliance_approvals.id"],
            name=op.f("fk_compliance_approval_decisions_approval_id_compliance_approvals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compliance_approval_decisions")),
    )
    with op.batch_alter_table("compliance_approval_decisions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_compliance_approval_decisions_approval_id"), ["approval_id"], unique=False
        )
    _seed()


def _seed() -> None:
    now = datetime.now(UTC)
    start = date(2000, 1, 1)
    head = sa.table(
        "audit_chain_head", sa.column("id"), sa.column("seq"), sa.column("last_id"), sa.column("hash")
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "last_id": None, "hash": None}])
    rules = sa.table(
        "compliance_rules",
        sa.column("code"), sa.column("version"), sa.column("template"), sa.column("severity"),
        sa.column("params", sa.JSON()), sa.column("description"), sa.column("effective_from"),
        sa.column("effective_to"), sa.column("retired"), sa.column("changed_by"),
        sa.column("changed_at", engine.store.base.UTCDateTime()), sa.column("reason"),
    )  # fmt: skip
    op.bulk_insert(
        rules,
        [
            {
                "code": code, "version": 1, "template": tpl, "severity": sev, "params": params,
                "description": desc, "effective_from": start, "effective_to": None, "retired": False,
                "changed_by": "system", "changed_at": now, "reason": "firm starting rule set",
            }
            for code, tpl, sev, params, desc in DEFAULT_RULES
        ],
    )  # fmt: skip
    assign = sa.table(
        "compliance_rule_assignments",
        sa.column("rule_code"), sa.column("scope"), sa.column("scope_key"), sa.column("effective_from"),
        sa.column("effective_to"), sa.column("created_by"), sa.column("created_at", engine.store.base.UTCDateTime()),
    )  # fmt: skip
    op.bulk_insert(
        assign,
        [
            {
                "rule_code": code, "scope": "firm", "scope_key": None, "effective_from": start,
                "effective_to": None, "created_by": "system", "created_at": now,
            }
            for code, *_ in DEFAULT_RULES
        ],
    )  # fmt: skip


def downgrade() -> None:
    with op.batch_alter_table("compliance_approval_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_compliance_approval_decisions_approval_id"))

    op.drop_table("compliance_approval_decisions")
    with op.batch_alter_table("compliance_rules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_compliance_rules_code"))

    op.drop_table("compliance_rules")
    with op.batch_alter_table("compliance_rule_assignments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_compliance_rule_assignments_rule_code"))

    op.drop_table("compliance_rule_assignments")
    with op.batch_alter_table("compliance_list_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_compliance_list_entries_symbol"))

    op.drop_table("compliance_list_entries")
    op.drop_table("compliance_kill_switches")
    with op.batch_alter_table("compliance_desk_accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_compliance_desk_accounts_desk"))

    op.drop_table("compliance_desk_accounts")
    with op.batch_alter_table("compliance_check_results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_compliance_check_results_run_id"))
        batch_op.drop_index(batch_op.f("ix_compliance_check_results_entity_id"))

    op.drop_table("compliance_check_results")
    with op.batch_alter_table("compliance_approvals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_compliance_approvals_state"))

    op.drop_table("compliance_approvals")
    op.drop_table("audit_chain_head")
