"""What the public reads without a token: the page of each publication, at the `url` the
channel renderings link to (a Weibo post's "full text", a WeChat article's source)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from app.deps import RuntimeDep
from app.publishing.render import render_website
from app.workflows import releases as flow

router = APIRouter(tags=["public"])

# The page is the website rendering: no script, no style, nothing fetched from elsewhere.
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Published content never changes, but a correction may come to be noted on it.
    "Cache-Control": "public, max-age=60",
}


# HEAD too: link checkers and the website's crawler ask before they fetch.
@router.api_route("/releases/{release_id}", methods=["GET", "HEAD"], response_class=HTMLResponse)
async def release_page(release_id: str, rt: RuntimeDep) -> HTMLResponse:
    """The published release as a page; a correction or retraction is noted with its link."""
    async with rt.db.read() as session:
        view = await flow.public_view(session, release_id)
    return HTMLResponse(render_website(view)["html"], headers=HEADERS)
