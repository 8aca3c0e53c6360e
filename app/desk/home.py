"""My work: the obligations the person's organ owes, soonest first, and what waits for them."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from app.desk.auth import SECURITY_HEADERS, DeskPrincipal
from app.web.templates import render

router = APIRouter()


@router.get("", response_class=HTMLResponse)
async def my_work(request: Request, principal: DeskPrincipal) -> HTMLResponse:
    return render(request, "desk/my_work.html", {"principal": principal}, headers=SECURITY_HEADERS)
