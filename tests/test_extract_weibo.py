"""The Weibo extractor against the sandbox over real HTTP on 127.0.0.1."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest

from extractors.http import RetryPolicy
from extractors.lake import RawLake
from extractors.weibo import TIMELINE, WeiboClient, WeiboSettings, iter_timeline
from sandbox.server import SandboxServer
from sandbox.weibo_world import WeiboWorld, WorldConfig
from shengliang.daily import RunIncomplete, RunWindow, check_results
from shengliang.registry import load_registry
from shengliang.settings import PROJECT_ROOT
from shengliang.weibo_pipeline import extract_weibo_account
from tests.conftest import DATA_DATE
from tests.test_extract_wechat import lake_rows, secrets_in_lake

BRAND_UID = "6000000001"
EMPLOYEE_UID = "6000000101"


def client_for(server: SandboxServer, *, max_wait: float = 10.0, timeout: float = 0.5) -> WeiboClient:
    return WeiboClient(
        WeiboSettings(
            base_url=f"{server.base_url}/2/",
            timeout_seconds=timeout,
            retry=RetryPolicy(max_attempts=4, base_delay_seconds=0.01),
            max_rate_limit_wait_seconds=max_wait,
        )
    )


def registry():
    return load_registry(PROJECT_ROOT / "config" / "accounts.yml", lookup=None)


def task(uid: str, since_id: str | None = None, tracked: list | None = None) -> dict:
    return {"account_id": uid, "since_id": since_id, "backfill": False, "tracked": tracked or []}


def all_ids(pages) -> list[str]:
    return [status["idstr"] for page in pages for status in page]


def test_paging_across_more_than_100_posts() -> None:
    world = WeiboWorld(WorldConfig(days=60))
    now = RunWindow.for_date(DATA_DATE, 7).interval_end
    expected = [s["idstr"] for s in world.posts(BRAND_UID, now)]
    assert len(expected) > 150, "the world must hold more than a page of posts for this test"
    with SandboxServer(world=world, now=now).start() as server:
        pages = list(
            iter_timeline(
                client_for(server),
                uid=BRAND_UID,
                token=world.token_for(BRAND_UID),
                since_id=None,
                stop_before=None,
            )
        )
        assert server.call_counts["statuses/user_timeline"] == len(pages) >= 2
    assert [len(p) for p in pages[:-1]] == [100] * (len(pages) - 1)
    assert all_ids(pages) == expected  # newest first, nothing lost or repeated at page edges


def test_second_run_fetches_only_new_posts(sandbox, tmp_path: Path) -> None:
    window = RunWindow.for_date(DATA_DATE, 7)
    lake = RawLake(tmp_path / "lake")
    account = registry().account("weibo", BRAND_UID)
    token = sandbox.world.token_for(BRAND_UID)
    first = extract_weibo_account(client_for(sandbox), lake, account, task(BRAND_UID), token, window, "r1")
    assert first["status"] == "ok" and first["posts_fetched"] > 0

    next_window = RunWindow.for_date(DATA_DATE + timedelta(days=1), 7)
    sandbox.set_now(next_window.interval_end + timedelta(hours=1))
    client = client_for(sandbox)
    second = list(
        iter_timeline(client, uid=BRAND_UID, token=token, since_id=first["bookmark"], stop_before=None)
    )
    fetched = all_ids(second)
    newer = [
        s["idstr"]
        for s in sandbox.world.posts(BRAND_UID, sandbox.now())
        if int(s["id"]) > int(first["bookmark"])
    ]
    assert fetched == newer and 0 < len(fetched) < first["posts_fetched"]
    assert client.http.call_counts[TIMELINE] == 1


def test_injected_5xx_and_timeouts_are_retried_and_lose_nothing(sandbox) -> None:
    token = sandbox.world.token_for(BRAND_UID)
    stop_before = RunWindow.for_date(DATA_DATE, 7).tracking_from
    clean = all_ids(
        iter_timeline(client_for(sandbox), uid=BRAND_UID, token=token, since_id=None, stop_before=stop_before)
    )
    sandbox.reset_counts()
    sandbox.timeout_sleep_seconds = 1.0
    sandbox.fail_next(2, "5xx")
    sandbox.fail_next(1, "timeout")
    client = client_for(sandbox, timeout=0.3)
    retried = all_ids(
        iter_timeline(client, uid=BRAND_UID, token=token, since_id=None, stop_before=stop_before)
    )
    assert retried == clean
    assert client.http.call_counts[TIMELINE] == 4  # three failures, then the page


def test_rate_limit_is_waited_out(sandbox) -> None:
    sandbox.rate_limit_per_window = 2
    sandbox.rate_window_seconds = 1.0
    token = sandbox.world.token_for(BRAND_UID)
    sleeps: list[float] = []
    import time

    client = WeiboClient(
        WeiboSettings(
            base_url=f"{sandbox.base_url}/2/",
            retry=RetryPolicy(base_delay_seconds=0.01),
            max_rate_limit_wait_seconds=5,
        ),
        sleep=lambda s: (sleeps.append(s), time.sleep(s)),
    )
    from extractors.weibo import fetch_user

    followers = [fetch_user(client, uid=BRAND_UID, token=token)["followers_count"] for _ in range(4)]
    assert len(followers) == 4 and all(isinstance(f, int) for f in followers)
    assert sleeps and all(1.0 <= s <= 3.0 for s in sleeps)  # the reset time the API reported, plus one second


def test_rate_limit_longer_than_allowed_stops_the_account(sandbox, tmp_path: Path) -> None:
    sandbox.rate_limit_per_window = 1
    window = RunWindow.for_date(DATA_DATE, 7)
    account = registry().account("weibo", BRAND_UID)
    result = extract_weibo_account(
        client_for(sandbox, max_wait=1.0),
        RawLake(tmp_path),
        account,
        task(BRAND_UID, tracked=[["1", None]]),
        sandbox.world.token_for(BRAND_UID),
        window,
        "r1",
    )
    assert result["status"] == "rate_limited"
    assert BRAND_UID in result["message"] and str(DATA_DATE) in result["message"]
    assert "this account stops for this run" in result["message"]
    assert check_results([result], DATA_DATE) == [result["message"]]  # a warning, not a failure


def test_expired_token_names_the_account_and_fails_the_run_at_the_end(
    sandbox, tmp_path: Path, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    sandbox.expire_token(EMPLOYEE_UID)
    window = RunWindow.for_date(DATA_DATE, 7)
    reg = registry()
    lake = RawLake(tmp_path)
    client = client_for(sandbox)
    expired = extract_weibo_account(
        client,
        lake,
        reg.account("weibo", EMPLOYEE_UID),
        task(EMPLOYEE_UID),
        sandbox.world.token_for(EMPLOYEE_UID),
        window,
        "r1",
    )
    healthy = extract_weibo_account(
        client,
        lake,
        reg.account("weibo", BRAND_UID),
        task(BRAND_UID),
        sandbox.world.token_for(BRAND_UID),
        window,
        "r1",
    )
    assert expired["status"] == "reauthorize" and healthy["status"] == "ok"
    for fragment in (EMPLOYEE_UID, str(DATA_DATE), "statuses/user_timeline", "21327", "re-authorize"):
        assert fragment in expired["message"]
    with pytest.raises(RunIncomplete) as caught:
        check_results([healthy, expired], DATA_DATE)
    assert "1 account(s) must re-authorize" in str(caught.value) and EMPLOYEE_UID in str(caught.value)
    assert BRAND_UID not in str(caught.value)


def test_no_token_value_appears_in_logs_lake_or_errors(sandbox, tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    window = RunWindow.for_date(DATA_DATE, 7)
    reg = registry()
    lake = RawLake(tmp_path / "lake")
    sandbox.expire_token(EMPLOYEE_UID)
    sandbox.fail_next(1, "5xx")
    sandbox.fail_next(1, "timeout")
    sandbox.timeout_sleep_seconds = 1.0
    results = [
        extract_weibo_account(
            client_for(sandbox, timeout=0.3),
            lake,
            reg.account("weibo", uid),
            task(uid),
            sandbox.world.token_for(uid),
            window,
            "r1",
        )
        for uid in (BRAND_UID, EMPLOYEE_UID)
    ]
    tokens = [sandbox.world.token_for(uid) for uid in (BRAND_UID, EMPLOYEE_UID)]
    messages = " ".join(str(r["message"]) for r in results)
    assert "retry" in caplog.text and "21327" in messages  # the failures really happened and were logged
    assert lake_rows(tmp_path / "lake") > 0  # the lake really holds the run's answers
    # Every value of every row, decoded (not the compressed bytes): see secrets_in_lake.
    assert secrets_in_lake(tmp_path / "lake", tokens) == []
    for token in tokens:
        assert token not in caplog.text
        assert token not in messages
