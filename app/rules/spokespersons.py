"""How many spokespersons and press assistants an organ keeps (Art. 8, 9)."""

from __future__ import annotations

from app.rules.divisions import DivisionLevel

# Art. 8: the provincial government keeps two spokespersons, a department one or two;
# no organ more than two.
MAX_SPOKESPERSONS = 2


def posts_to_keep(org_kind: str, division_level: DivisionLevel, role: str) -> int:
    """How many must still serve in `role` after a removal for the organ's entry to stand
    adjusted as it is (Art. 9); below that, only a successor adjusts it."""
    # Art. 8: the provincial government keeps two spokespersons, and prefecture governments
    # follow the provincial practice; a department, or a press assistant post, needs one.
    if (
        role == "spokesperson"
        and org_kind == "government"
        and division_level in ("province", "prefecture")
    ):
        return 2
    return 1
