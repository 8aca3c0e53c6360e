"""What a publisher receives for a release, even when the event says less than it should."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from app.models import Event
from app.publishing import delivery

AT = datetime(2026, 11, 27, 2, 0, 0, tzinfo=UTC)
PUBLIC = "https://fabu.guizhou.gov.cn"


def event(data: dict[str, object], type_: str = "release.published") -> Event:
    return Event(
        seq=42,
        id="evt_0001",
        type=type_,
        at=AT,
        incident_id="inc_0001",
        org_id="gov-520281",
        division_codes=["520281"],
        data=data,
    )


def test_a_sparse_release_event_still_renders_from_what_the_event_knows() -> None:
    body = delivery.payload(
        event({"title": "盘州市煤矿透水事故通报", "body": "4名被困人员已全部升井。"}),
        "wechat",
        public_url=PUBLIC,
        org_names=("盘州市人民政府", "Panzhou People's Government"),
    )
    assert body["seq"] == 42 and body["id"] == "evt_0001"
    assert body["rendered"]["author"] == "盘州市人民政府"
    # No link in the event: the release's own page on this service.
    assert body["rendered"]["content_source_url"] == f"{PUBLIC}/releases/evt_0001"
    assert "2026年11月27日 10:00（北京时间）" in body["rendered"]["content"]


def test_a_link_that_is_not_a_web_link_is_replaced_by_the_release_page() -> None:
    view = delivery.release_view(
        event({"id": "rel_1", "title": "通报", "body": "正文", "url": "javascript:alert(1)"}),
        public_url=PUBLIC,
    )
    assert view is not None and view.url == f"{PUBLIC}/releases/rel_1"


def test_an_event_without_content_goes_out_unrendered() -> None:
    body = delivery.payload(event({"id": "rel_1"}), "weibo", public_url=PUBLIC)
    assert "rendered" not in body
    other = delivery.payload(event({"title": "x"}, "incident.reported"), "weibo", public_url=PUBLIC)
    assert "rendered" not in other


def test_the_signature_covers_exactly_the_bytes_sent() -> None:
    secret = delivery.new_secret()
    text = delivery.encode(delivery.payload(event({"title": "通报"}), "generic", public_url=PUBLIC))
    assert "通报" in text  # UTF-8, not \\u escapes
    now = datetime.now(UTC)
    headers = delivery.signed_headers(secret, msg_id="evt_0001", at=now, body=text)
    assert headers["webhook-id"] == "evt_0001"
    assert headers["webhook-timestamp"] == str(int(now.timestamp()))
    assert Webhook(secret).verify(text.encode(), headers)["seq"] == 42
    with pytest.raises(WebhookVerificationError):
        Webhook(delivery.new_secret()).verify(text.encode(), headers)
