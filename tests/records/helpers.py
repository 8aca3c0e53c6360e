"""Shared words for the records scenarios: organs, bodies, and a release walked through its
work flow by the people whose turn it is."""

from __future__ import annotations

import csv
import io
from typing import Any

from tests.conftest import Api

CONFERENCES = "/api/v1/press-conferences"
WARNINGS = "/api/v1/warnings"
FEED = "/api/v1/feeds/warnings.atom"
SPOKESPERSONS = "/api/v1/spokespersons"
INTERVIEWS = "/api/v1/interviews"
REPORTS = "/api/v1/reports/annual"
OBLIGATIONS = "/api/v1/obligations"

EMERGENCY = "dept-emergency_management"
NATURAL_RESOURCES = "dept-natural_resources"
PROVINCE_GOV = "gov-520000"
PROVINCE_IO = "io-520000"
LIUPANSHUI_GOV = "gov-520200"
PANZHOU_GOV = "gov-520281"
ZUNYI_GOV = "gov-520300"


def speakers(n: int) -> list[dict[str, str]]:
    titles = ["新闻发言人", "副厅长", "处长", "专家", "副处长", "科长", "顾问"]
    return [{"name": f"发言人{i + 1}", "title": titles[i % len(titles)]} for i in range(n)]


def conference_body(host: str, scheduled_at: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "全省安全生产形势新闻发布会",
        "scheduled_at": scheduled_at,
        "venue": "省政府新闻发布厅",
        "host_org_id": host,
        "speakers": speakers(3),
    }
    body.update(overrides)
    return body


MATERIALS = [
    {"kind": "press_release", "title": "新闻通稿", "body": "……"},
    {"kind": "background", "title": "背景材料", "body": "……"},
    {"kind": "data_index", "title": "数据索引", "body": "……"},
]


async def prepare(api: Api, headers: dict[str, str], conference_id: str) -> dict[str, Any]:
    """Art. 33: press release, background and data index."""
    body: dict[str, Any] = {}
    for material in MATERIALS:
        response = await api.post(f"{CONFERENCES}/{conference_id}/materials", headers, material)
        assert response.status_code == 201, response.text
        body = response.json()
    return body


class Office:
    """One organ's press office: a token per role, so nobody approves their own draft."""

    def __init__(self, api: Api, org: str) -> None:
        self.api = api
        self.org = org
        self._tokens: dict[str, dict[str, str]] = {}

    async def as_(self, *roles: str) -> dict[str, str]:
        key = ",".join(roles)
        if key not in self._tokens:
            self._tokens[key] = await self.api.token(self.org, *roles)
        return self._tokens[key]

    async def walk(self, release_id: str, *, publish: bool = True) -> dict[str, Any]:
        """Submit, review, approve (and co-sign nothing), then publish."""
        api = self.api
        base = f"/api/v1/releases/{release_id}"
        steps: list[tuple[str, tuple[str, ...], Any]] = [
            ("submit", ("drafter",), None),
            ("review", ("reviewer",), {"passed": True, "note": "no secrets"}),
            ("approve", ("approver",), {"note": "approved"}),
        ]
        if publish:
            steps.append(("publish", ("drafter",), None))
        body: dict[str, Any] = {}
        for action, roles, payload in steps:
            response = await api.post(f"{base}/{action}", await self.as_(*roles), payload)
            assert response.status_code == 200, f"{action}: {response.text}"
            body = response.json()
        return body

    async def release(
        self, kind: str, *, incident_id: str | None = None, **overrides: Any
    ) -> dict[str, Any]:
        """Draft a release of `kind` and publish it through the default work flow."""
        body: dict[str, Any] = {
            "kind": kind,
            "title": f"{kind} 发布",
            "body": "正文",
            "channels": ["website"],
        }
        body.update(overrides)
        url = f"/api/v1/incidents/{incident_id}/releases" if incident_id else "/api/v1/releases"
        response = await self.api.post(url, await self.as_("drafter"), body)
        assert response.status_code == 201, response.text
        return await self.walk(response.json()["id"])


def parse_csv(text: str) -> list[dict[str, str]]:
    assert text.startswith("\ufeff"), "CSV starts with a UTF-8 byte-order mark"
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
