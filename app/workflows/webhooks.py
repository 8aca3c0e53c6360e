"""Webhook subscriptions and deliveries: what administrators do, and what the worker does.

Administrators subscribe publishers, change or switch them off, read the delivery log and
send a dead letter again. The worker (app.publishing.worker) turns events into deliveries
(`enqueue`), claims the due ones (`claim`) and records each attempt (`record`). Every
change is one transaction: a crash between sending and recording leaves the delivery due
again, so it is sent twice rather than never (receivers dedupe by webhook-id).
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app import directory, metrics
from app.auth import Principal
from app.clock import Clock, iso
from app.db import dialect_name
from app.errors import Problem, conflict, invalid, not_found
from app.events import log, types
from app.ids import new_id
from app.models import Event, Org
from app.models.webhooks import (
    DeliveryAttempt,
    DeliveryCursor,
    WebhookDelivery,
    WebhookSubscription,
)
from app.publishing import policy
from app.publishing.delivery import Outcome, new_secret
from app.schemas.webhooks import WebhookCreate, WebhookUpdate
from app.secretbox import SecretBox
from app.views import load_orgs

CURSOR_NAME = "default"
# Publisher channels post releases; a release names the channels it is meant for.
PUBLISHER_CHANNELS = frozenset({"wechat", "weibo", "website"})


# -- views ------------------------------------------------------------------------------------


def subscription_view(sub: WebhookSubscription) -> dict[str, Any]:
    """A subscription without its secret (shown once, at creation)."""
    return {
        "id": sub.id,
        "url": sub.url,
        "channel": sub.channel,
        "event_types": list(sub.event_types),
        # Saved before types were checked: a pattern here names nothing and never fires.
        "unknown_event_types": [p for p in sub.event_types if not types.known(p)],
        "org_id": sub.org_id,
        "active": sub.active,
        "disabled_reason": sub.disabled_reason,
        "disabled_at": iso(sub.disabled_at),
        "created_at": iso(sub.created_at),
        "updated_at": iso(sub.updated_at),
    }


def attempt_view(a: DeliveryAttempt) -> dict[str, Any]:
    return {
        "number": a.number,
        "started_at": iso(a.started_at),
        "status_code": a.status_code,
        "latency_ms": a.latency_ms,
        "error": a.error,
        "response_excerpt": a.response_excerpt,
        "outcome": a.outcome,
        "next_attempt_at": iso(a.next_attempt_at),
    }


def delivery_view(d: WebhookDelivery, attempts: Iterable[DeliveryAttempt] = ()) -> dict[str, Any]:
    return {
        "id": d.id,
        "subscription_id": d.subscription_id,
        "event_id": d.event_id,
        "event_seq": d.event_seq,
        "event_type": d.event_type,
        "status": d.status,
        "attempts": d.attempts,
        "next_attempt_at": iso(d.next_attempt_at) if d.status == "pending" else None,
        "created_at": iso(d.created_at),
        "last_attempt_at": iso(d.last_attempt_at),
        "last_status_code": d.last_status_code,
        "last_error": d.last_error,
        "delivered_at": iso(d.delivered_at),
        "dead_at": iso(d.dead_at),
        "attempt_log": [attempt_view(a) for a in attempts],
    }


# -- loading ----------------------------------------------------------------------------------


async def get_visible(
    session: AsyncSession, subscription_id: str, actor: Principal
) -> WebhookSubscription:
    """The subscription if its organ is in the caller's jurisdiction; 404 otherwise."""
    row = (
        await session.execute(
            select(WebhookSubscription, Org.division_code)
            .join(Org, Org.id == WebhookSubscription.org_id)
            .where(WebhookSubscription.id == subscription_id)
        )
    ).first()
    if row is None or row[1] not in actor.jurisdiction:
        raise not_found("webhook")
    sub: WebhookSubscription = row[0]
    return sub


async def get_visible_delivery(
    session: AsyncSession, delivery_id: str, actor: Principal
) -> WebhookDelivery:
    delivery = await session.get(WebhookDelivery, delivery_id)
    if delivery is None:
        raise not_found("delivery")
    try:
        await get_visible(session, delivery.subscription_id, actor)
    except Problem:
        raise not_found("delivery") from None
    return delivery


# -- administrators ---------------------------------------------------------------------------


async def create(
    session: AsyncSession,
    body: WebhookCreate,
    *,
    url: str,
    actor: Principal,
    clock: Clock,
    box: SecretBox,
) -> WebhookSubscription:
    """Subscribe a publisher. `url` has passed `delivery.check_url` already (outside the
    transaction, as it may resolve a name)."""
    now = clock.now()
    check_event_types(body.event_types)
    org_id = directory.resolve_org_argument(body.org_id) if body.org_id else actor.org_id
    org = await session.get(Org, org_id)
    if org is None or org.division_code not in actor.jurisdiction:
        # An administrator scopes subscriptions to organs of its own jurisdiction only.
        raise invalid("org_id", f"unknown organ {body.org_id!r}")
    sub = WebhookSubscription(
        id=new_id("whk"),
        url=url,
        channel=body.channel,
        event_types=_dedupe(body.event_types),
        org_id=org.id,
        secret=box.seal(new_secret()),
        active=True,
        after_seq=await log.last_seq(session),
        created_at=now,
        created_by_token=actor.token_id,
        updated_at=now,
    )
    session.add(sub)
    _audit(session, sub, "webhook.create", actor=actor, at=now)
    return sub


def _dedupe(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def check_event_types(patterns: Sequence[str]) -> None:
    """Refuse patterns that name no event the service writes: such a subscription would be
    accepted and then never fire. Every bad item is named, with what was probably meant."""
    errors = types.pattern_errors(patterns, "event_types")
    if errors:
        raise Problem(
            422,
            "validation-error",
            "Invalid request",
            "; ".join(f"{e['field']}: {e['message']}" for e in errors),
            errors=errors,
            extra={"known_event_types": types.known_patterns()},
        )


async def update_subscription(
    session: AsyncSession,
    subscription_id: str,
    body: WebhookUpdate,
    *,
    url: str | None,
    actor: Principal,
    clock: Clock,
) -> WebhookSubscription:
    """Change the URL or event types, or switch the subscription off or back on.

    Switched back on, it receives events from then on; deliveries held while it was off
    (pending ones) go out again. Events written while it was off are not queued for it.
    """
    now = clock.now()
    sub = await get_visible(session, subscription_id, actor)
    before = subscription_view(sub)
    if url is not None:
        sub.url = url
    if body.event_types is not None:
        check_event_types(body.event_types)
        sub.event_types = _dedupe(body.event_types)
    if body.active is True and not sub.active:
        sub.active = True
        sub.disabled_reason = None
        sub.disabled_at = None
        sub.after_seq = max(sub.after_seq, await log.last_seq(session))
    elif body.active is False and sub.active:
        _switch_off(sub, "deactivated by an administrator", now)
    sub.updated_at = now
    _audit(session, sub, "webhook.update", actor=actor, at=now, before=before)
    return sub


def _audit(
    session: AsyncSession,
    sub: WebhookSubscription,
    action: str,
    *,
    actor: Principal | None,
    at: datetime,
    before: dict[str, Any] | None = None,
    reason: str | None = None,
) -> None:
    log.audit(
        session,
        at=at,
        actor=actor,
        action=action,
        entity_type="webhook",
        entity_id=sub.id,
        before=before,
        after=subscription_view(sub),
        reason=reason,
    )


def _switch_off(sub: WebhookSubscription, reason: str, now: datetime) -> None:
    sub.active = False
    sub.disabled_reason = reason
    sub.disabled_at = now
    sub.updated_at = now


async def deactivate(
    session: AsyncSession, subscription_id: str, *, actor: Principal, clock: Clock
) -> WebhookSubscription:
    """DELETE: the subscription stops receiving; it and its delivery log stay for the record."""
    now = clock.now()
    sub = await get_visible(session, subscription_id, actor)
    before = subscription_view(sub)
    if sub.active:
        _switch_off(sub, "deactivated by an administrator", now)
    _audit(session, sub, "webhook.deactivate", actor=actor, at=now, before=before)
    return sub


async def listing(session: AsyncSession, actor: Principal) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(WebhookSubscription)
        .join(Org, Org.id == WebhookSubscription.org_id)
        .where(Org.division_code.in_(actor.jurisdiction))
        .order_by(WebhookSubscription.created_at, WebhookSubscription.id)
    )
    return [subscription_view(s) for s in rows.scalars()]


async def _attempts_of(
    session: AsyncSession, delivery_ids: Sequence[str]
) -> dict[str, list[DeliveryAttempt]]:
    found: dict[str, list[DeliveryAttempt]] = {i: [] for i in delivery_ids}
    if not delivery_ids:
        return found
    rows = await session.execute(
        select(DeliveryAttempt)
        .where(DeliveryAttempt.delivery_id.in_(delivery_ids))
        .order_by(DeliveryAttempt.delivery_id, DeliveryAttempt.number)
    )
    for a in rows.scalars():
        found[a.delivery_id].append(a)
    return found


async def deliveries_page(
    session: AsyncSession,
    subscription_id: str,
    *,
    actor: Principal,
    status: str | None,
    before_seq: int | None,
    limit: int,
) -> dict[str, Any]:
    """Newest first; `next_cursor` names the last event of the page, and the next page
    starts below it."""
    await get_visible(session, subscription_id, actor)
    stmt = select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription_id)
    if status:
        stmt = stmt.where(WebhookDelivery.status == status)
    if before_seq is not None:
        stmt = stmt.where(WebhookDelivery.event_seq < before_seq)
    stmt = stmt.order_by(WebhookDelivery.event_seq.desc()).limit(limit + 1)
    rows = list((await session.execute(stmt)).scalars())
    page = rows[:limit]
    attempts = await _attempts_of(session, [d.id for d in page])
    return {
        "items": [delivery_view(d, attempts[d.id]) for d in page],
        "next_cursor": str(page[-1].event_seq) if len(rows) > limit else None,
    }


def page_start(cursor: str | None, before: int | None) -> int | None:
    """The seq a deliveries page starts below: `cursor` (the name every list pages with)
    or `before`, its older spelling; given both, they must agree."""
    if not cursor:  # an empty cursor is the first page, as on the other lists
        return before
    seq = int(cursor) if cursor.isascii() and cursor.isdigit() else None
    if seq is None or seq > log.MAX_SEQ:
        raise invalid("cursor", "not a cursor this service issued")
    if before is not None and before != seq:
        raise invalid("before", "differs from cursor; pass cursor alone")
    return seq


async def delivery_detail(
    session: AsyncSession, delivery_id: str, *, actor: Principal
) -> dict[str, Any]:
    delivery = await get_visible_delivery(session, delivery_id, actor)
    attempts = await _attempts_of(session, [delivery.id])
    return delivery_view(delivery, attempts[delivery.id])


async def redeliver(
    session: AsyncSession, delivery_id: str, *, actor: Principal, clock: Clock
) -> WebhookDelivery:
    """Send a dead-lettered (or already delivered) event again, on a fresh retry schedule."""
    now = clock.now()
    delivery = await get_visible_delivery(session, delivery_id, actor)
    sub = await session.get(WebhookSubscription, delivery.subscription_id)
    if delivery.status == "pending":
        raise conflict("delivery-pending", "This delivery is still being tried; wait for it.")
    if sub is None or not sub.active:
        raise conflict(
            "webhook-inactive",
            "The subscription is switched off; switch it back on (PATCH active) first.",
        )
    before = {"status": delivery.status, "attempts": delivery.attempts}
    delivery.status = "pending"
    delivery.round_start = delivery.attempts
    delivery.next_attempt_at = now
    delivery.claim_token = None
    delivery.dead_at = None
    log.audit(
        session,
        at=now,
        actor=actor,
        action="delivery.redeliver",
        entity_type="delivery",
        entity_id=delivery.id,
        before=before,
        after={"status": "pending", "next_attempt_at": iso(now)},
    )
    return delivery


# -- the worker: events into deliveries ------------------------------------------------------


def channel_wants(channel: str, event: Event) -> bool:
    """A release meant for the website only is not posted to Weibo: publisher channels get
    the releases that name them (a release without a channel list goes to all)."""
    if channel not in PUBLISHER_CHANNELS or not event.type.startswith("release."):
        return True
    wanted = event.data.get("channels") if isinstance(event.data, Mapping) else None
    if not isinstance(wanted, list):
        return True
    return channel in wanted


def in_scope(
    jurisdiction: frozenset[str], event: Event, event_org_division: str | None, province: str
) -> bool:
    """The subscription's organ sees the divisions the event concerns (RULES §6); an event
    without divisions is placed by its organ, and one with neither only province-wide."""
    if event.division_codes:
        return any(code in jurisdiction for code in event.division_codes)
    if event_org_division is not None:
        return event_org_division in jurisdiction
    return province in jurisdiction


async def _cursor_for_update(session: AsyncSession, now: datetime) -> DeliveryCursor:
    stmt = select(DeliveryCursor).where(DeliveryCursor.name == CURSOR_NAME)
    if dialect_name(session) == "postgresql":
        stmt = stmt.with_for_update()
    cursor = (await session.execute(stmt)).scalar_one_or_none()
    if cursor is None:
        cursor = DeliveryCursor(name=CURSOR_NAME, last_seq=0, updated_at=now)
        session.add(cursor)
        await session.flush()
    return cursor


async def scan_start(session: AsyncSession) -> int | None:
    """Where the next scan starts, or None when there is nothing to scan (read only)."""
    after_seqs = list(
        (
            await session.execute(
                select(WebhookSubscription.after_seq).where(WebhookSubscription.active.is_(True))
            )
        ).scalars()
    )
    if not after_seqs:
        return None
    last = (
        await session.execute(
            select(DeliveryCursor.last_seq).where(DeliveryCursor.name == CURSOR_NAME)
        )
    ).scalar()
    start = max(int(last or 0), min(after_seqs))
    return start if await log.last_seq(session) > start else None


async def enqueue(session: AsyncSession, *, now: datetime, batch: int) -> int:
    """Queue the next `batch` events for every active subscription they match and move the
    cursor past them, all in the caller's transaction. Returns how many events were read."""
    cursor = await _cursor_for_update(session, now)
    subs = list(
        (
            await session.execute(
                select(WebhookSubscription).where(WebhookSubscription.active.is_(True))
            )
        ).scalars()
    )
    if not subs:
        return 0
    # Events before every subscription's start concern none of them: skip them unread.
    start = max(cursor.last_seq, min(s.after_seq for s in subs))
    events = list(await log.read_after(session, start, batch))
    if not events:
        if start != cursor.last_seq:
            cursor.last_seq = start
            cursor.updated_at = now
        return 0
    orgs = {
        o.id: o
        for o in (
            await session.execute(
                select(Org).where(
                    Org.id.in_(
                        {s.org_id for s in subs}
                        | {e.org_id for e in events if e.org_id and not e.division_codes}
                    )
                )
            )
        ).scalars()
    }
    scopes = {
        s.id: directory.jurisdiction_of(orgs[s.org_id]) if s.org_id in orgs else frozenset()
        for s in subs
    }
    province = directory.tree().province_code
    rows: list[dict[str, Any]] = []
    for event in events:
        org = orgs.get(event.org_id) if event.org_id else None
        org_division = org.division_code if org is not None else None
        for sub in subs:
            if (
                event.seq > sub.after_seq
                and types.matches(sub.event_types, event.type)
                and channel_wants(sub.channel, event)
                and in_scope(scopes[sub.id], event, org_division, province)
            ):
                rows.append(
                    {
                        "id": new_id("dlv"),
                        "subscription_id": sub.id,
                        "event_seq": event.seq,
                        "event_id": event.id,
                        "event_type": event.type,
                        "status": "pending",
                        "attempts": 0,
                        "round_start": 0,
                        "next_attempt_at": now,  # Standard Webhooks: the first try at once
                        "created_at": now,
                    }
                )
    if rows:
        await session.execute(insert(WebhookDelivery), rows)
        metrics.inc("fabu_webhook_deliveries_queued_total", len(rows))
    cursor.last_seq = events[-1].seq
    cursor.updated_at = now
    return len(events)


# -- the worker: sending and recording -------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Where and how to send, read when the deliveries were claimed."""

    subscription_id: str
    url: str
    channel: str
    secret: str


@dataclass(frozen=True)
class Claimed:
    delivery_id: str
    token: str
    event: Event
    org_names: tuple[str, str] | None


ClaimResult = tuple[Target | None, list[Claimed]]


async def reseal_secrets(session: AsyncSession, box: SecretBox) -> int:
    """Seal every stored secret under the box's first key (after a key is set or rotated).
    Returns how many rows changed."""
    changed = 0
    for sub in (await session.execute(select(WebhookSubscription))).scalars():
        sealed = box.reseal(sub.secret)
        if sealed is not None:
            sub.secret = sealed
            changed += 1
    return changed


async def prune_delivered(session: AsyncSession, *, before: datetime, limit: int) -> int:
    """Delete up to `limit` deliveries delivered before `before`, with their attempt log.
    Returns how many went. Pending and dead-lettered deliveries are never pruned: a dead one
    waits for someone to look at it and redeliver it."""
    ids = list(
        (
            await session.execute(
                select(WebhookDelivery.id)
                .where(
                    WebhookDelivery.status == "delivered",
                    WebhookDelivery.delivered_at < before,
                )
                .order_by(WebhookDelivery.delivered_at)
                .limit(limit)
            )
        ).scalars()
    )
    if ids:
        await session.execute(delete(DeliveryAttempt).where(DeliveryAttempt.delivery_id.in_(ids)))
        await session.execute(delete(WebhookDelivery).where(WebhookDelivery.id.in_(ids)))
    return len(ids)


async def due_subscriptions(session: AsyncSession, *, now: datetime) -> list[str]:
    rows = await session.execute(
        select(WebhookDelivery.subscription_id)
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .where(
            WebhookDelivery.status == "pending",
            WebhookDelivery.next_attempt_at <= now,
            WebhookSubscription.active.is_(True),
        )
        .distinct()
    )
    return list(rows.scalars())


async def claim_many(
    session: AsyncSession,
    requests: Sequence[tuple[str, int]],
    *,
    now: datetime,
    lease: timedelta,
) -> list[ClaimResult]:
    """For each (subscription, limit): take up to `limit` of its due deliveries for `lease`.

    Claiming pushes next_attempt_at forward by the lease and stamps a token; the
    conditional update lets exactly one worker win each delivery. If the claimant dies,
    the delivery is due again when the lease runs out.
    """
    subs = {
        s.id: s
        for s in (
            await session.execute(
                select(WebhookSubscription).where(
                    WebhookSubscription.id.in_({sid for sid, _ in requests})
                )
            )
        ).scalars()
    }
    token = secrets.token_hex(16)
    taken: list[str] = []
    for subscription_id, limit in requests:
        sub = subs.get(subscription_id)
        if sub is None or not sub.active or limit <= 0:
            continue
        ids = list(
            (
                await session.execute(
                    select(WebhookDelivery.id)
                    .where(
                        WebhookDelivery.subscription_id == subscription_id,
                        WebhookDelivery.status == "pending",
                        WebhookDelivery.next_attempt_at <= now,
                    )
                    .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.event_seq)
                    .limit(limit)
                )
            ).scalars()
        )
        taken.extend(ids)
    rows = []
    if taken:
        # One conditional update for every lane's picks: a delivery another worker claimed
        # since it was read keeps that worker's token and is left out below.
        await session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id.in_(taken),
                WebhookDelivery.status == "pending",
                WebhookDelivery.next_attempt_at <= now,
            )
            .values(next_attempt_at=now + lease, claim_token=token)
            .execution_options(synchronize_session=False)
        )
        rows = list(
            (
                await session.execute(
                    select(WebhookDelivery.id, WebhookDelivery.subscription_id, Event)
                    .join(Event, Event.seq == WebhookDelivery.event_seq)
                    .where(WebhookDelivery.id.in_(taken), WebhookDelivery.claim_token == token)
                    .order_by(WebhookDelivery.event_seq)
                )
            ).all()
        )
    orgs = await load_orgs(session, (e.org_id for _, _, e in rows if e.type == "release.published"))
    names = {org.id: (org.name_zh, org.name_en) for org in orgs.values()}
    by_sub: dict[str, list[Claimed]] = {}
    for delivery_id, subscription_id, event in rows:
        by_sub.setdefault(subscription_id, []).append(
            Claimed(delivery_id, token, event, names.get(event.org_id or ""))
        )
    results: list[ClaimResult] = []
    for subscription_id, _ in requests:
        sub = subs.get(subscription_id)
        if sub is None or not sub.active:
            results.append((None, []))
            continue
        target = Target(sub.id, sub.url, sub.channel, sub.secret)
        results.append((target, by_sub.pop(subscription_id, [])))
    return results


@dataclass(frozen=True)
class Attempted:
    """One finished attempt: what was sent, what came of it, when it started."""

    claimed: Claimed
    outcome: Outcome
    started_at: datetime


async def record_many(
    session: AsyncSession,
    attempted: Sequence[Attempted],
    *,
    now: datetime,
    rng: random.Random,
) -> list[str]:
    """Log each attempt and move its delivery on: delivered, retried on the Standard
    Webhooks schedule (no sooner than a 429/503 Retry-After), dead after the last try, or,
    on 410, dead with its subscription switched off. Returns what became of each."""
    stmt = (
        select(WebhookDelivery)
        .where(WebhookDelivery.id.in_({a.claimed.delivery_id for a in attempted}))
        .order_by(WebhookDelivery.id)  # one lock order for every instance
    )
    if dialect_name(session) == "postgresql":
        stmt = stmt.with_for_update()
    found = {d.id: d for d in (await session.execute(stmt)).scalars()}
    results = []
    for item in attempted:
        delivery = found.get(item.claimed.delivery_id)
        results.append(await _apply(session, delivery, item, now=now, rng=rng))
    return results


async def _apply(
    session: AsyncSession,
    delivery: WebhookDelivery | None,
    item: Attempted,
    *,
    now: datetime,
    rng: random.Random,
) -> str:
    if delivery is None:
        return "gone"
    claimed, outcome, started_at = item.claimed, item.outcome, item.started_at
    classification = outcome.classification
    delivery.attempts += 1
    attempt = DeliveryAttempt(
        id=new_id("att"),
        delivery_id=delivery.id,
        number=delivery.attempts,
        started_at=started_at,
        status_code=outcome.status_code,
        latency_ms=outcome.latency_ms,
        error=outcome.error,
        response_excerpt=outcome.excerpt,
        outcome=classification,
    )
    session.add(attempt)
    delivery.last_attempt_at = started_at
    delivery.last_status_code = outcome.status_code
    delivery.last_error = outcome.error
    metrics.inc("fabu_webhook_attempts_total", outcome=classification)
    mine = delivery.claim_token == claimed.token and delivery.status == "pending"
    if classification == "delivered":
        if delivery.status != "delivered":
            delivery.status = "delivered"
            delivery.delivered_at = now
            delivery.dead_at = None
        delivery.next_attempt_at = None
        delivery.claim_token = None
        return "delivered"
    if not mine:
        # Another worker took the delivery over after our lease ran out; it decides.
        return "superseded"
    delivery.claim_token = None
    if classification == "disable":
        sub = await session.get(WebhookSubscription, delivery.subscription_id)
        if sub is not None and sub.active:
            # The receiver says it is gone for good: stop sending to it. Deliveries still
            # pending are held, and go out again if an administrator switches it back on.
            before = subscription_view(sub)
            _switch_off(sub, f"the receiver answered 410 Gone at {iso(now)}", now)
            _audit(
                session,
                sub,
                "webhook.disable",
                actor=None,
                at=now,
                before=before,
                reason="410 Gone",
            )
        return _dead(delivery, attempt, now)
    retry_after = None
    if classification == "retry_after":
        retry_after = policy.parse_retry_after(outcome.retry_after, now)
    delay = policy.next_attempt_delay(
        delivery.attempts - delivery.round_start, rng=rng, retry_after=retry_after
    )
    if delay is None:
        return _dead(delivery, attempt, now)
    delivery.next_attempt_at = now + delay
    attempt.next_attempt_at = delivery.next_attempt_at
    return "retry"


def _dead(delivery: WebhookDelivery, attempt: DeliveryAttempt, now: datetime) -> str:
    delivery.status = "dead"
    delivery.dead_at = now
    delivery.next_attempt_at = None
    if attempt.outcome != "disable":
        attempt.outcome = "dead"
    metrics.inc("fabu_webhook_dead_letters_total")
    return "dead"


__all__ = [
    "Attempted",
    "ClaimResult",
    "Claimed",
    "Target",
    "claim_many",
    "create",
    "deactivate",
    "deliveries_page",
    "delivery_detail",
    "due_subscriptions",
    "enqueue",
    "listing",
    "record_many",
    "redeliver",
    "scan_start",
    "update_subscription",
]
