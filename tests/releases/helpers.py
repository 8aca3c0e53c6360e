"""Shared words for the release scenarios: a mine accident, a press office, a first release."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx

from tests.conftest import T0, Api

INCIDENTS = "/api/v1/incidents"
RELEASES = "/api/v1/releases"
EMERGENCY = "dept-emergency_management"
PANZHOU = "520281"  # Liupanshui
ZHONGSHAN = "520201"  # Liupanshui
LIUPANSHUI = "520200"
HONGHUAGANG = "520302"  # Zunyi

OCCURRED = T0 - timedelta(hours=1)


def z(at: Any) -> str:
    return str(at.isoformat()).replace("+00:00", "Z")


def mine_accident(**overrides: Any) -> dict[str, Any]:
    """A level II coal-mine flood in Panzhou an hour before the clock's start: 8 dead and 3
    missing count together as 11 (level II), 5 injured, 8 trapped."""
    body: dict[str, Any] = {
        "category": "accident",
        "subtype": "mining",
        "title": "盘州市某煤矿透水事故",
        "occurred_at": z(OCCURRED),
        "division_codes": [PANZHOU],
        "place": "盘州市某煤矿",
        "figures": {"deaths": 8, "missing": 3, "injuries": 5, "trapped": 8},
        "description": "井下透水。",
    }
    body.update(overrides)
    return body


def first_facts(**casualties: int) -> dict[str, Any]:
    """Every Art. 23 element, with the figures of the latest situation report."""
    counts = {"deaths": 8, "injured": 5, "missing": 3, "involved": 20}
    counts.update(casualties)
    return {
        "time": z(OCCURRED),
        "place": "盘州市某煤矿",
        "site_conditions": "井下透水，救援队已入井搜救",
        "casualties": counts,
        "measures": "省应急管理厅已派工作组赶赴现场指导救援",
    }


def release_body(kind: str = "first", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": kind,
        "title": "盘州市某煤矿发生透水事故",
        "body": "11月27日9时许，盘州市某煤矿发生透水事故。救援正在进行。",
        "channels": ["website", "weibo", "wechat"],
    }
    if kind == "first":
        body["facts"] = first_facts()
    body.update(overrides)
    return body


def assert_problem(
    response: httpx.Response, status: int, *, article: str | None = None, field: str | None = None
) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    if article is not None:
        assert body.get("article") == article, body
    if field is not None:
        assert field in [e["field"] for e in body.get("errors", [])], body
    return body


@dataclass
class PressOffice:
    """The tokens of one organ's press office: one person per role."""

    api: Api
    org: str
    drafter: dict[str, str]
    reviewer: dict[str, str]
    approver: dict[str, str]

    @classmethod
    async def of(cls, api: Api, org: str) -> PressOffice:
        return cls(
            api,
            org,
            drafter=await api.token(org, "drafter"),
            reviewer=await api.token(org, "reviewer"),
            approver=await api.token(org, "approver"),
        )

    async def draft(self, incident_id: str | None, **body: Any) -> httpx.Response:
        url = f"{INCIDENTS}/{incident_id}/releases" if incident_id else RELEASES
        kind = body.pop("kind", "first")
        return await self.api.post(url, self.drafter, json=release_body(kind, **body))

    async def drafted(self, incident_id: str | None, **body: Any) -> dict[str, Any]:
        response = await self.draft(incident_id, **body)
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    async def act(
        self,
        release_id: str,
        action: str,
        headers: dict[str, str] | None = None,
        json: Any = None,
    ) -> httpx.Response:
        if headers is None:
            headers = {
                "submit": self.drafter,
                "review": self.reviewer,
                "approve": self.approver,
                "publish": self.drafter,
            }[action]
        if action == "review" and json is None:
            json = {"passed": True, "note": "无涉密内容"}
        return await self.api.post(f"{RELEASES}/{release_id}/{action}", headers, json=json)

    async def ok(self, release_id: str, action: str, **kw: Any) -> dict[str, Any]:
        response = await self.act(release_id, action, **kw)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def through_approval(self, release_id: str) -> dict[str, Any]:
        await self.ok(release_id, "submit")
        await self.ok(release_id, "review")
        return await self.ok(release_id, "approve")

    async def through_publication(self, release_id: str) -> dict[str, Any]:
        await self.through_approval(release_id)
        return await self.ok(release_id, "publish")

    async def published(self, incident_id: str | None, **body: Any) -> dict[str, Any]:
        release = await self.drafted(incident_id, **body)
        return await self.through_publication(release["id"])

    async def retraction(self, release_id: str, reason: str) -> dict[str, Any]:
        """The retraction a drafter's retract drafts for a publication (201)."""
        response = await self.act(release_id, "retract", self.drafter, json={"reason": reason})
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result


async def report_mine_accident(
    api: Api, *, reported_by: str = PANZHOU, **overrides: Any
) -> dict[str, Any]:
    reporter = await api.token(reported_by, "reporter")
    response = await api.post(INCIDENTS, reporter, json=mine_accident(**overrides))
    assert response.status_code == 201, response.text
    incident: dict[str, Any] = response.json()
    return incident


async def corrected_publication(
    api: Api, office: PressOffice, incident_id: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A first release published, then, half an hour on, a correction of it: both."""
    first = await office.published(incident_id)
    api.clock.advance(minutes=30)
    correction = await office.published(
        incident_id,
        kind="correction",
        replaces_id=first["id"],
        title="更正：盘州市某煤矿透水事故",
        facts=first_facts(),
    )
    return first, correction


async def report_figures(api: Api, incident_id: str, **body: Any) -> None:
    """A situation report from Panzhou on the incident (accepted)."""
    reporter = await api.token(PANZHOU, "reporter")
    response = await api.post(f"{INCIDENTS}/{incident_id}/reports", reporter, json=body)
    assert response.status_code == 200, response.text


def obligation(incident: dict[str, Any], kind: str) -> dict[str, Any]:
    found = [o for o in incident["obligations"] if o["kind"] == kind]
    assert found, incident["obligations"]
    return found[-1]


async def incident_now(api: Api, incident_id: str) -> dict[str, Any]:
    viewer = await api.token("520000", "viewer")
    response = await api.get(f"{INCIDENTS}/{incident_id}", viewer)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result
