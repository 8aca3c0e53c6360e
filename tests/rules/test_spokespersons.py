"""How many spokespersons and press assistants an organ keeps (Art. 8, 9). The cap of two
at once is pinned through the API (test_people.test_an_organ_has_at_most_two_spokespersons)."""

import pytest

from app.rules.divisions import DivisionLevel
from app.rules.spokespersons import posts_to_keep


@pytest.mark.parametrize(
    ("org_kind", "level", "role", "posts"),
    [
        # Art. 8: the provincial government keeps two; prefectures follow its practice.
        ("government", "province", "spokesperson", 2),
        ("government", "prefecture", "spokesperson", 2),
        # The Measures set no number for a county government: one keeps the post filled.
        ("government", "county", "spokesperson", 1),
        # Nor for Gui'an's committee, nor an information office.
        ("government", "new_area", "spokesperson", 1),
        ("information_office", "province", "spokesperson", 1),
        # A department keeps one or two: with one still serving it stands adjusted.
        ("department", "province", "spokesperson", 1),
        # Art. 7: the press assistant is the head of the release office, one post.
        ("government", "province", "press_assistant", 1),
        ("government", "prefecture", "press_assistant", 1),
        ("government", "county", "press_assistant", 1),
        ("department", "province", "press_assistant", 1),
    ],
)
def test_the_posts_an_organ_must_keep_filled_after_a_removal(
    org_kind: str, level: DivisionLevel, role: str, posts: int
) -> None:
    assert posts_to_keep(org_kind, level, role) == posts
