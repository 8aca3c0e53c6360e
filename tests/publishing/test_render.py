"""A published release rendered for each channel, within each channel's limits."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from html.parser import HTMLParser
from itertools import cycle, islice
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.publishing.render import (
    CHANNELS,
    ELLIPSIS,
    ReleaseView,
    UnknownChannel,
    graphemes,
    release_json,
    render,
    render_generic,
    render_website,
    render_wechat,
    render_weibo,
    truncate_html,
    truncate_text,
)

FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # 👨‍👩‍👧, 5 code points
FLAG_CN = "\U0001f1e8\U0001f1f3"  # 🇨🇳, 2 regional indicators
HEART = "\u2764\ufe0f"  # ❤️ with VS16
THUMB_MEDIUM = "\U0001f44d\U0001f3fd"  # 👍🏽
KEYCAP_1 = "1\ufe0f\u20e3"  # 1️⃣
E_ACUTE = "e\u0301"  # é, decomposed
SCOTLAND = "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"

PUBLISHED = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)  # 20:00 in Guizhou
URL = "https://www.guizhou.gov.cn/xxgk/fb/2026/rel_0001.html"  # 52 characters


def chinese(n: int) -> str:
    """`n` CJK characters, no digits, Latin letters or punctuation."""
    return "".join(islice(cycle("盘州市某煤矿发生顶板事故现场救援工作正在有序进行"), n))


def release(**changes: Any) -> ReleaseView:
    base = ReleaseView(
        id="rel_0001",
        kind="first_release",
        title="盘州市煤矿顶板事故情况通报",
        body="11月27日凌晨，盘州市某煤矿发生顶板事故。\n\n现场救援工作正在有序进行。",
        published_at=PUBLISHED,
        org_name_zh="贵州省应急管理厅",
        org_name_en="Guizhou Provincial Department of Emergency Management",
        url=URL,
        incident_id="inc_0042",
    )
    return dataclasses.replace(base, **changes)


# ---------------------------------------------------------------- well-formed HTML

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


class _Balance(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.data: list[str] = []
        self.refs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        pass  # <br/>: opens nothing

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(f"unbalanced </{tag}>")

    def handle_data(self, data: str) -> None:
        self.data.append(data)

    def handle_entityref(self, name: str) -> None:
        self.refs.append(f"&{name};")

    def handle_charref(self, name: str) -> None:
        self.refs.append(f"&#{name};")


def assert_well_formed(markup: str) -> _Balance:
    parser = _Balance()
    parser.feed(markup)
    parser.close()
    assert parser.errors == []
    assert parser.stack == [], f"left open: {parser.stack}"
    # A tag or entity cut in half would surface as text holding < or &.
    for data in parser.data:
        assert "<" not in data and "&" not in data, data
    return parser


# ---------------------------------------------------------------- graphemes


def test_emoji_sequences_are_single_characters_to_the_reader() -> None:
    text = f"平安{FAMILY}{FLAG_CN}{FLAG_CN}{HEART}{E_ACUTE}{KEYCAP_1}{SCOTLAND}{THUMB_MEDIUM}\r\nA"
    assert graphemes(text) == [
        "平",
        "安",
        FAMILY,
        FLAG_CN,
        FLAG_CN,
        HEART,
        E_ACUTE,
        KEYCAP_1,
        SCOTLAND,
        THUMB_MEDIUM,
        "\r\n",
        "A",
    ]


def test_spacing_vowels_and_old_hangul_stay_with_their_consonant() -> None:
    # Thai SARA AM is a letter by category but a spacing mark to a reader (UAX #29).
    assert graphemes("กำลัง") == ["กำ", "ลั", "ง"]
    assert truncate_text("กำลัง", 3) == "กำ…"
    # Conjoining jamo: an initial joins the initial or syllable after it.
    old = "\u1100\u1100\u1161\u11a8"  # one syllable in four code points
    assert graphemes(f"{old}가") == [old, "가"]
    assert truncate_text(f"{old}가나", 5) == f"{old}…"
    assert truncate_text(f"{old}가나", 4) == "…"  # never a lone initial


# ---------------------------------------------------------------- truncate_text


def test_chinese_text_exactly_at_the_limit_is_not_cut() -> None:
    assert truncate_text(chinese(140), 140) == chinese(140)


def test_chinese_text_one_over_the_limit_is_cut_to_the_limit_with_an_ellipsis() -> None:
    cut = truncate_text(chinese(141), 140)
    assert cut == chinese(139) + "…"
    assert len(cut) == 140


def test_an_english_word_in_chinese_text_is_not_cut_in_half() -> None:
    text = "贵州省应急管理厅 Guizhou Emergency Management 通报"
    # 15 characters of room end inside "Guizhou": the cut moves before it.
    assert truncate_text(text, 16) == "贵州省应急管理厅…"
    assert truncate_text(text, 18) == "贵州省应急管理厅 Guizhou…"


def test_a_casualty_figure_is_never_cut_into_a_smaller_number() -> None:
    assert truncate_text("死亡人数已上升至12人", 10) == "死亡人数已上升至…"


def test_a_word_too_long_to_move_before_is_cut_where_the_limit_falls() -> None:
    assert truncate_text("a" * 50, 10) == "a" * 9 + "…"
    assert truncate_text("x " + "b" * 30, 25) == "x " + "b" * 22 + "…"


def test_the_zwj_family_is_kept_whole_or_left_out() -> None:
    text = f"平安{FAMILY}"  # 7 code points
    assert truncate_text(text, 7) == text
    assert truncate_text(text, 6) == "平安…"
    assert truncate_text(FAMILY, 5) == FAMILY
    assert truncate_text(FAMILY + "x", 5) == "…"


def test_flags_are_never_split_into_regional_indicators() -> None:
    flags = FLAG_CN * 3
    assert truncate_text(flags, 4) == FLAG_CN + "…"
    assert truncate_text(flags, 5) == FLAG_CN * 2 + "…"


def test_a_heart_keeps_its_variation_selector() -> None:
    assert truncate_text(f"爱{HEART}你", 3) == "爱…"
    assert truncate_text(f"爱{HEART}你们", 4) == f"爱{HEART}…"


def test_space_and_weak_punctuation_before_the_ellipsis_are_dropped() -> None:
    assert truncate_text("救援正在进行， 伤员已送医", 8) == "救援正在进行…"


def test_suffix_may_be_changed_and_limits_too_small_for_it_are_refused() -> None:
    assert truncate_text(chinese(10), 6, suffix="……") == chinese(4) + "……"
    assert truncate_text(chinese(10), 4, suffix="") == chinese(4)
    with pytest.raises(ValueError):
        truncate_text(chinese(10), 0)
    with pytest.raises(ValueError):
        truncate_text("x", -1)
    assert truncate_text("", 0) == ""


_PIECES = st.sampled_from(
    ["贵", "州", "a", "B", "7", " ", "，", FAMILY, FLAG_CN, HEART, E_ACUTE, KEYCAP_1, "\u200d"]
)


@given(st.lists(_PIECES, max_size=60).map("".join), st.integers(min_value=1, max_value=70))
def test_any_cut_is_within_the_limit_and_made_of_whole_characters(text: str, limit: int) -> None:
    cut = truncate_text(text, limit)
    assert len(cut) <= limit
    if len(text) <= limit:
        assert cut == text
        return
    assert cut.endswith(ELLIPSIS)
    clusters = graphemes(text)
    kept = cut[: -len(ELLIPSIS)]
    prefixes = {"".join(clusters[:k]) for k in range(len(clusters) + 1)}
    assert kept in prefixes


# ---------------------------------------------------------------- truncate_html

SAMPLE = (
    '<p class="lead" title="a>b">贵州省应急管理厅通报：<b>盘州市</b>某煤矿发生'
    '<a href="https://x.example/?a=1&amp;b=2">顶板事故</a>&nbsp;&#x2764;&#65039;</p>'
    f"<ul><li>死亡 3 人</li><li>受伤 <em>12</em> 人 {FAMILY} {FLAG_CN} {HEART}</li></ul>"
    "<p>救援<br>进行中<br/>Guizhou Emergency &amp; Rescue</p><!-- 备注 --><p>完</p>"
)


def test_html_within_the_limit_is_returned_unchanged() -> None:
    assert truncate_html(SAMPLE, len(SAMPLE)) == SAMPLE


def test_html_cut_at_every_length_is_well_formed_and_within_the_limit() -> None:
    entities = {"&amp;", "&nbsp;", "&#x2764;", "&#65039;"}
    for limit in range(1, len(SAMPLE)):
        cut = truncate_html(SAMPLE, limit)
        assert len(cut) <= limit, limit
        assert cut.endswith(ELLIPSIS) or cut.endswith(">"), cut
        parser = assert_well_formed(cut)
        assert set(parser.refs) <= entities
        text = "".join(parser.data)
        if "\U0001f468" in text:
            assert FAMILY in text
        if "\u2764" in text:
            assert HEART in text
        assert text.count("\U0001f1e8") == text.count("\U0001f1f3")


def test_an_entity_goes_whole_or_not_at_all() -> None:
    markup = "<p>abc<b>def &amp; ghi</b> jkl</p><p>mno</p>"
    assert truncate_html(markup, 27) == "<p>abc<b>def &amp;…</b></p>"
    assert truncate_html(markup, 26) == "<p>abc<b>def…</b></p>"


def test_an_element_opened_just_before_the_cut_is_not_left_empty() -> None:
    markup = "<p>一二三</p><p>四五六</p>"
    assert truncate_html(markup, 18) == "<p>一二三</p>…"


def test_a_tag_with_a_quoted_angle_bracket_is_one_piece() -> None:
    markup = '<p><a title="x>y" href="/r">通报全文</a>其余内容</p>'
    # The start tag is 28 characters; the room for </a></p> is kept from the start.
    assert truncate_html(markup, 42) == '<p><a title="x>y" href="/r">通报全文</a>其…</p>'
    assert truncate_html(markup, 40) == '<p><a title="x>y" href="/r">通报全…</a></p>'
    assert truncate_html(markup, 36) == "…"  # an empty <p> is not kept


def test_end_tags_without_a_start_are_dropped() -> None:
    assert truncate_html("<p>一二三四五</b>六七八九十</p>", 12) == "<p>一二三四…</p>"


def test_html_limit_too_small_for_the_suffix_is_refused() -> None:
    with pytest.raises(ValueError):
        truncate_html("<p>x</p>", 0)


_html = st.recursive(
    st.lists(_PIECES, min_size=1, max_size=8).map("".join)
    | st.sampled_from(["&amp;", "&lt;", "&#x4e2d;", "<br>", "<img src='a>b.png'>"]),
    lambda inner: st.builds(
        lambda tag, parts: f"<{tag}>{''.join(parts)}</{tag}>",
        st.sampled_from(["p", "b", "em", "li", "span"]),
        st.lists(inner, max_size=4),
    ),
    max_leaves=20,
)


@given(st.lists(_html, max_size=5).map("".join), st.integers(min_value=1, max_value=200))
def test_any_html_cut_is_within_the_limit_and_well_formed(markup: str, limit: int) -> None:
    cut = truncate_html(markup, limit)
    assert len(cut) <= limit
    if len(markup) <= limit:
        assert cut == markup
    assert_well_formed(cut)


# ---------------------------------------------------------------- WeChat


def test_wechat_article_of_a_short_release() -> None:
    assert render_wechat(release()) == {
        "title": "盘州市煤矿顶板事故情况通报",
        "digest": "11月27日凌晨，盘州市某煤矿发生顶板事故。 现场救援工作正在有序进行。",
        "author": "贵州省应急管理厅",
        "content": (
            "<p>11月27日凌晨，盘州市某煤矿发生顶板事故。</p><p>现场救援工作正在有序进行。</p>"
            '<p class="source">贵州省应急管理厅</p>'
            '<p class="time">2026年11月27日 20:00（北京时间）</p>'
        ),
        "content_source_url": URL,
    }


@pytest.mark.parametrize(
    ("field", "limit", "change"),
    [
        ("title", 32, lambda s: {"title": s}),
        ("digest", 128, lambda s: {"body": s}),
        ("author", 16, lambda s: {"org_name_zh": s}),
    ],
)
def test_wechat_fields_at_their_limits(field: str, limit: int, change: Any) -> None:
    at_limit = render_wechat(release(**change(chinese(limit))))
    assert at_limit[field] == chinese(limit)
    over = render_wechat(release(**change(chinese(limit + 1))))
    assert over[field] == chinese(limit - 1) + "…"


def test_wechat_content_stays_below_twenty_thousand_characters() -> None:
    footer = render_wechat(release(body=""))["content"]
    n = 19_999 - len("<p></p>") - len(footer)
    at_limit = render_wechat(release(body=chinese(n)))["content"]
    assert at_limit == f"<p>{chinese(n)}</p>{footer}"
    assert len(at_limit) == 19_999
    over = render_wechat(release(body=chinese(n + 1)))["content"]
    assert over == f"<p>{chinese(n - 1)}…</p>{footer}"
    assert len(over) == 19_999


def test_wechat_content_of_a_huge_release_is_well_formed_and_keeps_its_source_line() -> None:
    body = "\n".join(f"第{i}段：{chinese(90)} <提示> & {FAMILY}" for i in range(400))
    content = render_wechat(release(body=body))["content"]
    assert len(content) < 20_000
    assert content.endswith('<p class="time">2026年11月27日 20:00（北京时间）</p>')
    assert "&lt;提示&gt; &amp;" in content
    assert_well_formed(content)


def test_wechat_digest_falls_back_to_the_title_when_there_is_no_body() -> None:
    assert render_wechat(release(body=""))["digest"] == "盘州市煤矿顶板事故情况通报"


@pytest.mark.parametrize(
    ("field", "limit", "change"),
    [
        ("title", 32, lambda s: {"title": s}),
        ("digest", 128, lambda s: {"body": s}),
        ("author", 16, lambda s: {"org_name_zh": s}),
    ],
)
def test_wechat_fields_never_split_an_emoji_at_their_limits(
    field: str, limit: int, change: Any
) -> None:
    # The family (5 code points) would end past the limit: it is left out whole ...
    crossing = render_wechat(release(**change(chinese(limit - 3) + FAMILY + chinese(5))))
    assert crossing[field] == chinese(limit - 3) + ELLIPSIS
    # ... as is a flag (2 regional indicators), never half of one.
    flag = render_wechat(release(**change(chinese(limit - 2) + FLAG_CN + chinese(3))))
    assert flag[field] == chinese(limit - 2) + ELLIPSIS
    # Ending inside the limit, it is kept whole.
    inside = render_wechat(release(**change(chinese(limit - 8) + FAMILY + chinese(5))))
    assert inside[field] == chinese(limit - 8) + FAMILY + chinese(2) + ELLIPSIS
    assert len(inside[field]) == limit


# ---------------------------------------------------------------- Weibo


def test_weibo_post_carries_headline_body_and_link() -> None:
    assert render_weibo(release())["text"] == (
        "【盘州市煤矿顶板事故情况通报】11月27日凌晨，盘州市某煤矿发生顶板事故。"
        f" 现场救援工作正在有序进行。 {URL}"
    )


def test_weibo_post_of_exactly_140_characters_with_its_link_is_not_cut() -> None:
    head = "【盘州市煤矿顶板事故情况通报】"  # 15
    n = 140 - len(head) - len(" " + URL)
    text = render_weibo(release(body=chinese(n)))["text"]
    assert text == f"{head}{chinese(n)} {URL}"
    assert len(text) == 140


def test_weibo_post_one_over_is_cut_before_the_link_which_counts_in_full() -> None:
    head = "【盘州市煤矿顶板事故情况通报】"
    n = 140 - len(head) - len(" " + URL)
    text = render_weibo(release(body=chinese(n + 1)))["text"]
    assert text == f"{head}{chinese(n - 1)}… {URL}"
    assert len(text) == 140


def test_weibo_post_at_its_limit_with_english_and_emoji_keeps_words_emoji_and_link() -> None:
    head = "【盘州市煤矿顶板事故情况通报】"
    room = 140 - len(head) - len(" " + URL)  # 72 characters of body
    # "Rescue" would straddle the limit: the cut goes before the word, not into it.
    english = render_weibo(release(body=chinese(room - 6) + " Rescue teams remain"))["text"]
    assert english == f"{head}{chinese(room - 6)}… {URL}"
    # The family emoji would straddle it: left out whole.
    emoji = render_weibo(release(body=chinese(room - 3) + FAMILY))["text"]
    assert emoji == f"{head}{chinese(room - 3)}… {URL}"
    # Mixed text that fits exactly goes out uncut.
    mixed = chinese(room - 12) + " Guizhou " + FLAG_CN + "!"
    assert len(mixed) == room
    assert render_weibo(release(body=mixed))["text"] == f"{head}{mixed} {URL}"
    assert all(len(t) <= 140 for t in (english, emoji))


def test_weibo_headline_too_long_for_the_post_is_cut_inside_its_brackets() -> None:
    text = render_weibo(release(title=chinese(200)))["text"]
    room = 140 - len(" " + URL)
    assert text == f"【{chinese(room - 3)}…】 {URL}"
    assert len(text) == 140


def test_weibo_link_too_long_to_leave_room_for_a_headline_stays_in_the_long_text() -> None:
    long_url = "https://www.guizhou.gov.cn/" + "a" * 120
    rendered = render_weibo(release(url=long_url))
    assert long_url not in rendered["text"]
    assert len(rendered["text"]) <= 140
    assert rendered["long_text"].endswith(long_url)


def test_weibo_long_text_at_and_over_its_limit() -> None:
    head = "【盘州市煤矿顶板事故情况通报】\n"
    tail = f"\n\n贵州省应急管理厅\n2026年11月27日 20:00（北京时间）\n全文 Full text: {URL}"
    n = 2000 - len(head) - len(tail)
    at_limit = render_weibo(release(body=chinese(n)))["long_text"]
    assert at_limit == head + chinese(n) + tail
    over = render_weibo(release(body=chinese(n + 1)))["long_text"]
    assert over == head + chinese(n - 1) + "…" + tail
    assert len(over) == 2000


# ---------------------------------------------------------------- website and generic


def test_website_page_escapes_everything_a_drafter_typed() -> None:
    hostile = release(
        title='<script>alert("x")</script> & 通报',
        body="第一段 <b>不是标签</b>\n第二段 & 'quotes'",
        org_name_en="Office <of> Emergency",
    )
    page = render_website(hostile)["html"]
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; 通报" in page
    assert "<p>第一段 &lt;b&gt;不是标签&lt;/b&gt;</p>" in page
    assert "<p>第二段 &amp; &#x27;quotes&#x27;</p>" in page
    assert_well_formed(page)


def test_website_page_shows_time_org_and_the_art_23_facts() -> None:
    facts = {
        "time": "11月27日 03:10",
        "place": "盘州市",
        "casualties": {"deaths": 3, "injured": 12, "missing": 0, "involved": 40},
        "measures": ["封闭矿井", "疏散群众"],
    }
    page = render_website(release(facts=facts))["html"]
    assert '<time datetime="2026-11-27T12:00:00Z">2026年11月27日 20:00（北京时间）</time>' in page
    assert "<dt>人员伤亡 Casualties</dt><dd><dl><dt>死亡 Deaths</dt><dd>3</dd>" in page
    assert "<dt>政府措施 Government measures</dt><dd><ul><li>封闭矿井</li>" in page
    assert f'<link rel="canonical" href="{URL}">' in page
    assert_well_formed(page)


def test_the_event_time_fact_reads_in_beijing_time_like_the_page_around_it() -> None:
    page = render_website(release(facts={"time": "2026-11-26T19:10:00Z"}))["html"]
    assert "<dt>时间 Time</dt><dd>2026年11月27日 03:10（北京时间）</dd>" in page
    # The website JSON keeps the time as the API gives it.
    assert render_website(release(facts={"time": "2026-11-26T19:10:00Z"}))["json"]["facts"] == {
        "time": "2026-11-26T19:10:00Z"
    }


def test_a_wechat_article_carries_the_art_23_facts_after_its_text() -> None:
    facts = {"time": "2026-11-26T19:10:00Z", "casualties": {"deaths": 8, "missing": 3}}
    content = render_wechat(release(facts=facts))["content"]
    assert content.index("现场救援工作正在有序进行") < content.index(
        "<dt>死亡 Deaths</dt><dd>8</dd>"
    )
    assert "2026年11月27日 03:10（北京时间）" in content
    assert_well_formed(content)


def test_website_json_is_the_release_in_api_form() -> None:
    local = datetime(2026, 11, 27, 20, 0, 0, 123456, tzinfo=timezone(timedelta(hours=8)))
    view = release(published_at=local, facts={"casualties": {"deaths": 3}, "measures": ("a",)})
    assert render_website(view)["json"] == {
        "id": "rel_0001",
        "kind": "first_release",
        "title": "盘州市煤矿顶板事故情况通报",
        "body": "11月27日凌晨，盘州市某煤矿发生顶板事故。\n\n现场救援工作正在有序进行。",
        "published_at": "2026-11-27T12:00:00Z",
        "org": {
            "name_zh": "贵州省应急管理厅",
            "name_en": "Guizhou Provincial Department of Emergency Management",
        },
        "url": URL,
        "incident_id": "inc_0042",
        "facts": {"casualties": {"deaths": 3}, "measures": ["a"]},
    }


def test_generic_subscribers_get_the_event_itself() -> None:
    event = {"seq": 7, "id": "evt_7", "type": "release.published", "data": {"id": "rel_0001"}}
    rendered = render_generic(event)
    assert rendered == event
    assert rendered is not event
    assert render_generic(release()) == release_json(release())


def test_render_dispatches_every_channel_and_refuses_others() -> None:
    view = release()
    assert render("wechat", view) == render_wechat(view)
    assert render("weibo", view) == render_weibo(view)
    assert render("website", view) == render_website(view)
    assert render("generic", view) == release_json(view)
    assert set(CHANNELS) == {"generic", "wechat", "weibo", "website"}
    with pytest.raises(UnknownChannel):
        render("client", view)


def test_a_release_view_needs_an_aware_time_and_a_web_link() -> None:
    with pytest.raises(ValueError):
        release(published_at=datetime(2026, 11, 27, 20, 0))
    with pytest.raises(ValueError):
        release(url="javascript:alert(1)")
