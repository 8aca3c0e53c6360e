"""Records for auditors: an incident's accountability timeline (Art. 39) and an organ's
annual figures (Art. 38), as JSON, CSV (`Accept: text/csv`) and printable HTML."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from app.deps import PrincipalDep, RuntimeDep
from app.workflows import records

router = APIRouter(prefix="/api/v1", tags=["records"])

Format = Annotated[str | None, Query(pattern="^(json|csv|html)$")]
# The Measures date from 2016: no year before them has records to report.
Year = Annotated[int, Query(ge=2016, le=2100)]


def wants(request: Request, fmt: str, explicit: str | None) -> bool:
    """`?format=` wins; otherwise the Accept header names the type (text/csv, text/html)."""
    if explicit is not None:
        return explicit == fmt
    accept = request.headers.get("accept", "").lower()
    return f"text/{fmt}" in accept


def csv_response(columns: Sequence[str], rows: Iterable[dict[str, Any]], filename: str) -> Response:
    return Response(
        records.to_csv(columns, rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/incidents/{incident_id}/accountability", response_model=None)
async def accountability(
    incident_id: str,
    request: Request,
    rt: RuntimeDep,
    actor: PrincipalDep,
    format: Format = None,
) -> dict[str, Any] | Response:
    async with rt.db.read() as session:
        record = await records.accountability(session, incident_id, actor, rt.clock.now())
    if wants(request, "csv", format):
        return csv_response(
            records.TIMELINE_COLUMNS,
            records.timeline_rows(record),
            f"accountability-{incident_id}.csv",
        )
    if wants(request, "html", format):
        return HTMLResponse(records.accountability_html(record))
    return record


@router.get("/reports/annual", response_model=None)
async def annual(
    request: Request,
    rt: RuntimeDep,
    actor: PrincipalDep,
    year: Year,
    org: Annotated[str | None, Query(max_length=64)] = None,
    format: Format = None,
) -> dict[str, Any] | Response:
    async with rt.db.read() as session:
        report = await records.annual_report(session, year, org, actor, rt.clock.now())
    if wants(request, "csv", format):
        return csv_response(
            records.REPORT_COLUMNS,
            records.report_rows(report),
            f"annual-{report['org']['id']}-{year}.csv",
        )
    return report
