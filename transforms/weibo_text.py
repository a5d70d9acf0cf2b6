"""Clean the HTML-ish text of a Weibo post and pull out its Weibo-specific tokens.

A post's `text` (Open API v2) is plain text with occasional HTML: `<a>` links for topics, mentions and
"网页链接" short links, `<img alt="[哈哈]">` emoticons, entities. A repost holds the author's own words
first, then the earlier repost chain as `//@name: words//@name2: words`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TypeVar

from transforms._accel import Normalizer

__all__ = [
    "CleanText",
    "RepostLink",
    "clean_weibo_text",
    "iter_spans",
    "new_frozen",
    "normalize_text",
    "SPAN_KINDS",
    "SPAN_PATTERNS",
]

# --- token patterns (applied after normalization, so only half-width forms appear) ---------------

_CJK = "\u3400-\u4dbf\u4e00-\u9fff"
# Weibo nicknames: Chinese characters, letters, digits, "_" and "-".
_NICK_CHAR = f"[{_CJK}A-Za-z0-9_\\-]"
# URL characters (RFC 3986) without "[" and "]" (emoticons follow links directly); the last character
# may not be sentence punctuation, so "见http://t.cn/abc." keeps the dot out of the link.
_URL = r"https?://[A-Za-z0-9\-._~:/?#@!$&'()*+,;=%]*[A-Za-z0-9\-_~/=&%+]"
# A topic: 1-50 characters between two "#", no "#" or whitespace inside (a stray "#" then never
# captures half a sentence up to the next topic).
_TOPIC = r"#[^#\s]{1,50}#"
# A mention: "@" (not glued to a preceding Latin word, as in e-mail addresses) + up to 30 nickname chars.
_MENTION = rf"(?<![A-Za-z0-9_])@{_NICK_CHAR}{{1,30}}"
_EMOTICON = rf"\[[{_CJK}A-Za-z0-9]{{1,8}}\]"

# Alternation order decides ties at one position: a link swallows "#" and "@" inside it.
_SPAN_RE = re.compile(
    rf"(?P<link>{_URL})|(?P<topic>{_TOPIC})|(?P<mention>{_MENTION})|(?P<emoticon>{_EMOTICON})"
)
_TOPIC_RE = re.compile(_TOPIC)
_MENTION_RE = re.compile(_MENTION)
_EMOTICON_RE = re.compile(_EMOTICON)

# The same alternatives for clean_weibo_text's scan, without named groups and each starting with its
# own literal character (the mention's look-behind moved after its "@", which it then checks together
# with the character before): re jumps straight to candidate characters ("h", "#", "@", "[") instead of
# trying four groups at every position, and a span's kind is told by its first character.
_SPAN_SCAN_RE = re.compile(f"{_URL}|{_TOPIC}|@(?<![A-Za-z0-9_]@){_NICK_CHAR}{{1,30}}|{_EMOTICON}")

SPAN_KINDS = ("link", "topic", "mention", "emoticon")
# Pattern sources in tie-break order, for tokenizers (transforms.segment) that must cut these spans alike.
SPAN_PATTERNS = {"link": _URL, "topic": _TOPIC, "mention": _MENTION, "emoticon": _EMOTICON}

# --- HTML handling ----------------------------------------------------------------------------------

_IMG_RE = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_ANCHOR_RE = re.compile(r"<a\b([^>]*)>(.*?)</a\s*>", re.IGNORECASE | re.DOTALL)
_ATTR_RE = r"""\b{name}\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))"""
_BREAK_TAG_RE = re.compile(r"</?(?:br|p|div|li)\b[^<>]*>", re.IGNORECASE)
# Only things that look like tags: "<" + optional "/" + a letter. "a < b" and "<3" stay text.
_ANY_TAG_RE = re.compile(r"</?[A-Za-z][^<>]*>")

# --- normalization ------------------------------------------------------------------------------

# Full-width ASCII forms U+FF01-U+FF5E to U+0021-U+007E, ideographic space U+3000 to a space.
_HALF_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_HALF_WIDTH[0x3000] = 0x20
# Zero-width and invisible format characters.
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u200e\u200f\u2060\ufeff"))
_WHITESPACE_RE = re.compile(r"\s+")
_TRANSLATE = {**_HALF_WIDTH, **_ZERO_WIDTH}
_NORMALIZER = Normalizer(_TRANSLATE)

# A repost-chain marker: "//@" directly followed by a nickname, which the group captures, then the
# separator up to the link's words. Neither holds a "/", so splitting on the whole marker finds the same
# markers as splitting on "//@" alone: split() gives [own words, name, words, name, words, ...].
_CHAIN_SPLIT_RE = re.compile(rf"//@({_NICK_CHAR}{{1,30}})\s*:?\s*")


@dataclass(frozen=True)
class RepostLink:
    """One earlier repost in a chain: `//@screen_name: text`."""

    screen_name: str
    text: str


@dataclass(frozen=True)
class CleanText:
    """A cleaned post. Token tuples come from `own_text` only and keep repeats (they are occurrences)."""

    text: str
    own_text: str
    chain: tuple[RepostLink, ...] = ()
    topics: tuple[str, ...] = ()
    mentions: tuple[str, ...] = ()
    emoticons: tuple[str, ...] = ()
    links: tuple[str, ...] = ()


def clean_weibo_text(raw: str) -> CleanText:
    """Clean a Weibo post text and split it into the author's own words and the repost chain.

    Order: HTML tags (img -> alt, a -> topic/mention label or absolute URL or label, others dropped),
    then entities, full-width -> half-width, zero-width removal, whitespace collapse.
    """
    raw = raw or ""
    text = _strip_html(raw) if "<" in raw else raw
    # html.unescape returns text without "&" as it is; the check here saves the call (hot path).
    text = _NORMALIZER.normalize(html.unescape(text) if "&" in text else text)
    own_text, chain = _split_chain(text) if "//@" in text else (text, ())
    topics = mentions = emoticons = links = ()
    spans = _SPAN_SCAN_RE.findall(own_text)
    if spans:
        topics, mentions, emoticons, links = _spans_by_kind(spans)
    return new_frozen(
        CleanText,
        {
            "text": text,
            "own_text": own_text,
            "chain": chain,
            "topics": topics,
            "mentions": mentions,
            "emoticons": emoticons,
            "links": links,
        },
    )


def _spans_by_kind(
    spans: list[str],
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(topics, mentions, emoticons, links) of _SPAN_SCAN_RE's matches, each in order."""
    topics, mentions, emoticons, links = [], [], [], []
    for span in spans:
        first = span[0]
        if first == "[":
            emoticons.append(span)
        elif first == "@":
            mentions.append(span)
        elif first == "#":
            topics.append(span)
        else:
            links.append(span)
    return tuple(topics), tuple(mentions), tuple(emoticons), tuple(links)


_Frozen = TypeVar("_Frozen")
_new_object = object.__new__
_set_attribute = object.__setattr__


def new_frozen(cls: type[_Frozen], fields: dict[str, object]) -> _Frozen:
    """An instance of a frozen dataclass built as pickle builds one: `fields` becomes its __dict__.

    The generated __init__ pays one object.__setattr__ a field: about half the cost of building a
    CleanText (7 fields), a PostText (transforms.post_text), a Sentiment (transforms.sentiment) or a
    RepostLink once a post. `fields` must name every field, in order: no defaults, no __post_init__
    run; the dict is taken over, not copied.
    """
    instance = _new_object(cls)
    _set_attribute(instance, "__dict__", fields)
    return instance


def iter_spans(text: str) -> Iterator[tuple[str, str]]:
    """Split cleaned text into (kind, value) pieces in order; kind is "text" or one of SPAN_KINDS.

    Concatenating the values gives back `text`. Empty "text" pieces are not yielded.
    """
    position = 0
    for match in _SPAN_RE.finditer(text):
        if match.start() > position:
            yield "text", text[position : match.start()]
        kind = match.lastgroup
        assert kind is not None  # every alternative is a named group
        yield kind, match.group()
        position = match.end()
    if position < len(text):
        yield "text", text[position:]


def _attribute(attributes: str, name: str) -> str | None:
    match = re.search(_ATTR_RE.format(name=name), attributes, re.IGNORECASE)
    if match is None:
        return None
    return next(group for group in match.groups() if group is not None)


def _replace_img(match: re.Match[str]) -> str:
    # Emoticon images become their "[哈哈]" alt text; other images (link icons, pictures) vanish.
    alt = _attribute(match.group(), "alt") or ""
    return alt if _EMOTICON_RE.fullmatch(_normalize(html.unescape(alt))) else ""


def _replace_anchor(match: re.Match[str]) -> str:
    attributes, inner = match.group(1), match.group(2)
    label = _WHITESPACE_RE.sub(" ", _ANY_TAG_RE.sub("", inner)).strip()
    # Compare on the normalized label so full-width "＃话题＃" counts as a topic too.
    normalized = _normalize(html.unescape(label))
    if _TOPIC_RE.fullmatch(normalized) or _MENTION_RE.fullmatch(normalized):
        return label
    # href stays entity-escaped here, like the label: entities are unescaped once, after all tags.
    href = (_attribute(attributes, "href") or "").strip()
    if re.match(r"https?://", href, re.IGNORECASE):
        # Pad with spaces so a URL never glues onto neighbouring text; whitespace collapses later.
        return f" {href} "
    return label


def _strip_html(raw: str) -> str:
    text = _IMG_RE.sub(_replace_img, raw)
    text = _ANCHOR_RE.sub(_replace_anchor, text)
    text = _BREAK_TAG_RE.sub(" ", text)
    return _ANY_TAG_RE.sub("", text)


def normalize_text(text: str) -> str:
    """The cleaner's normalization of plain text: full-width forms to half-width, zero-width characters
    removed, whitespace runs to one space, stripped."""
    return _normalize(text)


def _normalize(text: str) -> str:
    # text.translate(_TRANSLATE), then re.sub(r"\s+", " ", ...).strip(), in one C pass.
    return _NORMALIZER.normalize(text)


def _split_chain(text: str) -> tuple[str, tuple[RepostLink, ...]]:
    """(own words, chain) of a text holding "//@"."""
    own_text, *names_and_words = _CHAIN_SPLIT_RE.split(text)
    chain = tuple(map(_repost_link, names_and_words[::2], names_and_words[1::2]))
    return own_text.strip(), chain


def _repost_link(screen_name: str, words: str) -> RepostLink:
    return new_frozen(RepostLink, {"screen_name": screen_name, "text": words.strip()})
