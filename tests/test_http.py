"""The shared HTTP layer and Weibo's error mapping, over real HTTP to tiny local servers."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from extractors.errors import PermanentError, RateLimitedError, ReauthorizeError, RetriableError
from extractors.http import HttpClient, RetryPolicy
from extractors.weibo import WeiboClient, WeiboSettings, classify_weibo_error, fetch_user, iter_timeline


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (403, {"error": "User requests out of rate limit!", "error_code": 10023}, RateLimitedError),
        (403, {"error": "IP requests out of rate limit!", "error_code": "10022"}, RateLimitedError),
        (401, {"error": "expired_token", "error_code": "21327"}, ReauthorizeError),
        (401, {"error": "invalid_access_token", "error_code": 21332}, ReauthorizeError),
        (400, {"error": "User does not exists!", "error_code": 20003}, PermanentError),
        (403, {"error": "Insufficient app permissions!", "error_code": 10014}, PermanentError),
        (502, None, RetriableError),
        (503, {"error": "service unavailable", "error_code": 10003}, RetriableError),
    ],
)
def test_weibo_error_codes_map_to_the_hierarchy(status: int, body: object, expected: type) -> None:
    error = classify_weibo_error(status, body, "statuses/user_timeline")
    assert type(error) is expected
    assert "weibo statuses/user_timeline" in str(error)


def test_success_is_not_an_error() -> None:
    assert classify_weibo_error(200, {"statuses": []}, "statuses/user_timeline") is None
    assert classify_weibo_error(200, [{"id": 1}], "statuses/count") is None


class _Scripted(BaseHTTPRequestHandler):
    script: list[tuple[int, str]] = []
    paths: list[str] = []

    def do_GET(self) -> None:  # noqa: N802
        _Scripted.paths.append(self.path)
        status, body = _Scripted.script.pop(0) if _Scripted.script else (200, "{}")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def scripted() -> Iterator[tuple[str, list[tuple[int, str]]]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Scripted)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Scripted.script, _Scripted.paths = [], []
    yield f"http://127.0.0.1:{server.server_address[1]}/2/", _Scripted.script
    server.shutdown()
    server.server_close()


def _client(base_url: str, sleeps: list[float]) -> WeiboClient:
    settings = WeiboSettings(base_url=base_url, retry=RetryPolicy(max_attempts=3, base_delay_seconds=0.01))
    return WeiboClient(settings, sleep=sleeps.append)


def test_5xx_is_retried_with_backoff_then_succeeds(scripted) -> None:
    base_url, script = scripted
    script += [(500, '{"error":"boom","error_code":10001}'), (503, ""), (200, '{"followers_count": 7}')]
    sleeps: list[float] = []
    user = fetch_user(_client(base_url, sleeps), uid="1", token="secret-token")
    assert user["followers_count"] == 7
    assert len(sleeps) == 2 and all(0 <= s <= 0.04 for s in sleeps)


def test_retries_give_up_naming_endpoint_and_account(scripted) -> None:
    base_url, script = scripted
    script += [(502, "")] * 3
    with pytest.raises(RetriableError) as caught:
        fetch_user(_client(base_url, []), uid="6000000001", token="secret-token")
    message = str(caught.value)
    assert "weibo users/show" in message and "account 6000000001" in message and "3 attempts" in message
    assert "secret-token" not in message


def test_malformed_payloads_are_permanent_errors_naming_the_endpoint(scripted) -> None:
    base_url, script = scripted
    script += [(200, "<html>not json</html>"), (200, '{"statuses": "oops"}')]
    client = _client(base_url, [])
    with pytest.raises(PermanentError, match="users/show.*not JSON"):
        fetch_user(client, uid="1", token="t")
    with pytest.raises(PermanentError, match="statuses/user_timeline.*malformed response"):
        list(iter_timeline(client, uid="1", token="t", since_id=None, stop_before=None))


def test_http_client_counts_calls_and_strips_nothing_from_json(scripted) -> None:
    base_url, script = scripted
    script += [(200, json.dumps({"a": "中文"}))]
    client = HttpClient(platform="weibo", base_url=base_url, classify=classify_weibo_error)
    response = client.call("GET", "users/show", params={"uid": "1"}, suffix=".json")
    assert response.payload == {"a": "中文"}
    assert client.call_counts["users/show"] == 1
    assert _Scripted.paths == ["/2/users/show.json?uid=1"]


def test_a_short_page_does_not_end_paging_while_the_cursor_says_more() -> None:
    from extractors.weibo import MaxIdPaginator

    created = "Tue Nov 10 10:00:00 +0800 2026"
    paginator = MaxIdPaginator(page_size=100)
    paginator.advance(
        [{"id": 50, "created_at": created}, {"id": 40, "created_at": created}], "t", next_cursor=39
    )
    assert paginator.has_more() and paginator.max_id == 39  # Weibo hid posts on this page; go on
    paginator.advance([{"id": 30, "created_at": created}], "t", next_cursor=0)
    assert not paginator.has_more()
    empty = MaxIdPaginator(page_size=100)
    empty.advance([], "t", next_cursor=None)
    assert not empty.has_more()
