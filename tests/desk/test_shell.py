"""The desk's shell: who has no session is sent to sign in and back; pages speak Chinese first."""

from __future__ import annotations

from tests.conftest import Api


async def test_without_a_session_the_desk_sends_the_person_to_sign_in_and_back(api: Api) -> None:
    response = await api.client.get("/desk?tab=queue")
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?next=/desk%3Ftab%3Dqueue"


async def test_the_desk_is_chinese_first_and_english_at_one_click(api: Api) -> None:
    headers = await api.token("io-520000", "drafter")
    page = await api.client.get("/desk", headers=headers)
    assert page.status_code == 200
    assert '<html lang="zh-CN">' in page.text and "我的工作" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    english = await api.client.get("/desk?lang=en", headers=headers)
    assert '<html lang="en">' in english.text and "My work" in english.text
    # The choice is remembered for the next page.
    api.client.cookies.set("fabu_lang", english.cookies["fabu_lang"])
    again = await api.client.get("/desk", headers=headers)
    assert "My work" in again.text


async def test_the_desk_serves_its_own_scripts(api: Api) -> None:
    htmx = await api.client.get("/static/vendor/htmx.min.js")
    assert htmx.status_code == 200 and "htmx" in htmx.text[:2000]
