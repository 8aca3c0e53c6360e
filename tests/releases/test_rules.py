"""The release rules as pure functions: elements, consistency, flows, turns (RULES §4)."""

from __future__ import annotations

from typing import Any

from app.rules.releases import (
    DEFAULT_FLOW,
    MAX_FLOW_STEPS,
    FlowStep,
    ReleaseKind,
    StepKind,
    compare_figures,
    may_act,
    missing_elements,
    obligations_met,
    out_of_turn,
    required_orgs,
    status_for,
    validate_flow,
)

COMPLETE = {
    "time": "2026-11-27T01:00:00Z",
    "place": "盘州市某煤矿",
    "site_conditions": "井下透水",
    "casualties": {"deaths": 0, "injured": 0, "missing": 0, "involved": 12},
    "measures": "全力搜救",
}


def test_a_first_release_with_every_element_misses_nothing() -> None:
    assert missing_elements(ReleaseKind.first, COMPLETE) == []


def test_blank_text_and_absent_counts_are_missing_but_zero_is_not() -> None:
    facts = {**COMPLETE, "place": " ", "casualties": {"deaths": 0, "injured": None}}
    assert [m.field for m in missing_elements(ReleaseKind.first, facts)] == [
        "facts.place",
        "facts.casualties.injured",
        "facts.casualties.missing",
        "facts.casualties.involved",
    ]
    assert {m.article for m in missing_elements(ReleaseKind.first, facts)} == {"Art. 23"}


def test_other_kinds_need_no_art_23_elements() -> None:
    assert missing_elements(ReleaseKind.rumor_clarification, None) == []
    assert [m.field for m in missing_elements(ReleaseKind.summary, {"causes": "x"})] == [
        "facts.losses",
        "facts.relief",
    ]


def test_figures_equal_to_the_record_are_consistent() -> None:
    reported = {"deaths": 8, "missing": 3, "injuries": 5, "serious_injuries": 2, "trapped": 8}
    ours = {"deaths": 8, "missing": 3, "injured": 5, "involved": 20}
    assert compare_figures(ours, reported=reported) == []


def test_each_contradiction_is_shown_with_both_sides() -> None:
    reported = {"deaths": 8, "serious_injuries": 6, "trapped": 8}
    ours = {"deaths": 9, "injured": 5, "involved": 7, "missing": 1}
    found = [
        (d.field, d.release, d.recorded, d.relation)
        for d in compare_figures(ours, reported=reported)
    ]
    assert found == [
        ("facts.casualties.deaths", 9, 8, "equal"),
        ("facts.casualties.injured", 5, 6, "at_least"),
        ("facts.casualties.involved", 7, 8, "at_least"),
    ]


def test_a_figure_below_the_last_publication_is_a_difference_a_rise_is_not() -> None:
    found = compare_figures(
        {"deaths": 7, "missing": 4},
        reported={},
        published={"deaths": 8, "missing": 3},
        published_id="rel_1",
    )
    assert [(d.field, d.source, d.recorded, d.source_id) for d in found] == [
        ("facts.casualties.deaths", "publication", 8, "rel_1")
    ]


def test_the_default_flow_keeps_every_safeguard() -> None:
    assert validate_flow(DEFAULT_FLOW) == []
    assert [s.step for s in DEFAULT_FLOW] == [
        StepKind.submit,
        StepKind.review,
        StepKind.approve,
        StepKind.cosign,
        StepKind.publish,
    ]


def test_a_flow_without_review_before_approval_is_an_art_39_6_matter() -> None:
    steps = [
        FlowStep(StepKind.submit, "drafter"),
        FlowStep(StepKind.approve, "approver"),
        FlowStep(StepKind.review, "reviewer"),
        FlowStep(StepKind.cosign, "approver", co_signers=True),
        FlowStep(StepKind.publish, "drafter"),
    ]
    assert [(e.field, e.article) for e in validate_flow(steps)] == [("steps", "Art. 39(6)")]


def test_an_empty_flow_is_refused() -> None:
    assert [e.article for e in validate_flow([])] == ["Art. 27"]


def test_a_flow_has_at_most_twelve_steps() -> None:
    def with_approvals(n: int) -> list[FlowStep]:
        return [
            FlowStep(StepKind.submit, "drafter"),
            FlowStep(StepKind.review, "reviewer"),
            *[FlowStep(StepKind.approve, "approver")] * n,
            FlowStep(StepKind.cosign, "approver", co_signers=True),
            FlowStep(StepKind.publish, "drafter"),
        ]

    assert MAX_FLOW_STEPS == 12
    assert validate_flow(with_approvals(8)) == []  # 12 steps
    assert [(e.field, e.message) for e in validate_flow(with_approvals(9))] == [
        ("steps", "at most 12 steps")
    ]


def test_approving_before_the_review_names_art_39_6() -> None:
    refusal = out_of_turn(DEFAULT_FLOW, 1, StepKind.approve)
    assert refusal is not None
    assert (refusal.status, refusal.article) == (409, "Art. 39(6)")


def test_publishing_before_co_signers_names_art_15_and_who_is_awaited() -> None:
    refusal = out_of_turn(DEFAULT_FLOW, 3, StepKind.publish, waiting_for=["gov-520300"])
    assert refusal is not None
    assert (refusal.status, refusal.article) == (409, "Art. 15")
    assert refusal.extra["waiting_for"] == ["gov-520300"]
    assert out_of_turn(DEFAULT_FLOW, 4, StepKind.publish) is None
    published = out_of_turn(DEFAULT_FLOW, 5, StepKind.publish)
    assert published is not None and published.type == "release-published"


def test_only_the_step_role_of_a_party_not_the_author_and_only_once() -> None:
    approve = DEFAULT_FLOW[2]
    base: dict[str, Any] = {
        "owner": "dept-a",
        "co_signers": ["gov-b"],
        "acted": [],
        "author_tokens": ["tok_1"],
    }
    assert (
        may_act(approve, actor_org="dept-a", actor_roles={"approver"}, actor_token="tok_2", **base)
        is None
    )
    cases: list[tuple[dict[str, Any], str]] = [
        (
            {"actor_org": "dept-a", "actor_roles": {"reviewer"}, "actor_token": "tok_2"},
            "forbidden-role",
        ),
        (
            {"actor_org": "gov-b", "actor_roles": {"approver"}, "actor_token": "tok_3"},
            "not-a-party",
        ),
        ({"actor_org": "dept-a", "actor_roles": {"approver"}, "actor_token": "tok_1"}, "own-draft"),
    ]
    for actor, type_ in cases:
        refusal = may_act(approve, **actor, **base)
        assert refusal is not None and refusal.type == type_
    again = may_act(
        approve,
        actor_org="dept-a",
        actor_roles={"approver"},
        actor_token="tok_2",
        owner="dept-a",
        co_signers=[],
        acted=["dept-a"],
        author_tokens=[],
    )
    assert again is not None and again.status == 409


def test_co_signing_needs_each_co_signer_and_passes_when_there_are_none() -> None:
    cosign = DEFAULT_FLOW[3]
    assert required_orgs(cosign, owner="a", co_signers=["b", "c"]) == ("b", "c")
    assert required_orgs(cosign, owner="a", co_signers=[]) == ()
    assert status_for(DEFAULT_FLOW, 3) == "in_cosigning"
    assert status_for(DEFAULT_FLOW, 5) == "published"


def test_what_a_publication_meets() -> None:
    assert obligations_met(ReleaseKind.first, COMPLETE, on_incident=True) == (
        "first_release",
        "opinion_response",
    )
    # A first release missing an element meets no Art. 23 clock.
    assert obligations_met(ReleaseKind.first, {}, on_incident=True) == ("opinion_response",)
    assert obligations_met(ReleaseKind.follow_up, None, on_incident=True) == (
        "follow_up",
        "opinion_response",
    )
    assert obligations_met(ReleaseKind.regular_info, None, on_incident=False) == ("regular_info",)
