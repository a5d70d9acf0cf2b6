"""One bad record never stops the others: probes against the sandbox over real HTTP, one malformed
record at a time (issue 13, points 3 and 4). Each bad record is skipped, counted, logged with its
account, date and endpoint, and kept in the lake's quarantine; the good ones load."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from extractors.http import RetryPolicy
from extractors.lake import RawLake
from extractors.wechat import BATCHGET, FileTokenStore, WeChatClient, WeChatSettings
from extractors.weibo import COUNTS, TIMELINE, WeiboClient, WeiboSettings, iter_timeline
from sandbox.server import Route, SandboxServer
from shengliang.daily import RunIncomplete, RunWindow, check_results
from shengliang.registry import load_registry
from shengliang.settings import PROJECT_ROOT
from shengliang.wechat_pipeline import extract_wechat_account, transform_wechat_day
from shengliang.weibo_pipeline import extract_weibo_account, transform_weibo_day
from tests.conftest import DATA_DATE

BRAND_UID = "6000000001"
EMPLOYEE_UID = "6000000101"
APPID = "wx5348000000000001"
TODAY = DATA_DATE + timedelta(days=1)
WINDOW = RunWindow.for_date(DATA_DATE, 7)
BIG_ID = "99999999999999999999"  # beyond int64


def registry():
    return load_registry(PROJECT_ROOT / "config" / "accounts.yml", lookup=None)


def weibo_client(server: SandboxServer, timeout: float = 0.5) -> WeiboClient:
    return WeiboClient(
        WeiboSettings(
            base_url=f"{server.base_url}/2/",
            timeout_seconds=timeout,
            retry=RetryPolicy(max_attempts=4, base_delay_seconds=0.01),
        )
    )


def wechat_client(server: SandboxServer, token_dir: Path) -> WeChatClient:
    settings = WeChatSettings(base_url=f"{server.base_url}/", retry=RetryPolicy(base_delay_seconds=0.01))
    return WeChatClient(settings, server.wechat_world.secret_for, FileTokenStore(token_dir))


def weibo_task(uid: str, tracked: list | None = None) -> dict:
    return {"account_id": uid, "since_id": None, "backfill": False, "tracked": tracked or []}


def wechat_task() -> dict:
    return {"account_id": APPID, "since_update_time": None, "backfill": False}


def window_post_ids(server: SandboxServer, uid: str) -> list[str]:
    """Ids of the account's posts in the tracking window up to the end of DATA_DATE, newest first."""
    start, end = WINDOW.tracking_from, WINDOW.interval_end
    return [s["idstr"] for s in server.world.posts(uid, server.now()) if start <= _created(s) < end]


def _created(status: dict):
    from transforms.weibo_status import parse_created_at

    return parse_created_at(status["created_at"])


def corrupt_posts(monkeypatch: pytest.MonkeyPatch, server: SandboxServer, changes: dict[str, dict]) -> None:
    """Make the sandbox render the posts in `changes` (by idstr) with those fields changed (None:
    removed), in timelines as in reposts."""
    world = server.world
    render = world.render

    def corrupted(post, now, trim_user=False):
        status = render(post, now, trim_user)
        for field, value in changes.get(str(post.id), {}).items():
            if value is None:
                status.pop(field, None)
            else:
                status[field] = value
        return status

    monkeypatch.setattr(world, "render", corrupted)


def assert_no_secret(rows: list[dict], *secrets: str) -> None:
    for row in rows:
        for value in row.values():
            for secret in secrets:
                assert secret not in str(value)


# --- Weibo: ids and dates --------------------------------------------------------------------------


def test_weibo_posts_with_bad_dates_or_ids_are_quarantined_and_never_become_the_bookmark(
    sandbox, tmp_path: Path, monkeypatch, caplog
) -> None:
    caplog.set_level(logging.WARNING)
    ids = window_post_ids(sandbox, BRAND_UID)
    assert len(ids) >= 6, "the sandbox account must post several times a day for this test"
    newest, relative, missing, letters = ids[0], ids[1], ids[2], ids[3]
    corrupt_posts(
        monkeypatch,
        sandbox,
        {
            newest: {"id": int(BIG_ID), "idstr": BIG_ID, "mid": BIG_ID},
            relative: {"created_at": "2小时前"},
            missing: {"created_at": None},
            letters: {"id": "abc", "idstr": "abc"},
        },
    )
    lake = RawLake(tmp_path / "lake")
    token = sandbox.world.token_for(BRAND_UID)
    account = registry().account("weibo", BRAND_UID)
    result = extract_weibo_account(
        weibo_client(sandbox), lake, account, weibo_task(BRAND_UID), token, WINDOW, "r1"
    )
    assert result["status"] == "ok", result["message"]
    assert result["quarantined"] == 4
    assert result["bookmark"] == ids[4]  # the newest readable post, never the id beyond int64
    assert BIG_ID not in str(result)

    rows = lake.quarantined("weibo", DATA_DATE)
    assert len(rows) == 4 and {r["stage"] for r in rows} == {"extract"}
    assert {r["endpoint"] for r in rows} == {TIMELINE}
    assert {r["account_id"] for r in rows} == {BRAND_UID}
    assert all(r["data_date"] == DATA_DATE and r["reason"] and r["requested_at"] for r in rows)
    reasons = " ".join(r["reason"] for r in rows)
    assert "2小时前" in reasons and "no created_at" in reasons and "int64" in reasons and "'abc'" in reasons
    assert json.loads(next(r["record"] for r in rows if "int64" in r["reason"]))["idstr"] == BIG_ID
    assert_no_secret(rows, token)
    for fragment in (TIMELINE, BRAND_UID, str(DATA_DATE), "quarantined"):
        assert fragment in caplog.text

    # The transform reads the same lake: the good posts load, the bad ones are quarantined again.
    day = transform_weibo_day(lake.read("weibo", DATA_DATE), registry=registry(), window=WINDOW)
    loaded = {row["post_id"] for row in day.posts}
    assert ids[4] in loaded and not loaded & {newest, relative, missing, letters, BIG_ID, "abc"}
    assert len([r for r in lake.quarantined("weibo", DATA_DATE) if r["stage"] == "transform"]) == 4
    # ... and a re-run rewrites its quarantine instead of adding copies
    transform_weibo_day(lake.read("weibo", DATA_DATE), registry=registry(), window=WINDOW)
    assert len([r for r in lake.quarantined("weibo", DATA_DATE) if r["stage"] == "transform"]) == 4

    summary = check_results([result], DATA_DATE, "weibo")
    assert any("4 records quarantined" in line and BRAND_UID in line for line in summary)


def test_a_page_of_only_bad_ids_stops_paging_without_looping(sandbox, monkeypatch) -> None:
    ids = [s["idstr"] for s in sandbox.world.posts(BRAND_UID, sandbox.now())]
    corrupt_posts(monkeypatch, sandbox, {post_id: {"id": "x", "idstr": "x"} for post_id in ids})
    seen: list[str] = []
    pages = list(
        iter_timeline(
            weibo_client(sandbox),
            uid=BRAND_UID,
            token=sandbox.world.token_for(BRAND_UID),
            since_id=None,
            stop_before=WINDOW.tracking_from,
            page_size=len(ids),
            on_malformed=lambda endpoint, record, reason: seen.append(reason),
        )
    )
    assert pages == [[]] and len(seen) == len(ids)


# --- Weibo: text -----------------------------------------------------------------------------------


def test_lone_surrogates_and_nul_are_made_safe_and_the_day_loads(
    pipeline_env: Path, sandbox, monkeypatch, caplog
) -> None:
    from shengliang import jobs, settings
    from warehouse.connect import open_warehouse

    ids = window_post_ids(sandbox, BRAND_UID)
    corrupt_posts(
        monkeypatch,
        sandbox,
        {
            ids[0]: {"text": "新品\ud83d上市"},  # half an emoji: the sandbox escapes it, as Weibo does
            ids[1]: {"text": "门店\x00开业\x00"},
            ids[2]: {"created_at": "2小时前"},
        },
    )
    caplog.set_level(logging.WARNING)
    jobs.run_day("weibo", DATA_DATE)
    with open_warehouse(settings.warehouse_url()) as engine, engine.connect() as conn:
        texts = dict(
            conn.execute(
                text("SELECT post_id, text FROM fct_post WHERE post_id IN (:a, :b, :c)"),
                {"a": ids[0], "b": ids[1], "c": ids[2]},
            ).all()
        )
        bookmark = conn.execute(
            text("SELECT bookmark FROM etl_extraction_state WHERE account_id = :a"), {"a": BRAND_UID}
        ).scalar_one()
    assert texts == {ids[0]: "新品\ufffd上市", ids[1]: "门店开业"}
    assert bookmark == ids[0]
    assert "1 records quarantined" in caplog.text and BRAND_UID in caplog.text


# --- Weibo: counts ---------------------------------------------------------------------------------


def test_counts_are_parsed_and_unknown_counts_are_null_with_a_warning_not_zero(
    sandbox, tmp_path: Path, monkeypatch, caplog
) -> None:
    ids = window_post_ids(sandbox, BRAND_UID)
    parsed, unknown = ids[0], ids[1]
    corrupt_posts(
        monkeypatch,
        sandbox,
        {
            parsed: {"reposts_count": "100万+", "comments_count": "3.5万", "attitudes_count": "10w+"},
            unknown: {"reposts_count": "很多", "comments_count": -5, "attitudes_count": None},
        },
    )
    caplog.set_level(logging.WARNING)
    lake = RawLake(tmp_path / "lake")
    result = extract_weibo_account(
        weibo_client(sandbox),
        lake,
        registry().account("weibo", BRAND_UID),
        weibo_task(BRAND_UID),
        sandbox.world.token_for(BRAND_UID),
        WINDOW,
        "r1",
    )
    assert result["status"] == "ok" and result["quarantined"] == 0  # counts do not make a post unreadable
    day = transform_weibo_day(lake.read("weibo", DATA_DATE), registry=registry(), window=WINDOW)
    engagement = {row["post_id"]: row for row in day.engagement}
    assert (engagement[parsed]["reposts"], engagement[parsed]["comments"], engagement[parsed]["likes"]) == (
        1_000_000,
        35_000,
        100_000,
    )
    # Never a made-up 0: NULL where the warehouse takes it, else no snapshot at all.
    row = engagement.get(unknown)
    assert row is None or (row["reposts"], row["comments"], row["likes"], row["engagement"]) == (None,) * 4
    assert unknown in {p["post_id"] for p in day.posts}
    assert "stored as NULL" in caplog.text and unknown in caplog.text and "'很多'" in caplog.text


# --- Weibo: a response of the wrong shape already in the lake ---------------------------------------


def test_counts_answering_an_object_do_not_poison_the_day_or_its_rebuild(
    pipeline_env: Path, sandbox, tmp_path: Path
) -> None:
    from shengliang import jobs, settings

    sandbox.add_route(
        Route("GET", "/2/statuses/count.json", "weibo", COUNTS, lambda server, req: {"counts": "soon"})
    )
    lake = RawLake(settings.lake_dir())
    reg = registry()
    tracked = [["1", None]]  # a known post the timeline does not bring: its counts are asked for
    client = weibo_client(sandbox)
    results = [
        extract_weibo_account(
            client,
            lake,
            reg.account("weibo", uid),
            weibo_task(uid, tracked if uid == BRAND_UID else None),
            sandbox.world.token_for(uid),
            WINDOW,
            "r1",
        )
        for uid in (BRAND_UID, EMPLOYEE_UID)
    ]
    assert [r["status"] for r in results] == ["error", "ok"]  # the answer is refused; the other goes on
    assert "expected a list" in results[0]["message"] and BRAND_UID in results[0]["message"]
    with pytest.raises(RunIncomplete, match=BRAND_UID):
        check_results(results, DATA_DATE, "weibo")

    # The refused answer is in the lake: the transform and every rebuild quarantine it and go on.
    for _ in range(2):
        counts = jobs.rebuild("weibo", DATA_DATE)
        assert counts.posts > 0
    rows = [r for r in lake.quarantined("weibo", DATA_DATE) if r["stage"] == "transform"]
    assert len(rows) == 1 and rows[0]["endpoint"] == COUNTS and rows[0]["account_id"] == BRAND_UID
    assert "expected a list" in rows[0]["reason"] and json.loads(rows[0]["record"]) == {"counts": "soon"}
    assert_no_secret(rows, sandbox.world.token_for(BRAND_UID))


# --- Weibo: one account's failure ------------------------------------------------------------------


def test_an_unexpected_failure_of_one_account_never_fails_the_batch(
    pipeline_env: Path, sandbox, monkeypatch
) -> None:
    from shengliang import jobs, weibo_pipeline

    fetch_user = weibo_pipeline.fetch_user

    def broken(client, *, uid, token, on_response=None):
        if uid == BRAND_UID:
            raise RuntimeError(f"surprise at https://api.example/?access_token={token}")
        return fetch_user(client, uid=uid, token=token, on_response=on_response)

    monkeypatch.setattr(weibo_pipeline, "fetch_user", broken)
    ids = window_post_ids(sandbox, EMPLOYEE_UID) or window_post_ids(sandbox, BRAND_UID)
    corrupt_posts(monkeypatch, sandbox, {ids[0]: {"created_at": "2小时前"}})
    batch = [task for batch in jobs.plan("weibo", DATA_DATE) for task in batch]
    results = jobs.extract("weibo", batch, DATA_DATE)
    by_account = {r["account_id"]: r for r in results}
    assert len(results) == len(batch) >= 2
    assert by_account[BRAND_UID]["status"] == "error" and by_account[BRAND_UID]["bookmark"] is None
    message = by_account[BRAND_UID]["message"]
    assert "RuntimeError" in message and str(DATA_DATE) in message
    assert sandbox.world.token_for(BRAND_UID) not in message and "access_token=***" in message
    assert all(r["status"] == "ok" for uid, r in by_account.items() if uid != BRAND_UID)
    assert sum(r["quarantined"] for r in results) == 1


# --- HTTP: a body cut short ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["truncated", "drop"])
def test_a_body_cut_short_or_a_dropped_connection_is_retried_like_a_5xx(sandbox, kind: str) -> None:
    token = sandbox.world.token_for(BRAND_UID)

    def read(client):
        return [
            s["idstr"]
            for page in iter_timeline(
                client, uid=BRAND_UID, token=token, since_id=None, stop_before=WINDOW.tracking_from
            )
            for s in page
        ]

    clean = read(weibo_client(sandbox))
    sandbox.fail_next(2, kind)
    client = weibo_client(sandbox)
    assert read(client) == clean
    assert client.http.call_counts[TIMELINE] == 3  # two broken answers, then the page


def test_a_wechat_body_cut_short_is_retried(sandbox, tmp_path: Path) -> None:
    client = wechat_client(sandbox, tmp_path)
    client.datacube("getusercumulate", DATA_DATE, DATA_DATE, appid=APPID, today=TODAY)  # token first
    sandbox.fail_next(1, "truncated")
    rows = client.datacube("getusercumulate", DATA_DATE, DATA_DATE, appid=APPID, today=TODAY)
    assert rows and rows[0]["cumulate_user"] == sandbox.wechat_world.followers(APPID, DATA_DATE)


# --- WeChat ----------------------------------------------------------------------------------------


def test_wechat_items_without_update_time_and_bad_ref_dates_are_quarantined(
    pipeline_env: Path, sandbox, monkeypatch, caplog
) -> None:
    from shengliang import jobs, settings

    world = sandbox.wechat_world
    messages, cumulate = world.messages, world.user_cumulate

    def without_update_time(appid, until, no_content=False):
        items = messages(appid, until, no_content)
        if items:
            items[0] = {k: v for k, v in items[0].items() if k != "update_time"}
        return items

    def slashed(appid, day):
        row = cumulate(appid, day)
        return {**row, "ref_date": day.strftime("%Y/%m/%d")} if day == DATA_DATE else row

    monkeypatch.setattr(world, "messages", without_update_time)
    monkeypatch.setattr(world, "user_cumulate", slashed)
    caplog.set_level(logging.WARNING)
    lake = RawLake(settings.lake_dir())
    result = extract_wechat_account(
        wechat_client(sandbox, tmp_path := pipeline_env / "tokens"),
        lake,
        registry().account("wechat", APPID),
        wechat_task(),
        WINDOW,
        "r1",
        TODAY,
    )
    assert tmp_path.exists()
    assert result["status"] == "ok", result["message"]
    assert result["quarantined"] == 2
    extract_rows = lake.quarantined("wechat", DATA_DATE)
    assert {r["endpoint"] for r in extract_rows} == {BATCHGET, "datacube/getusercumulate"}
    reasons = " ".join(r["reason"] for r in extract_rows)
    assert "no update_time" in reasons and "'2026/11/10' is not a YYYY-MM-DD date" in reasons
    for fragment in ("getusercumulate", APPID, str(DATA_DATE), "quarantined"):
        assert fragment in caplog.text

    day = transform_wechat_day(lake.read("wechat", DATA_DATE), registry=registry(), window=WINDOW)
    assert day.account_daily  # the other figures of the day are there
    # The rebuild reads the lake: it loads the day, twice, quarantining what it cannot read.
    for _ in range(2):
        jobs.rebuild("wechat", DATA_DATE)
    transform_rows = [r for r in lake.quarantined("wechat", DATA_DATE) if r["stage"] == "transform"]
    assert len(transform_rows) == 2
    secret = world.secret_for(APPID)
    token = FileTokenStore(tmp_path).read(APPID).access_token
    assert_no_secret(lake.quarantined("wechat", DATA_DATE), secret, token)
    assert any("2 records quarantined" in line for line in check_results([result], DATA_DATE, "wechat"))


def test_a_bookmark_that_is_not_a_valid_id_does_not_freeze_the_account(pipeline_env: Path, sandbox) -> None:
    """An account frozen by an earlier run (since_id beyond int64) reads its window again."""
    from datetime import datetime

    from shengliang import jobs, settings
    from warehouse.connect import open_warehouse
    from warehouse.load import DayLoad, load_day

    frozen = DayLoad(platform="weibo", data_date=DATA_DATE - timedelta(days=1))
    frozen.bookmarks = [
        {
            "platform": "weibo",
            "account_id": BRAND_UID,
            "stream": TIMELINE,
            "bookmark": BIG_ID,
            "bookmark_at": datetime(2026, 11, 9, 12),
        }
    ]
    with open_warehouse(settings.warehouse_url()) as engine:
        load_day(engine, frozen)
    tasks = {t["account_id"]: t for batch in jobs.plan("weibo", DATA_DATE) for t in batch}
    assert tasks[BRAND_UID]["since_id"] is None and not tasks[BRAND_UID]["backfill"]
    result = jobs.extract("weibo", [tasks[BRAND_UID]], DATA_DATE)[0]
    assert result["status"] == "ok" and result["posts_fetched"] > 0


def test_a_bad_entry_inside_a_good_counts_answer_and_unknown_followers(
    sandbox, tmp_path: Path, monkeypatch, caplog
) -> None:
    world = sandbox.world
    count_entry, user = world.count_entry, world.user

    def entries(post_id, now):
        entry = count_entry(post_id, now)
        return {**entry, "id": "x", "idstr": "x"} if entry and str(post_id) == tracked[0][0] else entry

    monkeypatch.setattr(world, "count_entry", entries)
    monkeypatch.setattr(world, "user", lambda uid, now: {**user(uid, now), "followers_count": "很多"})
    # Posts from before the timeline's window: statuses/count is asked for them.
    old: list[str] = []
    back = world.config.days + 1
    while len(old) < 2:
        old += [str(p.id) for p in world._day_posts(BRAND_UID, DATA_DATE - timedelta(days=back))]
        back += 1
    tracked = [[old[0], None], [old[1], None]]
    caplog.set_level(logging.WARNING)
    lake = RawLake(tmp_path / "lake")
    result = extract_weibo_account(
        weibo_client(sandbox),
        lake,
        registry().account("weibo", BRAND_UID),
        weibo_task(BRAND_UID, tracked),
        sandbox.world.token_for(BRAND_UID),
        WINDOW,
        "r1",
    )
    assert result["status"] == "ok" and result["quarantined"] == 1
    assert [r["endpoint"] for r in lake.quarantined("weibo", DATA_DATE)] == [COUNTS]
    day = transform_weibo_day(
        lake.read("weibo", DATA_DATE),
        registry=registry(),
        window=WINDOW,
        plan=[weibo_task(BRAND_UID, tracked)],
    )
    refreshed = {row["post_id"] for row in day.engagement}
    assert old[1] in refreshed and old[0] not in refreshed
    brand = next(row for row in day.accounts if row["account_id"] == BRAND_UID)
    assert brand["followers"] is None
    assert "followers_count '很多' missing or unparseable, stored as NULL" in caplog.text


def test_article_rows_without_msgid_or_with_bad_stat_dates_are_quarantined(
    sandbox, tmp_path: Path, monkeypatch
) -> None:
    world = sandbox.wechat_world
    totals = world.article_totals

    def damaged(appid, ref_date, last_stat_date):
        rows = totals(appid, ref_date, last_stat_date)
        if rows:
            rows[0] = {k: v for k, v in rows[0].items() if k != "msgid"}
        if len(rows) > 1 and rows[1]["details"]:
            rows[1]["details"][0] = {**rows[1]["details"][0], "stat_date": "20261110"}
        return rows

    monkeypatch.setattr(world, "article_totals", damaged)
    lake = RawLake(tmp_path / "lake")
    result = extract_wechat_account(
        wechat_client(sandbox, tmp_path / "tokens"),
        lake,
        registry().account("wechat", APPID),
        wechat_task(),
        WINDOW,
        "r1",
        TODAY,
    )
    assert result["status"] == "ok", result["message"]
    bad = lake.quarantined("wechat", DATA_DATE)
    assert result["quarantined"] == len(bad) >= 1
    assert {r["endpoint"] for r in bad} == {"datacube/getarticletotal"}
    day = transform_wechat_day(lake.read("wechat", DATA_DATE), registry=registry(), window=WINDOW)
    assert day.account_daily
    assert len([r for r in lake.quarantined("wechat", DATA_DATE) if r["stage"] == "transform"]) == len(bad)


def test_a_token_lookup_that_raises_lets_the_other_accounts_run_then_fails_the_task(
    pipeline_env: Path, sandbox
) -> None:
    from shengliang import jobs
    from shengliang.registry import env_lookup

    class BackendDown(Exception):
        pass

    def lookup(ref):
        if ref.env and ref.env.endswith(BRAND_UID):
            raise BackendDown("the secrets backend did not answer")
        return env_lookup(ref)

    batch = [task for batch in jobs.plan("weibo", DATA_DATE) for task in batch]
    assert batch[0]["account_id"] == BRAND_UID and len(batch) >= 2
    with pytest.raises(BackendDown):
        jobs.extract("weibo", batch, DATA_DATE, lookup=lookup)  # raised: the task is retried
    others = {t["account_id"] for t in batch} - {BRAND_UID}
    assert sandbox.call_counts["users/show"] == len(others)  # ... after the other accounts were read
