"""Channel renderers for a published release (PRODUCT.md §6).

Pure: a `ReleaseView` in, plain dicts of strings out. Each channel has its own
limits, and every limit here is counted in characters (Unicode code points,
Python `len`), which is how WeChat and Weibo count CJK text. Cutting never
splits what a reader sees as one character (an emoji ZWJ family, a flag, a
base letter and its combining marks or variation selector), never cuts a Latin
word or a number in half when a nearby break exists (a casualty figure cut from
"12" to "1…" would be false), and in HTML never cuts inside a tag or an entity
and closes whatever it left open.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Final, Literal
from urllib.parse import urlsplit

__all__ = [
    "CHANNELS",
    "ELLIPSIS",
    "WECHAT_AUTHOR_LIMIT",
    "WECHAT_CONTENT_LIMIT",
    "WECHAT_DIGEST_LIMIT",
    "WECHAT_TITLE_LIMIT",
    "WEIBO_LONG_TEXT_LIMIT",
    "WEIBO_TEXT_LIMIT",
    "Channel",
    "ReleaseView",
    "UnknownChannel",
    "graphemes",
    "release_json",
    "render",
    "render_generic",
    "render_website",
    "render_wechat",
    "render_weibo",
    "truncate_html",
    "truncate_text",
]

ELLIPSIS: Final = "…"

# WeChat official-account article fields (draft/add): the limits the publisher
# service enforces; content must stay strictly below 20,000 characters.
WECHAT_TITLE_LIMIT: Final = 32
WECHAT_DIGEST_LIMIT: Final = 128
WECHAT_AUTHOR_LIMIT: Final = 16
WECHAT_CONTENT_LIMIT: Final = 20_000 - 1

# Weibo: a post of 140 characters; the long text of 2,000.
WEIBO_TEXT_LIMIT: Final = 140
WEIBO_LONG_TEXT_LIMIT: Final = 2_000

Channel = Literal["generic", "wechat", "weibo", "website"]
CHANNELS: Final[tuple[Channel, ...]] = ("generic", "wechat", "weibo", "website")

# China has kept UTC+8 without daylight saving since 1991, so a fixed offset
# is exact for anything we publish and needs no tz database.
_BEIJING: Final = timezone(timedelta(hours=8), "Asia/Shanghai")


class UnknownChannel(ValueError):
    """`render` was asked for a channel it does not know."""


@dataclass(frozen=True, slots=True)
class ReleaseView:
    """What a channel needs to know about one published release."""

    id: str
    kind: str
    title: str
    body: str  # plain text; newlines separate paragraphs
    published_at: datetime  # aware; UTC inside the code
    org_name_zh: str
    org_name_en: str
    url: str  # the full release on the government website
    incident_id: str | None = None
    facts: Mapping[str, Any] | None = None
    # On the public page of a publication a later one corrected or retracted: (its kind, url).
    replaced_by: tuple[str, str] | None = None

    def __post_init__(self) -> None:
        if self.published_at.tzinfo is None or self.published_at.utcoffset() is None:
            raise ValueError("published_at must be timezone-aware")
        # The url lands in href attributes and in posts: only web links, so no
        # javascript: or data: link can ride along.
        if urlsplit(self.url).scheme.lower() not in ("http", "https"):
            raise ValueError("url must be an http(s) link")


# --------------------------------------------------------------------------
# Grapheme-ish segmentation
# --------------------------------------------------------------------------

_ZWJ: Final = "\u200d"


def _is_regional_indicator(ch: str) -> bool:
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF


def _is_extend(ch: str) -> bool:
    """Characters that belong to the character before them."""
    cp = ord(ch)
    if unicodedata.category(ch) in ("Mn", "Me", "Mc"):
        return True  # combining marks, enclosing keycap, variation selectors
    return (
        0x1F3FB <= cp <= 0x1F3FF  # emoji skin-tone modifiers (category Sk)
        or 0xE0020 <= cp <= 0xE007F  # tag characters of subdivision flags (Cf)
        or cp == 0x200C  # zero-width non-joiner
        or 0x1160 <= cp <= 0x11FF  # Hangul medial vowels and final consonants
        or 0xD7B0 <= cp <= 0xD7FF
        or cp in (0x0E33, 0x0EB3)  # Thai and Lao vowel sign AM (spacing marks, Lo)
    )


def _is_hangul_lead(ch: str) -> bool:
    """An initial consonant jamo: it joins the jamo or syllable after it (UAX #29 GB6)."""
    cp = ord(ch)
    return 0x1100 <= cp <= 0x115F or 0xA960 <= cp <= 0xA97C


def _is_hangul_syllable(ch: str) -> bool:
    return 0xAC00 <= ord(ch) <= 0xD7A3


def _is_control(ch: str) -> bool:
    return unicodedata.category(ch) in ("Cc", "Zl", "Zp")


def graphemes(text: str) -> list[str]:
    """Split `text` into user-perceived characters (a simplified UAX #29).

    Conservative: a cluster may come out larger than UAX #29 would make it
    (anything after a ZWJ is joined), never smaller, so cutting between
    clusters never breaks a character apart.
    """
    clusters: list[str] = []
    i, n = 0, len(text)
    while i < n:
        start = i
        ch = text[i]
        i += 1
        if ch == "\r" and i < n and text[i] == "\n":
            i += 1
        elif not _is_control(ch):
            if _is_regional_indicator(ch) and i < n and _is_regional_indicator(text[i]):
                i += 1  # a flag is a pair of regional indicators
            while i < n:
                nxt = text[i]
                if nxt == _ZWJ:
                    i += 1
                    if i < n and not _is_control(text[i]):
                        i += 1  # the joined character
                elif _is_extend(nxt) or (
                    _is_hangul_lead(text[i - 1])
                    and (_is_hangul_lead(nxt) or _is_hangul_syllable(nxt))
                ):
                    i += 1
                else:
                    break
        clusters.append(text[start:i])
    return clusters


# --------------------------------------------------------------------------
# Truncation
# --------------------------------------------------------------------------

# How far back a cut may move to avoid splitting a Latin word or a number.
_MAX_WORD_BACKOFF: Final = 20
# Left dangling before an ellipsis these read badly: drop them.
_TRAILING_STRIP: Final = " \t\r\n\u3000，、；：,;:"


def _is_wordish(cluster: str) -> bool:
    ch = cluster[0]
    # CJK (wide) characters may be broken anywhere; letters and digits of
    # other scripts form words that should not be cut.
    return ch.isalnum() and unicodedata.east_asian_width(ch) not in ("W", "F")


def _fit_clusters(clusters: list[str], budget: int) -> int:
    """How many leading clusters fit in `budget` characters, word-aware."""
    used = cut = 0
    for cluster in clusters:
        if used + len(cluster) > budget:
            break
        used += len(cluster)
        cut += 1
    if 0 < cut < len(clusters) and _is_wordish(clusters[cut - 1]) and _is_wordish(clusters[cut]):
        start = cut
        while start > 0 and _is_wordish(clusters[start - 1]):
            start -= 1
        if start > 0 and cut - start <= _MAX_WORD_BACKOFF:
            cut = start
    return cut


def _is_blank(cluster: str) -> bool:
    return not cluster.strip(_TRAILING_STRIP)


def _rstrip_clusters(clusters: list[str], cut: int) -> int:
    """Drop whole blank clusters (spaces, weak punctuation) before a cut."""
    while cut > 0 and _is_blank(clusters[cut - 1]):
        cut -= 1
    return cut


def truncate_text(text: str, limit: int, suffix: str = ELLIPSIS) -> str:
    """`text` if it has at most `limit` characters, else a cut ending in `suffix`.

    The result never exceeds `limit` characters, `suffix` included.
    """
    if limit < 0:
        raise ValueError("limit must not be negative")
    if len(text) <= limit:
        return text
    if len(suffix) > limit:
        raise ValueError(f"limit {limit} leaves no room for the suffix {suffix!r}")
    clusters = graphemes(text)
    cut = _rstrip_clusters(clusters, _fit_clusters(clusters, limit - len(suffix)))
    return "".join(clusters[:cut]) + suffix


_VOID_ELEMENTS: Final = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "track",
        "wbr",
    ]
)
_RAW_TEXT_ELEMENTS: Final = frozenset(("script", "style", "textarea", "title"))

_TOKEN_RE: Final = re.compile(
    r"""
      (?P<comment><!--.*?-->)
    | (?P<decl><![^>]*>|<\?[^>]*>)
    | (?P<end></(?P<end_name>[A-Za-z][A-Za-z0-9:-]*)\s*>)
    | (?P<start><(?P<start_name>[A-Za-z][A-Za-z0-9:-]*)
         (?:\s+[^\s"'>/=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?)*
         \s*(?P<self_close>/)?>)
    | (?P<entity>&(?:\#[0-9]+|\#[xX][0-9A-Fa-f]+|[A-Za-z][A-Za-z0-9]*);)
    """,
    re.DOTALL | re.VERBOSE,
)

_TokenKind = Literal["text", "start", "void", "end", "atom"]


def _html_tokens(markup: str) -> Iterator[tuple[_TokenKind, str, str]]:
    """(kind, source text, lower-case tag name) for each piece of `markup`.

    Tags, entities, comments and the content of raw-text elements are atoms;
    text between them is cut freely (between graphemes).
    """
    pos = 0
    while pos < len(markup):
        m = _TOKEN_RE.search(markup, pos)
        if m is None:
            yield "text", markup[pos:], ""
            return
        if m.start() > pos:
            yield "text", markup[pos : m.start()], ""
        pos = m.end()
        if m.group("start"):
            name = m.group("start_name").lower()
            if name in _VOID_ELEMENTS or m.group("self_close"):
                yield "void", m.group(0), name
                continue
            yield "start", m.group(0), name
            if name in _RAW_TEXT_ELEMENTS:
                close = re.compile(rf"</{name}\s*>", re.IGNORECASE).search(markup, pos)
                raw_end = close.start() if close else len(markup)
                if raw_end > pos:
                    yield "atom", markup[pos:raw_end], ""
                pos = raw_end
        elif m.group("end"):
            yield "end", m.group(0), m.group("end_name").lower()
        else:
            yield "atom", m.group(0), ""


def truncate_html(markup: str, limit: int, suffix: str = ELLIPSIS) -> str:
    """`markup` if it has at most `limit` characters, else a well-formed cut.

    The cut ends with `suffix` inside the innermost element still open, then
    closes every open element; the whole result, closing tags included, has
    at most `limit` characters. End tags without a matching start are dropped.
    """
    if limit < 0:
        raise ValueError("limit must not be negative")
    if len(markup) <= limit:
        return markup
    if len(suffix) > limit:
        raise ValueError(f"limit {limit} leaves no room for the suffix {suffix!r}")
    out: list[str] = []
    kinds: list[_TokenKind] = []
    stack: list[str] = []
    used = 0
    closing = 0  # characters the end tags of `stack` will take
    truncated = False

    def fits(extra: int) -> bool:
        return used + extra + len(suffix) + closing <= limit

    def emit(kind: _TokenKind, piece: str) -> None:
        nonlocal used
        out.append(piece)
        kinds.append(kind)
        used += len(piece)

    for kind, piece, name in _html_tokens(markup):
        if kind == "text":
            clusters = graphemes(piece)
            cut = _fit_clusters(clusters, limit - len(suffix) - closing - used)
            if cut:
                emit("text", "".join(clusters[:cut]))
            if cut < len(clusters):
                truncated = True
                break
        elif kind == "start":
            end_tag = f"</{name}>"
            if not fits(len(piece) + len(end_tag)):
                truncated = True
                break
            emit("start", piece)
            stack.append(name)
            closing += len(end_tag)
        elif kind == "end":
            if name not in stack:
                continue
            # Close through to the matching start, as a browser would; the
            # room for these end tags was reserved when they were opened.
            while stack:
                open_name = stack.pop()
                closing -= len(f"</{open_name}>")
                emit("end", f"</{open_name}>")
                if open_name == name:
                    break
        else:
            if not fits(len(piece)):
                truncated = True
                break
            emit(kind, piece)

    if truncated:
        # Blank text and elements opened just before the cut (they would stay
        # empty) are dropped, so the ellipsis follows the last real content.
        while kinds:
            if kinds[-1] == "start":
                stack.pop()
            elif kinds[-1] == "text":
                clusters = graphemes(out[-1])
                kept = _rstrip_clusters(clusters, len(clusters))
                if kept:
                    out[-1] = "".join(clusters[:kept])
                    break
            else:
                break
            kinds.pop()
            out.pop()
        out.append(suffix)
    out.extend(f"</{name}>" for name in reversed(stack))
    return "".join(out)


# --------------------------------------------------------------------------
# Shared pieces
# --------------------------------------------------------------------------


def _utc_iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _display_time(dt: datetime) -> str:
    local = dt.astimezone(_BEIJING)
    return f"{local:%Y年%m月%d日 %H:%M}（北京时间）"


def _paragraphs(body: str) -> list[str]:
    return [line.strip() for line in body.splitlines() if line.strip()]


def _flat(text: str) -> str:
    return " ".join(text.split())


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _plain(value: Any) -> Any:
    """A JSON-ready copy: mappings to dicts, sequences to lists."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return _utc_iso(value)
    return value


# Labels of the Art. 23 facts (API.md `facts`), Chinese and English.
_FACT_LABELS: Final[Mapping[str, str]] = {
    "time": "时间 Time",
    "place": "地点 Place",
    "site_conditions": "现场情况 Site conditions",
    "casualties": "人员伤亡 Casualties",
    "deaths": "死亡 Deaths",
    "injured": "受伤 Injured",
    "missing": "失踪 Missing",
    "involved": "涉及 Involved",
    "measures": "政府措施 Government measures",
}


def _fact_text(key: str, value: Any) -> str:
    """A fact as a reader reads it: the event's time in Beijing time, like the page's own."""
    if isinstance(value, datetime):
        return _display_time(value)
    if key == "time" and isinstance(value, str):
        try:
            at = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value  # free text ("about 9 this morning") is shown as written
        if at.tzinfo is not None:
            return _display_time(at)
    return str(_plain(value))


def _facts_html(facts: Mapping[str, Any]) -> str:
    rows = []
    for key, value in facts.items():
        label = _esc(_FACT_LABELS.get(str(key), str(key)))
        if isinstance(value, Mapping):
            inner = _facts_html(value)
        elif isinstance(value, list | tuple):
            inner = "<ul>" + "".join(f"<li>{_esc(str(v))}</li>" for v in value) + "</ul>"
        else:
            inner = _esc(_fact_text(str(key), value))
        rows.append(f"<dt>{label}</dt><dd>{inner}</dd>")
    return "<dl>" + "".join(rows) + "</dl>"


# --------------------------------------------------------------------------
# Channels
# --------------------------------------------------------------------------


def release_json(r: ReleaseView) -> dict[str, Any]:
    """The release as plain JSON (times in UTC `Z`, as API.md answers)."""
    return {
        "id": r.id,
        "kind": r.kind,
        "title": r.title,
        "body": r.body,
        "published_at": _utc_iso(r.published_at),
        "org": {"name_zh": r.org_name_zh, "name_en": r.org_name_en},
        "url": r.url,
        "incident_id": r.incident_id,
        "facts": _plain(r.facts) if r.facts is not None else None,
    }


def render_wechat(r: ReleaseView) -> dict[str, str]:
    """A WeChat official-account article.

    Links inside article HTML are not clickable on WeChat, so the full
    release is reached through `content_source_url` ("阅读原文").
    """
    footer = (
        f'<p class="source">{_esc(r.org_name_zh)}</p>'
        f'<p class="time">{_esc(_display_time(r.published_at))}</p>'
    )
    body = "".join(f"<p>{_esc(p)}</p>" for p in _paragraphs(r.body))
    # The Art. 23 elements go with the text, so a reader of the article sees them even
    # when the body does not restate every figure.
    if r.facts:
        body += f'<section class="facts">{_facts_html(r.facts)}</section>'
    body = truncate_html(body, max(WECHAT_CONTENT_LIMIT - len(footer), len(ELLIPSIS)))
    return {
        "title": truncate_text(_flat(r.title), WECHAT_TITLE_LIMIT),
        "digest": truncate_text(_flat(r.body) or _flat(r.title), WECHAT_DIGEST_LIMIT),
        "author": truncate_text(_flat(r.org_name_zh), WECHAT_AUTHOR_LIMIT),
        "content": truncate_html(body + footer, WECHAT_CONTENT_LIMIT),
        "content_source_url": r.url,
    }


# A post with less room than this for the headline leaves the link out of
# `text` (it stays in `long_text`): a bare link tells a reader nothing.
_WEIBO_MIN_HEADLINE: Final = 12


def render_weibo(r: ReleaseView) -> dict[str, str]:
    """A Weibo post: `text` ≤ 140 characters with the link, `long_text` ≤ 2,000.

    Counting: every character counts as one, the link with all of its
    characters. Weibo itself counts two ASCII characters as one and a link as
    a short link of about 20, so our count is never below Weibo's and a post
    we accept is never refused as too long.
    """
    link = " " + r.url
    room = WEIBO_TEXT_LIMIT - len(link)
    if room < _WEIBO_MIN_HEADLINE:
        link, room = "", WEIBO_TEXT_LIMIT
    title = _flat(r.title)
    body = _flat(r.body)
    head = f"【{title}】"
    if len(head) > room:
        text = "【" + truncate_text(title, room - 2) + "】"
    elif body and room - len(head) > len(ELLIPSIS):
        text = head + truncate_text(body, room - len(head))
    else:
        text = head
    return {"text": text + link, "long_text": _weibo_long_text(r)}


def _weibo_long_text(r: ReleaseView) -> str:
    head = f"【{_flat(r.title)}】\n"
    tail = f"\n\n{r.org_name_zh}\n{_display_time(r.published_at)}"
    if len(r.url) <= WEIBO_LONG_TEXT_LIMIT // 2:
        tail += f"\n全文 Full text: {r.url}"
    body = "\n".join(_paragraphs(r.body))
    room = WEIBO_LONG_TEXT_LIMIT - len(head) - len(tail)
    if room > len(ELLIPSIS):
        return head + truncate_text(body, room) + tail
    return truncate_text(head + body + tail, WEIBO_LONG_TEXT_LIMIT)


def render_website(r: ReleaseView) -> dict[str, Any]:
    """The release page for the government website, and its JSON."""
    paragraphs = "\n".join(f"<p>{_esc(p)}</p>" for p in _paragraphs(r.body))
    facts = f'\n<section class="facts">{_facts_html(r.facts)}</section>' if r.facts else ""
    notice = _replaced_notice(r.replaced_by) if r.replaced_by else ""
    page = f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>{_esc(r.title)} - {_esc(r.org_name_zh)}</title>
<link rel="canonical" href="{_esc(r.url)}">
</head>
<body>
<article class="release" data-release-id="{_esc(r.id)}" data-kind="{_esc(r.kind)}">{notice}
<h1>{_esc(r.title)}</h1>
<p class="meta"><span class="org">{_esc(r.org_name_zh)}</span> \
<span class="org-en" lang="en">{_esc(r.org_name_en)}</span> \
<time datetime="{_utc_iso(r.published_at)}">{_esc(_display_time(r.published_at))}</time></p>
<div class="body">
{paragraphs}
</div>{facts}
</article>
</body>
</html>
"""
    return {"html": page, "json": release_json(r)}


def _replaced_notice(replaced_by: tuple[str, str]) -> str:
    kind, url = replaced_by
    if kind == "retraction":
        zh, en = "本稿已撤回，请以撤回说明为准。", "This release was retracted; see the notice."
    else:
        zh, en = "本稿已更正，请以更正稿为准。", "This release was corrected; see the correction."
    return (
        f'\n<p class="replaced" role="note"><a href="{_esc(url)}">{zh}</a> '
        f'<span lang="en">{en}</span></p>'
    )


def render_generic(event: Mapping[str, Any] | ReleaseView) -> dict[str, Any]:
    """Generic subscribers get the event itself, unrendered.

    Given a release instead of an event, its plain JSON.
    """
    if isinstance(event, ReleaseView):
        return release_json(event)
    return dict(event)


_RENDERERS: Final[Mapping[str, Callable[[ReleaseView], Mapping[str, Any]]]] = {
    "generic": render_generic,
    "wechat": render_wechat,
    "weibo": render_weibo,
    "website": render_website,
}


def render(channel: str, release_view: ReleaseView) -> dict[str, Any]:
    """The `rendered` part of a `release.published` webhook for `channel`."""
    try:
        renderer = _RENDERERS[channel]
    except KeyError:
        raise UnknownChannel(f"unknown channel {channel!r}; one of {CHANNELS}") from None
    return dict(renderer(release_view))
