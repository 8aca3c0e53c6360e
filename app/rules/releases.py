"""Release content and the release work flow (RULES.md §4; Art. 15, 16, 22-25, 27, 39(6)).

Pure: kinds and channels, the elements a release must carry, the organ's work flow as
data and who may act at each step, and the comparison of a release's figures with the
facts on record. No I/O, no clock; the workflow passes everything in and turns a
`Refusal` into a problem+json answer.

Decisions where the Measures are silent, each also noted where it applies:

- A work flow must keep the safeguards the Measures themselves impose, whatever the
  organ adds (Art. 27 lets it shape the flow, not drop them): it starts with a submit,
  ends with a publish, has a confidentiality review before the first approval
  (Art. 39(6)), at least one approval (Art. 15) and a co-signing step (Art. 15). The
  co-signing step passes by itself when nobody else is concerned.
- A token that drafted, edited or submitted a release may not review, approve or co-sign
  it (Art. 15: the content is verified by someone other than its author). Tokens are the
  identity the service knows; two tokens of one person cannot be told apart.
- Figures are compared only where the record has them: deaths and missing must equal
  the latest situation report, injured must equal `injuries` and be at least
  `serious_injuries`, people involved must be at least those `trapped` (everyone
  trapped is involved, not the reverse). A figure below the one last published must be
  explained too (Art. 16).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Literal


class ReleaseKind(StrEnum):
    first = "first"
    follow_up = "follow_up"
    summary = "summary"
    conference = "conference"
    early_warning = "early_warning"
    rumor_clarification = "rumor_clarification"
    hotspot_response = "hotspot_response"
    regular_info = "regular_info"
    media_supervision_response = "media_supervision_response"
    correction = "correction"
    retraction = "retraction"


KIND_LABELS: Mapping[ReleaseKind, tuple[str, str]] = MappingProxyType(
    {
        ReleaseKind.first: ("首次发布", "first release"),
        ReleaseKind.follow_up: ("续报", "follow-up release"),
        ReleaseKind.summary: ("总结发布", "summary of causes and losses"),
        ReleaseKind.conference: ("新闻发布会通稿", "press conference release"),
        ReleaseKind.early_warning: ("预警信息", "early warning"),
        ReleaseKind.rumor_clarification: ("辟谣", "rumor clarification"),
        ReleaseKind.hotspot_response: ("热点回应", "response to a social hotspot"),
        ReleaseKind.regular_info: ("常规政务信息", "regular government information"),
        ReleaseKind.media_supervision_response: ("舆论监督回应", "response to media supervision"),
        ReleaseKind.correction: ("更正", "correction"),
        ReleaseKind.retraction: ("撤回", "retraction"),
    }
)


class Channel(StrEnum):
    # Art. 17-18: the government website first, then the new-media channels.
    website = "website"
    weibo = "weibo"
    wechat = "wechat"
    client = "client"


# Releases that only make sense about an incident (Art. 23, 24).
INCIDENT_KINDS = frozenset({ReleaseKind.first, ReleaseKind.follow_up, ReleaseKind.summary})
# Art. 5(6), 16, 22, 25: only the organ responsible for the incident speaks with authority.
RESPONSIBLE_ONLY_KINDS = frozenset(
    {ReleaseKind.first, ReleaseKind.follow_up, ReleaseKind.summary, ReleaseKind.conference}
)
# RULES §4: a correction or retraction is a new publication pointing to what it replaces.
REPLACING_KINDS = frozenset({ReleaseKind.correction, ReleaseKind.retraction})


def responsibility_article(category: str) -> str:
    """The articles naming the responsible organ: Art. 25 for social security, else Art. 22."""
    return "Art. 5(6), 25" if category == "social_security" else "Art. 5(6), 22"


# -- required elements ----------------------------------------------------------------------

CASUALTY_FIELDS = ("deaths", "injured", "missing", "involved")

# Art. 23: the first release carries time, place, site conditions, casualties (counting the
# missing and the people involved) and what the government is doing.
FIRST_RELEASE_ELEMENTS: tuple[str, ...] = (
    "time",
    "place",
    "site_conditions",
    *(f"casualties.{name}" for name in CASUALTY_FIELDS),
    "measures",
)
# Art. 24: the summary of a major disaster or accident gives causes, losses and relief.
SUMMARY_ELEMENTS: tuple[str, ...] = ("causes", "losses", "relief")

REQUIRED_ELEMENTS: Mapping[ReleaseKind, tuple[tuple[str, ...], str]] = MappingProxyType(
    {
        ReleaseKind.first: (FIRST_RELEASE_ELEMENTS, "Art. 23"),
        ReleaseKind.summary: (SUMMARY_ELEMENTS, "Art. 24"),
    }
)

_ELEMENT_LABELS = {
    "time": "the time of the event",
    "place": "the place",
    "site_conditions": "the conditions on site",
    "casualties.deaths": "the number of deaths",
    "casualties.injured": "the number of injured",
    "casualties.missing": "the number of missing",
    "casualties.involved": "the number of people involved or trapped",
    "measures": "the measures the government has taken",
    "causes": "the causes",
    "losses": "the losses of life and property",
    "relief": "the relief and assistance",
}


def _lookup(facts: Mapping[str, Any] | None, path: str) -> Any:
    value: Any = facts or {}
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _present(value: Any) -> bool:
    # A count of zero is an answer; an empty or blank text is not.
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    return True


@dataclass(frozen=True)
class MissingElement:
    field: str  # "facts.casualties.missing"
    message: str
    article: str


def missing_elements(kind: ReleaseKind, facts: Mapping[str, Any] | None) -> list[MissingElement]:
    """Each element the kind must carry and does not, in the order the article lists them."""
    required = REQUIRED_ELEMENTS.get(kind)
    if required is None:
        return []
    elements, article = required
    return [
        MissingElement(
            field=f"facts.{path}",
            message=f"missing: {_ELEMENT_LABELS[path]} ({article})",
            article=article,
        )
        for path in elements
        if not _present(_lookup(facts, path))
    ]


# -- consistency (Art. 16) ----------------------------------------------------------------

Relation = Literal["equal", "at_least"]


@dataclass(frozen=True)
class Comparison:
    casualty: str  # field in the release's facts.casualties
    figure: str  # figure of the incident's situation reports
    relation: Relation


# Art. 16: no inconsistent information. Which release figure answers which reported figure.
FIGURE_COMPARISONS: tuple[Comparison, ...] = (
    Comparison("deaths", "deaths", "equal"),
    Comparison("missing", "missing", "equal"),
    Comparison("injured", "injuries", "equal"),
    # Serious injuries are a part of all the injured.
    Comparison("injured", "serious_injuries", "at_least"),
    # Everyone trapped is involved; more may be involved than are trapped.
    Comparison("involved", "trapped", "at_least"),
)


@dataclass(frozen=True)
class Difference:
    """One figure in the release against the record, both sides shown."""

    field: str  # "facts.casualties.deaths"
    release: int
    source: Literal["situation_report", "publication"]
    source_field: str  # the incident figure, or the casualty of the earlier release
    recorded: int
    relation: str  # what would have been consistent: "equal", "at_least", "not_below"
    source_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "release": self.release,
            "source": self.source,
            "source_field": self.source_field,
            "recorded": self.recorded,
            "relation": self.relation,
            "source_id": self.source_id,
        }


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def compare_figures(
    casualties: Mapping[str, Any] | None,
    *,
    reported: Mapping[str, Any],
    published: Mapping[str, Any] | None = None,
    published_id: str | None = None,
) -> list[Difference]:
    """Where the release's casualty figures contradict the record (Art. 16).

    `reported` is the incident's figures after its latest situation report; `published`
    the casualties of the latest publication on the incident. A release figure that is
    absent is not compared (it states nothing); neither is a figure the record lacks.
    """
    if not casualties:
        return []
    differences: list[Difference] = []
    for c in FIGURE_COMPARISONS:
        ours = _int(casualties.get(c.casualty))
        theirs = _int(reported.get(c.figure))
        if ours is None or theirs is None:
            continue
        wrong = ours != theirs if c.relation == "equal" else ours < theirs
        if wrong:
            differences.append(
                Difference(
                    field=f"facts.casualties.{c.casualty}",
                    release=ours,
                    source="situation_report",
                    source_field=c.figure,
                    recorded=theirs,
                    relation=c.relation,
                )
            )
    if published:
        # RULES §4: a published figure that later goes down needs its explanation.
        for name in CASUALTY_FIELDS:
            ours = _int(casualties.get(name))
            before = _int(published.get(name))
            if ours is not None and before is not None and ours < before:
                differences.append(
                    Difference(
                        field=f"facts.casualties.{name}",
                        release=ours,
                        source="publication",
                        source_field=f"facts.casualties.{name}",
                        recorded=before,
                        relation="not_below",
                        source_id=published_id,
                    )
                )
    return differences


# -- the work flow (Art. 27) ------------------------------------------------------------------


class StepKind(StrEnum):
    submit = "submit"
    review = "review"  # confidentiality review, Art. 39(6)
    approve = "approve"  # by the head or an authorised person, Art. 15
    cosign = "cosign"  # joint confirmation by each other organ concerned, Art. 15
    publish = "publish"


STEP_ARTICLES: Mapping[StepKind, str] = MappingProxyType(
    {
        StepKind.submit: "Art. 27",
        StepKind.review: "Art. 39(6)",
        StepKind.approve: "Art. 15",
        StepKind.cosign: "Art. 15",
        StepKind.publish: "Art. 27",
    }
)

STEP_LABELS: Mapping[StepKind, tuple[str, str]] = MappingProxyType(
    {
        StepKind.submit: ("提交", "submission"),
        StepKind.review: ("保密审查", "confidentiality review"),
        StepKind.approve: ("审批", "approval"),
        StepKind.cosign: ("会签", "co-signing"),
        StepKind.publish: ("发布", "publication"),
    }
)

# Which roles may be named at a step. Approval is the head's or an authorised person's
# (Art. 5(5), 15): the approver, or the information office acting for the government.
STEP_ROLES: Mapping[StepKind, frozenset[str]] = MappingProxyType(
    {
        StepKind.submit: frozenset({"drafter"}),
        StepKind.review: frozenset({"reviewer"}),
        StepKind.approve: frozenset({"approver", "info_office"}),
        StepKind.cosign: frozenset({"approver", "info_office"}),
        StepKind.publish: frozenset({"drafter", "approver", "info_office"}),
    }
)

# A release's status names the step it waits for.
STATUS_AT_STEP: Mapping[StepKind, str] = MappingProxyType(
    {
        StepKind.submit: "draft",
        StepKind.review: "in_review",
        StepKind.approve: "in_approval",
        StepKind.cosign: "in_cosigning",
        StepKind.publish: "ready",
    }
)
STATUSES = (
    "draft",
    "in_review",
    "in_approval",
    "in_cosigning",
    "ready",
    "published",
    "rejected",
    "withdrawn",
)
EDITABLE_STATUSES = frozenset({"draft", "rejected"})
MAX_FLOW_STEPS = 12


@dataclass(frozen=True)
class FlowStep:
    step: StepKind
    role: str
    # True: every co-signing organ acts at this step too (for `cosign`: only they act).
    co_signers: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"step": self.step.value, "role": self.role, "co_signers": self.co_signers}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> FlowStep:
        return cls(StepKind(raw["step"]), str(raw["role"]), bool(raw.get("co_signers", False)))


# RULES §4: drafter submits → reviewer passes the confidentiality review (Art. 39(6)) →
# approver approves (Art. 15) → each co-signing organ's approver confirms (Art. 15) → publish.
DEFAULT_FLOW: tuple[FlowStep, ...] = (
    FlowStep(StepKind.submit, "drafter"),
    FlowStep(StepKind.review, "reviewer"),
    FlowStep(StepKind.approve, "approver"),
    FlowStep(StepKind.cosign, "approver", co_signers=True),
    FlowStep(StepKind.publish, "drafter"),
)


@dataclass(frozen=True)
class FlowError:
    field: str
    message: str
    article: str


def validate_flow(steps: Sequence[FlowStep]) -> list[FlowError]:
    """Everything wrong with an organ's flow; empty when it may be used (Art. 27)."""
    errors: list[FlowError] = []
    if not steps:
        return [FlowError("steps", "a flow needs at least submit and publish", "Art. 27")]
    if len(steps) > MAX_FLOW_STEPS:
        errors.append(FlowError("steps", f"at most {MAX_FLOW_STEPS} steps", "Art. 27"))
    for i, s in enumerate(steps):
        allowed = STEP_ROLES[s.step]
        if s.role not in allowed:
            errors.append(
                FlowError(
                    f"steps[{i}].role",
                    f"{s.step.value} is done by one of: {', '.join(sorted(allowed))}",
                    STEP_ARTICLES[s.step],
                )
            )
        if s.step == StepKind.cosign and not s.co_signers:
            errors.append(
                FlowError(
                    f"steps[{i}].co_signers",
                    "co-signing is done by the co-signing organs",
                    "Art. 15",
                )
            )
        if s.step in (StepKind.submit, StepKind.publish) and s.co_signers:
            errors.append(
                FlowError(
                    f"steps[{i}].co_signers",
                    f"{s.step.value} is done by the releasing organ alone",
                    "Art. 27",
                )
            )
    kinds = [s.step for s in steps]
    if kinds[0] != StepKind.submit or kinds.count(StepKind.submit) != 1:
        errors.append(FlowError("steps[0].step", "a flow starts with its only submit", "Art. 27"))
    if kinds[-1] != StepKind.publish or kinds.count(StepKind.publish) != 1:
        errors.append(
            FlowError(
                f"steps[{len(kinds) - 1}].step", "a flow ends with its only publish", "Art. 27"
            )
        )
    if StepKind.approve not in kinds:
        errors.append(FlowError("steps", "a flow needs an approval", "Art. 15"))
    elif StepKind.review not in kinds[: kinds.index(StepKind.approve)]:
        errors.append(
            FlowError(
                "steps",
                "the confidentiality review comes before the first approval",
                "Art. 39(6)",
            )
        )
    if StepKind.cosign not in kinds:
        errors.append(
            FlowError("steps", "a flow needs a co-signing step (it passes when none)", "Art. 15")
        )
    return errors


def required_orgs(step: FlowStep, *, owner: str, co_signers: Sequence[str]) -> tuple[str, ...]:
    """The organs that must act before the step is done, in order."""
    if step.step == StepKind.cosign:
        return tuple(co_signers)
    if step.co_signers:
        return (owner, *co_signers)
    return (owner,)


def step_done(
    step: FlowStep, *, owner: str, co_signers: Sequence[str], acted: Iterable[str]
) -> bool:
    return set(required_orgs(step, owner=owner, co_signers=co_signers)) <= set(acted)


def status_for(flow: Sequence[FlowStep], step_index: int) -> str:
    if step_index >= len(flow):
        return "published"
    return STATUS_AT_STEP[flow[step_index].step]


@dataclass(frozen=True)
class Refusal:
    """Why an act is refused; the workflow answers with it as problem+json."""

    status: int
    type: str
    detail: str
    article: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


_NOT_YET = {
    StepKind.submit: "The release has not been submitted yet.",
    StepKind.review: "The confidentiality review has not passed yet.",
    StepKind.approve: "The release has not been approved yet.",
    StepKind.cosign: "Not every co-signing organ has confirmed the release yet.",
    StepKind.publish: "The release is waiting to be published.",
}


def out_of_turn(
    flow: Sequence[FlowStep],
    step_index: int,
    action: StepKind,
    *,
    waiting_for: Sequence[str] = (),
) -> Refusal | None:
    """None if `action` is the step the release waits for; else why not, naming the article
    of the step still owed (approving before the review is an Art. 39(6) matter, publishing
    before every co-signer confirmed an Art. 15 one)."""
    if step_index >= len(flow):
        return Refusal(409, "release-published", "The release is published; it never changes.")
    current = flow[step_index]
    if current.step == action:
        return None
    if action not in [s.step for s in flow]:
        return Refusal(
            409,
            "step-not-in-flow",
            f"The release's work flow has no {action.value} step.",
            article="Art. 27",
        )
    later = [s.step for s in flow[step_index + 1 :]]
    if action in later:
        extra: dict[str, Any] = {"current_step": current.step.value}
        if waiting_for:
            extra["waiting_for"] = list(waiting_for)
        return Refusal(
            409,
            f"{current.step.value}-pending",
            _NOT_YET[current.step],
            article=STEP_ARTICLES[current.step],
            extra=extra,
        )
    return Refusal(
        409,
        "step-already-done",
        f"The {STEP_LABELS[action][1]} step is already done; the release waits for "
        f"{STEP_LABELS[current.step][1]}.",
        article="Art. 27",
        extra={"current_step": current.step.value},
    )


def may_act(
    step: FlowStep,
    *,
    actor_org: str,
    actor_roles: Iterable[str],
    actor_token: str | None,
    owner: str,
    co_signers: Sequence[str],
    acted: Iterable[str],
    author_tokens: Iterable[str],
) -> Refusal | None:
    """None if this actor may act at the step now; else the refusal (Art. 15, 27)."""
    label = STEP_LABELS[step.step][1]
    if step.role not in set(actor_roles):
        return Refusal(
            403,
            "forbidden-role",
            f"The {label} step of this release's work flow is done by the role {step.role}.",
            article=STEP_ARTICLES[step.step],
        )
    orgs = required_orgs(step, owner=owner, co_signers=co_signers)
    if actor_org not in orgs:
        who = "each co-signing organ" if step.step == StepKind.cosign else "the releasing organ"
        return Refusal(
            403,
            "not-a-party",
            f"The {label} step is done by {who}; yours is not one of them.",
            article=STEP_ARTICLES[step.step],
            extra={"organs": list(orgs)},
        )
    if (
        step.step in (StepKind.review, StepKind.approve, StepKind.cosign)
        and actor_token is not None
        and actor_token in set(author_tokens)
    ):
        return Refusal(
            403,
            "own-draft",
            f"No one does the {label} of their own draft: another person must.",
            article=STEP_ARTICLES[step.step],
        )
    if actor_org in set(acted):
        return Refusal(
            409,
            "already-confirmed",
            f"Your organ has already done the {label} step of this release.",
            article=STEP_ARTICLES[step.step],
        )
    return None


# -- what a publication meets (RULES §3) ---------------------------------------------------

# Obligation kinds as app.rules.obligations names them.
_MEETS: Mapping[ReleaseKind, tuple[str, ...]] = MappingProxyType(
    {
        # Art. 23: only a first release carrying every element meets the first-release clock.
        ReleaseKind.first: ("first_release",),
        ReleaseKind.follow_up: ("follow_up",),
        # Art. 24: causes, losses and relief of a closed major disaster or accident.
        ReleaseKind.summary: ("disaster_summary",),
        # Art. 20: regular information and the result of a media-supervision matter.
        ReleaseKind.regular_info: ("regular_info",),
        ReleaseKind.media_supervision_response: ("media_supervision",),
    }
)


# Art. 20: releases that answer an item owed on its own (not an incident), by the subject
# type its obligation was opened with.
SUBJECT_TYPES: Mapping[ReleaseKind, str] = MappingProxyType(
    {
        ReleaseKind.regular_info: "regular_info",
        ReleaseKind.media_supervision_response: "media_supervision",
    }
)


def obligations_met(
    kind: ReleaseKind, facts: Mapping[str, Any] | None, *, on_incident: bool
) -> tuple[str, ...]:
    """The obligation kinds a publication of this kind meets."""
    met = [] if missing_elements(kind, facts) else list(_MEETS.get(kind, ()))
    if on_incident:
        # Art. 25: once a major public opinion has formed, any release on the incident answers.
        met.append("opinion_response")
    return tuple(met)
