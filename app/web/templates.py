"""The one Jinja2 environment of Fabu's pages, with the language and time helpers they share.

Pages are Chinese first: a person reads Chinese unless they chose English (the `fabu_lang`
cookie, set by `?lang=en`). Both languages sit side by side in the templates, `tr("中文",
"English")`, so a translation is never out of sight of its original.
"""

from __future__ import annotations

from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context

from app.clock import SHANGHAI, iso

TEMPLATES = Path(str(resources.files("app").joinpath("web", "templates")))
LANG_COOKIE = "fabu_lang"
LANGUAGES = ("zh", "en")

templates = Jinja2Templates(directory=TEMPLATES)


def language(request: Request) -> str:
    """The reader's language: `?lang=` first (a click on the switch), then the cookie."""
    asked = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    return asked if asked in LANGUAGES else "zh"


@pass_context
def tr(context: Context, zh: str, en: str) -> str:
    return en if context.get("lang") == "en" else zh


def beijing(at: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A time as a Guizhou office reads it (Asia/Shanghai), or a dash when there is none."""
    return "—" if at is None else at.astimezone(SHANGHAI).strftime(fmt)


templates.env.globals["tr"] = tr
templates.env.filters["beijing"] = beijing
templates.env.filters["iso"] = iso


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render `name` with what every page needs: language, CSRF token, the signed-in principal
    and the server's clock (countdowns tick against it, not the screen's)."""
    lang = language(request)
    rt = request.app.state.runtime
    base: dict[str, Any] = {
        "lang": lang,
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "principal": getattr(request.state, "principal", None),
        "server_now": iso(rt.clock.now()),
        "path": request.url.path,
    }
    response = templates.TemplateResponse(
        request, name, base | (context or {}), status_code=status_code, headers=headers
    )
    if request.query_params.get("lang") in LANGUAGES:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", httponly=True)
    return response
