"""SQLAlchemy Core tables: the one schema for SQLite and PostgreSQL (migrations create it)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.sql.expression import false
from sqlalchemy.types import TypeDecorator

from autoliq.adapters.sql.codec import codec_for, read_flag, read_optional_day, read_time
from autoliq.domain.post_trade import AMOUNT_FIELDS

# BigInteger ids that are still SQLite's INTEGER PRIMARY KEY (its rowid alias) there.
Id = BigInteger().with_variant(Integer(), "sqlite")
# Contract quantities: BIGINT on PostgreSQL (INTEGER is 32-bit there); SQLite's INTEGER is 64-bit.
Quantity = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """A point in time, stored in UTC and read back timezone-aware on both engines (`codec.Codec.time`)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> Callable[[datetime | None], Any]:
        return codec_for(dialect.name).time

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], datetime | None]:
        return read_time


class Day(TypeDecorator[date]):
    """A trade date (`codec.Codec.day`)."""

    impl = Date
    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> Callable[[date | None], Any]:
        return codec_for(dialect.name).day

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], date | None]:
        return read_optional_day


class Flag(Boolean):
    """A boolean (`codec.Codec.flag`); a Boolean itself, so `== True` still compiles to `IS true`."""

    def bind_processor(self, dialect: Dialect) -> Callable[[bool | None], Any]:
        return codec_for(dialect.name).flag

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], bool | None]:
        return read_flag


metadata = MetaData()

organization = Table(
    "organization",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("created", UTCDateTime(), nullable=False),
)

app_user = Table(
    "app_user",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("organization_id", BigInteger, ForeignKey("organization.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("password_hash", String(300), nullable=False),
    Column("role", String(20), nullable=False),
    Column("full_name", String(200), nullable=False),
    Column("email", String(320), nullable=False),
    Column("created", UTCDateTime(), nullable=False),
)

account = Table(
    "account",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("organization_id", BigInteger, ForeignKey("organization.id"), nullable=False),
    Column("user_id", BigInteger, ForeignKey("app_user.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("created", UTCDateTime(), nullable=False),
    Column("archived", Flag(), nullable=False, default=False),
    Column("risk_category_id", BigInteger, nullable=True),
    Column("notes", Text, nullable=True),
    UniqueConstraint("organization_id", "name", name="uq_account_org_name"),
)

account_risk_status = Table(
    "account_risk_status",
    metadata,
    Column("id", BigInteger, ForeignKey("account.id"), primary_key=True, autoincrement=False),
    Column("admin_action", String(40), nullable=False),
    Column("admin_timestamp", UTCDateTime(), nullable=True),
    Column("liquidate_only", UTCDateTime(), nullable=True),
    Column("user_triggered_liq_only", Flag(), nullable=False),
    Column("max_net_liq", Float, nullable=True),
    Column("min_net_liq", Float, nullable=True),
)

account_risk_status_log = Table(
    "account_risk_status_log",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", BigInteger, ForeignKey("account.id"), nullable=False),
    Column("timestamp", UTCDateTime(), nullable=False),
    Column("admin_action", String(40), nullable=False),
    Column("admin_timestamp", UTCDateTime(), nullable=True),
    Column("liquidate_only", UTCDateTime(), nullable=True),
    Column("user_triggered_liq_only", Flag(), nullable=False),
    Column("max_net_liq", Float, nullable=True),
    Column("min_net_liq", Float, nullable=True),
    Column("actor", String(20), nullable=False),
    Column("actor_user_id", BigInteger, nullable=True),
    Column("reason_code", String(40), nullable=True),
    Column("reason", Text, nullable=True),
    Index("ix_account_risk_status_log_account_id_id", "account_id", "id"),
)

auth_session = Table(
    "auth_session",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("user_id", BigInteger, ForeignKey("app_user.id"), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created", UTCDateTime(), nullable=False),
    Column("expires", UTCDateTime(), nullable=False),
    Column("closed", UTCDateTime(), nullable=True),
    # The SHA-256 of the session's mdAccessToken (null for a session opened before migration 0016
    # until its first renewal).
    Column("md_token_hash", String(64), nullable=True),
    Index("ix_auth_session_user_id_closed", "user_id", "closed"),
    Index("ix_auth_session_md_token_hash", "md_token_hash", unique=True),
)

contract_price = Table(
    "contract_price",
    metadata,
    Column("contract_id", BigInteger, primary_key=True, autoincrement=False),
    Column("price_ticks", BigInteger, nullable=False),
    Column("updated", UTCDateTime(), nullable=False),
)

price_history = Table(
    "price_history",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("contract_id", BigInteger, nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("price_ticks", BigInteger, nullable=False),
    Column("volume", Quantity, nullable=False),
    Index("ix_price_history_contract_id_at", "contract_id", "at"),
    Index("ix_price_history_at", "at"),
)
"""Every price the sandbox set, kept `price_history_days` (md charts, session open/high/low); `volume`
is the contracts that price change filled (the resting orders it reached)."""

trade_order = Table(
    "trade_order",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", BigInteger, ForeignKey("account.id"), nullable=False),
    Column("contract_id", BigInteger, nullable=False),
    Column("action", String(4), nullable=False),
    Column("order_type", String(16), nullable=False),
    Column("qty", Quantity, nullable=False),
    Column("time_in_force", String(4), nullable=False),
    Column("status", String(16), nullable=False),
    Column("admin", Flag(), nullable=False),
    Column("limit_ticks", BigInteger, nullable=True),
    Column("stop_ticks", BigInteger, nullable=True),
    Column("triggered", Flag(), nullable=False),
    Column("fill_ticks", BigInteger, nullable=True),
    Column("cl_ord_id", String(64), nullable=True),
    Column("created", UTCDateTime(), nullable=False),
    Column("updated", UTCDateTime(), nullable=False),
    # Linked orders (OCO, OSO, order strategies): see migration 0015_linked_orders.
    Column("parent_id", BigInteger, nullable=True),
    Column("oco_id", BigInteger, nullable=True),
    Column("has_children", Flag(), nullable=False, server_default=false()),
    Column("strategy_id", BigInteger, nullable=True),
    Column("strategy_label", String(16), nullable=True),
    Column("offset_ticks", BigInteger, nullable=True),
    Index("ix_trade_order_account_contract_status", "account_id", "contract_id", "status"),
    Index("ix_trade_order_contract_status", "contract_id", "status"),
    Index("ix_trade_order_parent", "parent_id"),
    Index("ix_trade_order_strategy", "strategy_id"),
)

order_strategy = Table(
    "order_strategy",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", BigInteger, ForeignKey("account.id"), nullable=False),
    Column("contract_id", BigInteger, nullable=False),
    Column("order_strategy_type_id", BigInteger, nullable=False),
    Column("initiator_id", BigInteger, nullable=True),
    Column("action", String(4), nullable=False),
    Column("params", Text, nullable=False),
    Column("uuid", String(64), nullable=True),
    Column("status", String(24), nullable=False),
    Column("failure_message", String(256), nullable=True),
    Column("custom_tag50", String(64), nullable=True),
    Column("timestamp", UTCDateTime(), nullable=False),
    Column("updated", UTCDateTime(), nullable=False),
    Index("ix_order_strategy_account_status", "account_id", "status"),
)

fill = Table(
    "fill",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("order_id", BigInteger, ForeignKey("trade_order.id"), nullable=False),
    Column("account_id", BigInteger, ForeignKey("account.id"), nullable=False),
    Column("contract_id", BigInteger, nullable=False),
    Column("action", String(4), nullable=False),
    Column("qty", Quantity, nullable=False),
    Column("price_ticks", BigInteger, nullable=False),
    Column("timestamp", UTCDateTime(), nullable=False),
    Column("trade_date", Day(), nullable=False),
    Index("ix_fill_account_id", "account_id", "id"),
    Index("ix_fill_order_id", "order_id"),
    Index("ix_fill_contract_id_timestamp", "contract_id", "timestamp"),
)

position = Table(
    "position",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", BigInteger, ForeignKey("account.id"), nullable=False),
    Column("contract_id", BigInteger, nullable=False),
    Column("lots", Text, nullable=False),
    Column("bought", Quantity, nullable=False),
    Column("bought_ticks", BigInteger, nullable=False),
    Column("sold", Quantity, nullable=False),
    Column("sold_ticks", BigInteger, nullable=False),
    Column("realized_ticks", BigInteger, nullable=False),
    Column("timestamp", UTCDateTime(), nullable=False),
    Column("trade_date", Day(), nullable=False),
    Column("trigger_low_ticks", BigInteger, nullable=True),
    Column("trigger_high_ticks", BigInteger, nullable=True),
    UniqueConstraint("account_id", "contract_id", name="uq_position_account_contract"),
    Index("ix_position_contract_id", "contract_id"),
    Index("ix_position_contract_trigger_low", "contract_id", "trigger_low_ticks"),
    Index("ix_position_contract_trigger_high", "contract_id", "trigger_high_ticks"),
)

cash_balance = Table(
    "cash_balance",
    metadata,
    Column("account_id", BigInteger, ForeignKey("account.id"), primary_key=True, autoincrement=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("realized_cents", BigInteger, nullable=False),
    Column("week_realized_cents", BigInteger, nullable=False),
    Column("amount_sod_cents", BigInteger, nullable=False),
    Column("timestamp", UTCDateTime(), nullable=False),
    Column("trade_date", Day(), nullable=False),
)

sandbox_clock = Table(
    "sandbox_clock",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("offset_us", BigInteger, nullable=False),
    Column("updated", UTCDateTime(), nullable=False),
    Column("speed", Integer, nullable=False, server_default="100"),
    CheckConstraint("id = 1", name="ck_sandbox_clock_one_row"),
)

user_account_auto_liq = Table(
    "user_account_auto_liq",
    metadata,
    Column("id", BigInteger, ForeignKey("account.id"), primary_key=True, autoincrement=False),
    Column("changes_locked", Flag(), nullable=False),
    *(Column(name, Float, nullable=True) for name in AMOUNT_FIELDS),
    Column("flatten_timestamp", UTCDateTime(), nullable=True),
    Column("trailing_max_drawdown_mode", String(16), nullable=True),
    Column("do_not_unlock", Flag(), nullable=False),
    Column("updated", UTCDateTime(), nullable=False),
)

# Pre-trade limits (issue 17, migration 0018): Tradovate's userAccountPositionLimit rows and their
# userAccountRiskParameter rows, with a log row per change (`limit_log`, like the admin action's).
_SCOPE_COLUMNS = (
    ("contract_id", BigInteger),
    ("product_id", BigInteger),
    ("exchange_id", BigInteger),
    ("product_type", String(32)),
    ("contract_group_id", BigInteger),
    ("discount_group_id", BigInteger),
    ("fungible_product_id", BigInteger),
)

position_limit = Table(
    "position_limit",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", BigInteger, ForeignKey("account.id"), nullable=False),
    Column("active", Flag(), nullable=False),
    Column("total_by", String(32), nullable=False),
    *(Column(name, kind, nullable=True) for name, kind in _SCOPE_COLUMNS),
    Column("long_limit", Integer, nullable=True),
    Column("short_limit", Integer, nullable=True),
    Column("exposed_limit", Integer, nullable=True),
    Column("fungible_exposed_limit", Integer, nullable=True),
    Column("description", String(64), nullable=True),
    Column("risk_time_period_id", BigInteger, nullable=True),
    Column("product_verification_status", String(32), nullable=True),
    Column("updated", UTCDateTime(), nullable=False),
    Index("ix_position_limit_account_id", "account_id"),
)

risk_parameter = Table(
    "risk_parameter",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("position_limit_id", BigInteger, ForeignKey("position_limit.id"), nullable=False),
    # The parent row's account (scoping and the sandbox reset without a join).
    Column("account_id", BigInteger, ForeignKey("account.id"), nullable=False),
    *(Column(name, kind, nullable=True) for name, kind in _SCOPE_COLUMNS),
    Column("max_opening_order_qty", Integer, nullable=True),
    Column("max_closing_order_qty", Integer, nullable=True),
    Column("fungible_max_opening_order_qty", Integer, nullable=True),
    Column("fungible_max_closing_order_qty", Integer, nullable=True),
    Column("max_back_month", Integer, nullable=True),
    Column("pre_expiration_days", Integer, nullable=True),
    Column("margin_percentage", Float, nullable=True),
    Column("margin_dollar_value", Float, nullable=True),
    Column("hard_limit", Flag(), nullable=True),
    Column("product_verification_status", String(32), nullable=True),
    Column("updated", UTCDateTime(), nullable=False),
    Index("ix_risk_parameter_position_limit_id", "position_limit_id"),
    Index("ix_risk_parameter_account_id", "account_id"),
)

limit_log = Table(
    "limit_log",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", BigInteger, ForeignKey("account.id"), nullable=False),
    Column("timestamp", UTCDateTime(), nullable=False),
    # userAccountPositionLimit or userAccountRiskParameter; Created, Updated or Deleted.
    Column("entity_type", String(40), nullable=False),
    Column("entity_id", BigInteger, nullable=False),
    Column("change", String(16), nullable=False),
    Column("actor_user_id", BigInteger, nullable=True),
    # The row as it was written (JSON of the entity's Tradovate fields); null for a deletion.
    Column("entity", Text, nullable=True),
    Index("ix_limit_log_account_id_id", "account_id", "id"),
)

equity_point = Table(
    "equity_point",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", BigInteger, ForeignKey("account.id"), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("net_liq_cents", BigInteger, nullable=False),
    Column("floor_cents", BigInteger, nullable=True),
    Index("ix_equity_point_account_id_id", "account_id", "id"),
    Index("ix_equity_point_at", "at"),
)
"""An account's net liquidation value and trailing-drawdown floor (`minNetLiq`), one row each time the
risk engine re-evaluates it and either changed, kept `equity_history_days` (the desk's equity curve)."""

webhook = Table(
    "webhook",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("organization_id", BigInteger, ForeignKey("organization.id"), nullable=False),
    Column("url", String(2048), nullable=False),
    # The HMAC key the deliveries are signed with: kept as given (signing needs it), never answered
    # after the creation's answer.
    Column("secret", String(128), nullable=False),
    Column("kinds", String(200), nullable=False),
    Column("format", String(16), nullable=False),
    Column("active", Flag(), nullable=False),
    Column("created", UTCDateTime(), nullable=False),
    # The last event_outbox id handled (delivered, skipped or dead-lettered): deliveries resume after it.
    Column("cursor", BigInteger, nullable=False),
    Column("failures", Integer, nullable=False),
    Column("retry_at", UTCDateTime(), nullable=True),
    Column("last_error", String(500), nullable=True),
    # One deliverer at a time per webhook, whichever worker: a lease that lapses if its holder dies.
    Column("lease_owner", String(64), nullable=True),
    Column("lease_until", UTCDateTime(), nullable=True),
    Index("ix_webhook_organization_id", "organization_id"),
)

webhook_dead_letter = Table(
    "webhook_dead_letter",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("webhook_id", BigInteger, ForeignKey("webhook.id", ondelete="CASCADE"), nullable=False),
    Column("event_id", BigInteger, nullable=False),
    Column("kind", String(40), nullable=False),
    Column("payload", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", String(500), nullable=False),
    Column("created", UTCDateTime(), nullable=False),
    Index("ix_webhook_dead_letter_webhook_id_id", "webhook_id", "id"),
)

risk_timer = Table(
    "risk_timer",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", BigInteger, ForeignKey("account.id"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("admin_action", String(40), nullable=True),
    Column("set_at", UTCDateTime(), nullable=True),
    Column("due_at", UTCDateTime(), nullable=False),
    Index("ix_risk_timer_due_at", "due_at"),
)

cash_change = Table(
    "cash_change",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", BigInteger, ForeignKey("account.id"), nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("comment", String(64), nullable=False),
    Column("user_id", BigInteger, ForeignKey("app_user.id"), nullable=False),
    Column("by_admin", Flag(), nullable=False),
    Column("timestamp", UTCDateTime(), nullable=False),
    Index("ix_cash_change_account_timestamp", "account_id", "timestamp"),
)

auto_liq_layer = Table(
    "auto_liq_layer",
    metadata,
    Column("account_id", BigInteger, ForeignKey("account.id"), primary_key=True, autoincrement=False),
    Column("state", String(16), nullable=False),
    Column("rule", String(40), nullable=False),
    Column("since", UTCDateTime(), nullable=False),
    Column("until", UTCDateTime(), nullable=True),
)

auto_liq_alert = Table(
    "auto_liq_alert",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", BigInteger, ForeignKey("account.id"), nullable=False),
    Column("timestamp", UTCDateTime(), nullable=False),
    Column("trade_date", Day(), nullable=False),
    Column("rule", String(40), nullable=False),
    Column("level", String(16), nullable=False),
    Column("message", Text, nullable=False),
    Index("ix_auto_liq_alert_account_rule_date", "account_id", "rule", "trade_date"),
)

risk_session = Table(
    "risk_session",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("closed_trade_date", Day(), nullable=False),
    CheckConstraint("id = 1", name="ck_risk_session_one_row"),
)

risk_category = Table(
    "risk_category",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("organization_id", BigInteger, ForeignKey("organization.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("halted", Flag(), nullable=False),
    Column("updated", UTCDateTime(), nullable=False),
    UniqueConstraint("organization_id", "name", name="uq_risk_category_org_name"),
)

event_outbox = Table(
    "event_outbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("origin", String(32), nullable=False),
    Column("created", UTCDateTime(), nullable=False),
    Column("payload", Text, nullable=False),
    Index("ix_event_outbox_created", "created"),
)

sandbox_fault = Table(
    "sandbox_fault",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("path", String(200), nullable=False),
    Column("path_key", String(200), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("remaining", Integer, nullable=False),
    Column("delay_ms", Integer, nullable=True),
    Column("p_time", Integer, nullable=True),
    Column("p_captcha", Flag(), nullable=False),
    Column("created", UTCDateTime(), nullable=False),
    # Whose users' calls take it: the organization of the admin who injected it.
    Column("organization_id", BigInteger, ForeignKey("organization.id"), nullable=False),
    Index("ix_sandbox_fault_path_key_id", "path_key", "id"),
)

sandbox_ticket = Table(
    "sandbox_ticket",
    metadata,
    Column("ticket", String(64), primary_key=True),
    Column("path_key", String(200), nullable=False),
    Column("p_time", Integer, nullable=False),
    Column("valid_after", UTCDateTime(), nullable=False),
    Column("expires", UTCDateTime(), nullable=False),
    # The organization of the call it was handed to (None: a call without a known organization,
    # turned away by the rate-limit profile); a scoped clear or reset voids its organization's only.
    Column("organization_id", BigInteger, ForeignKey("organization.id"), nullable=True),
    Index("ix_sandbox_ticket_expires", "expires"),
)
