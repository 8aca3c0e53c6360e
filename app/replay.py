"""`fabu replay INCIDENT`: an incident's history read straight from the database, for an
auditor or an operator at a terminal (Art. 38, 39).

By default the accountability timeline (what `GET /incidents/{id}/accountability` serves)
as aligned text in Beijing time; `--format csv|json|html` gives the API's other forms, and
`--events` the incident's events themselves, one JSON object per line in `seq` order, as
`GET /events` and the live stream carried them. The CLI acts for the province, so it sees
every incident.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select

from app import directory
from app.auth import Principal, system_principal
from app.clock import Clock, beijing
from app.db import Database
from app.events.log import to_wire
from app.models import Event
from app.workflows import records

Format = Literal["text", "csv", "json", "html"]


def province_actor() -> Principal:
    """The CLI acts for the province: every organ and incident is in its jurisdiction."""
    t = directory.tree()
    code = t.province_code
    return system_principal(directory.government_id(code), code, t.descendants(code))


async def replay(
    db: Database, incident_id: str, clock: Clock, *, fmt: Format = "text", events: bool = False
) -> str:
    """The incident's history as `fmt`, or its events as JSON lines (a 404 Problem for an
    unknown incident)."""
    async with db.read() as session:
        record = await records.accountability(session, incident_id, province_actor(), clock.now())
        if events:
            rows = await session.execute(
                select(Event).where(Event.incident_id == incident_id).order_by(Event.seq)
            )
            return "".join(
                json.dumps(to_wire(e), ensure_ascii=False) + "\n" for e in rows.scalars()
            )
    if fmt == "json":
        return json.dumps(record, ensure_ascii=False, indent=2) + "\n"
    if fmt == "csv":
        return records.to_csv(records.TIMELINE_COLUMNS, records.timeline_rows(record))
    if fmt == "html":
        return records.accountability_html(record)
    return _text(record)


# RFC 3339 UTC times as `iso()` writes them into details ("occurred 2026-11-27T02:00:00Z").
_UTC_TIME = re.compile(r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z")


def _beijing(value: str) -> str:
    return beijing(datetime.fromisoformat(value))


def _text(record: dict[str, Any]) -> str:
    """One line per entry, every time in Beijing time like the first column; the other
    forms keep the API's UTC."""
    lines = []
    for entry in record["entries"]:
        late = entry.get("lateness_seconds")
        tail = f"  (late {late} s)" if late else ""
        times = ", ".join(
            f"{label} {_beijing(entry[key])}"
            for label, key in (("due", "due_at"), ("met", "met_at"), ("breached", "breached_at"))
            if entry.get(key)
        )
        detail = _UTC_TIME.sub(lambda m: _beijing(m.group()), entry.get("detail") or "")
        lines.append(
            f"{_beijing(entry['at'])}  {entry['kind']:<14}  {entry['what']}"
            f"  [{entry.get('org_id') or '-'}]"
            + "".join(f"  {part}" for part in (times, detail) if part)
            + tail
        )
    return "\n".join(lines) + "\n"
