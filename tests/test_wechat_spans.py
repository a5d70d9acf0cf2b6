"""WeChat datacube span splitting, error codes, and the documentation's example payloads."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from extractors.errors import (
    EndpointRetiredError,
    PermanentError,
    PermissionDeniedError,
    QuotaExhaustedError,
    ReauthorizeError,
    TokenRejectedError,
)
from extractors.wechat import DATACUBE_SPANS, DateRangeError, classify_wechat_error, split_date_range
from tests.conftest import shared_data_or_skip
from transforms.wechat import (
    article_summary_rows,
    article_total_rows,
    follower_days,
    merge_article_daily,
    msgid_from_url,
    read_days,
)

TODAY = date(2026, 11, 23)
LEGACY = [
    "getusersummary",
    "getusercumulate",
    "getarticlesummary",
    "getarticletotal",
    "getuserread",
    "getusershare",
]


@pytest.mark.parametrize(
    ("endpoint", "calls"),
    [
        ("getusersummary", 5),
        ("getusercumulate", 5),
        ("getarticlesummary", 30),
        ("getarticletotal", 30),
        ("getuserread", 10),
        ("getusershare", 5),
    ],
)
def test_a_30_day_range_gives_the_right_calls_within_each_span(endpoint: str, calls: int) -> None:
    begin = date(2026, 10, 1)
    end = begin + timedelta(days=29)
    requests = split_date_range(endpoint, begin, end, TODAY)
    assert len(requests) == calls
    span = DATACUBE_SPANS[endpoint]
    assert all(0 <= (stop - start).days < span for start, stop in requests)
    assert requests[0][0] == begin and requests[-1][1] == end
    covered = [start + timedelta(days=n) for start, stop in requests for n in range((stop - start).days + 1)]
    assert covered == [begin + timedelta(days=n) for n in range(30)]  # no gap, no overlap


@pytest.mark.parametrize("endpoint", LEGACY)
def test_a_range_ending_today_is_clipped_to_yesterday(endpoint: str) -> None:
    requests = split_date_range(endpoint, TODAY - timedelta(days=3), TODAY, TODAY)
    assert requests[-1][1] == TODAY - timedelta(days=1)
    assert split_date_range(endpoint, TODAY, TODAY + timedelta(days=2), TODAY) == []


@pytest.mark.parametrize("endpoint", LEGACY)
def test_dates_before_2014_12_01_are_refused_clearly(endpoint: str) -> None:
    with pytest.raises(DateRangeError) as caught:
        split_date_range(endpoint, date(2014, 11, 30), date(2014, 12, 5), TODAY)
    message = str(caught.value)
    assert (
        f"datacube/{endpoint}" in message and "2014-11-30" in message and "on or after 2014-12-01" in message
    )
    assert split_date_range(endpoint, date(2014, 12, 1), date(2014, 12, 1), TODAY) == [
        (date(2014, 12, 1),) * 2
    ]


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (40001, TokenRejectedError),
        (40014, TokenRejectedError),
        (42001, TokenRejectedError),
        (45009, QuotaExhaustedError),
        (47009, EndpointRetiredError),
        (48001, PermissionDeniedError),
        (40125, ReauthorizeError),
        (61501, PermanentError),
    ],
)
def test_errcodes_in_a_200_body_are_errors(code: int, expected: type) -> None:
    error = classify_wechat_error(200, {"errcode": code, "errmsg": "x"}, "datacube/getusersummary")
    assert type(error) is expected and "wechat datacube/getusersummary" in str(error)
    assert classify_wechat_error(200, {"errcode": 0, "errmsg": "ok", "list": []}, "datacube/x") is None


def test_msgid_comes_from_the_article_url() -> None:
    url = "http://mp.weixin.qq.com/s?__biz=MzA4&mid=2247483661&idx=2&sn=4f1a#rd"
    assert msgid_from_url(url) == ("2247483661", 2)
    assert msgid_from_url("http://mp.weixin.qq.com/s/abcdef") is None


def test_followers_sum_sources_and_take_the_total_cumulate_row() -> None:
    summary = [
        {"ref_date": "2018-03-19", "user_source": 0, "new_user": 0, "cancel_user": 0},
        {"ref_date": "2018-03-19", "user_source": 17, "new_user": 1, "cancel_user": 2},
        {"ref_date": "2018-03-19", "user_source": 30, "new_user": 4, "cancel_user": 0},
    ]
    cumulate = [{"ref_date": "2018-03-19", "user_source": 0, "cumulate_user": 6}]
    assert follower_days(summary, cumulate) == {
        date(2018, 3, 19): {"followers": 6, "new_followers": 5, "lost_followers": 2}
    }


def test_article_daily_merges_totals_and_that_days_figures() -> None:
    totals = article_total_rows(
        [
            {
                "ref_date": "2026-11-01",
                "msgid": "9_1",
                "title": "t",
                "details": [
                    {
                        "stat_date": "2026-11-01",
                        "int_page_read_user": 10,
                        "int_page_read_count": 12,
                        "share_count": 1,
                    },
                    {
                        "stat_date": "2026-11-02",
                        "int_page_read_user": 15,
                        "int_page_read_count": 20,
                        "share_count": 3,
                    },
                ],
            }
        ]
    )
    summary = article_summary_rows(
        [{"ref_date": "2026-11-02", "msgid": "9_1", "int_page_read_user": 5, "int_page_read_count": 8}]
    )
    merged = merge_article_daily(totals, summary)
    assert [(r["stat_date"], r["reads"], r.get("day_reads")) for r in merged] == [
        (date(2026, 11, 1), 12, None),
        (date(2026, 11, 2), 20, 8),
    ]


PARSERS = {
    "getusersummary": lambda rows: follower_days(rows, []),
    "getusercumulate": lambda rows: follower_days([], rows),
    "getuserread": lambda rows: read_days(rows, []),
    "getusershare": lambda rows: read_days([], rows),
    "getarticlesummary": article_summary_rows,
    "getarticletotal": article_total_rows,
}


def test_every_documented_example_response_parses() -> None:
    folder = shared_data_or_skip("wechat_api_examples")
    checked = 0
    for name, parse in PARSERS.items():
        payload = json.loads((folder / f"datacube_{name}.json").read_text(encoding="utf-8"))
        assert classify_wechat_error(200, payload, f"datacube/{name}") is None
        rows = parse(payload["list"])
        assert rows, name  # each example holds at least one row, and it becomes warehouse rows
        checked += 1
    observed = json.loads((folder / "datacube_observed_responses.json").read_text(encoding="utf-8"))
    for name, answers in observed.items():
        if name.startswith("_"):
            continue
        if "failure" in answers:
            error = classify_wechat_error(200, answers["failure"], f"datacube/{name}")
            assert isinstance(error, PermanentError) and "61501" in str(error) and "date range" in str(error)
        if "success" in answers and name in PARSERS:
            PARSERS[name](answers["success"]["list"])  # empty lists and per-source rows parse
            checked += 1
    # The other examples belong to endpoints the pipeline does not call; their envelope still parses.
    for path in sorted(folder.glob("*.json")):
        payload = json.loads(path.read_text(encoding="utf-8"))
        assert classify_wechat_error(200, payload, path.stem) is None or "observed" in path.stem
    assert checked == 12  # six example files and six observed successes
