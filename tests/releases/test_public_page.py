"""The page behind a publication's `url`: what a reader reaches from a Weibo post's link."""

from __future__ import annotations

from urllib.parse import urlsplit

from tests.conftest import Api
from tests.releases.helpers import (
    EMERGENCY,
    PressOffice,
    assert_problem,
    corrected_publication,
    report_mine_accident,
)


def _path(url: str) -> str:
    return urlsplit(url).path


async def test_a_publication_is_readable_at_its_url_without_a_token(api: Api) -> None:
    incident = await report_mine_accident(api)
    office = await PressOffice.of(api, EMERGENCY)
    published = await office.published(incident["id"], title="盘州市某煤矿发生透水事故")

    page = await api.client.get(_path(published["url"]))
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "<h1>盘州市某煤矿发生透水事故</h1>" in page.text
    assert "贵州省应急管理厅" in page.text
    assert f'<link rel="canonical" href="{published["url"]}">' in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert 'class="replaced"' not in page.text
    head = await api.client.head(_path(published["url"]))
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["content-length"] == page.headers["content-length"]


async def test_a_draft_or_an_unknown_id_is_not_there(api: Api) -> None:
    incident = await report_mine_accident(api)
    office = await PressOffice.of(api, EMERGENCY)
    draft = await office.drafted(incident["id"], title="尚未发布的草稿")
    await office.through_approval(draft["id"])  # approved, still not published

    for release_id in (draft["id"], "rel_unknown"):
        response = await api.client.get(f"/releases/{release_id}")
        assert_problem(response, 404)
        assert "尚未发布的草稿" not in response.text


async def test_a_corrected_publication_points_its_readers_to_the_correction(api: Api) -> None:
    incident = await report_mine_accident(api)
    office = await PressOffice.of(api, EMERGENCY)
    first, correction = await corrected_publication(api, office, incident["id"])

    page = await api.client.get(_path(first["url"]))
    assert page.status_code == 200
    assert f'<a href="{correction["url"]}">本稿已更正' in page.text
    # The original text stays as it was published.
    assert f"<h1>{first['title']}</h1>" in page.text
    corrected = await api.client.get(_path(correction["url"]))
    assert "<h1>更正：盘州市某煤矿透水事故</h1>" in corrected.text


async def test_a_retracted_publication_says_so(api: Api) -> None:
    incident = await report_mine_accident(api)
    office = await PressOffice.of(api, EMERGENCY)
    rumor = await office.published(incident["id"], kind="rumor_clarification")
    api.clock.advance(minutes=10)
    retraction = await office.retraction(rumor["id"], "所辟谣言经核实部分属实")
    before = await api.client.get(_path(rumor["url"]))
    assert 'class="replaced"' not in before.text  # a draft retraction retracts nothing
    published = await office.through_publication(retraction["id"])

    page = await api.client.get(_path(rumor["url"]))
    assert f'<a href="{published["url"]}">本稿已撤回' in page.text


async def test_a_correction_later_retracted_sends_readers_to_the_retraction(api: Api) -> None:
    incident = await report_mine_accident(api)
    office = await PressOffice.of(api, EMERGENCY)
    first = await office.published(incident["id"], kind="rumor_clarification")
    api.clock.advance(minutes=10)
    correction = await office.published(
        incident["id"], kind="correction", replaces_id=first["id"], title="更正"
    )
    api.clock.advance(minutes=10)
    retraction = await office.retraction(first["id"], "整体撤回")
    withdrawn = await office.through_publication(retraction["id"])

    page = await api.client.get(_path(first["url"]))
    assert f'<a href="{withdrawn["url"]}">本稿已撤回' in page.text
    assert correction["url"] not in page.text
