"""Request shapes for webhook subscriptions (API.md, Webhooks)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from app.schemas.incidents import Strict

Channel = Literal["generic", "wechat", "weibo", "website"]

# Checked against app.events.types by the workflow, which can say which type was meant.
EventPattern = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        description=(
            "An event type the service writes (`release.published`), a family of them "
            "(`release.*`) or every event (`*`)."
        ),
        examples=["release.published", "incident.*", "*"],
    ),
]

DEFAULT_EVENT_TYPES = ("release.published",)


class WebhookCreate(Strict):
    url: str = Field(min_length=1, max_length=2048)
    channel: Channel
    event_types: list[EventPattern] = Field(
        default_factory=lambda: list(DEFAULT_EVENT_TYPES), min_length=1, max_length=50
    )
    # The organ whose jurisdiction scopes the events; default: the caller's own.
    org_id: str | None = Field(default=None, min_length=1, max_length=64)


class WebhookUpdate(Strict):
    url: str | None = Field(default=None, min_length=1, max_length=2048)
    event_types: list[EventPattern] | None = Field(default=None, min_length=1, max_length=50)
    active: bool | None = None
