"""Pure parsers of WeChat Official Account payloads into warehouse-shaped rows.

Rows are plain dicts named like the warehouse columns; nothing here does I/O.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from typing import Any
from urllib.parse import parse_qs, urlsplit

from transforms.weibo_status import MalformedRecord, parse_count

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# Datacube endpoints whose rows are per article (a msgid); getarticletotal's carry details too.
ARTICLE_ENDPOINTS = frozenset(
    {"getarticletotal", "getarticlesummary", "getarticletotaldetail", "getarticleread"}
)
TOTAL_ENDPOINTS = frozenset({"getarticletotal", "getarticletotaldetail"})


def msgid_from_url(url: str) -> tuple[str, int] | None:
    """(msg_data_id, index) from an article URL (`...&mid=2247483661&idx=1&...`), the datacube's
    msgid parts; None when the URL does not carry them."""
    if not url:
        return None
    query = parse_qs(urlsplit(url.replace("#rd", "")).query)
    mid, idx = query.get("mid", [None])[0], query.get("idx", [None])[0]
    if not mid or not idx or not str(idx).isdigit():
        return None
    return str(mid), int(idx)


def _ref_date(row: dict[str, Any], field: str = "ref_date") -> date:
    """The row's date; MalformedRecord (a ValueError) unless it is a real YYYY-MM-DD date."""
    value = row.get(field) if isinstance(row, dict) else None
    try:
        if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise MalformedRecord(f"{field} {value!r} is not a YYYY-MM-DD date") from None


def check_published_item(item: Any) -> tuple[str, int]:
    """(article_id, update_time) of a freepublish/batchget item, or MalformedRecord saying what is
    wrong: not an object, no article_id, no or a non-numeric update_time, news_item not a list of
    objects."""
    if not isinstance(item, dict):
        raise MalformedRecord(f"expected an object, got {type(item).__name__}")
    article_id = item.get("article_id")
    if not isinstance(article_id, str | int) or isinstance(article_id, bool) or str(article_id) == "":
        raise MalformedRecord(f"article_id {article_id!r} is missing or not a string")
    update_time = item.get("update_time")
    if update_time is None:
        raise MalformedRecord("no update_time")
    text = str(update_time).strip()
    if isinstance(update_time, bool) or not isinstance(update_time, int | str) or not text.isdigit():
        raise MalformedRecord(f"update_time {update_time!r} is not a Unix time")
    if not 0 < int(text) < 2**31 * 2:
        raise MalformedRecord(f"update_time {update_time!r} is out of range")
    content = item.get("content")
    if content is not None and not isinstance(content, dict):
        raise MalformedRecord(f"content is a {type(content).__name__}, not an object")
    news = (content or {}).get("news_item")
    if news is not None and (not isinstance(news, list) or not all(isinstance(n, dict) for n in news)):
        raise MalformedRecord("content.news_item is not a list of objects")
    return str(article_id), int(text)


def check_datacube_row(endpoint: str, row: Any) -> None:
    """MalformedRecord unless a row of datacube `endpoint` (its bare name) can be read: an object
    with a YYYY-MM-DD ref_date; for article endpoints a msgid; for totals, details that are objects
    each with a YYYY-MM-DD stat_date."""
    if not isinstance(row, dict):
        raise MalformedRecord(f"expected an object, got {type(row).__name__}")
    _ref_date(row)
    if endpoint in ARTICLE_ENDPOINTS and row.get("msgid") in (None, ""):
        raise MalformedRecord("no msgid")
    if endpoint in TOTAL_ENDPOINTS:
        details = row.get("details") or []
        if not isinstance(details, list):
            raise MalformedRecord("details is not a list")
        for detail in details:
            if not isinstance(detail, dict):
                raise MalformedRecord("a details entry is not an object")
            _ref_date(detail, "stat_date")


def _int(row: dict[str, Any], field: str) -> int | None:
    return parse_count(row.get(field))


def follower_days(
    summary_rows: Iterable[dict[str, Any]], cumulate_rows: Iterable[dict[str, Any]]
) -> dict[date, dict[str, int | None]]:
    """Per date: new and cancelled followers summed over user_source, and the cumulative count.

    getusercumulate may carry user_source too; a row with user_source 0 (or none) is the total.
    """
    days: dict[date, dict[str, int | None]] = defaultdict(
        lambda: {"followers": None, "new_followers": None, "lost_followers": None}
    )
    for row in summary_rows:
        day = days[_ref_date(row)]
        day["new_followers"] = (day["new_followers"] or 0) + (_int(row, "new_user") or 0)
        day["lost_followers"] = (day["lost_followers"] or 0) + (_int(row, "cancel_user") or 0)
    by_date: dict[date, list[dict[str, Any]]] = defaultdict(list)
    for row in cumulate_rows:
        by_date[_ref_date(row)].append(row)
    for ref_date, rows in by_date.items():
        totals = [r for r in rows if parse_count(r.get("user_source")) in (None, 0)]
        chosen = totals or rows
        days[ref_date]["followers"] = (
            max(_int(r, "cumulate_user") or 0 for r in chosen)
            if totals
            else sum(_int(r, "cumulate_user") or 0 for r in chosen)
        )
    return dict(days)


def read_days(
    user_read_rows: Iterable[dict[str, Any]], user_share_rows: Iterable[dict[str, Any]]
) -> dict[date, dict[str, int | None]]:
    """Per date: account-level readers and reads (getuserread, summed over user_source) and shares
    (getusershare, summed over share_scene). getuserread's user_source 99999999 is a total row the
    API sometimes adds; it is used alone when present."""
    days: dict[date, dict[str, int | None]] = defaultdict(dict)
    read_by_date: dict[date, list[dict[str, Any]]] = defaultdict(list)
    for row in user_read_rows:
        read_by_date[_ref_date(row)].append(row)
    for ref_date, rows in read_by_date.items():
        totals = [r for r in rows if parse_count(r.get("user_source")) == 99999999]
        chosen = totals or rows
        days[ref_date]["readers"] = sum(_int(r, "int_page_read_user") or 0 for r in chosen)
        days[ref_date]["reads"] = sum(_int(r, "int_page_read_count") or 0 for r in chosen)
    for row in user_share_rows:
        day = days[_ref_date(row)]
        day["shares"] = (day.get("shares") or 0) + (_int(row, "share_count") or 0)
        day["share_users"] = (day.get("share_users") or 0) + (_int(row, "share_user") or 0)
    return dict(days)


SOURCE_FIELDS = {
    "reads_from_session": "int_page_from_session_read_count",
    "reads_from_hist_msg": "int_page_from_hist_msg_read_count",
    "reads_from_feed": "int_page_from_feed_read_count",
    "reads_from_friends": "int_page_from_friends_read_count",
    "reads_from_other": "int_page_from_other_read_count",
}


def article_total_rows(list_rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """getarticletotal: one row per article and stat_date with cumulative figures."""
    rows = []
    for item in list_rows:
        publish_date = _ref_date(item)
        for detail in item.get("details") or []:
            row = {
                "msgid": str(item["msgid"]),
                "stat_date": _ref_date(detail, "stat_date"),
                "publish_date": publish_date,
                "readers": _int(detail, "int_page_read_user"),
                "reads": _int(detail, "int_page_read_count"),
                "original_page_reads": _int(detail, "ori_page_read_count"),
                "shares": _int(detail, "share_count"),
                "share_users": _int(detail, "share_user"),
                "favourites": _int(detail, "add_to_fav_count"),
                "favourite_users": _int(detail, "add_to_fav_user"),
                "target_users": _int(detail, "target_user"),
            }
            row.update({column: _int(detail, field) for column, field in SOURCE_FIELDS.items()})
            rows.append(row)
    return rows


def article_summary_rows(list_rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """getarticlesummary: that day's own figures per article (not cumulative)."""
    return [
        {
            "msgid": str(row["msgid"]),
            "stat_date": _ref_date(row),
            "day_readers": _int(row, "int_page_read_user"),
            "day_reads": _int(row, "int_page_read_count"),
            "day_shares": _int(row, "share_count"),
            "day_favourites": _int(row, "add_to_fav_count"),
        }
        for row in list_rows
    ]


def merge_article_daily(*sources: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (msgid, stat_date) from several partial sources; later sources fill gaps."""
    merged: dict[tuple[str, date], dict[str, Any]] = {}
    for source in sources:
        for row in source:
            key = (row["msgid"], row["stat_date"])
            target = merged.setdefault(key, {})
            target.update({k: v for k, v in row.items() if v is not None or k not in target})
    return [merged[key] for key in sorted(merged)]
