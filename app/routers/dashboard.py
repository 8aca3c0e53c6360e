"""The command-center dashboard: plain files from app/static, no build step.

The page itself holds no data: it asks for a token, then reads the API and WS /live like any
other client. Only the division names it needs for labels and the prefecture filter are
served here, since they are public and the same for everyone.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response

from app import directory
from app.errors import not_found

router = APIRouter(tags=["dashboard"], include_in_schema=False)

STATIC = Path(str(resources.files("app").joinpath("static")))
TYPES = {".html": "text/html; charset=utf-8", ".css": "text/css", ".js": "text/javascript"}
TYPES |= {".svg": "image/svg+xml", ".png": "image/png", ".ico": "image/x-icon"}

# The page runs its own script and talks only to this origin; the token lives in
# sessionStorage, so no script from elsewhere may run beside it.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; "
        "style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@router.get("/dashboard")
async def page() -> Response:
    return FileResponse(
        STATIC / "dashboard.html",
        media_type=TYPES[".html"],
        headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"},
    )


@router.get("/dashboard/")
async def page_slash() -> Response:
    return RedirectResponse("/dashboard", status_code=308)


@router.get("/dashboard/divisions.json")
async def divisions() -> Response:
    return JSONResponse(
        _divisions(), headers={**SECURITY_HEADERS, "Cache-Control": "public, max-age=3600"}
    )


@lru_cache(maxsize=1)
def _divisions() -> dict[str, Any]:
    tree = directory.tree()
    items = []
    for d in tree:
        # The board groups by prefecture; Gui'an New District stands beside them.
        group = d.code if d.level == "new_area" else tree.prefecture_of(d.code)
        items.append(
            {
                "code": d.code,
                "name_zh": d.name_zh,
                "name_en": d.name_en,
                "level": d.level,
                "parent_code": d.parent_code,
                "prefecture_code": group,
            }
        )
    return {"items": items}


@lru_cache(maxsize=1)
def _assets() -> frozenset[str]:
    return frozenset(p.name for p in STATIC.iterdir() if p.is_file() and p.suffix in TYPES)


@router.get("/dashboard/assets/{name}")
async def asset(name: str) -> Response:
    # Only the files that are there by name: no path ever reaches the file system.
    if name not in _assets():
        raise not_found("asset")
    return FileResponse(
        STATIC / name,
        media_type=TYPES[Path(name).suffix],
        headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"},
    )
