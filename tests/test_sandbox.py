"""The Weibo sandbox over real HTTP: shapes, paging semantics, errors, limits and fault injection."""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests

from sandbox.server import SandboxServer, redact_tokens
from sandbox.weibo_world import BEIJING, WeiboWorld, WorldConfig
from shengliang.settings import PROJECT_ROOT
from transforms.confidential import ConfidentialMatcher

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)  # 20:00 in Beijing
BRAND = "6000000001"
EMPLOYEES = tuple(str(6000000101 + e) for e in range(WorldConfig().employees_per_brand))  # 山海's
CREATED_AT_FORMAT = "%a %b %d %H:%M:%S %z %Y"


@pytest.fixture(scope="module")
def world() -> WeiboWorld:
    return WeiboWorld()


@pytest.fixture
def server(world: WeiboWorld) -> Iterator[SandboxServer]:
    with SandboxServer(world, now=NOW) as running:
        yield running


def get(
    server: SandboxServer, endpoint: str, as_uid: str | None = BRAND, **params: object
) -> requests.Response:
    """GET an endpoint with the token of as_uid (None: no token); params are the API's own."""
    if as_uid is not None:
        params.setdefault("access_token", server.token_for(as_uid))
    return requests.get(f"{server.base_url}/2/{endpoint}.json", params=params, timeout=5)


def as_int(value: int | str) -> int:
    return int(value)


def timeline_ids(server: SandboxServer, as_uid: str = BRAND, **params: object) -> list[int]:
    response = get(server, "statuses/user_timeline", as_uid=as_uid, count=100, **params)
    assert response.status_code == 200, response.text
    return [status["id"] for status in response.json()["statuses"]]


def test_accounts_and_tokens(world: WeiboWorld) -> None:
    uids = [account.uid for account in world.accounts]
    jiguang = [str(int(uid) + 1000) for uid in EMPLOYEES]
    assert uids == [BRAND, *EMPLOYEES, "6000001001", *jiguang]
    assert len(uids) == world.config.brands * (1 + world.config.employees_per_brand)
    assert world.account(BRAND).screen_name == "山海茶饮官方微博"
    assert world.account("6000001001").screen_name == "极光手机"
    assert world.account("6000000101").department is not None
    assert world.account("42") is None
    for uid in uids:
        token = world.token_for(uid)
        assert re.fullmatch(r"2\.00[0-9A-Za-z]{28}", token)
        assert world.uid_for_token(token) == uid
    assert world.uid_for_token("2.00nothing") is None
    assert len({world.token_for(uid) for uid in uids}) == len(uids)


def test_default_world_has_departments_worth_a_weekly_view(world: WeiboWorld) -> None:
    """12 employees a brand: two departments of 5 and one of 2, and every employee posts in every week
    (a weekly mart that hides departments under 5 posters shows two of them and hides the third)."""
    employees = [a for a in world.accounts if a.kind == "employee"]
    by_brand = Counter((a.brand_id, a.department) for a in employees)
    assert by_brand == {
        (brand, department): count
        for brand in ("shanhai", "jiguang")
        for department, count in (("市场部", 5), ("销售部", 5), ("门店运营", 2))
    }
    assert len({a.screen_name for a in world.accounts}) == len(world.accounts)
    today = NOW.astimezone(BEIJING).date()
    days = [today - timedelta(days=back) for back in range(1, world.config.days)]
    posting_days = {a.uid: sum(1 for day in days if world._day_posts(a.uid, day)) for a in employees}
    assert min(posting_days.values()) >= len(days) * 0.6  # every employee posts on most days
    assert sum(posting_days.values()) >= len(employees) * len(days) * 0.8


def test_employees_amplify_colleagues_and_slip_confidential_terms(world: WeiboWorld) -> None:
    """Employees repost colleagues' own posts (mostly from other departments), and now and then name a
    term of the shipped confidential lexicon."""
    matcher = ConfidentialMatcher.from_file(PROJECT_ROOT / "config" / "confidential_terms.txt")
    cross_department = leaks = 0
    for account in (a for a in world.accounts if a.kind == "employee"):
        for status in world.posts(account.uid, NOW):
            leaks += bool(matcher.find(status["text"]))
            original = status.get("retweeted_status")
            if original is None or original["user"]["verified"]:
                continue
            author = world.account(original["user"]["idstr"])
            assert author.kind == "employee" and author.brand_id == account.brand_id and author != account
            cross_department += author.department != account.department
    assert cross_department >= 10 and leaks >= 10


def test_world_is_deterministic_and_independent_of_window() -> None:
    first, second = WeiboWorld(WorldConfig(seed=7)), WeiboWorld(WorldConfig(seed=7))
    for account in first.accounts:
        assert first.posts(account.uid, NOW) == second.posts(account.uid, NOW)
    assert first.token_for(BRAND) == second.token_for(BRAND)
    other = WeiboWorld(WorldConfig(seed=8))
    assert other.posts(BRAND, NOW) != first.posts(BRAND, NOW)
    # A shorter window shows a subset of the same posts, identical in content.
    short = WeiboWorld(WorldConfig(seed=7, days=3))
    long_posts = {post["id"]: post for post in first.posts(BRAND, NOW)}
    short_posts = short.posts(BRAND, NOW)
    assert short_posts and all(long_posts[post["id"]] == post for post in short_posts)
    oldest = datetime.strptime(short_posts[-1]["created_at"], CREATED_AT_FORMAT)
    assert oldest.date() >= NOW.astimezone(BEIJING).date() - timedelta(days=2)


def test_status_shape(server: SandboxServer) -> None:
    response = get(server, "statuses/user_timeline", count=5)
    assert response.status_code == 200
    body = response.json()
    assert {"statuses", "total_number", "previous_cursor", "next_cursor"} <= body.keys()
    assert body["previous_cursor"] == 0 and body["total_number"] > 5
    status = body["statuses"][0]
    created = datetime.strptime(status["created_at"], CREATED_AT_FORMAT)
    assert created.utcoffset() == timedelta(hours=8) and created <= NOW
    assert status["idstr"] == str(status["id"]) == status["mid"]
    assert 'rel="nofollow"' in status["source"]
    for key in ("reposts_count", "comments_count", "attitudes_count"):
        assert as_int(status[key]) >= 0
    user = status["user"]
    assert user["idstr"] == BRAND and user["verified_type"] == 2 and user["verified"] is True
    assert 100_000 <= user["followers_count"] <= 2_000_000
    assert [s["id"] for s in body["statuses"]] == sorted((s["id"] for s in body["statuses"]), reverse=True)


def test_texts_look_like_weibo(world: WeiboWorld) -> None:
    posts = [post for account in world.accounts for post in world.posts(account.uid, NOW)]
    texts = [post["text"] for post in posts]
    assert any("#" in text for text in texts)
    assert any(re.search(r"\[[^\]]+\]", text) for text in texts)
    assert any("http://t.cn/" in text for text in texts)
    assert any('<img alt="[' in text or "<a href=" in text for text in texts)
    long_posts = [post for post in posts if post["isLongText"]]
    assert long_posts
    for post in long_posts:
        assert "... 全文： http://m.weibo.cn/" in post["text"] and post["textLength"] > 140
    assert any(isinstance(post["attitudes_count"], str) for post in posts)
    assert any(isinstance(post["attitudes_count"], int) for post in posts)


def test_since_id_is_exclusive_and_max_id_inclusive(server: SandboxServer) -> None:
    all_ids = timeline_ids(server)
    assert len(all_ids) > 10 and all_ids == sorted(all_ids, reverse=True)
    pivot = all_ids[5]
    assert timeline_ids(server, since_id=pivot) == all_ids[:5]
    assert timeline_ids(server, max_id=pivot) == all_ids[5:]
    assert timeline_ids(server, since_id=all_ids[8], max_id=pivot) == all_ids[5:8]
    assert timeline_ids(server, since_id=all_ids[0]) == []


def test_count_clamps_at_100_and_pages_by_page_and_max_id() -> None:
    world = WeiboWorld(WorldConfig(days=45))
    with SandboxServer(world, now=NOW) as server:
        expected = [post["id"] for post in world.posts(BRAND, NOW)]
        assert len(expected) > 100
        first = get(server, "statuses/user_timeline", count=150).json()
        first_ids = [status["id"] for status in first["statuses"]]
        assert first_ids == expected[:100]
        assert first["next_cursor"] == first_ids[-1]
        assert first["total_number"] == len(expected)
        by_page = get(server, "statuses/user_timeline", count=100, page=2).json()
        assert [status["id"] for status in by_page["statuses"]] == expected[100:200]
        assert by_page["next_cursor"] == (0 if len(expected) <= 200 else expected[199])
        by_max_id = timeline_ids(server, max_id=first_ids[-1] - 1)
        assert by_max_id == expected[100:200]
        assert get(server, "statuses/user_timeline").json()["statuses"].__len__() == 20


def test_token_reads_only_its_own_uid(server: SandboxServer) -> None:
    response = get(server, "statuses/user_timeline", as_uid=EMPLOYEES[0], uid=BRAND)
    assert response.status_code == 403
    assert response.json() == {
        "error": "Insufficient app permissions!",
        "error_code": 10014,
        "request": "/2/statuses/user_timeline.json",
    }
    response = get(server, "statuses/user_timeline", as_uid=EMPLOYEES[0], uid="6999999999")
    assert response.status_code == 400 and response.json()["error_code"] == 20003
    own = get(server, "statuses/user_timeline", as_uid=EMPLOYEES[0])  # uid defaults to the token's
    assert all(status["user"]["idstr"] == EMPLOYEES[0] for status in own.json()["statuses"])


def test_token_errors(server: SandboxServer) -> None:
    missing = get(server, "statuses/user_timeline", as_uid=None)
    assert missing.status_code == 401 and missing.json()["error_code"] == "21301"
    invalid = get(server, "statuses/user_timeline", as_uid=None, access_token="2.00" + "x" * 28)
    assert invalid.status_code == 401 and invalid.json()["error_code"] == "21332"
    server.expire_token(BRAND)
    expired = get(server, "statuses/user_timeline")
    assert expired.status_code == 401
    assert expired.json() == {
        "error": "expired_token",
        "error_code": "21327",
        "request": "/2/statuses/user_timeline.json",
    }
    other_token = get(server, "users/show", as_uid=EMPLOYEES[0], uid=BRAND)
    assert other_token.status_code == 200  # other tokens still work
    server.restore_token(BRAND)
    assert get(server, "statuses/user_timeline").status_code == 200


def test_rate_limit_and_window_reset(world: WeiboWorld) -> None:
    with SandboxServer(world, now=NOW, rate_limit_per_window=3, rate_window_seconds=1.0) as server:
        for _ in range(3):
            assert get(server, "statuses/count", ids="1").status_code == 200
        over = get(server, "statuses/count", ids="1")
        assert over.status_code == 403
        assert over.json()["error_code"] == 10023
        assert over.json()["error"] == "User requests out of rate limit!"
        status = get(server, "account/rate_limit_status").json()
        assert status["remaining_user_hits"] == 0 and status["user_limit"] == 3
        assert get(server, "statuses/count", as_uid=EMPLOYEES[0], ids="1").status_code == 200  # per token
        time.sleep(1.05)
        assert get(server, "statuses/count", ids="1").status_code == 200
        assert get(server, "account/rate_limit_status").json()["remaining_user_hits"] == 2


def test_rate_limit_status_fields(server: SandboxServer) -> None:
    before = get(server, "account/rate_limit_status").json()
    assert before["ip_limit"] == 10000 and before["limit_time_unit"] == "HOURS"
    assert before["user_limit"] == 150 and before["remaining_user_hits"] == 150
    assert 0 < before["reset_time_in_seconds"] <= 3600
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", before["reset_time"])
    assert before["reset_time"].startswith("2026-11-0")  # sandbox clock, Beijing time
    assert get(server, "account/rate_limit_status").json()["remaining_user_hits"] == 150  # free
    get(server, "statuses/user_timeline", count=1)
    after = get(server, "account/rate_limit_status").json()
    assert after["remaining_user_hits"] == 149
    assert after["remaining_ip_hits"] < before["remaining_ip_hits"]


def test_engagement_grows_with_time(server: SandboxServer, world: WeiboWorld) -> None:
    newest = world.posts(BRAND, NOW)[0]
    post_id = newest["id"]
    published = datetime.strptime(newest["created_at"], CREATED_AT_FORMAT)
    assert world.engagement(post_id, published) == (0, 0, 0)
    samples = [world.engagement(post_id, published + timedelta(hours=h)) for h in range(0, 80, 4)]
    for earlier, later in zip(samples, samples[1:], strict=False):
        assert all(a <= b for a, b in zip(earlier, later, strict=True))
    final = world.final_engagement(post_id)
    assert world.engagement(post_id, published + timedelta(days=3)) == final
    assert world.engagement(post_id, published + timedelta(days=30)) == final
    assert 300 <= final[2] <= 6000

    def counts() -> dict[str, int]:
        response = get(server, "statuses/count", ids=f"{post_id},123")
        assert response.status_code == 200
        (entry,) = response.json()  # the unknown id is skipped
        assert entry["id"] == post_id and entry["idstr"] == str(post_id)
        return {key: as_int(entry[key]) for key in ("reposts", "comments", "attitudes")}

    early = counts()
    server.set_now(NOW + timedelta(days=2))
    late = counts()
    assert late["attitudes"] > early["attitudes"] and late["reposts"] >= early["reposts"]
    status = get(server, "statuses/user_timeline", max_id=post_id, count=1).json()["statuses"][0]
    assert as_int(status["attitudes_count"]) == late["attitudes"]
    assert get(server, "statuses/count", ids=",".join(["1"] * 101)).json()["error_code"] == 10008


def test_fail_next_then_normal_service(world: WeiboWorld) -> None:
    with SandboxServer(world, now=NOW, timeout_sleep_seconds=0.6) as server:
        server.fail_next(1)
        failed = get(server, "statuses/user_timeline", count=1)
        assert failed.status_code == 503 and failed.json()["error_code"] == 10009
        server.fail_next(1, "502")
        assert get(server, "statuses/user_timeline", count=1).status_code == 502
        assert get(server, "statuses/user_timeline", count=1).status_code == 200
        server.fail_next(1, "timeout")
        with pytest.raises(requests.Timeout):
            requests.get(
                f"{server.base_url}/2/users/show.json",
                params={"access_token": server.token_for(BRAND), "uid": BRAND},
                timeout=0.2,
            )
        assert get(server, "users/show", as_uid=BRAND, uid=BRAND).json()["idstr"] == BRAND
        assert server.call_counts["statuses/user_timeline"] == 3
        assert server.call_counts["users/show"] == 2
        server.reset_counts()
        assert sum(server.call_counts.values()) == 0
        server.error_rate = 1.0
        assert get(server, "users/show", as_uid=BRAND, uid=BRAND).status_code in (500, 502, 503)
        server.error_rate = 0.0
        assert get(server, "users/show", as_uid=BRAND, uid=BRAND).status_code == 200


def test_reposts_carry_original_and_chain(server: SandboxServer, world: WeiboWorld) -> None:
    brand_names = {world.account(BRAND).screen_name}
    employee_names = {world.account(uid).screen_name for uid in EMPLOYEES}
    reposts, chained, of_colleagues = 0, 0, 0
    for uid in EMPLOYEES:
        response = get(server, "statuses/user_timeline", as_uid=uid, count=100)
        for status in response.json()["statuses"]:
            assert status["user"]["verified_type"] == -1
            original = status.get("retweeted_status")
            if original is None:
                assert "//@" not in status["text"]
                continue
            reposts += 1
            colleagues = employee_names - {status["user"]["screen_name"]}
            assert original["user"]["screen_name"] in brand_names | colleagues
            of_colleagues += original["user"]["screen_name"] in employee_names
            assert "retweeted_status" not in original and "user" in original
            published = datetime.strptime(status["created_at"], CREATED_AT_FORMAT)
            assert datetime.strptime(original["created_at"], CREATED_AT_FORMAT) < published
            if "//@" in status["text"]:
                chained += 1
                name = status["text"].split("//@", 1)[1].split(":", 1)[0]
                assert name in employee_names
    assert reposts >= 5 and chained >= 1 and of_colleagues >= 1


def test_users_show_and_comments(server: SandboxServer, world: WeiboWorld) -> None:
    user = get(server, "users/show", as_uid=EMPLOYEES[0], uid=BRAND).json()
    assert user["idstr"] == BRAND and user["screen_name"] == "山海茶饮官方微博"
    assert user["followers_count"] == world.followers(BRAND, NOW)
    assert world.followers(BRAND, NOW + timedelta(days=30)) > user["followers_count"]
    assert get(server, "users/show", uid="6999999999").json()["error_code"] == 20003

    post = world.posts(BRAND, NOW)[-1]  # oldest: engagement has saturated
    body = get(server, "comments/show", id=post["id"], count=500).json()
    assert body["total_number"] == as_int(post["comments_count"])
    assert len(body["comments"]) == min(200, body["total_number"])
    comment = body["comments"][0]
    assert {"created_at", "id", "idstr", "text", "user"} <= comment.keys()
    assert comment["user"]["screen_name"] and comment["idstr"] == str(comment["id"])
    page = get(server, "comments/show", id=post["id"], count=10, page=2).json()["comments"]
    assert [c["id"] for c in page] == [c["id"] for c in body["comments"][10:20]]
    missing = get(server, "comments/show", id=4_900_000_000_000_001)
    assert missing.status_code == 400 and missing.json()["error_code"] == 20101


def test_unknown_path_and_token_redaction(server: SandboxServer) -> None:
    response = get(server, "statuses/nothing_here")
    assert response.status_code == 404
    assert response.json()["error_code"] == 10020
    assert response.json()["request"] == "/2/statuses/nothing_here.json"
    line = 'GET /2/statuses/user_timeline.json?access_token=2.00abc&count=1 HTTP/1.1" 200'
    assert "2.00abc" not in redact_tokens(line) and "count=1" in redact_tokens(line)
