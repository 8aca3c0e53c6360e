"""Whatever order people act in, no release reaches `published` without every step of its flow.

Hypothesis drives the workflow functions directly (SQLite, for speed) with any sequence of
acts by any of a cast of tokens: drafters, reviewers, approvers, the information office, a
token holding every role, co-signers' approvers and an outsider, while an admin swaps the
organ's flow in the middle. After every sequence the record must show, for each release:
the flow it started with, every step before where it stands done in the current round by
each organ the step needs, holding the step's role, and never by the draft's own author.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from app import directory
from app.auth import Principal
from app.clock import ManualClock
from app.db import Database
from app.errors import Problem
from app.models.releases import Release, ReleaseAct, ReleaseFlow
from app.rules import releases as rules
from app.rules.releases import FlowStep, ReleaseKind, StepKind
from app.schemas.releases import ReleaseCreate
from app.workflows import releases as flow
from tests.conftest import T0, reset_schema

OWNER = "dept-emergency_management"
CO_SIGNING = ("dept-natural_resources", "dept-health_commission")
OUTSIDER = "dept-public_security"
PROVINCE = directory.tree().descendants("520000")


def _principal(token: str, org: str, *roles: str) -> Principal:
    return Principal(token, org, "department", "520000", frozenset(roles), PROVINCE)


CAST: tuple[Principal, ...] = (
    _principal("tok_drafter", OWNER, "drafter"),
    _principal("tok_drafter2", OWNER, "drafter"),
    _principal("tok_reviewer", OWNER, "reviewer"),
    _principal("tok_approver", OWNER, "approver"),
    _principal("tok_approver2", OWNER, "approver"),
    _principal("tok_io", OWNER, "info_office"),
    _principal("tok_all", OWNER, "drafter", "reviewer", "approver", "info_office"),
    _principal("tok_nr_approver", CO_SIGNING[0], "approver", "reviewer"),
    _principal("tok_hc_approver", CO_SIGNING[1], "approver", "reviewer"),
    _principal("tok_outsider", OUTSIDER, "approver", "reviewer", "drafter"),
)
ADMIN = _principal("tok_admin", OWNER, "admin")


def _flow(*steps: tuple[str, str, bool]) -> list[FlowStep]:
    return [FlowStep(StepKind(s), role, co) for s, role, co in steps]


FLOWS: tuple[list[FlowStep], ...] = (
    list(rules.DEFAULT_FLOW),
    _flow(
        ("submit", "drafter", False),
        ("review", "reviewer", True),
        ("approve", "approver", False),
        ("approve", "info_office", False),
        ("cosign", "approver", True),
        ("publish", "approver", False),
    ),
    _flow(
        ("submit", "drafter", False),
        ("review", "reviewer", False),
        ("cosign", "approver", True),
        ("approve", "approver", True),
        ("review", "reviewer", False),
        ("publish", "info_office", False),
    ),
)


@dataclass(frozen=True)
class Act:
    action: str
    who: int  # index into CAST, or into FLOWS for set_flow


def _who(*tokens: str) -> list[int]:
    return [i for i, p in enumerate(CAST) if p.token_id in tokens]


# Each act is tried by anyone plausible for it, right or wrong (so that the random walks do
# reach publication often), and now and then by anyone at all.
PLAUSIBLE: dict[str, list[int]] = {
    "submit": _who("tok_drafter", "tok_drafter2", "tok_all", "tok_outsider"),
    "review": _who("tok_reviewer", "tok_all", "tok_nr_approver", "tok_hc_approver", "tok_drafter"),
    "approve": _who("tok_approver", "tok_approver2", "tok_io", "tok_all", "tok_nr_approver"),
    "cosign": _who("tok_nr_approver", "tok_hc_approver", "tok_approver", "tok_outsider"),
    "publish": _who("tok_drafter", "tok_drafter2", "tok_approver", "tok_io", "tok_all"),
}
EVERYONE = list(range(len(CAST)))
# Weighted: the ordinary acts often, the ones that undo progress rarely.
ACTIONS = [
    *["submit", "review", "approve", "cosign", "publish"] * 4,
    "fail",
    "reject",
    "withdraw",
]

acts = st.one_of(
    st.sampled_from(ACTIONS).flatmap(
        lambda a: st.builds(Act, st.just(a), st.sampled_from(PLAUSIBLE.get(a, EVERYONE)))
    ),
    st.sampled_from(ACTIONS).flatmap(
        lambda a: st.builds(Act, st.just(a), st.sampled_from(EVERYONE))
    ),
    st.builds(Act, st.just("set_flow"), st.integers(0, len(FLOWS) - 1)),
)


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'property.db'}"
    reset_schema(url)
    database = Database(url)
    async with database.write() as session:
        await directory.seed(session)
    yield database
    await database.dispose()


async def _apply(db: Database, clock: ManualClock, release_id: str, act: Act) -> None:
    clock.advance(timedelta(seconds=1))
    try:
        async with db.write() as session:
            if act.action == "set_flow":
                ctx = flow.Context(actor=ADMIN, clock=clock)
                await flow.set_flow(session, OWNER, FLOWS[act.who], ctx)
                return
            ctx = flow.Context(actor=CAST[act.who], clock=clock)
            if act.action == "submit":
                await flow.submit(session, release_id, ctx)
            elif act.action in ("review", "fail"):
                await flow.review(session, release_id, ctx, passed=act.action == "review")
            elif act.action == "approve":
                await flow.approve(session, release_id, ctx)
            elif act.action == "cosign":
                await flow.cosign(session, release_id, ctx)
            elif act.action == "reject":
                await flow.reject(session, release_id, "退回", ctx)
            elif act.action == "publish":
                await flow.publish(session, release_id, ctx)
            elif act.action == "withdraw":
                await flow.retract(session, release_id, "撤回", ctx)
    except Problem as refusal:
        # Refusals are expected; anything else (a 500) fails the property.
        assert refusal.status in (403, 404, 409, 422), refusal.body()


def _check(release: Release, started_with: list[dict[str, Any]], acts: list[ReleaseAct]) -> None:
    assert release.flow == started_with, "a release keeps the flow it started with"
    steps = [FlowStep.from_dict(s) for s in release.flow]
    if release.status in ("draft", "rejected", "withdrawn"):
        assert release.published_at is None
        return
    assert release.status == rules.status_for(steps, release.step_index)
    this_round = [a for a in acts if a.round == release.round]
    for index, step in enumerate(steps[: release.step_index]):
        required = rules.required_orgs(step, owner=release.org_id, co_signers=release.co_signer_ids)
        done = [a for a in this_round if a.step_index == index and a.outcome == "done"]
        assert {a.org_id for a in done} == set(required), (index, step, done)
        for a in done:
            assert step.role in a.roles
            assert a.step == step.step.value
            if step.step in (StepKind.review, StepKind.approve, StepKind.cosign):
                assert a.token_id not in release.author_tokens, "approved their own draft"
        later = [a for a in this_round if a.step_index > index]
        assert all(d.at <= a.at for d in done for a in later), "steps passed out of order"
    if release.status == "published":
        assert release.step_index == len(steps)
        assert release.published_at is not None
        [publish] = [a for a in this_round if a.step == "publish"]
        assert publish.at == release.published_at


def _guided(release: Release, waiting: list[str]) -> st.SearchStrategy[Act]:
    """The act the release waits for, by anyone of a waiting organ holding the step's role
    (the draft's own author included: that one must be refused)."""
    steps = [FlowStep.from_dict(s) for s in release.flow]
    if release.status in ("draft", "rejected"):
        return st.builds(Act, st.just("submit"), st.sampled_from(PLAUSIBLE["submit"]))
    if release.status in ("published", "withdrawn"):
        return acts
    step = steps[release.step_index]
    fit = [
        i
        for i, p in enumerate(CAST)
        if p.org_id in (waiting or [release.org_id]) and step.role in p.roles
    ]
    return st.builds(Act, st.just(step.step.value), st.sampled_from(fit or EVERYONE))


async def _waiting(db: Database, release_id: str) -> tuple[Release, list[str]]:
    async with db.read() as session:
        release = await session.get(Release, release_id)
        assert release is not None
        steps = [FlowStep.from_dict(s) for s in release.flow]
        acted = await flow._acted(session, release, steps)
        return release, flow._waiting_for(release, steps, acted)


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    co_signers=st.lists(st.sampled_from(CO_SIGNING), unique=True, max_size=2),
    data=st.data(),
)
async def test_no_release_is_published_without_passing_every_step_of_its_flow(
    sqlite_db: Database, co_signers: list[str], data: st.DataObject
) -> None:
    clock = ManualClock(T0)
    drafter = flow.Context(actor=CAST[0], clock=clock)
    body = ReleaseCreate(
        kind=ReleaseKind.hotspot_response,
        title="关于网民关切的回应",
        body="正文",
        channels=[rules.Channel.website],
        co_signers=co_signers,
    )
    async with sqlite_db.write() as session:
        # Each example starts from the default flow, whatever the one before set.
        await session.execute(delete(ReleaseFlow))
        release, _ = await flow.create(session, body, drafter, incident_id=None)
    started_with = list(release.flow)

    for _ in range(data.draw(st.integers(1, 40), label="length")):
        now, waiting = await _waiting(sqlite_db, release.id)
        # Mostly the act the release waits for; otherwise anything by anyone.
        guided = data.draw(st.integers(0, 3), label="guided") > 0
        act = data.draw(_guided(now, waiting) if guided else acts, label="act")
        await _apply(sqlite_db, clock, release.id, act)

    async with sqlite_db.read() as session:
        stored = await session.get(Release, release.id)
        assert stored is not None
        recorded = list(
            (
                await session.execute(
                    select(ReleaseAct)
                    .where(ReleaseAct.release_id == release.id)
                    .order_by(ReleaseAct.at, ReleaseAct.id)
                )
            ).scalars()
        )
    event(f"ended {stored.status}")
    _check(stored, started_with, recorded)


async def test_the_cast_can_publish_on_every_flow(sqlite_db: Database) -> None:
    """The property is not vacuous: each flow is walkable to publication by this cast."""
    by_token = {p.token_id: i for i, p in enumerate(CAST)}
    script = {
        0: ["tok_drafter", "tok_reviewer", "tok_approver", "tok_nr_approver", "tok_drafter"],
        1: [
            "tok_drafter",
            "tok_reviewer",
            "tok_nr_approver",
            "tok_approver",
            "tok_io",
            "tok_nr_approver",
            "tok_approver",
        ],
        2: [
            "tok_drafter",
            "tok_reviewer",
            "tok_nr_approver",
            "tok_approver",
            "tok_nr_approver",
            "tok_reviewer",
            "tok_io",
        ],
    }
    clock = ManualClock(T0)
    for choice, tokens in script.items():
        await _apply(sqlite_db, clock, "", Act("set_flow", choice))
        body = ReleaseCreate(
            kind=ReleaseKind.hotspot_response,
            title="t",
            body="b",
            channels=[rules.Channel.website],
            co_signers=[CO_SIGNING[0]],
        )
        async with sqlite_db.write() as session:
            release, _ = await flow.create(
                session, body, flow.Context(actor=CAST[0], clock=clock), incident_id=None
            )
        steps = FLOWS[choice]
        for step, token in zip(
            [s for s in steps for _ in range(2 if s.co_signers and s.step != "cosign" else 1)],
            tokens,
            strict=True,
        ):
            await _apply(sqlite_db, clock, release.id, Act(step.step.value, by_token[token]))
        async with sqlite_db.read() as session:
            stored = await session.get(Release, release.id)
            assert stored is not None
            assert stored.status == "published", (choice, stored.status, stored.step_index)
