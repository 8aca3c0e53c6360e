"""Keyset cursors for list endpoints: an opaque token naming the last row of a page.

A page ends at (time, id); the next page starts strictly after that pair in the list's
order, so rows written meanwhile never shift a page or repeat one.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import Select, and_, or_
from sqlalchemy.sql.elements import ColumnElement

from app.clock import iso
from app.errors import invalid
from app.schemas.base import EARLIEST, LATEST, unprintable

S = TypeVar("S", bound=Select[Any])


class _Identified(Protocol):
    @property
    def id(self) -> str: ...


Row = TypeVar("Row", bound=_Identified)


def encode(at: datetime, ident: str) -> str:
    raw = f"{iso(at)}|{ident}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode(cursor: str) -> tuple[datetime, str]:
    """The (time, id) a cursor names; anything this service did not issue is refused."""
    try:
        at, sep, ident = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        if not sep:
            raise ValueError("no separator")
        moment = datetime.fromisoformat(at.replace("Z", "+00:00"))
        # Cursors travel through clients: one crafted by hand must be refused here, not
        # fail in the database (a time without offset, out of range, an unstorable id).
        if moment.tzinfo is None or not EARLIEST <= moment < LATEST or unprintable(ident):
            raise ValueError("not a cursor this service issued")
        return moment, ident
    except (ValueError, UnicodeDecodeError) as exc:
        raise invalid("cursor", "not a cursor this service issued") from exc


def after(cursor: str, at_column: Any, id_column: Any, *, descending: bool) -> ColumnElement[bool]:
    """Rows past the cursor in the order (at_column, id_column), newest first if `descending`."""
    at, ident = decode(cursor)
    if descending:
        return or_(at_column < at, and_(at_column == at, id_column < ident))
    return or_(at_column > at, and_(at_column == at, id_column > ident))


def keyset(
    stmt: S,
    cursor: str | None,
    at_column: Any,
    id_column: Any,
    *,
    limit: int,
    descending: bool,
) -> S:
    """`stmt` ordered by (at_column, id_column), from past the cursor, one row over the
    limit so that `cut` can tell whether another page follows."""
    if cursor:
        stmt = stmt.where(after(cursor, at_column, id_column, descending=descending))
    order = (at_column.desc(), id_column.desc()) if descending else (at_column, id_column)
    return stmt.order_by(*order).limit(limit + 1)


def cut(rows: Sequence[Row], limit: int, at: str) -> tuple[list[Row], str | None]:
    """The page of a `keyset` query's rows and the cursor of the next page (None at the
    end); `at` names the rows' time attribute the page is ordered by."""
    page = list(rows[:limit])
    if len(rows) <= limit:
        return page, None
    return page, encode(getattr(page[-1], at), page[-1].id)
