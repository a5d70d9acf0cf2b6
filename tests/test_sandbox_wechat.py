"""The WeChat Official Accounts side of the sandbox over real HTTP: tokens, freepublish/batchget,
datacube spans and readiness, article statistics, switches, quotas, errors and log redaction."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from sandbox import server as server_module
from sandbox.server import DATACUBE_SPANS, SandboxServer, redact_tokens
from sandbox.wechat_world import READ_SOURCES, SUMMARY_FIELDS, WeChatWorld
from sandbox.weibo_world import BEIJING, WorldConfig

NOW = datetime(2026, 11, 1, 10, 30, tzinfo=BEIJING)  # today 11-01, yesterday's figures are ready
TODAY = date(2026, 11, 1)
YESTERDAY = date(2026, 10, 31)
APP = "wx5348000000000001"
OTHER_APP = "wx5348000000000002"


@pytest.fixture(scope="module")
def world() -> WeChatWorld:
    return WeChatWorld()


@pytest.fixture
def server(world: WeChatWorld) -> Iterator[SandboxServer]:
    with SandboxServer(wechat_world=world, now=NOW) as running:
        yield running


def beijing(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BEIJING)


def stable_token(server: SandboxServer, appid: str = APP, force: bool = False, **overrides: Any) -> dict:
    body = {
        "grant_type": "client_credential",
        "appid": appid,
        "secret": server.wechat_secret_for(appid) if server.wechat_world.app(appid) else "x",
        "force_refresh": force,
        **overrides,
    }
    response = requests.post(f"{server.base_url}/cgi-bin/stable_token", json=body, timeout=5)
    assert response.status_code == 200
    return response.json()


def token(server: SandboxServer, appid: str = APP) -> str:
    return stable_token(server, appid)["access_token"]


def call(server: SandboxServer, path: str, body: dict, access_token: str | None = None) -> Any:
    """POST a WeChat endpoint with the app's stable token (or the given one); the JSON answer."""
    params = {"access_token": access_token if access_token is not None else token(server)}
    response = requests.post(f"{server.base_url}/{path}", params=params, json=body, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


def datacube(server: SandboxServer, name: str, begin: date, end: date | None = None, **kw: Any) -> Any:
    body = {"begin_date": begin.isoformat(), "end_date": (end or begin).isoformat()}
    return call(server, f"datacube/{name}", body, **kw)


def publish_day_with_articles(world: WeChatWorld, latest: date, appid: str = APP) -> date:
    day = latest
    while not world.articles_published_on(appid, day):
        day -= timedelta(days=1)
    return day


def test_apps_secrets_and_determinism(world: WeChatWorld) -> None:
    assert [(app.appid, app.name, app.brand_name) for app in world.apps] == [
        (APP, "山海茶饮公众号", "山海茶饮"),
        (OTHER_APP, "极光手机公众号", "极光手机"),
    ]
    secrets = [world.secret_for(app.appid) for app in world.apps]
    assert all(re.fullmatch(r"[0-9a-f]{32}", secret) for secret in secrets) and len(set(secrets)) == 2
    same, short = WeChatWorld(), WeChatWorld(WorldConfig(days=3))
    assert (
        same.secret_for(APP) == secrets[0] and WeChatWorld(WorldConfig(seed=1)).secret_for(APP) != secrets[0]
    )
    everything = world.messages(APP, NOW)
    assert same.messages(APP, NOW) == everything
    recent = short.messages(APP, NOW)  # a shorter window shows a subset, identical in content
    assert recent and recent == everything[: len(recent)]
    assert {item["article_id"] for item in everything} != {
        item["article_id"] for item in world.messages(OTHER_APP, NOW)
    }
    followers = world.followers(APP, YESTERDAY)
    assert 50_000 <= followers <= 400_000
    new, cancelled = world.follower_changes(APP, YESTERDAY)
    assert (
        world.followers(APP, YESTERDAY) - world.followers(APP, YESTERDAY - timedelta(days=1))
        == new - cancelled
    )


def test_stable_token_is_reused_and_force_refresh_is_counted_and_limited(server: SandboxServer) -> None:
    first = stable_token(server)
    assert set(first) == {"access_token", "expires_in"} and 7190 <= first["expires_in"] <= 7200
    again = stable_token(server)
    assert again["access_token"] == first["access_token"] and again["expires_in"] <= first["expires_in"]
    assert stable_token(server, OTHER_APP)["access_token"] != first["access_token"]

    forced = stable_token(server, force=True)
    assert forced["access_token"] != first["access_token"] and forced["expires_in"] == 7200
    assert server.wechat_force_refreshes[APP] == 1
    assert stable_token(server)["access_token"] == forced["access_token"]
    assert (
        call(server, "cgi-bin/freepublish/batchget", {"count": 1}, forced["access_token"])["item_count"] == 1
    )
    stale = call(server, "cgi-bin/freepublish/batchget", {"count": 1}, first["access_token"])
    assert stale == {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"}

    for _ in range(19):
        assert "access_token" in stable_token(server, force=True)
    assert server.wechat_force_refreshes[APP] == 20
    assert stable_token(server, force=True) == {"errcode": 45009, "errmsg": "reach max api daily quota limit"}
    assert "access_token" in stable_token(server)  # plain calls still work
    server.set_now(NOW + timedelta(days=1))  # a new sandbox day
    assert "access_token" in stable_token(server, force=True)
    assert server.wechat_force_refreshes[APP] == 21

    assert stable_token(server, appid="wx0000000000000000")["errcode"] == 40013
    assert stable_token(server, secret="0" * 32) == {"errcode": 40125, "errmsg": "invalid appsecret"}
    assert stable_token(server, grant_type="password")["errcode"] == 40002
    assert server.call_counts["cgi-bin/stable_token"] >= 27


def test_stable_token_overlap_near_expiry(world: WeChatWorld) -> None:
    with SandboxServer(wechat_world=world, now=NOW, wechat_token_ttl_seconds=2.0) as server:
        server.wechat_token_refresh_margin_seconds = 1.2
        first = stable_token(server)["access_token"]
        assert stable_token(server)["access_token"] == first  # more than the margin left
        time.sleep(1.0)
        second = stable_token(server)["access_token"]  # inside the margin: a new token ...
        assert second != first
        batch = {"count": 1, "no_content": 1}
        assert "item" in call(server, "cgi-bin/freepublish/batchget", batch, first)  # ... the old still works
        assert stable_token(server)["access_token"] == second
        time.sleep(1.2)  # first has run out, second has not
        assert call(server, "cgi-bin/freepublish/batchget", batch, first)["errcode"] == 42001
        assert "item" in call(server, "cgi-bin/freepublish/batchget", batch, second)


def test_get_token_invalidates_the_previous_one(server: SandboxServer) -> None:
    def get_token(**params: str) -> dict:
        query = {"grant_type": "client_credential", "appid": APP, "secret": server.wechat_secret_for(APP)}
        query.update(params)
        return requests.get(f"{server.base_url}/cgi-bin/token", params=query, timeout=5).json()

    stable = token(server)
    first, second = get_token(), get_token()
    assert first["expires_in"] == 7200 and first["access_token"] != second["access_token"]
    batch = {"count": 1, "no_content": 1}
    assert call(server, "cgi-bin/freepublish/batchget", batch, first["access_token"])["errcode"] == 40001
    assert call(server, "cgi-bin/freepublish/batchget", batch, second["access_token"])["item_count"] == 1
    assert call(server, "cgi-bin/freepublish/batchget", batch, stable)["item_count"] == 1  # separate kind
    assert get_token(secret="nope")["errcode"] == 40125
    assert server.call_counts["cgi-bin/token"] == 3
    wrong_method = requests.get(f"{server.base_url}/cgi-bin/stable_token", timeout=5).json()
    assert wrong_method["errcode"] == 43002


def test_batchget_paging_no_content_and_msgid_consistency(server: SandboxServer, world: WeChatWorld) -> None:
    expected = world.messages(APP, NOW)
    assert len(expected) >= 8
    access = token(server)
    pages: list[dict] = []
    for offset in range(0, len(expected) + 5, 5):
        body = call(server, "cgi-bin/freepublish/batchget", {"offset": offset, "count": 5}, access)
        assert body["total_count"] == len(expected)
        assert body["item_count"] == len(body["item"]) == min(5, max(0, len(expected) - offset))
        pages.extend(body["item"])
    assert pages == expected
    times = [item["update_time"] for item in pages]
    assert times == sorted(times, reverse=True) and times[0] <= NOW.timestamp()
    all_at_once = call(server, "cgi-bin/freepublish/batchget", {"offset": 0, "count": 20}, access)
    assert all_at_once["item"] == expected[:20]

    bare = call(server, "cgi-bin/freepublish/batchget", {"offset": 0, "count": 20, "no_content": 1}, access)
    for full, light in zip(all_at_once["item"], bare["item"], strict=True):
        assert light["article_id"] == full["article_id"] and light["update_time"] == full["update_time"]
        for full_news, light_news in zip(
            full["content"]["news_item"], light["content"]["news_item"], strict=True
        ):
            assert "content" not in light_news and "content" in full_news
            assert light_news == {k: v for k, v in full_news.items() if k != "content"}
    for count in (0, 21):
        assert call(server, "cgi-bin/freepublish/batchget", {"count": count}, access)["errcode"] == 40097
    assert (
        call(server, "cgi-bin/freepublish/batchget", {"offset": -1, "count": 1}, access)["errcode"] == 40097
    )

    fields = {
        "title", "author", "digest", "content", "content_source_url", "thumb_media_id", "thumb_url",
        "url", "is_deleted", "need_open_comment", "only_fans_can_comment",
    }  # fmt: skip
    msg_ids = []
    for item in expected:
        published = datetime.fromtimestamp(item["update_time"], BEIJING)
        assert 8 <= published.hour <= 21
        totals = {row["msgid"]: row for row in world.article_totals(APP, published.date(), YESTERDAY)}
        for position, news in enumerate(item["content"]["news_item"], start=1):
            assert set(news) == fields and isinstance(news["is_deleted"], bool)
            query = parse_qs(urlsplit(news["url"]).query)
            assert news["url"].startswith("http://mp.weixin.qq.com/s?__biz=") and news["url"].endswith("#rd")
            assert query["idx"] == [str(position)] and re.fullmatch(r"[0-9a-f]{32}", query["sn"][0])
            msgid = f"{query['mid'][0]}_{position}"
            msg_ids.append(int(query["mid"][0]))
            if published.date() <= YESTERDAY:
                assert totals[msgid]["title"] == news["title"]
            assert "<p>" in news["content"] and "data-src=" in news["content"] and "&" in news["content"]
    assert sorted(set(msg_ids), reverse=True) == list(dict.fromkeys(msg_ids))  # newer messages, larger ids
    digests = " ".join(n["digest"] for item in expected for n in item["content"]["news_item"])
    assert re.search("云雾乌龙|桂花拿铁|冷萃茉莉", digests)


@pytest.mark.parametrize("name", sorted(DATACUBE_SPANS))
def test_datacube_date_rules(server: SandboxServer, name: str) -> None:
    access = token(server)
    span = DATACUBE_SPANS[name]
    end = YESTERDAY
    ok = datacube(server, name, end - timedelta(days=span - 1), end, access_token=access)
    assert isinstance(ok["list"], list) and "errcode" not in ok
    too_long = datacube(server, name, end - timedelta(days=span), end, access_token=access)
    assert too_long["errcode"] == 61501 and too_long["errmsg"].startswith("date range error hint: [")
    assert datacube(server, name, TODAY, access_token=access)["errcode"] == 61501
    assert datacube(server, name, date(2014, 11, 30), access_token=access)["errcode"] == 61501
    assert "list" in datacube(server, name, date(2014, 12, 1), access_token=access)
    assert (
        datacube(server, name, YESTERDAY, YESTERDAY - timedelta(days=1), access_token=access)["errcode"]
        == 61501
    )
    bad = call(server, f"datacube/{name}", {"begin_date": "2026/10/30", "end_date": "2026/10/30"}, access)
    assert bad["errcode"] == 61500
    assert (
        call(server, f"datacube/{name}", {"begin_date": "2026-02-30", "end_date": "2026-02-30"}, access)[
            "errcode"
        ]
        == 61500
    )
    assert server.call_counts[f"datacube/{name}"] == 8


def test_article_total_grows_for_seven_days_then_stops(server: SandboxServer, world: WeChatWorld) -> None:
    ref = publish_day_with_articles(world, date(2026, 10, 10))
    articles = world.articles_published_on(APP, ref)
    seen: list[list[dict]] = []
    for k in range(9):
        server.set_now(beijing(ref + timedelta(days=k + 1), 9))  # stat date ref + k is ready
        body = datacube(server, "getarticletotal", ref)
        assert [row["msgid"] for row in body["list"]] == [msgid for msgid, _ in articles]
        row = body["list"][0]
        assert row["ref_date"] == ref.isoformat() and row["title"] == articles[0][1]
        details = row["details"]
        assert [d["stat_date"] for d in details] == [
            (ref + timedelta(days=i)).isoformat() for i in range(min(k + 1, 7))
        ]
        assert details == [
            world.article_total(row["msgid"], ref + timedelta(days=i)) for i in range(len(details))
        ]
        seen.append(details)
    assert seen[6] == seen[7] == seen[8]  # nothing after the 7th stat date
    details = seen[-1]
    for field in SUMMARY_FIELDS + ("int_page_from_session_read_count",):
        values = [d[field] for d in details]
        assert values == sorted(values)
    reads = [d["int_page_read_count"] for d in details]
    increments = [b - a for a, b in zip([0, *reads], reads, strict=False)]
    assert increments[0] == max(increments) and increments[0] > increments[-1] and reads[0] > 0
    for d in details:
        assert d["target_user"] == world.followers(APP, ref - timedelta(days=1))
        for kind in ("user", "count"):
            by_source = sum(d[f"int_page_from_{source}_read_{kind}"] for source in READ_SOURCES)
            assert by_source == d[f"int_page_read_{kind}"]
        assert d["int_page_read_user"] <= d["int_page_read_count"] and d["share_user"] <= d["share_count"]
    if len(articles) > 1:  # the headline reads most
        final = {msgid: world.article_total(msgid, ref + timedelta(days=10)) for msgid, _ in articles}
        headline = final[articles[0][0]]["int_page_read_count"]
        assert all(headline > f["int_page_read_count"] for m, f in final.items() if m != articles[0][0])

    # getarticlesummary: that day's own figures, only with >= 3 events; the newer endpoints are alike.
    server.set_now(NOW)
    day = ref + timedelta(days=1)
    summary = datacube(server, "getarticlesummary", day)["list"]
    assert summary == datacube(server, "getarticleread", day)["list"]
    assert datacube(server, "getarticletotaldetail", ref) == datacube(server, "getarticletotal", ref)
    by_msgid = {row["msgid"]: row for row in summary}
    assert articles[0][0] in by_msgid
    row = by_msgid[articles[0][0]]
    before, after = world.article_total(row["msgid"], ref), world.article_total(row["msgid"], day)
    assert set(row) == {"ref_date", "msgid", "title", *SUMMARY_FIELDS}
    assert all(row[field] == after[field] - before[field] for field in SUMMARY_FIELDS)
    assert all(sum(r[f] for f in SUMMARY_FIELDS if f.endswith("_count")) >= 3 for r in summary)


def test_figures_of_yesterday_appear_at_0800(server: SandboxServer, world: WeChatWorld) -> None:
    ref = publish_day_with_articles(world, YESTERDAY)
    for name in ("getusersummary", "getusercumulate", "getuserread"):
        server.set_now(beijing(ref + timedelta(days=1), 7, 59))
        assert datacube(server, name, ref)["list"] == []
        older = datacube(server, name, ref - timedelta(days=1))["list"]
        assert older and {row["ref_date"] for row in older} == {(ref - timedelta(days=1)).isoformat()}
        server.set_now(beijing(ref + timedelta(days=1), 8, 0))
        assert datacube(server, name, ref)["list"]
    server.set_now(beijing(ref + timedelta(days=1), 7, 59))
    assert datacube(server, "getarticletotal", ref)["list"] == []
    server.set_now(beijing(ref + timedelta(days=1), 8, 0))
    assert [len(row["details"]) for row in datacube(server, "getarticletotal", ref)["list"]] == [1] * len(
        world.articles_published_on(APP, ref)
    )
    server.set_now(beijing(ref + timedelta(days=3), 7, 59))  # stat date ref + 2 is not ready yet
    assert {len(row["details"]) for row in datacube(server, "getarticletotal", ref)["list"]} == {2}


def test_followers_reads_and_shares_add_up(server: SandboxServer, world: WeChatWorld) -> None:
    end = YESTERDAY
    access = token(server)
    summary = datacube(server, "getusersummary", end - timedelta(days=6), end, access_token=access)["list"]
    cumulate = datacube(server, "getusercumulate", end - timedelta(days=7), end, access_token=access)
    assert cumulate["errcode"] == 61501
    cumulate = datacube(server, "getusercumulate", end - timedelta(days=6), end, access_token=access)["list"]
    assert [row["ref_date"] for row in cumulate] == [
        (end - timedelta(days=6 - i)).isoformat() for i in range(7)
    ]
    assert all(
        set(row) == {"ref_date", "user_source", "cumulate_user"} and row["user_source"] == 0
        for row in cumulate
    )
    for previous, row in zip(cumulate, cumulate[1:], strict=False):
        rows = [r for r in summary if r["ref_date"] == row["ref_date"]]
        assert 0 in {r["user_source"] for r in rows}
        assert all(set(r) == {"ref_date", "user_source", "new_user", "cancel_user"} for r in rows)
        change = sum(r["new_user"] - r["cancel_user"] for r in rows)
        assert row["cumulate_user"] - previous["cumulate_user"] == change
        day = date.fromisoformat(row["ref_date"])
        assert row["cumulate_user"] == world.followers(APP, day)
        assert world.follower_changes(APP, day) == (
            sum(r["new_user"] for r in rows),
            sum(r["cancel_user"] for r in rows),
        )

    reads = datacube(server, "getuserread", end - timedelta(days=2), end, access_token=access)["list"]
    for day in {row["ref_date"] for row in reads}:
        rows = [r for r in reads if r["ref_date"] == day]
        assert [r["user_source"] for r in rows] == [0, 1, 2, 4, 5, 99999999]
        total = rows[-1]
        for field in SUMMARY_FIELDS:
            assert sum(r[field] for r in rows[:-1]) == total[field]
        assert total["int_page_read_count"] > 0
    shares = datacube(server, "getusershare", end, access_token=access)["list"]
    assert {row["share_scene"] for row in shares} <= {1, 2, 5}
    assert all(set(row) == {"ref_date", "share_scene", "share_count", "share_user"} for row in shares)
    day_total = next(r for r in reads if r["ref_date"] == end.isoformat() and r["user_source"] == 99999999)
    assert sum(row["share_count"] for row in shares) == day_total["share_count"]


def test_legacy_and_new_article_endpoint_switches(server: SandboxServer) -> None:
    offline = {"errcode": 47009, "errmsg": "this api is offline, please use the new api"}
    server.wechat_retire_legacy_article_endpoints = True
    assert datacube(server, "getarticletotal", YESTERDAY) == offline
    assert datacube(server, "getarticlesummary", YESTERDAY) == offline
    assert "list" in datacube(server, "getarticletotaldetail", YESTERDAY)
    assert "list" in datacube(server, "getarticleread", YESTERDAY)
    assert "list" in datacube(server, "getusersummary", YESTERDAY)
    server.wechat_retire_legacy_article_endpoints = False
    server.wechat_new_article_endpoints_available = False
    assert datacube(server, "getarticletotaldetail", YESTERDAY) == offline
    assert datacube(server, "getarticleread", YESTERDAY) == offline
    assert "list" in datacube(server, "getarticletotal", YESTERDAY)


def test_daily_quota(server: SandboxServer) -> None:
    access = token(server)
    server.wechat_daily_quota[(APP, "datacube/getusersummary")] = 2
    for _ in range(2):
        assert "list" in datacube(server, "getusersummary", YESTERDAY, access_token=access)
    refused = datacube(server, "getusersummary", YESTERDAY, access_token=access)
    assert refused == {"errcode": 45009, "errmsg": "reach max api daily quota limit"}
    quota = call(server, "cgi-bin/openapi/quota/get", {"cgi_path": "/datacube/getusersummary"}, access)
    assert quota == {"errcode": 0, "errmsg": "ok", "quota": {"daily_limit": 2, "used": 2, "remain": 0}}
    other = call(server, "cgi-bin/openapi/quota/get", {"cgi_path": "/datacube/getarticletotal"}, access)
    assert other["quota"] == {"daily_limit": 1000, "used": 0, "remain": 1000}
    assert call(server, "cgi-bin/openapi/quota/get", {"cgi_path": "/nothing"}, access)["errcode"] == 76021
    assert "list" in datacube(server, "getusercumulate", YESTERDAY, access_token=access)
    other_app = token(server, OTHER_APP)  # quotas are per app
    assert "list" in datacube(server, "getusersummary", YESTERDAY, access_token=other_app)
    server.set_now(NOW + timedelta(days=1))  # a new sandbox day
    assert "list" in datacube(server, "getusersummary", TODAY, access_token=access)
    assert server.wechat_quota(APP, "datacube/getusersummary") == (2, 1)


def test_unauthorized_app_gets_48001(server: SandboxServer) -> None:
    server.wechat_unauthorized_apps.add(APP)
    denied = {"errcode": 48001, "errmsg": "api unauthorized"}
    assert datacube(server, "getusersummary", YESTERDAY) == denied
    assert call(server, "cgi-bin/freepublish/batchget", {"count": 1}) == denied
    assert "list" in datacube(server, "getusersummary", YESTERDAY, access_token=token(server, OTHER_APP))
    server.wechat_unauthorized_apps.clear()
    assert "list" in datacube(server, "getusersummary", YESTERDAY)


def test_token_errors_and_expire_wechat_tokens(server: SandboxServer) -> None:
    old = token(server)
    other = token(server, OTHER_APP)
    server.expire_wechat_tokens(APP)
    assert datacube(server, "getusersummary", YESTERDAY, access_token=old) == {
        "errcode": 42001,
        "errmsg": "access_token expired",
    }
    assert "list" in datacube(server, "getusersummary", YESTERDAY, access_token=other)
    fresh = token(server)
    assert fresh != old and "list" in datacube(server, "getusersummary", YESTERDAY, access_token=fresh)
    unknown = datacube(server, "getusersummary", YESTERDAY, access_token="91_" + "x" * 100)
    assert unknown == {
        "errcode": 40001,
        "errmsg": "invalid credential, access_token is invalid or not latest",
    }
    assert datacube(server, "getusersummary", YESTERDAY, access_token="")["errcode"] == 41001
    garbage = requests.post(
        f"{server.base_url}/datacube/getusersummary",
        params={"access_token": fresh},
        data=b"{not json",
        timeout=5,
    ).json()
    assert garbage["errcode"] == 47001


def test_faults_and_shared_call_counts(server: SandboxServer) -> None:
    access = token(server)
    server.reset_counts()
    server.fail_next(1, "busy")
    assert datacube(server, "getusersummary", YESTERDAY, access_token=access) == {
        "errcode": -1,
        "errmsg": "system error",
    }
    server.fail_next(1, "502")
    response = requests.post(
        f"{server.base_url}/datacube/getusersummary",
        params={"access_token": access},
        json={"begin_date": "2026-10-31", "end_date": "2026-10-31"},
        timeout=5,
    )
    assert response.status_code == 502
    assert "list" in datacube(server, "getusersummary", YESTERDAY, access_token=access)
    weibo = requests.get(
        f"{server.base_url}/2/users/show.json",
        params={"access_token": server.token_for("6000000001"), "uid": "6000000001"},
        timeout=5,
    )
    assert weibo.status_code == 200
    assert server.call_counts == {"datacube/getusersummary": 3, "users/show": 1}


def test_secrets_and_tokens_never_reach_the_log(
    server: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    secret = server.wechat_secret_for(APP)
    with caplog.at_level(logging.DEBUG, logger="sandbox.server"):
        basic = requests.get(
            f"{server.base_url}/cgi-bin/token",
            params={"grant_type": "client_credential", "appid": APP, "secret": secret},
            timeout=5,
        ).json()["access_token"]
        stable = token(server)
        datacube(server, "getusersummary", YESTERDAY, access_token=stable)
        datacube(server, "getusersummary", YESTERDAY, access_token=basic + "x")
    text = caplog.text
    assert "/cgi-bin/token?" in text and "/datacube/getusersummary?" in text  # requests are logged ...
    assert secret not in text and stable not in text and basic not in text  # ... redacted
    assert "secret=***" in text and "access_token=***" in text
    line = f'{{"appid": "{APP}", "secret": "{secret}", "access_token": "{stable}"}}'
    assert (
        secret not in redact_tokens(line) and stable not in redact_tokens(line) and APP in redact_tokens(line)
    )


def test_serve_prints_wechat_apps_and_secrets(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class StopAtOnce(threading.Event):
        def wait(self, timeout: float | None = None) -> bool:
            if timeout == 3600:
                raise KeyboardInterrupt
            return super().wait(timeout)

    monkeypatch.setattr(server_module.threading, "Event", StopAtOnce)
    assert server_module.serve(["--port", "0", "--now", "2026-11-01T10:30"]) == 0
    out = capsys.readouterr().out
    world = WeChatWorld()
    for app in world.apps:
        assert f"{app.appid}  {app.name}" in out
        assert f"export WECHAT_SECRET_{app.appid.upper()}={world.secret_for(app.appid)}" in out
    assert "export WEIBO_TOKEN_6000000001=" in out


def test_msgids_are_unique_across_apps(world: WeChatWorld) -> None:
    ids = [
        news["url"]
        for app in world.apps
        for item in world.messages(app.appid, NOW)
        for news in item["content"]["news_item"]
    ]
    mids = [(parse_qs(urlsplit(url).query)["mid"][0], parse_qs(urlsplit(url).query)["idx"][0]) for url in ids]
    assert len(set(mids)) == len(mids)
    assert world.article_total("123_1", YESTERDAY) is None
