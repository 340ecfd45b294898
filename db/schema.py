"""Tables of the app database. Alembic migrations in `db/migrations` create and change them."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from db.types import UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

users = Table(
    "users",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("role", String(16), nullable=False),
    Column("display_name", String(100), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    # Login name and argon2 hash; users made before sign-up existed may have neither.
    Column("username", String(64), nullable=True, unique=True),
    Column("password_hash", String(200), nullable=True),
    # Real contact details: never shown to the other side of an order (rule C4).
    Column("phone", String(20), nullable=True),
    Column("email", String(254), nullable=True),
    CheckConstraint("role IN ('client','creator','mcn','reviewer','ops')", name="role"),
)

# Opaque bearer tokens, stored only as a keyed hash: a database leak yields no usable token.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", String(64), ForeignKey("users.id"), nullable=False, index=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
)

# The first response to each (user, Idempotency-Key), replayed to repeats of the request.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("user_id", String(64), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer(), nullable=True),
    Column("response", JSON(), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
)

creators = Table(
    "creators",
    metadata,
    Column("user_id", String(64), ForeignKey("users.id"), primary_key=True),
    Column("mcn_id", String(64), ForeignKey("users.id"), nullable=True),
    Column("quote_fen", BigInteger(), nullable=True),
    Column("accepting_orders", Boolean(), nullable=False, default=False),
    # C1: the account the creator signed in with, and the Xigua account bound to it.
    Column("login_platform", String(16), nullable=True),
    Column("login_account", String(64), nullable=True),
    Column("xigua_account_id", String(64), nullable=True, unique=True),
    # C2: when the task was opened, and the metrics read from the platform then.
    Column("task_opened_at", UTCDateTime(), nullable=True),
    Column("fans", BigInteger(), nullable=False, default=0),
    Column("avg_plays", BigInteger(), nullable=False, default=0),
    Column("category", String(32), nullable=True),
    Column("credit_score", Integer(), nullable=False, default=100),
    # C5, kept in step with the columns it depends on, so the square is one indexed scan.
    Column("orderable", Boolean(), nullable=False, default=False),
    CheckConstraint("quote_fen IS NULL OR quote_fen > 0", name="quote_positive"),
    CheckConstraint(
        "login_platform IS NULL OR login_platform IN ('douyin','toutiao','huoshan')",
        name="login_platform",
    ),
    Index("ix_creators_square_price", "orderable", "quote_fen", "user_id"),
    Index("ix_creators_square_fans", "orderable", "fans", "user_id"),
    Index("ix_creators_square_plays", "orderable", "avg_plays", "user_id"),
    Index("ix_creators_square_category", "orderable", "category", "quote_fen", "user_id"),
)

# C7: a creator asks to join an MCN; it becomes a member (creators.mcn_id) only when the MCN
# accepts. The rows stay as the record of who asked, and who agreed or refused, when.
mcn_requests = Table(
    "mcn_requests",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("creator_id", String(64), ForeignKey("users.id"), nullable=False),
    Column("mcn_id", String(64), ForeignKey("users.id"), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("decided_at", UTCDateTime(), nullable=True),
    CheckConstraint("status IN ('pending','accepted','refused','withdrawn')", name="status"),
    Index("ix_mcn_requests_mcn_status_created", "mcn_id", "status", "created_at"),
    Index("ix_mcn_requests_creator_created", "creator_id", "created_at"),
    # One open request per creator, held by the database against two racing requests.
    Index(
        "uq_mcn_requests_pending_creator",
        "creator_id",
        unique=True,
        sqlite_where=text("status = 'pending'"),
        postgresql_where=text("status = 'pending'"),
    ),
)

# A creator's credit: each violation lowers it once per order.
credit_events = Table(
    "credit_events",
    metadata,
    Column("order_id", String(64), primary_key=True),
    Column("creator_id", String(64), ForeignKey("users.id"), nullable=False, index=True),
    Column("delta", Integer(), nullable=False),
    Column("reason", Text(), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
)

# The ledger. An account id is "<kind>:<owner>" (client:u1, escrow:o1, platform:fees).
# Only the external account, the outside world that top-ups come from, may go negative.
accounts = Table(
    "accounts",
    metadata,
    Column("id", String(100), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("balance", BigInteger(), nullable=False, default=0),
    Column("created_at", UTCDateTime(), nullable=False),
    CheckConstraint("kind = 'external' OR balance >= 0", name="not_negative"),
    CheckConstraint(
        "kind IN ('client','creator','mcn','escrow','payout','platform','external')", name="kind"
    ),
)

transfers = Table(
    "transfers",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column("key", String(200), nullable=False, unique=True),
    Column("kind", String(32), nullable=False),
    Column("order_id", String(64), nullable=True, index=True),
    Column("created_at", UTCDateTime(), nullable=False),
)

entries = Table(
    "entries",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column("transfer_id", Integer(), ForeignKey("transfers.id"), nullable=False, index=True),
    Column("account_id", String(100), ForeignKey("accounts.id"), nullable=False),
    Column("amount", BigInteger(), nullable=False),
    CheckConstraint("amount <> 0", name="nonzero"),
    Index("ix_entries_account_id_id", "account_id", "id"),
)

# The order projection, written by the workflow through an activity on every transition.
orders = Table(
    "orders",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("client_id", String(64), nullable=False),
    Column("creator_id", String(64), nullable=False),
    Column("mcn_id", String(64), nullable=True),
    Column("status", String(32), nullable=False),
    Column("price_fen", BigInteger(), nullable=False),
    Column("fee_fen", BigInteger(), nullable=False),
    Column("skip_script", Boolean(), nullable=False),
    Column("retention_days", Integer(), nullable=False),
    Column("brief", JSON(), nullable=False),
    Column("next_actor", String(16), nullable=True),
    Column("next_actions", JSON(), nullable=False),
    Column("deadline", UTCDateTime(), nullable=True),
    Column("at_deadline", String(200), nullable=True),
    Column("last_seq", Integer(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    # What ops filter on (P1), as the workflow's state says with each transition: a review
    # past its deadline (D2), an open dispute (X3), a delivery past its due date (D2). The
    # default '0' is false on both databases (migration 0006 says why it is not `false()`).
    Column("escalated", Boolean(), nullable=False, server_default="0"),
    Column("disputed", Boolean(), nullable=False, server_default="0"),
    Column("overdue", Boolean(), nullable=False, server_default="0"),
    # When the script, video or republished video now awaiting platform review was handed
    # in: the review queue's order and waiting time. Reminders and escalations move
    # updated_at, not this.
    Column("submitted_for_review_at", UTCDateTime(), nullable=True),
    # The refund of the split the order was cancelled with (X1, X3, X4); null otherwise.
    Column("split_refund_fen", BigInteger(), nullable=True),
    Index("ix_orders_client_status_created", "client_id", "status", "created_at"),
    Index("ix_orders_creator_status_created", "creator_id", "status", "created_at"),
    Index("ix_orders_status_updated", "status", "updated_at"),
    # Ops list every order newest first (P1), all of them or of one status.
    Index("ix_orders_created", "created_at", "id"),
    Index("ix_orders_status_created", "status", "created_at", "id"),
    Index("ix_orders_deadline", "deadline"),
    # The attention list: the few orders flagged, newest first. Partial, so the many orders
    # that are never flagged cost it nothing. Each flag's filter alone uses it too: it is one
    # term of the OR (on SQLite spelt as SQLAlchemy renders it, `escalated = 1`, since
    # SQLite matches the terms by their text; PostgreSQL proves the implication).
    Index(
        "ix_orders_attention_created",
        "created_at",
        "id",
        sqlite_where=text("escalated = 1 OR disputed = 1 OR overdue = 1"),
        postgresql_where=text("escalated OR disputed OR overdue"),
    ),
    # The review queues, longest waiting first (O4, D2).
    Index("ix_orders_status_review", "status", "submitted_for_review_at", "id"),
)

order_timeline = Table(
    "order_timeline",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column("order_id", String(64), ForeignKey("orders.id"), nullable=False),
    Column("seq", Integer(), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("actor_id", String(64), nullable=False),
    Column("actor_role", String(16), nullable=False),
    Column("action", String(32), nullable=False),
    Column("from_status", String(32), nullable=True),
    Column("to_status", String(32), nullable=False),
    Column("reason", Text(), nullable=True),
    UniqueConstraint("order_id", "seq"),
)

# Outbox: notifications written in the same transaction as the transition that causes them.
# `recipient` is a user id, or a group address ("ops", "reviewers": every user of that role,
# services/notifications.py). Each recipient's inbox reads them; the relay (services/relay.py)
# routes each one to its recipient's channels once (routed_at) and delivers it (deliveries).
notifications = Table(
    "notifications",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column("order_id", String(64), ForeignKey("orders.id"), nullable=False),
    Column("seq", Integer(), nullable=False),
    Column("recipient", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("body", Text(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("routed_at", UTCDateTime(), nullable=True),
    UniqueConstraint("order_id", "seq", "recipient"),
    # An inbox, newest first.
    Index("ix_notifications_recipient_id", "recipient", "id"),
    # What the relay has yet to route: small, however long the outbox grows.
    Index(
        "ix_notifications_unrouted",
        "id",
        sqlite_where=text("routed_at IS NULL"),
        postgresql_where=text("routed_at IS NULL"),
    ),
)

# Read state, per user: a notification to a group is read or unread for each of its members.
notification_reads = Table(
    "notification_reads",
    metadata,
    Column("user_id", String(64), ForeignKey("users.id"), primary_key=True),
    Column("notification_id", Integer(), ForeignKey("notifications.id"), primary_key=True),
    Column("read_at", UTCDateTime(), nullable=False),
)

# N2: a client's webhook endpoints. The secret signs each delivery, so it is kept as it is
# (the API shows it once, when made or rotated).
webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("user_id", String(64), ForeignKey("users.id"), nullable=False),
    Column("url", String(2048), nullable=False),
    Column("secret", String(100), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("secret_rotated_at", UTCDateTime(), nullable=True),
    Index("ix_webhook_endpoints_user_created", "user_id", "created_at"),
)

# N1, N3: one row per notification, channel and target, claimed by one relay at a time under a
# lease. target: for sms and email the user whose contact details each attempt reads, for a
# webhook the endpoint id.
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column("notification_id", Integer(), ForeignKey("notifications.id"), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("target", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer(), nullable=False),
    Column("next_attempt_at", UTCDateTime(), nullable=False),
    Column("claimed_by", String(64), nullable=True),
    Column("claimed_until", UTCDateTime(), nullable=True),
    Column("last_error", Text(), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("delivered_at", UTCDateTime(), nullable=True),
    CheckConstraint("channel IN ('sms','email','webhook')", name="channel"),
    CheckConstraint("status IN ('pending','delivered','failed','cancelled')", name="status"),
    UniqueConstraint("notification_id", "channel", "target"),
    Index("ix_deliveries_channel_target", "channel", "target"),
    # What a relay may claim: the pending ones, soonest due first.
    Index(
        "ix_deliveries_due",
        "next_attempt_at",
        sqlite_where=text("status = 'pending'"),
        postgresql_where=text("status = 'pending'"),
    ),
)

# Every attempt of every delivery: a webhook endpoint's delivery log (N2).
delivery_attempts = Table(
    "delivery_attempts",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column("delivery_id", Integer(), ForeignKey("deliveries.id"), nullable=False),
    Column("attempt", Integer(), nullable=False),
    Column("relay", String(64), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("status_code", Integer(), nullable=True),
    Column("error", Text(), nullable=True),
    CheckConstraint("outcome IN ('delivered','retrying','failed','cancelled')", name="outcome"),
    UniqueConstraint("delivery_id", "attempt"),
)

# Text messages the simulated telephony provider has sent, by our reference, which is how a
# real provider drops a retried send too.
simulated_sms = Table(
    "simulated_sms",
    metadata,
    Column("reference", String(100), primary_key=True),
    Column("to_number", String(20), nullable=False),
    Column("text", Text(), nullable=False),
    Column("sent_at", UTCDateTime(), nullable=False),
)

# State of the local video-platform simulator (stands in for Xigua in tests and demos).
platform_videos = Table(
    "platform_videos",
    metadata,
    Column("video_id", String(64), primary_key=True),
    Column("order_id", String(64), nullable=True),
    Column("xigua_account_id", String(64), nullable=True),
    Column("public", Boolean(), nullable=False),
    Column("published_at", UTCDateTime(), nullable=True),
    Column("removed_at", UTCDateTime(), nullable=True),
    Column("plays", BigInteger(), nullable=False, default=0),
    Column("likes", BigInteger(), nullable=False, default=0),
    Column("comments", BigInteger(), nullable=False, default=0),
    Column("shares", BigInteger(), nullable=False, default=0),
    Column("completion_rate", Float(), nullable=False, default=0.0),
    # As the uploader wrote them; what the pre-review of a video reads (B2).
    Column("title", String(200), nullable=True),
    Column("description", Text(), nullable=True),
)

# Which order each video is linked to (O5, O10). The platform's own record is not ours to rely
# on: here one video belongs to one order, whatever the platform allows.
video_links = Table(
    "video_links",
    metadata,
    Column("order_id", String(64), nullable=False),
    Column("video_id", String(64), nullable=False),
    Column("xigua_account_id", String(64), nullable=False),
    Column("linked_at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("order_id", "video_id"),
    UniqueConstraint("video_id"),
)

platform_accounts = Table(
    "platform_accounts",
    metadata,
    Column("xigua_account_id", String(64), primary_key=True),
    Column("fans_toutiao", BigInteger(), nullable=False),
    Column("fans_xigua", BigInteger(), nullable=False),
    Column("unhealthy", Boolean(), nullable=False),
    Column("original", Boolean(), nullable=False),
    Column("category", String(32), nullable=True),
    # Plays of the most recent videos, newest first.
    Column("recent_plays", JSON(), nullable=False),
    # C1: the Douyin, Toutiao or Huoshan account it belongs to; only its holder may bind it.
    Column("owner_platform", String(16), nullable=True),
    Column("owner_account", String(64), nullable=True),
)

# Simulated payment rails: what the provider has charged and paid out, by our request id,
# which is how a real provider deduplicates retried requests too.
provider_requests = Table(
    "provider_requests",
    metadata,
    Column("request_id", String(100), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("amount_fen", BigInteger(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("reference", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

# O11: samples of a published video's public numbers, one per check.
video_stats = Table(
    "video_stats",
    metadata,
    Column("order_id", String(64), primary_key=True),
    Column("sample", Integer(), primary_key=True),
    Column("video_id", String(64), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("public", Boolean(), nullable=False),
    Column("plays", BigInteger(), nullable=False),
    Column("likes", BigInteger(), nullable=False),
    Column("comments", BigInteger(), nullable=False),
    Column("shares", BigInteger(), nullable=False),
    Column("completion_rate", Float(), nullable=False),
)

# C4, O3: a virtual number per order and side, forwarding to the other side's real phone.
virtual_numbers = Table(
    "virtual_numbers",
    metadata,
    Column("order_id", String(64), primary_key=True),
    Column("holder_id", String(64), primary_key=True),
    Column("number", String(20), nullable=False, unique=True),
    Column("forwards_to", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

# Top-ups and withdrawals: one row per request, keyed by an id derived from the caller's key.
payments = Table(
    "payments",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("user_id", String(64), ForeignKey("users.id"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("amount_fen", BigInteger(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("bank_account", String(34), nullable=True),
    Column("provider_reference", String(64), nullable=True),
    Column("failure", Text(), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    CheckConstraint("amount_fen > 0", name="amount_positive"),
    CheckConstraint("kind IN ('top_up','withdrawal')", name="kind"),
    CheckConstraint("status IN ('pending','succeeded','failed')", name="status"),
    Index("ix_payments_user_created", "user_id", "created_at"),
)
