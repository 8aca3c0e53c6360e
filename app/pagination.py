"""Keyset cursors for list endpoints: an opaque token naming the last row of a page.

A page ends at (time, id); the next page starts strictly after that pair in the list's
order, so rows written meanwhile never shift a page or repeat one.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_
from sqlalchemy.sql.elements import ColumnElement

from app.clock import iso
from app.errors import invalid


def encode(at: datetime, ident: str) -> str:
    raw = f"{iso(at)}|{ident}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode(cursor: str) -> tuple[datetime, str]:
    """The (time, id) a cursor names; anything this service did not issue is refused."""
    try:
        at, sep, ident = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        if not sep:
            raise ValueError("no separator")
        return datetime.fromisoformat(at.replace("Z", "+00:00")), ident
    except (ValueError, UnicodeDecodeError) as exc:
        raise invalid("cursor", "not a cursor this service issued") from exc


def after(cursor: str, at_column: Any, id_column: Any, *, descending: bool) -> ColumnElement[bool]:
    """Rows past the cursor in the order (at_column, id_column), newest first if `descending`."""
    at, ident = decode(cursor)
    if descending:
        return or_(at_column < at, and_(at_column == at, id_column < ident))
    return or_(at_column > at, and_(at_column == at, id_column > ident))
