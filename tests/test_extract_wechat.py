"""The WeChat token service and extractors against the sandbox over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import pyarrow.parquet as pq
import pytest

from extractors.errors import PermissionDeniedError, QuotaExhaustedError
from extractors.http import HttpResponse, RetryPolicy
from extractors.lake import RawLake
from extractors.wechat import FileTokenStore, WeChatClient, WeChatSettings
from shengliang.daily import RunIncomplete, RunWindow, check_results
from shengliang.registry import load_registry
from shengliang.settings import PROJECT_ROOT
from shengliang.wechat_pipeline import extract_wechat_account
from tests.conftest import DATA_DATE

APPID = "wx5348000000000001"
TODAY = DATA_DATE + timedelta(days=1)


def client_for(sandbox, token_dir: Path) -> WeChatClient:
    settings = WeChatSettings(base_url=f"{sandbox.base_url}/", retry=RetryPolicy(base_delay_seconds=0.01))
    return WeChatClient(settings, sandbox.wechat_world.secret_for, FileTokenStore(token_dir))


def account():
    return load_registry(PROJECT_ROOT / "config" / "accounts.yml", lookup=None).account("wechat", APPID)


def task() -> dict:
    return {"account_id": APPID, "since_update_time": None, "backfill": False}


# --- the lake, read as values ----------------------------------------------------------------------


def _strings_in(value: Any, depth: int = 0) -> Iterator[str]:
    """Every string a lake value holds: itself, URL-decoded, and, where it is JSON, every key and
    leaf of the decoded document (JSON inside JSON too), so escapes such as \\/ or \\u0041 hide nothing."""
    if value is None or depth > 8:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _strings_in(key, depth + 1)
            yield from _strings_in(item, depth + 1)
        return
    if isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings_in(item, depth + 1)
        return
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    text = str(value)
    yield text
    yield unquote_plus(text)
    stripped = text.strip()
    if stripped[:1] in ("{", "[", '"'):
        try:
            decoded = json.loads(stripped)
        except ValueError:
            return
        yield from _strings_in(decoded, depth + 1)


def secrets_in_lake(root: Path, secrets: Iterable[str]) -> list[str]:
    """Where any of `secrets` occurs in the lake under `root`: every Parquet file read with pyarrow,
    every column of every row (decoded strings and JSON payloads), the schema metadata and the paths.
    Returns "file:column:row" for each hit; [] means the lake is clean."""
    secrets = [s for s in secrets if s]
    assert secrets, "no secret values to look for: the check would prove nothing"
    files = sorted(Path(root).rglob("*.parquet"))
    hits: list[str] = []
    for path in files:
        where = str(path.relative_to(root))
        if any(s in where for s in secrets):
            hits.append(f"{where}:<path>")
        table = pq.read_table(path)
        for key, value in (table.schema.metadata or {}).items():
            if any(s in text for text in _strings_in([key, value]) for s in secrets):
                hits.append(f"{where}:<metadata>")
        for name in table.column_names:
            for row, value in enumerate(table.column(name).to_pylist()):
                if any(s in text for text in _strings_in(value) for s in secrets):
                    hits.append(f"{where}:{name}:{row}")
    return hits


def lake_rows(root: Path) -> int:
    return sum(pq.read_metadata(p).num_rows for p in Path(root).rglob("*.parquet"))


def test_the_lake_check_finds_a_token_inside_a_response_body(tmp_path: Path) -> None:
    """The value check must fail on a lake that holds a token, in whatever form a body carries it;
    the old byte search over the zstd-compressed files misses the escaped forms."""
    token = "2.00AbCdEfGhIjKlMnOpQrStUv/Wxyz"  # a "/" that JSON may write as "\\/"
    bodies = {
        "plain": json.dumps({"access_token": token}),
        "escaped_slash": json.dumps({"echo": token}).replace("/", "\\/"),
        "unicode_escaped": '{"echo": "' + "".join(f"\\u{ord(c):04x}" for c in token) + '"}',
        "url_encoded": json.dumps(
            {"next": "https://api.weibo.com/2/x.json?access_token=" + token.replace("/", "%2F")}
        ),
        "json_in_json": json.dumps({"payload": json.dumps({"t": token}).replace("/", "\\/")}),
    }
    for kind, body in bodies.items():
        lake = RawLake(tmp_path / kind)
        buffer = lake.buffer("wechat", DATA_DATE, APPID, "r1")
        for n in range(3):  # a few harmless rows around the bad one
            buffer.add("datacube/getusersummary", {"n": n}, HttpResponse(200, {}, '{"list": []}', 0.0))
        buffer.add("datacube/getusersummary", {"n": 3}, HttpResponse(200, {}, body, 0.0))
        buffer.flush()
        hits = secrets_in_lake(tmp_path / kind, [token])
        assert len(hits) == 1 and hits[0].endswith(":body:3"), (kind, hits)
        assert secrets_in_lake(tmp_path / kind, ["not-in-the-lake"]) == []
    raw = (tmp_path / "escaped_slash").rglob("*.parquet")
    assert all(token not in p.read_bytes().decode("latin-1") for p in raw), "the byte search would pass"


def test_one_token_is_reused_across_calls_and_workers(sandbox, tmp_path: Path) -> None:
    first, second = client_for(sandbox, tmp_path), client_for(sandbox, tmp_path)  # two workers, one store
    for client in (first, second, first):
        rows = client.datacube("getusercumulate", DATA_DATE, DATA_DATE, appid=APPID, today=TODAY)
        assert rows and rows[0]["cumulate_user"] == sandbox.wechat_world.followers(APPID, DATA_DATE)
    assert sandbox.call_counts["cgi-bin/stable_token"] == 1
    assert sandbox.call_counts["cgi-bin/token"] == 0
    assert first.tokens.fetches + second.tokens.fetches == 1


def test_an_expired_token_gives_exactly_one_refresh_and_one_retry(sandbox, tmp_path: Path) -> None:
    client = client_for(sandbox, tmp_path)
    client.datacube("getusersummary", DATA_DATE, DATA_DATE, appid=APPID, today=TODAY)
    sandbox.reset_counts()
    sandbox.expire_wechat_tokens(APPID)
    rows = client.datacube("getusersummary", DATA_DATE, DATA_DATE, appid=APPID, today=TODAY)
    assert rows
    assert sandbox.call_counts["cgi-bin/stable_token"] == 1
    assert sandbox.wechat_force_refreshes[APPID] == 1
    assert sandbox.call_counts["datacube/getusersummary"] == 2


def test_the_secret_and_token_never_appear_in_logs_or_the_lake(sandbox, tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    lake = RawLake(tmp_path / "lake")
    client = client_for(sandbox, tmp_path / "tokens")
    sandbox.expire_wechat_tokens(APPID)
    window = RunWindow.for_date(DATA_DATE, 7)
    result = extract_wechat_account(client, lake, account(), task(), window, "r1", TODAY)
    assert result["status"] == "ok" and "stable_token" in caplog.text
    secret = sandbox.wechat_world.secret_for(APPID)
    token = FileTokenStore(tmp_path / "tokens").read(APPID).access_token
    assert lake_rows(tmp_path / "lake") > 0  # the lake really holds the run's answers
    assert secrets_in_lake(tmp_path / "lake", [secret, token]) == []
    for value in (secret, token):
        assert value not in caplog.text and value not in str(result["message"])


def test_retired_article_endpoints_fall_back_once_per_run(sandbox, tmp_path: Path, caplog) -> None:
    sandbox.wechat_retire_legacy_article_endpoints = True
    client = client_for(sandbox, tmp_path)
    result = extract_wechat_account(
        client, RawLake(tmp_path / "lake"), account(), task(), RunWindow.for_date(DATA_DATE, 7), "r1", TODAY
    )
    assert result["status"] == "ok"
    assert sandbox.call_counts["datacube/getarticletotal"] == 1  # the 47009, then never again
    assert sandbox.call_counts["datacube/getarticletotaldetail"] == 7
    assert sandbox.call_counts["datacube/getarticlesummary"] == 1
    assert sandbox.call_counts["datacube/getarticleread"] == 1
    assert caplog.text.count("is retired (47009)") == 2  # once per endpoint family member


def test_daily_quota_stops_that_endpoint_without_a_loop(sandbox, tmp_path: Path) -> None:
    sandbox.wechat_daily_quota[(APPID, "getarticletotal")] = 2
    client = client_for(sandbox, tmp_path)
    result = extract_wechat_account(
        client, RawLake(tmp_path / "lake"), account(), task(), RunWindow.for_date(DATA_DATE, 7), "r1", TODAY
    )
    assert sandbox.call_counts["datacube/getarticletotal"] == 3  # two answers, one 45009, then stop
    assert result["status"] == "rate_limited"
    assert (
        "45009" in result["message"] and APPID in result["message"] and "getarticletotal" in result["message"]
    )
    assert sandbox.call_counts["datacube/getusersummary"] == 1  # the other endpoints went on
    with pytest.raises(QuotaExhaustedError, match="not called again"):
        client.datacube("getarticletotal", DATA_DATE, DATA_DATE, appid=APPID, today=TODAY)
    assert sandbox.call_counts["datacube/getarticletotal"] == 3
    assert check_results([result], DATA_DATE, "wechat") == [result["message"]]


def test_missing_permission_names_the_account(sandbox, tmp_path: Path) -> None:
    sandbox.wechat_unauthorized_apps.add(APPID)
    client = client_for(sandbox, tmp_path)
    with pytest.raises(PermissionDeniedError, match=f"account {APPID}.*lacks permission"):
        client.datacube("getusersummary", DATA_DATE, DATA_DATE, appid=APPID, today=TODAY)
    result = extract_wechat_account(
        client, RawLake(tmp_path / "lake"), account(), task(), RunWindow.for_date(DATA_DATE, 7), "r1", TODAY
    )
    assert result["status"] == "error"
    assert (
        "山海茶饮公众号" in result["message"] and APPID in result["message"] and "48001" in result["message"]
    )
    with pytest.raises(RunIncomplete, match="山海茶饮公众号"):
        check_results([result], DATA_DATE, "wechat")


# --- 5xx, timeouts and errcode -1 (system busy), injected by the sandbox over HTTP ------------------


def faulty_client(sandbox, token_dir: Path, *, max_attempts: int = 5, timeout: float = 0.3) -> WeChatClient:
    settings = WeChatSettings(
        base_url=f"{sandbox.base_url}/",
        timeout_seconds=timeout,
        retry=RetryPolicy(max_attempts=max_attempts, base_delay_seconds=0.01),
    )
    client = WeChatClient(settings, sandbox.wechat_world.secret_for, FileTokenStore(token_dir))
    client.tokens.token(APPID)  # the token first, so that the injected faults hit the endpoint under test
    return client


def lake_answers(root: Path) -> list[tuple[str, str, str, int, str]]:
    """The lake's rows without their request time: (endpoint, account, params, status, body), sorted."""
    return sorted(
        (r["endpoint"], r["account_id"], r["params"], r["http_status"], r["body"])
        for p in Path(root).rglob("*.parquet")
        for r in pq.read_table(p).to_pylist()
    )


@pytest.mark.parametrize("kind", ["503", "500", "502", "busy", "timeout"])
def test_a_5xx_timeout_or_busy_answer_is_retried_and_loses_nothing(sandbox, tmp_path: Path, kind) -> None:
    client = faulty_client(sandbox, tmp_path)
    clean = client.datacube("getusersummary", DATA_DATE, DATA_DATE, appid=APPID, today=TODAY)
    assert clean
    sandbox.reset_counts()
    sandbox.timeout_sleep_seconds = 1.0  # > the client's 0.3 s
    sandbox.fail_next(3, kind)
    retried = client.datacube("getusersummary", DATA_DATE, DATA_DATE, appid=APPID, today=TODAY)
    assert retried == clean
    assert sandbox.call_counts["datacube/getusersummary"] == 4  # three faults, then the answer
    assert client.http.call_counts["datacube/getusersummary"] == 5  # the clean call, then four


def test_a_whole_day_under_random_faults_stores_what_a_clean_day_stores(sandbox, tmp_path: Path) -> None:
    window = RunWindow.for_date(DATA_DATE, 7)
    clean = extract_wechat_account(
        faulty_client(sandbox, tmp_path / "t1"),
        RawLake(tmp_path / "clean"),
        account(),
        task(),
        window,
        "r1",
        TODAY,
    )
    assert clean["status"] == "ok" and clean["posts_fetched"] > 0
    sandbox.reset_counts()
    sandbox.error_rate = 0.3  # WeChat faults: errcode -1 in a 200, HTTP 500, nginx 502 (seeded)
    sandbox.timeout_rate = 0.05
    sandbox.timeout_sleep_seconds = 1.0
    client = faulty_client(sandbox, tmp_path / "t2", max_attempts=12)
    sandbox.fail_next(1, "busy")
    sandbox.fail_next(1, "503")
    sandbox.fail_next(1, "timeout")
    faulty = extract_wechat_account(
        client, RawLake(tmp_path / "faulty"), account(), task(), window, "r2", TODAY
    )
    assert faulty["status"] == "ok", faulty["message"]
    assert sum(sandbox.call_counts.values()) > clean["api_calls"] + 3  # the faults really happened
    assert {k: faulty[k] for k in ("posts_fetched", "bookmark")} == {
        k: clean[k] for k in ("posts_fetched", "bookmark")
    }
    assert lake_answers(tmp_path / "faulty") == lake_answers(tmp_path / "clean")


@pytest.mark.parametrize("kind", ["502", "503", "busy", "timeout"])
def test_a_fault_that_persists_fails_the_account_naming_account_date_and_endpoint(
    sandbox, tmp_path: Path, kind
) -> None:
    client = faulty_client(sandbox, tmp_path / "tokens")
    sandbox.reset_counts()
    sandbox.timeout_sleep_seconds = 1.0
    sandbox.fail_next(5, kind)
    window = RunWindow.for_date(DATA_DATE, 7)
    result = extract_wechat_account(
        client, RawLake(tmp_path / "lake"), account(), task(), window, "r1", TODAY
    )
    assert result["status"] == "error"
    message = result["message"]
    for fragment in (APPID, str(DATA_DATE), "cgi-bin/freepublish/batchget", "gave up after 5 attempts"):
        assert fragment in message, (fragment, message)
    expected = {
        "502": "HTTP 502",  # nginx's HTML page
        "503": "system busy",  # a 503 whose body is {"errcode": -1}: the code is the diagnosis
        "busy": "system busy",  # HTTP 200 {"errcode": -1}
        "timeout": "no answer within 0.3s",
    }[kind]
    assert expected in message
    assert sandbox.call_counts["cgi-bin/freepublish/batchget"] == 5  # retried, then given up
    with pytest.raises(RunIncomplete, match=APPID):
        check_results([result], DATA_DATE, "wechat")


def test_errcode_minus_1_that_persists_on_a_datacube_endpoint_names_it(sandbox, tmp_path: Path) -> None:
    """System busy on one statistics endpoint only, after the articles were read: the account fails
    naming that endpoint, and what was read before stays in the lake."""
    import dataclasses

    from sandbox.server import WeChatApiError

    key = ("POST", "/datacube/getuserread")
    route = sandbox.routes[key]

    def busy(server, req):
        raise WeChatApiError(-1, "system error")

    sandbox.routes[key] = dataclasses.replace(route, handler=busy)
    client = faulty_client(sandbox, tmp_path / "tokens")
    window = RunWindow.for_date(DATA_DATE, 7)
    result = extract_wechat_account(
        client, RawLake(tmp_path / "lake"), account(), task(), window, "r1", TODAY
    )
    assert result["status"] == "error"
    for fragment in (APPID, str(DATA_DATE), "datacube/getuserread", "system busy", "(error -1)"):
        assert fragment in result["message"], (fragment, result["message"])
    assert sandbox.call_counts["datacube/getuserread"] == 5
    stored = {r[0] for r in lake_answers(tmp_path / "lake")}
    assert {"cgi-bin/freepublish/batchget", "datacube/getusersummary"} <= stored


# --- idempotency, row by row ----------------------------------------------------------------------

# Every WeChat table, with how to pick its WeChat rows. Compared column by column except the columns
# that record when a load or an API read happened, which a second run moves on purpose.
WECHAT_TABLES = {
    "fct_article": "TRUE",
    "fct_article_daily": "TRUE",
    "fct_account_daily": "account_key LIKE 'wechat:%'",
    "dim_account": "platform = 'wechat'",
    "fct_post_term": "platform = 'wechat'",
    "fct_post_keyword": "platform = 'wechat'",
    "fct_term_daily": "platform = 'wechat'",
    "etl_extraction_state": "platform = 'wechat'",
    "etl_account_run": "platform = 'wechat'",
}
MUST_HOLD_ROWS = ("fct_article", "fct_article_daily", "fct_account_daily", "dim_account", "fct_post_term")
MOVING_COLUMNS = {
    "updated_at": "the time of the last load that touched the row",
    "observed_at": "the time of the latest API read: the second run reads the API again",
}
# etl_account_run records the run itself: a second run fetches no new article (the bookmark) and makes
# its own calls at its own time. Its status and message must not change.
RUN_COLUMNS = {"etl_account_run": {"posts_fetched", "api_calls", "finished_at"}}


def wechat_rows(url: str) -> dict[str, list[dict[str, Any]]]:
    from sqlalchemy import text

    from warehouse import schema
    from warehouse.connect import open_warehouse

    rows: dict[str, list[dict[str, Any]]] = {}
    with open_warehouse(url) as engine, engine.connect() as conn:
        for name, where in WECHAT_TABLES.items():
            table = schema.metadata.tables[name]
            skip = set(MOVING_COLUMNS) | RUN_COLUMNS.get(name, set())
            columns = [c.name for c in table.columns if c.name not in skip]
            order = ", ".join(c.name for c in table.primary_key.columns)
            query = f"SELECT {', '.join(columns)} FROM {name} WHERE {where} ORDER BY {order}"
            rows[name] = [dict(r._mapping) for r in conn.execute(text(query))]
    return rows


def first_difference(before: list[dict], after: list[dict]) -> str:
    for n, (a, b) in enumerate(zip(before, after, strict=False)):
        if a != b:
            changed = {k: (a[k], b.get(k)) for k in a if a[k] != b.get(k)}
            return f"row {n}: {changed}"
    return f"{len(before)} rows before, {len(after)} after"


def test_the_same_wechat_day_twice_gives_the_same_rows(pipeline_env: Path, sandbox) -> None:
    """Run the day, run it again (the bookmark now set), then rebuild it from the lake alone: every
    row of every WeChat table is the same each time, first_seen_at included."""
    from shengliang import jobs, settings

    url = settings.warehouse_url()
    jobs.run_day("wechat", DATA_DATE)
    first = wechat_rows(url)
    for name in MUST_HOLD_ROWS:
        assert first[name], f"{name} is empty after the first run: the comparison would prove nothing"
    assert {r["status"] for r in first["etl_account_run"]} == {"ok"}
    print("rows compared:", {name: len(rows) for name, rows in first.items()})
    assert len(first["dim_account"]) == len(sandbox.wechat_world.apps)

    jobs.run_day("wechat", DATA_DATE)
    second = wechat_rows(url)
    for name in WECHAT_TABLES:
        assert second[name] == first[name], (
            f"{name} changed on a re-run: {first_difference(first[name], second[name])}"
        )

    jobs.rebuild("wechat", DATA_DATE)
    rebuilt = wechat_rows(url)
    for name in WECHAT_TABLES:
        assert rebuilt[name] == first[name], (
            f"{name} changed on a rebuild: {first_difference(first[name], rebuilt[name])}"
        )

    # The comparison can fail: one changed figure is found.
    from sqlalchemy import text

    from warehouse.connect import open_warehouse

    with open_warehouse(url) as engine, engine.begin() as conn:
        msgid = first["fct_article_daily"][0]["msgid"]
        conn.execute(
            text("UPDATE fct_article_daily SET reads = COALESCE(reads, 0) + 1 WHERE msgid = :m"), {"m": msgid}
        )
    assert wechat_rows(url)["fct_article_daily"] != first["fct_article_daily"]


@pytest.mark.parametrize("kind", ["503", "busy", "timeout"])
def test_a_fault_while_fetching_the_token_is_retried(sandbox, tmp_path: Path, kind) -> None:
    sandbox.timeout_sleep_seconds = 1.0
    client = client_for(sandbox, tmp_path)
    client.http.timeout_seconds = 0.3
    sandbox.fail_next(2, kind)
    rows = client.datacube("getusersummary", DATA_DATE, DATA_DATE, appid=APPID, today=TODAY)
    assert rows
    assert sandbox.call_counts["cgi-bin/stable_token"] == 3  # two faults, then the token
    assert sandbox.call_counts["datacube/getusersummary"] == 1


@pytest.mark.parametrize("kind", ["503", "busy", "timeout"])
def test_a_token_endpoint_that_stays_down_fails_the_account_by_name(sandbox, tmp_path: Path, kind) -> None:
    sandbox.timeout_sleep_seconds = 1.0
    client = client_for(sandbox, tmp_path / "tokens")
    client.http.timeout_seconds = 0.3
    sandbox.fail_next(5, kind)  # RetryPolicy's default: five attempts
    window = RunWindow.for_date(DATA_DATE, 7)
    result = extract_wechat_account(
        client, RawLake(tmp_path / "lake"), account(), task(), window, "r1", TODAY
    )
    assert result["status"] == "error", result
    for fragment in (APPID, str(DATA_DATE), "cgi-bin/stable_token", "gave up after 5 attempts"):
        assert fragment in result["message"], (fragment, result["message"])
    assert sandbox.call_counts["cgi-bin/stable_token"] == 5
    assert sandbox.call_counts["cgi-bin/freepublish/batchget"] == 0


def test_no_secret_or_token_in_the_lake_logs_or_errors_after_faults_and_a_refresh(
    sandbox, tmp_path: Path, caplog
) -> None:
    """The same check on a harder run: a token refused mid-run (refresh), 5xx, errcode -1 and a
    timeout (retry logs), and a failing account (an error message). Every token the sandbox issued
    is looked for, not only the last."""
    caplog.set_level(logging.DEBUG)
    lake = RawLake(tmp_path / "lake")
    window = RunWindow.for_date(DATA_DATE, 7)
    client = faulty_client(sandbox, tmp_path / "tokens")
    sandbox.expire_wechat_tokens(APPID)  # the cached token is refused on the next call
    sandbox.timeout_sleep_seconds = 1.0
    for kind in ("503", "busy", "timeout"):
        sandbox.fail_next(1, kind)
    ok = extract_wechat_account(client, lake, account(), task(), window, "r1", TODAY)
    sandbox.wechat_unauthorized_apps.add(APPID)
    failed = extract_wechat_account(client, lake, account(), task(), window, "r2", TODAY)
    assert ok["status"] == "ok" and failed["status"] == "error"
    assert "retry" in caplog.text and "48001" in failed["message"]  # the faults really happened
    tokens = list(sandbox._wechat_tokens)
    assert len(tokens) >= 2  # the refused one and its replacement
    secrets = [sandbox.wechat_world.secret_for(APPID), *tokens]
    assert lake_rows(tmp_path / "lake") > 0
    assert secrets_in_lake(tmp_path / "lake", secrets) == []
    text = caplog.text + " ".join(str(r["message"]) for r in (ok, failed))
    assert [s for s in secrets if s in text] == []
