"""Webhook subscriptions and their delivery log (API.md, Webhooks); administrators only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from app import idempotency
from app.auth import Principal
from app.deps import IdempotencyKey, RuntimeDep, require
from app.errors import invalid
from app.events import log
from app.publishing import delivery, policy
from app.publishing.delivery import Resolver
from app.runtime import Runtime
from app.schemas.webhooks import WebhookCreate, WebhookUpdate
from app.secretbox import box_for
from app.workflows import webhooks as flow

router = APIRouter(prefix="/api/v1", tags=["webhooks"])

Admin = Annotated[Principal, Depends(require("admin"))]


def url_resolver() -> Resolver:
    """How host names are looked up when a URL is checked; tests override this."""
    return delivery.resolve_host


ResolverDep = Annotated[Resolver, Depends(url_resolver)]


async def _checked_url(url: str, rt: Runtime, resolve: Resolver) -> str:
    try:
        return await delivery.check_url(
            url, allow_private=rt.settings.allow_private_webhooks, resolve=resolve
        )
    except policy.InvalidWebhookUrl as exc:
        raise invalid("url", exc.reason) from None


def _wake_worker(rt: Runtime) -> None:
    worker = rt.services.get("webhooks")
    if worker is not None:
        worker.wake()


@router.post("/webhooks", status_code=201)
async def create_webhook(
    body: WebhookCreate,
    rt: RuntimeDep,
    actor: Admin,
    response: Response,
    resolve: ResolverDep,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Subscribe a publisher; the signing `secret` is in this answer only."""
    url = await _checked_url(body.url, rt, resolve)
    box = box_for(rt.settings)
    async with rt.db.write() as session:
        sub, created = await idempotency.replay_or_make(
            session,
            idempotency_key,
            f"webhooks:{actor.org_id}",
            body,
            find=lambda prior: flow.get_visible(session, prior, actor),
            make=lambda: flow.create(session, body, url=url, actor=actor, clock=rt.clock, box=box),
            clock=rt.clock,
        )
        view = flow.subscription_view(sub)
        secret = box.open(sub.secret)
    if not created:
        response.status_code = 200
    return {**view, "secret": secret}


@router.get("/webhooks")
async def list_webhooks(rt: RuntimeDep, actor: Admin) -> dict[str, Any]:
    async with rt.db.read() as session:
        return {"items": await flow.listing(session, actor)}


@router.get("/webhooks/{webhook_id}")
async def get_webhook(webhook_id: str, rt: RuntimeDep, actor: Admin) -> dict[str, Any]:
    async with rt.db.read() as session:
        return flow.subscription_view(await flow.get_visible(session, webhook_id, actor))


@router.patch("/webhooks/{webhook_id}")
async def update_webhook(
    webhook_id: str, body: WebhookUpdate, rt: RuntimeDep, actor: Admin, resolve: ResolverDep
) -> dict[str, Any]:
    url = await _checked_url(body.url, rt, resolve) if body.url is not None else None
    async with rt.db.write() as session:
        sub = await flow.update_subscription(
            session, webhook_id, body, url=url, actor=actor, clock=rt.clock
        )
        view = flow.subscription_view(sub)
    _wake_worker(rt)
    return view


@router.delete("/webhooks/{webhook_id}", status_code=204)
async def delete_webhook(webhook_id: str, rt: RuntimeDep, actor: Admin) -> Response:
    """Switches the subscription off; it and its delivery log stay for the record."""
    async with rt.db.write() as session:
        await flow.deactivate(session, webhook_id, actor=actor, clock=rt.clock)
    return Response(status_code=204)


@router.get("/webhooks/{webhook_id}/deliveries")
async def list_deliveries(
    webhook_id: str,
    rt: RuntimeDep,
    actor: Admin,
    status: Annotated[str | None, Query(pattern="^(pending|delivered|dead)$")] = None,
    cursor: Annotated[str | None, Query(max_length=20)] = None,
    # The first spelling of `cursor`, kept for clients written against it.
    before: Annotated[int | None, Query(ge=0, le=log.MAX_SEQ, deprecated=True)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Newest event first, each with its attempt log; page on with `cursor=next_cursor`."""
    start = flow.page_start(cursor, before)
    async with rt.db.read() as session:
        return await flow.deliveries_page(
            session, webhook_id, actor=actor, status=status, before_seq=start, limit=limit
        )


@router.get("/deliveries/{delivery_id}")
async def get_delivery(delivery_id: str, rt: RuntimeDep, actor: Admin) -> dict[str, Any]:
    async with rt.db.read() as session:
        return await flow.delivery_detail(session, delivery_id, actor=actor)


@router.post("/deliveries/{delivery_id}/redeliver", status_code=202)
async def redeliver(delivery_id: str, rt: RuntimeDep, actor: Admin) -> dict[str, Any]:
    """Queue a dead-lettered (or delivered) event again, on a fresh retry schedule."""
    async with rt.db.write() as session:
        await flow.redeliver(session, delivery_id, actor=actor, clock=rt.clock)
        view = await flow.delivery_detail(session, delivery_id, actor=actor)
    _wake_worker(rt)
    return view
