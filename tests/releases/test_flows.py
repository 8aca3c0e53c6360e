"""Each organ's release work flow as data (Art. 27), set by an admin, kept by each release."""

from __future__ import annotations

from typing import Any

from tests.api.helpers import stored_counts
from tests.conftest import Api
from tests.releases.helpers import (
    EMERGENCY,
    PressOffice,
    assert_problem,
    report_mine_accident,
)

FLOW = f"/api/v1/orgs/{EMERGENCY}/release-flow"

# The department adds its information office's sign-off after its own approval (Art. 15:
# a matter of overall significance may go to the level above).
TWO_APPROVALS: list[dict[str, Any]] = [
    {"step": "submit", "role": "drafter"},
    {"step": "review", "role": "reviewer"},
    {"step": "approve", "role": "approver"},
    {"step": "approve", "role": "info_office"},
    {"step": "cosign", "role": "approver", "co_signers": True},
    {"step": "publish", "role": "drafter"},
]


async def test_an_organ_without_a_flow_of_its_own_uses_the_default(api: Api) -> None:
    viewer = await api.token(EMERGENCY, "viewer")
    response = await api.get(FLOW, viewer)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["default"] is True
    assert [(s["step"], s["role"], s["co_signers"], s["article"]) for s in body["steps"]] == [
        ("submit", "drafter", False, "Art. 27"),
        ("review", "reviewer", False, "Art. 39(6)"),
        ("approve", "approver", False, "Art. 15"),
        ("cosign", "approver", True, "Art. 15"),
        ("publish", "drafter", False, "Art. 27"),
    ]


async def test_an_admin_sets_a_flow_and_new_drafts_follow_it_while_older_ones_keep_theirs(
    api: Api,
) -> None:
    incident = await report_mine_accident(api)
    office = await PressOffice.of(api, EMERGENCY)
    older = await office.drafted(incident["id"])
    admin = await api.token("520000", "admin")

    response = await api.client.put(FLOW, headers=admin, json={"steps": TWO_APPROVALS})

    assert response.status_code == 200, response.text
    assert response.json()["default"] is False
    assert [s["role"] for s in (await api.get(FLOW, admin)).json()["steps"]] == [
        "drafter",
        "reviewer",
        "approver",
        "info_office",
        "approver",
        "drafter",
    ]
    newer = await office.drafted(incident["id"])
    assert len(newer["flow"]) == 6
    assert len(older["flow"]) == 5

    # The older draft is published on the default flow it started with.
    await office.through_approval(older["id"])
    assert (await office.ok(older["id"], "publish"))["status"] == "published"

    # The newer one needs the information office's approval too.
    approved = await office.through_approval(newer["id"])
    assert approved["status"] == "in_approval"
    assert approved["current_step"]["role"] == "info_office"
    assert_problem(await office.act(newer["id"], "publish"), 409, article="Art. 15")
    # An approver that already approved once is not the information office.
    assert_problem(await office.act(newer["id"], "approve"), 403, article="Art. 15")
    io = await api.token(EMERGENCY, "info_office")
    assert (await office.ok(newer["id"], "approve", headers=io))["status"] == "ready"
    assert (await office.ok(newer["id"], "publish"))["status"] == "published"


async def test_a_flow_that_drops_a_safeguard_is_refused_with_its_article(api: Api) -> None:
    admin = await api.token("520000", "admin")
    before = await stored_counts(api.db)
    cases: list[tuple[list[dict[str, Any]], str, str]] = [
        (
            # Approval before the confidentiality review.
            [
                {"step": "submit", "role": "drafter"},
                {"step": "approve", "role": "approver"},
                {"step": "review", "role": "reviewer"},
                {"step": "cosign", "role": "approver", "co_signers": True},
                {"step": "publish", "role": "drafter"},
            ],
            "steps",
            "Art. 39(6)",
        ),
        (
            # No approval at all.
            [
                {"step": "submit", "role": "drafter"},
                {"step": "review", "role": "reviewer"},
                {"step": "cosign", "role": "approver", "co_signers": True},
                {"step": "publish", "role": "drafter"},
            ],
            "steps",
            "Art. 15",
        ),
        (
            # A drafter approving.
            [
                {"step": "submit", "role": "drafter"},
                {"step": "review", "role": "reviewer"},
                {"step": "approve", "role": "drafter"},
                {"step": "cosign", "role": "approver", "co_signers": True},
                {"step": "publish", "role": "drafter"},
            ],
            "steps[2].role",
            "Art. 15",
        ),
        (
            # Publication before the end.
            [
                {"step": "submit", "role": "drafter"},
                {"step": "review", "role": "reviewer"},
                {"step": "approve", "role": "approver"},
                {"step": "publish", "role": "drafter"},
                {"step": "cosign", "role": "approver", "co_signers": True},
            ],
            "steps[4].step",
            "Art. 27",
        ),
    ]
    for steps, field, article in cases:
        response = await api.client.put(FLOW, headers=admin, json={"steps": steps})
        body = assert_problem(response, 422, field=field)
        assert article in body["article"], body
    assert_problem(
        await api.client.put(FLOW, headers=admin, json={"steps": [{"step": "x", "role": "y"}]}),
        422,
        field="steps[0].step",
    )
    assert await stored_counts(api.db) == before


async def test_only_an_admin_in_reach_sets_a_flow(api: Api) -> None:
    approver = await api.token(EMERGENCY, "approver")
    assert_problem(await api.client.put(FLOW, headers=approver, json={"steps": TWO_APPROVALS}), 403)
    county_admin = await api.token("520281", "admin")
    # A county's admin cannot reach a provincial department: as if it did not exist.
    assert_problem(
        await api.client.put(FLOW, headers=county_admin, json={"steps": TWO_APPROVALS}), 404
    )
    own = await api.client.put(
        "/api/v1/orgs/gov-520281/release-flow", headers=county_admin, json={"steps": TWO_APPROVALS}
    )
    assert own.status_code == 200, own.text
    assert_problem(await api.get("/api/v1/orgs/nowhere/release-flow", county_admin), 404)


async def test_co_signing_organs_may_be_asked_to_review_as_well(api: Api) -> None:
    admin = await api.token("520000", "admin")
    steps = [
        {"step": "submit", "role": "drafter"},
        {"step": "review", "role": "reviewer", "co_signers": True},
        {"step": "approve", "role": "approver"},
        {"step": "cosign", "role": "approver", "co_signers": True},
        {"step": "publish", "role": "drafter"},
    ]
    response = await api.client.put(FLOW, headers=admin, json={"steps": steps})
    assert response.status_code == 200, response.text
    incident = await report_mine_accident(api)
    office = await PressOffice.of(api, EMERGENCY)
    # The drafter names the natural resources department as concerned (Art. 15).
    draft = await office.drafted(incident["id"], co_signers=["dept-natural_resources"])
    await office.ok(draft["id"], "submit")
    reviewed = await office.ok(draft["id"], "review")
    assert reviewed["status"] == "in_review"
    assert reviewed["current_step"]["waiting_for"] == ["dept-natural_resources"]
    other = await PressOffice.of(api, "dept-natural_resources")
    assert (await other.ok(draft["id"], "review"))["status"] == "in_approval"
    await office.ok(draft["id"], "approve")
    assert (await other.ok(draft["id"], "cosign", headers=other.approver))["status"] == "ready"
    assert (await office.ok(draft["id"], "publish"))["status"] == "published"
