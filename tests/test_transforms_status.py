"""parse_count and parse_created_at on the shapes Weibo really sends."""

import locale
from datetime import UTC, datetime

import pytest

from transforms.weibo_status import parse_count, parse_created_at


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, 0),
        (128, 128),
        ("123", 123),
        (" 45 ", 45),
        ("1,234", 1234),
        ("１２３", 123),
        ("1.2万", 12_000),
        ("100万+", 1_000_000),
        ("10w+", 100_000),
        ("3亿", 300_000_000),
        ("1.23456万", 12_345),
        (12.0, 12),
    ],
)
def test_parse_count_values(value: object, expected: int) -> None:
    assert parse_count(value) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [None, "", "  ", "-", "null", "万", "1.5", "12abc", -1, True, 1.5, [3]])
def test_parse_count_missing_or_unparseable_is_none(value: object) -> None:
    assert parse_count(value) is None  # type: ignore[arg-type]


def test_parse_created_at_converts_to_utc() -> None:
    moment = parse_created_at("Thu Apr 19 10:35:57 +0800 2018")
    assert moment == datetime(2018, 4, 19, 2, 35, 57, tzinfo=UTC)
    assert moment.tzinfo is UTC


def test_parse_created_at_crosses_midnight_and_other_offsets() -> None:
    assert parse_created_at("Mon Jan 01 07:59:59 +0800 2024") == datetime(
        2023, 12, 31, 23, 59, 59, tzinfo=UTC
    )
    assert parse_created_at(" Sat Feb 29 20:00:00 -0530 2020 ") == datetime(2020, 3, 1, 1, 30, tzinfo=UTC)


def test_parse_created_at_does_not_depend_on_locale() -> None:
    previous = locale.setlocale(locale.LC_TIME)
    try:
        for name in ("de_DE.UTF-8", "zh_CN.UTF-8", "fr_FR.UTF-8"):
            try:
                locale.setlocale(locale.LC_TIME, name)
                break
            except locale.Error:
                continue
        assert parse_created_at("Thu Apr 19 10:35:57 +0800 2018") == datetime(
            2018, 4, 19, 2, 35, 57, tzinfo=UTC
        )
    finally:
        locale.setlocale(locale.LC_TIME, previous)


@pytest.mark.parametrize(
    "value",
    [
        "2018-04-19 10:35:57",
        "Thu Apr 19 10:35:57 2018",
        "Thu Foo 19 10:35:57 +0800 2018",
        "Xyz Apr 19 10:35:57 +0800 2018",
        "Fri Feb 30 10:35:57 +0800 2018",
        "Thu Apr 19 25:35:57 +0800 2018",
        "",
    ],
)
def test_parse_created_at_bad_values_raise_naming_the_value(value: str) -> None:
    with pytest.raises(ValueError) as error:
        parse_created_at(value)
    assert repr(value) in str(error.value)


def test_parse_created_at_error_message() -> None:
    with pytest.raises(ValueError, match=r"unparseable Weibo created_at '刚刚'"):
        parse_created_at("刚刚")
