"""Parse the scalar fields of a Weibo post (status): counts and `created_at`."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

__all__ = ["MalformedRecord", "check_status", "parse_count", "parse_created_at", "parse_post_id"]

INT64_MAX = 2**63 - 1


class MalformedRecord(ValueError):
    """A record that cannot be read (no usable id, an unparseable date, a wrong type): it is skipped
    and quarantined, never loaded. The message says why."""


# Chinese display units; "w" is the pinyin shorthand for 万 ("10w+").
_COUNT_UNITS = {"": 1, "万": 10_000, "w": 10_000, "亿": 100_000_000}
_COUNT_RE = re.compile(r"(\d+(?:\.\d+)?)\s*(万|w|亿)?\+?", re.IGNORECASE)

# English names spelled out so parsing never depends on the process locale (strptime's %a/%b do).
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_CREATED_AT_RE = re.compile(
    r"(?P<weekday>[A-Za-z]{3})\s+(?P<month>[A-Za-z]{3})\s+(?P<day>\d{1,2})\s+"
    r"(?P<hour>\d{2}):(?P<minute>\d{2}):(?P<second>\d{2})\s+"
    r"(?P<sign>[+-])(?P<offset_hours>\d{2}):?(?P<offset_minutes>\d{2})\s+(?P<year>\d{4})"
)


def parse_count(value: int | float | str | None) -> int | None:
    """A Weibo count as an int: 12, "123", " 45 ", "1,234", "1.2万", "100万+", "10w+", "3亿".

    Returns None when the value is missing or unparseable (None, "", "-", booleans, negatives,
    a plain fraction like "1.5"). Unit values are display approximations and are truncated to int.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float):
        return int(value) if value.is_integer() and value >= 0 else None
    if not isinstance(value, str):
        return None
    # NFKC turns full-width digits into ASCII; thousands separators are dropped.
    text = unicodedata.normalize("NFKC", value).strip().replace(",", "")
    match = _COUNT_RE.fullmatch(text)
    if match is None:
        return None
    number_text, unit = match.group(1), (match.group(2) or "").lower()
    number = Decimal(number_text) * _COUNT_UNITS[unit]  # Decimal: "1.2万" is exactly 12000
    if not unit and number != number.to_integral_value():
        return None
    return int(number)


def parse_created_at(value: str) -> datetime:
    """Parse Weibo's `created_at` ("Thu Apr 19 10:35:57 +0800 2018") into an aware UTC datetime.

    Same format as strptime's `%a %b %d %H:%M:%S %z %Y`, but day and month names are read here so the
    process locale does not matter. The weekday name must be valid but is not cross-checked with the
    date. Raises ValueError naming the bad value.
    """
    match = _CREATED_AT_RE.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise ValueError(
            f"unparseable Weibo created_at {value!r}: expected like 'Thu Apr 19 10:35:57 +0800 2018'"
        )
    weekday, month = match["weekday"].title(), match["month"].title()
    if weekday not in _WEEKDAYS or month not in _MONTHS:
        raise ValueError(f"unparseable Weibo created_at {value!r}: unknown day or month name")
    offset = timedelta(hours=int(match["offset_hours"]), minutes=int(match["offset_minutes"]))
    try:
        moment = datetime(
            int(match["year"]),
            _MONTHS.index(month) + 1,
            int(match["day"]),
            int(match["hour"]),
            int(match["minute"]),
            int(match["second"]),
            tzinfo=timezone(-offset if match["sign"] == "-" else offset),
        )
    except ValueError as error:
        raise ValueError(f"unparseable Weibo created_at {value!r}: {error}") from None
    return moment.astimezone(UTC)


def parse_post_id(value: object) -> str:
    """A Weibo id as its decimal text: an int or a string of digits, 1 to 2**63 - 1 (int64, the
    warehouse's and the API's range). Raises MalformedRecord otherwise, so nothing else ever becomes
    a since_id or max_id."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise MalformedRecord(f"id {value!r} is not a number")
    text = str(value).strip()
    if not text.isascii() or not text.isdigit():
        raise MalformedRecord(f"id {value!r} is not a number")
    number = int(text)
    if not 0 < number <= INT64_MAX:
        raise MalformedRecord(f"id {value!r} is outside 1..2**63-1 (int64)")
    return str(number)


def status_id(status: dict) -> str:
    """The id of a status or count entry (idstr, else id), validated; idstr and id must agree."""
    if not isinstance(status, dict):
        raise MalformedRecord(f"expected an object, got {type(status).__name__}")
    idstr, raw = status.get("idstr"), status.get("id")
    if idstr in (None, "") and raw in (None, ""):
        raise MalformedRecord("no id")
    post_id = parse_post_id(idstr if idstr not in (None, "") else raw)
    if idstr not in (None, "") and raw not in (None, "") and parse_post_id(raw) != post_id:
        raise MalformedRecord(f"id {raw!r} and idstr {idstr!r} disagree")
    return post_id


def check_status(status: dict) -> tuple[str, datetime]:
    """(post id, created_at in UTC) of a timeline status, or MalformedRecord naming what is wrong."""
    post_id = status_id(status)
    if "created_at" not in status:
        raise MalformedRecord("no created_at")
    try:
        created = parse_created_at(status["created_at"])
    except ValueError as error:
        raise MalformedRecord(str(error)) from None
    return post_id, created
