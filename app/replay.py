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
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select

from app import directory
from app.auth import Principal, system_principal
from app.clock import Clock
from app.db import Database
from app.events.log import to_wire
from app.models import Event
from app.rules.calendar import SHANGHAI
from app.workflows import records

Format = Literal["text", "csv", "json", "html"]


def _province_actor() -> Principal:
    t = directory.tree()
    code = t.province_code
    return system_principal(directory.government_id(code), code, t.descendants(code))


async def replay(
    db: Database, incident_id: str, clock: Clock, *, fmt: Format = "text", events: bool = False
) -> str:
    """The incident's history as `fmt`, or its events as JSON lines (a 404 Problem for an
    unknown incident)."""
    async with db.read() as session:
        record = await records.accountability(session, incident_id, _province_actor(), clock.now())
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


def _text(record: dict[str, Any]) -> str:
    lines = []
    for entry in record["entries"]:
        at = datetime.fromisoformat(entry["at"]).astimezone(SHANGHAI)
        late = entry.get("lateness_seconds")
        tail = f"  (late {late} s)" if late else ""
        detail = f"  {entry['detail']}" if entry.get("detail") else ""
        lines.append(
            f"{at:%Y-%m-%d %H:%M:%S}  {entry['kind']:<12}  {entry['what']}"
            f"  [{entry.get('org_id') or '-'}]{detail}{tail}"
        )
    return "\n".join(lines) + "\n"
