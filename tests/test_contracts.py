"""Contract tests: payloads nobody on this team wrote (../shared/data/, see its README) through the
project's parsers, with the counts and dates exactly as the captures show them.

- WeChat: the Official Account documentation's datacube examples and responses observed from a
  small test account (several rows per ref_date split by user_source, empty lists, errcode 61501);
- Weibo: m.weibo.cn responses captured in June 2019 (counts as "100万+", dates as "06-14" and
  "刚刚", and full `created_at` strings in statuses/show and the comments).

The data is read where it exists and never copied here; without it every test skips with the reason.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest

from extractors.errors import PermanentError
from extractors.wechat import classify_wechat_error
from tests.conftest import shared_data_or_skip
from transforms.wechat import (
    article_summary_rows,
    article_total_rows,
    follower_days,
    merge_article_daily,
    msgid_from_url,
    read_days,
)
from transforms.weibo_status import MalformedRecord, check_status, parse_count, parse_created_at, status_id
from transforms.weibo_text import clean_weibo_text


def wechat_example(name: str) -> Any:
    path = shared_data_or_skip("wechat_api_examples", f"{name}.json")
    return json.loads(path.read_text(encoding="utf-8"))


def wechat_list(name: str) -> list[dict[str, Any]]:
    return wechat_example(f"datacube_{name}")["list"]


def observed(endpoint: str, outcome: str = "success") -> Any:
    return wechat_example("datacube_observed_responses")[endpoint][outcome]


def weibo_capture(name: str) -> Any:
    path = shared_data_or_skip("weibo_api_captures", name)
    return json.loads(path.read_text(encoding="utf-8"))


# --- WeChat datacube: the documentation's examples ------------------------------------------------


def test_getarticletotal_example_gives_one_cumulative_row() -> None:
    rows = article_total_rows(wechat_list("getarticletotal"))
    assert rows == [
        {
            "msgid": "23423525",
            "stat_date": date(2014, 12, 14),  # details[].stat_date: the day the figures stand at
            "publish_date": date(2014, 12, 8),  # ref_date: the day the article was published
            "readers": 23676,
            "reads": 25615,
            "original_page_reads": 34,
            "shares": 994,
            "share_users": 122,
            "favourites": 3,
            "favourite_users": 1,
            "target_users": 261917,
            # the example carries no per-source reads: unknown, not 0
            "reads_from_session": None,
            "reads_from_hist_msg": None,
            "reads_from_feed": None,
            "reads_from_friends": None,
            "reads_from_other": None,
        }
    ]


def test_getarticlesummary_example_gives_that_days_own_figures() -> None:
    assert article_summary_rows(wechat_list("getarticlesummary")) == [
        {
            "msgid": "10000050_1",
            "stat_date": date(2014, 12, 8),
            "day_readers": 23676,
            "day_reads": 25615,
            "day_shares": 994,
            "day_favourites": 3,
        }
    ]


def test_the_datacube_msgid_is_the_article_urls_mid_and_idx() -> None:
    """getarticlesummary's msgid "10000050_1" is <msg_data_id>_<index>, which the warehouse joins to
    the article from batchget's URL (mid, idx)."""
    (row,) = wechat_list("getarticlesummary")
    mid, idx = msgid_from_url("https://mp.weixin.qq.com/s?__biz=MzA=&mid=10000050&idx=1&sn=abc#rd")
    assert f"{mid}_{idx}" == row["msgid"]


def test_summary_and_total_merge_into_one_row_per_article_and_date() -> None:
    total = article_total_rows(wechat_list("getarticletotal"))
    summary = article_summary_rows(wechat_list("getarticlesummary"))
    merged = merge_article_daily(total, summary)
    assert [(r["msgid"], r["stat_date"]) for r in merged] == [
        ("10000050_1", date(2014, 12, 8)),
        ("23423525", date(2014, 12, 14)),
    ]


def test_user_summary_and_cumulate_examples_give_the_follower_day() -> None:
    days = follower_days(wechat_list("getusersummary"), wechat_list("getusercumulate"))
    assert days == {date(2014, 12, 7): {"followers": 1217056, "new_followers": 0, "lost_followers": 0}}


def test_user_read_and_share_examples_give_the_read_day() -> None:
    days = read_days(wechat_list("getuserread"), wechat_list("getusershare"))
    # getusershare has one row per share_scene (1 and 5): shares are summed over the scenes, and so
    # are the per-scene share_user figures (11 + 11; the API gives no distinct total).
    assert days == {
        date(2014, 12, 7): {"readers": 45524, "reads": 48796, "shares": 207 + 23, "share_users": 11 + 11}
    }


# --- WeChat datacube: responses observed from a real account ---------------------------------------


def test_observed_user_summary_sums_the_user_sources_of_a_day() -> None:
    summary = observed("getusersummary")["list"]
    cumulate = observed("getusercumulate")["list"]
    assert [r["user_source"] for r in summary] == [0, 17]  # two rows for 2018-03-19
    days = follower_days(summary, cumulate)
    assert days == {
        date(2018, 3, 18): {"followers": 5, "new_followers": None, "lost_followers": None},
        date(2018, 3, 19): {"followers": 6, "new_followers": 1, "lost_followers": 0},
        date(2018, 3, 20): {"followers": 6, "new_followers": None, "lost_followers": None},
    }


@pytest.mark.parametrize("endpoint", ["getarticlesummary", "getarticletotal", "getuserread", "getusershare"])
def test_observed_empty_lists_give_no_rows(endpoint: str) -> None:
    rows = observed(endpoint)["list"]
    assert rows == []
    assert article_total_rows(rows) == [] and article_summary_rows(rows) == []
    assert read_days(rows, rows) == {} and follower_days(rows, rows) == {}


@pytest.mark.parametrize(
    "endpoint", ["getusersummary", "getusercumulate", "getarticlesummary", "getarticletotal", "getuserread"]
)
def test_observed_61501_is_a_date_range_refusal_not_a_retry(endpoint: str) -> None:
    failure = observed(endpoint, "failure")
    error = classify_wechat_error(200, failure, f"datacube/{endpoint}")
    assert isinstance(error, PermanentError) and error.code == 61501
    assert "date range refused" in str(error) and f"datacube/{endpoint}" in str(error)


def test_the_sandbox_answers_with_the_documented_fields(sandbox, tmp_path) -> None:
    """The sandbox the other tests trust answers each datacube endpoint the pipeline calls with at
    least the fields of the documentation's example, of the same JSON types."""
    from tests.conftest import DATA_DATE
    from tests.test_extract_wechat import APPID, TODAY, client_for

    client = client_for(sandbox, tmp_path)
    for name in ("getusersummary", "getusercumulate", "getuserread", "getusershare", "getarticlesummary"):
        (example, *_) = wechat_list(name)
        rows = client.datacube(name, DATA_DATE, DATA_DATE, appid=APPID, today=TODAY)
        assert rows, name
        for key, value in example.items():
            assert key in rows[0], f"sandbox {name} lacks {key}"
            assert type(rows[0][key]) is type(value), f"sandbox {name}.{key}: {rows[0][key]!r} vs {value!r}"
    (example,) = wechat_list("getarticletotal")
    (rows,) = [client.datacube("getarticletotal", DATA_DATE, DATA_DATE, appid=APPID, today=TODAY)]
    assert rows and set(example) <= set(rows[0])
    assert set(example["details"][0]) <= set(rows[0]["details"][0])


# --- Weibo: m.weibo.cn captures -------------------------------------------------------------------


def feed_statuses() -> list[dict[str, Any]]:
    cards = weibo_capture("getIndex_weibo_tab_cards_page1.json")["data"]["cards"]
    return [card["mblog"] for card in cards if card.get("mblog")]


def test_feed_counts_parse_as_the_capture_shows_them() -> None:
    statuses = feed_statuses()
    assert len(statuses) == 10
    counts = [
        tuple(parse_count(s[f]) for f in ("reposts_count", "comments_count", "attitudes_count"))
        for s in statuses
    ]
    assert counts == [
        (240492, 95535, 348872),
        (11226, 10456, 111320),
        (174601, 55541, 279961),
        (867586, 30720, 229303),
        (1_000_000, 222072, 452294),  # "100万+": a display floor of a million
        (1_000_000, 161054, 606310),
        (337794, 25359, 321928),
        (1_000_000, 1_000_000, 1049077),
        (686162, 102405, 483070),
        (1_000_000, 197048, 737551),
    ]
    assert sum(isinstance(s["reposts_count"], str) for s in statuses) == 4  # the capture's strings


def test_feed_ids_are_valid_and_relative_dates_are_refused_by_name() -> None:
    """m.weibo.cn shows dates as "06-14": no year, so no date. The parser must refuse them as a
    malformed record naming the value, never guess a year."""
    statuses = feed_statuses()
    assert [status_id(s) for s in statuses][:2] == ["4383183661430868", "4383180406740606"]
    assert {s["created_at"] for s in statuses} == {
        "06-14",
        "06-11",
        "06-09",
        "06-07",
        "06-05",
        "06-03",
        "06-01",
    }
    for status in statuses:
        with pytest.raises(MalformedRecord, match=status["created_at"]):
            check_status(status)


def test_statuses_show_dates_parse_to_utc() -> None:
    status = weibo_capture("statuses_show_HyZVegYAP.json")["data"]
    assert check_status(status) == ("4383411844046171", datetime(2019, 6, 15, 3, 44, 46, tzinfo=UTC))
    retweeted = status["retweeted_status"]
    assert check_status(retweeted) == ("4383404751066167", datetime(2019, 6, 15, 3, 16, 35, tzinfo=UTC))
    assert [parse_count(retweeted[f]) for f in ("reposts_count", "comments_count", "attitudes_count")] == [
        1,
        0,
        0,
    ]
    assert clean_weibo_text(status["text"]).own_text.startswith("转发微博")


def test_comment_dates_as_captured() -> None:
    hot = weibo_capture("comments_hotflow_4383183661430868.json")["data"]["data"]
    assert parse_created_at(hot[0]["created_at"]) == datetime(2019, 6, 14, 12, 39, 20, tzinfo=UTC)
    assert all(parse_created_at(c["created_at"]).date() == date(2019, 6, 14) for c in hot[:5])
    latest = weibo_capture("api_comments_show_4383183661430868_p1.json")["data"]["data"]
    assert latest[0]["created_at"] == "刚刚"  # "just now"
    with pytest.raises(ValueError, match="刚刚"):
        parse_created_at(latest[0]["created_at"])


def test_profile_counts_as_captured() -> None:
    user = weibo_capture("getIndex_userinfo_uid1669879400.json")["data"]["userInfo"]
    assert (parse_count(user["followers_count"]), parse_count(user["statuses_count"])) == (63357736, 1008)


def test_feed_text_html_is_cleaned_as_captured() -> None:
    first, _, third, *_ = feed_statuses()
    cleaned = clean_weibo_text(first["text"])
    assert cleaned.text == "搬完这块砖,就可以吃好吃的了[偷笑][偷笑][偷笑]"
    assert cleaned.emoticons == ("[偷笑]",) * 3 and "<" not in cleaned.text
    topics = clean_weibo_text(third["text"])
    assert topics.topics == ("#不潮不出街#",) and topics.links[0].startswith("https://m.weibo.cn/p/index?")
