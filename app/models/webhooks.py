"""Webhook subscriptions, their deliveries, one log row per attempt, and the worker's cursor.

The event log is the outbox (PRODUCT.md step 6): the worker reads events after its cursor,
writes one delivery per matching subscription and event, and advances the cursor in the
same transaction, so an event is either queued for every subscriber or for none yet.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class WebhookSubscription(Base):
    __tablename__ = "webhook_subscriptions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    url: Mapped[str] = mapped_column(String(2048))
    channel: Mapped[str] = mapped_column(String(16))  # generic, wechat, weibo, website
    # Exact types, "release.*" families, or "*" for every event.
    event_types: Mapped[list[str]] = mapped_column(JSON)
    # Scope: events in this organ's jurisdiction (app.directory.jurisdiction_of).
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"), index=True)
    # "whsec_" + base64 of 32 random bytes. Not hashed: every request is signed with it, so
    # it must be recoverable. Sealed with FABU_SECRET_KEYS when set ("fernet:...", see
    # app.secretbox); never logged, and shown only at creation.
    secret: Mapped[str] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    disabled_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    disabled_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # Events up to this seq existed before the subscription: it receives only later ones.
    after_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime]
    created_by_token: Mapped[str | None] = mapped_column(String(40), nullable=True)
    updated_at: Mapped[datetime]


class WebhookDelivery(Base):
    """One event for one subscription, retried until delivered or dead-lettered."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (UniqueConstraint("subscription_id", "event_seq"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    subscription_id: Mapped[str] = mapped_column(ForeignKey("webhook_subscriptions.id"), index=True)
    event_seq: Mapped[int] = mapped_column(BigInteger)
    event_id: Mapped[str] = mapped_column(String(40), index=True)
    event_type: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending delivered dead
    # Attempts ever made; `round_start` is the count when the current round of the retry
    # schedule began (0, or the count at the last redelivery by hand).
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    round_start: Mapped[int] = mapped_column(Integer, default=0)
    # When the next attempt is due. A worker claiming the delivery pushes it forward by its
    # lease, so a worker that dies mid-send leaves it due again once the lease runs out.
    next_attempt_at: Mapped[datetime | None] = mapped_column(nullable=True)
    claim_token: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime]
    last_attempt_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(nullable=True)
    dead_at: Mapped[datetime | None] = mapped_column(nullable=True)


Index(
    "ix_webhook_deliveries_due",
    WebhookDelivery.status,
    WebhookDelivery.next_attempt_at,
)
# Delivered ones past the retention period, for pruning (app.publishing.worker).
Index(
    "ix_webhook_deliveries_delivered",
    WebhookDelivery.status,
    WebhookDelivery.delivered_at,
)
# A subscription's due deliveries (claims); delivered ones sit beside them until pruned.
Index(
    "ix_webhook_deliveries_subscription_due",
    WebhookDelivery.subscription_id,
    WebhookDelivery.status,
    WebhookDelivery.next_attempt_at,
)


class DeliveryAttempt(Base):
    """One HTTP request and what came of it."""

    __tablename__ = "webhook_delivery_attempts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    delivery_id: Mapped[str] = mapped_column(ForeignKey("webhook_deliveries.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, ... across rounds
    started_at: Mapped[datetime]
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    latency_ms: Mapped[float] = mapped_column()
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The first 1 KB of the response body, decoded as UTF-8 (bad bytes replaced).
    response_excerpt: Mapped[str | None] = mapped_column(Text, nullable=True)
    # delivered, retry, retry_after, disable, dead
    outcome: Mapped[str] = mapped_column(String(16))
    next_attempt_at: Mapped[datetime | None] = mapped_column(nullable=True)


class DeliveryCursor(Base):
    """The last event seq the worker has turned into deliveries."""

    __tablename__ = "webhook_cursor"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime | None] = mapped_column(nullable=True)
