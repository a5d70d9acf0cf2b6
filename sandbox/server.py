"""A local stand-in for the Weibo Open API v2 and the WeChat Official Accounts API (stdlib HTTP
server, 127.0.0.1 only).

Paths, parameters, response shapes and error bodies follow the real APIs (see PLATFORMS.md), so the
pipeline goes live by changing only the base URLs and the credentials. Routing is a table from
(method, path) to a handler; each route names its family: "weibo" (GET /2/<path>.json, HTTP 4xx with
an error body, per-token hourly budget) or "wechat" (mostly POST with a JSON body, errors as
{"errcode","errmsg"} in HTTP 200 answers, access tokens from /cgi-bin/stable_token, daily quotas).

WeChat assumptions where PLATFORMS.md leaves things open:
- The newer article endpoints getarticletotaldetail and getarticleread ("reported from late 2025,
  unverified") take the same body and answer exactly like getarticletotal and getarticlesummary.
- Tokens from GET /cgi-bin/token and from POST /cgi-bin/stable_token are separate (as the real docs
  say): a GET /cgi-bin/token call invalidates only the previous GET /cgi-bin/token token.
- A force_refresh of stable_token invalidates the previous stable token at once (40001).
"""

from __future__ import annotations

import argparse
import collections
import json
import logging
import math
import random
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sandbox.wechat_world import FIRST_DATA_DAY, WeChatWorld
from sandbox.weibo_world import BEIJING, WeiboWorld, WorldConfig

log = logging.getLogger(__name__)

WEIBO_PREFIX = "/2/"
WEIBO_SUFFIX = ".json"
TIMELINE_MAX_COUNT = 100
COMMENTS_MAX_COUNT = 200
COUNT_MAX_IDS = 100
SHOW_BATCH_MAX_IDS = 50
IP_LIMIT = 10_000
# "busy": WeChat answers HTTP 200 {"errcode":-1,"errmsg":"system error"}; Weibo treats it like "5xx".
# "truncated": the answer's headers promise more body than is sent before the connection closes
# (requests raises ChunkedEncodingError); "drop": the connection closes without an answer.
FAULT_KINDS = ("5xx", "500", "502", "503", "timeout", "busy", "truncated", "drop")

WECHAT_TOKEN_TTL_SECONDS = 7200.0
WECHAT_REFRESH_MARGIN_SHARE = 300 / 7200  # stable_token renews in the last 5 minutes of 2 hours
WECHAT_FORCE_REFRESH_LIMIT = 20  # per app per sandbox day
WECHAT_DEFAULT_DAILY_QUOTA = 1000  # per app per endpoint per sandbox day
WECHAT_READY_HOUR = 8  # yesterday's datacube figures exist from 08:00 Beijing on
BATCHGET_MAX_COUNT = 20
DATACUBE_SPANS: dict[str, int] = {
    "getusersummary": 7,
    "getusercumulate": 7,
    "getarticlesummary": 1,
    "getarticletotal": 1,
    "getuserread": 3,
    "getusershare": 7,
    "getarticletotaldetail": 1,  # newer family (unverified): answers like getarticletotal
    "getarticleread": 1,  # newer family (unverified): answers like getarticlesummary
}
LEGACY_ARTICLE_ENDPOINTS = frozenset({"getarticletotal", "getarticlesummary"})
NEW_ARTICLE_ENDPOINTS = frozenset({"getarticletotaldetail", "getarticleread"})

_TOKEN_IN_TEXT = re.compile(r"((?:access_token|secret)=)[^&\s\"']+")
_TOKEN_IN_JSON = re.compile(r"(\"(?:access_token|secret)\"\s*:\s*\")[^\"]*")

_BAD_GATEWAY_HTML = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)


def redact_tokens(text: str) -> str:
    """Hide access tokens and app secrets in query strings (access_token=, secret=) and JSON bodies."""
    return _TOKEN_IN_JSON.sub(r"\1***", _TOKEN_IN_TEXT.sub(r"\1***", text))


class WeiboApiError(Exception):
    """An error answer: HTTP status plus the Weibo error body."""

    def __init__(self, http_status: int, code: int, message: str, code_as_string: bool = False) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.code = code
        self.message = message
        self.code_as_string = code_as_string


def _missing(name: str) -> WeiboApiError:
    return WeiboApiError(400, 10016, f"Miss required parameter ({name}) , see doc for more info.")


def _invalid(name: str, value: str, expect: str) -> WeiboApiError:
    return WeiboApiError(
        400,
        10017,
        f"Parameter ({name})'s value invalid,expect ({expect}) , but get ({value}) , see doc for more info.",
    )


@dataclass
class WeiboRequest:
    """What a Weibo handler sees: the endpoint, single-valued params, the caller's uid and the clock."""

    endpoint: str
    params: dict[str, str]
    uid: str
    now: datetime

    def integer(self, name: str, default: int | None = None, minimum: int = 0) -> int:
        raw = self.params.get(name, "")
        if raw == "":
            if default is None:
                raise _missing(name)
            return default
        try:
            value = int(raw)
        except ValueError:
            raise _invalid(name, raw, f"{name} = int64") from None
        if value < minimum:
            raise _invalid(name, raw, f"{name} >= {minimum}")
        return value


WeiboHandler = Callable[["SandboxServer", WeiboRequest], Any]


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # the full request path, e.g. "/2/statuses/user_timeline.json"
    family: str  # "weibo" or "wechat": decides auth, errors and accounting
    endpoint: str  # name used in call_counts, e.g. "statuses/user_timeline", "datacube/getusersummary"
    handler: Callable[..., Any]
    # Weibo: counts against the hourly per-token budget. WeChat: counts against the daily quota and
    # is refused with 48001 for apps in wechat_unauthorized_apps.
    consumes_budget: bool = True
    needs_token: bool = True  # WeChat: access_token in the query string (Weibo always needs one)


@dataclass
class _Budget:
    window_start: float
    used: int = 0


# ----- Weibo handlers -----


def _page_slice(items: list[Any], count: int, page: int) -> tuple[list[Any], bool]:
    start = (page - 1) * count
    chunk = items[start : start + count]
    return chunk, start + count < len(items)


def _id_filter(req: WeiboRequest) -> Callable[[int], bool]:
    since_id = req.integer("since_id", 0)
    max_id = req.integer("max_id", 0)
    return lambda pid: pid > since_id and (max_id == 0 or pid <= max_id)


def handle_user_timeline(server: SandboxServer, req: WeiboRequest) -> dict[str, Any]:
    world = server.world
    uid = req.params.get("uid") or req.uid
    if world.account(uid) is None:
        raise WeiboApiError(400, 20003, "User does not exists!")
    if uid != req.uid:
        raise WeiboApiError(403, 10014, "Insufficient app permissions!")
    count = min(req.integer("count", 20, minimum=1), TIMELINE_MAX_COUNT)
    page = req.integer("page", 1, minimum=1)
    trim_user = req.params.get("trim_user", "0") == "1"
    feature = req.integer("feature", 0)
    posts = world._visible_posts(uid, req.now)
    if feature == 1:
        posts = [p for p in posts if p.retweeted_id is None]
    elif feature == 2:
        posts = [p for p in posts if p.pic_ids]
    elif feature in (3, 4):  # video, music: the sandbox has none
        posts = []
    wanted = _id_filter(req)
    matching = [p for p in posts if wanted(p.id)]
    chunk, more = _page_slice(matching, count, page)
    return {
        "statuses": [world.render(p, req.now, trim_user) for p in chunk],
        "marks": [],
        "hasvisible": False,
        "previous_cursor": 0,
        "next_cursor": chunk[-1].id if chunk and more else 0,
        "total_number": len(posts),
        "interval": 0,
    }


def _parse_ids(req: WeiboRequest, limit: int) -> list[int]:
    raw = req.params.get("ids", "")
    parts = [part.strip() for part in raw.split(",") if part.strip()]
    if not parts:
        raise _missing("ids")
    if len(parts) > limit:
        raise WeiboApiError(400, 10008, "Param error, see doc for more info.")
    ids: list[int] = []
    for part in parts:
        if not part.isdigit():
            raise _invalid("ids", raw, "ids = comma separated int64")
        ids.append(int(part))
    return ids


def handle_statuses_count(server: SandboxServer, req: WeiboRequest) -> list[dict[str, Any]]:
    entries = (server.world.count_entry(pid, req.now) for pid in _parse_ids(req, COUNT_MAX_IDS))
    return [entry for entry in entries if entry is not None]


def handle_show_batch(server: SandboxServer, req: WeiboRequest) -> dict[str, Any]:
    trim_user = req.params.get("trim_user", "0") == "1"
    statuses = []
    for pid in _parse_ids(req, SHOW_BATCH_MAX_IDS):
        post = server.world._find_post(pid)
        if post is not None and post.created <= req.now:
            statuses.append(server.world.render(post, req.now, trim_user))
    return {"statuses": statuses}


def handle_users_show(server: SandboxServer, req: WeiboRequest) -> dict[str, Any]:
    uid = req.params.get("uid", "")
    if not uid:
        if req.params.get("screen_name"):
            match = [a for a in server.world.accounts if a.screen_name == req.params["screen_name"]]
            if not match:
                raise WeiboApiError(400, 20003, "User does not exists!")
            uid = match[0].uid
        else:
            raise _missing("uid")
    if server.world.account(uid) is None:
        raise WeiboApiError(400, 20003, "User does not exists!")
    return server.world.user(uid, req.now)


def handle_comments_show(server: SandboxServer, req: WeiboRequest) -> dict[str, Any]:
    post_id = req.integer("id")
    comments = server.world.comments(post_id, req.now)
    if comments is None:
        raise WeiboApiError(400, 20101, "Target weibo does not exist!")
    count = min(req.integer("count", 50, minimum=1), COMMENTS_MAX_COUNT)
    page = req.integer("page", 1, minimum=1)
    wanted = _id_filter(req)
    matching = [c for c in comments if wanted(c["id"])]
    chunk, more = _page_slice(matching, count, page)
    total = server.world.engagement(post_id, req.now)[1]
    return {
        "comments": chunk,
        "marks": [],
        "hasvisible": False,
        "previous_cursor": 0,
        "next_cursor": chunk[-1]["id"] if chunk and more else 0,
        "total_number": total,
    }


def handle_rate_limit_status(server: SandboxServer, req: WeiboRequest) -> dict[str, Any]:
    remaining, reset_seconds = server.budget_status(req.uid)
    reset_at = req.now.astimezone(BEIJING) + timedelta(seconds=reset_seconds)
    return {
        "api_rate_limits": [],
        "ip_limit": IP_LIMIT,
        "limit_time_unit": "HOURS",
        "remaining_ip_hits": max(0, IP_LIMIT - server.ip_calls_in_window()),
        "remaining_user_hits": remaining,
        "reset_time": reset_at.strftime("%Y-%m-%d %H:%M:%S"),
        "reset_time_in_seconds": reset_seconds,
        "user_limit": server.rate_limit_per_window,
    }


WEIBO_ENDPOINTS: tuple[tuple[str, WeiboHandler, bool], ...] = (
    ("statuses/user_timeline", handle_user_timeline, True),
    ("statuses/count", handle_statuses_count, True),
    ("statuses/show_batch", handle_show_batch, True),
    ("users/show", handle_users_show, True),
    ("comments/show", handle_comments_show, True),
    ("account/rate_limit_status", handle_rate_limit_status, False),
)


# ----- WeChat handlers -----


class WeChatApiError(Exception):
    """An error answer of the WeChat API: HTTP 200 with {"errcode": code, "errmsg": message}."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _hint() -> str:
    return f"hint: [{secrets.token_urlsafe(9)}]"


def _invalid_args() -> WeChatApiError:
    return WeChatApiError(40097, f"invalid args {_hint()}")


@dataclass
class WeChatRequest:
    """What a WeChat handler sees: the endpoint, query parameters, the JSON body, the app of the
    access token (None for the token endpoints) and the clock."""

    endpoint: str
    params: dict[str, str]
    body: dict[str, Any]
    appid: str | None
    now: datetime

    @property
    def today(self) -> date:
        return self.now.astimezone(BEIJING).date()

    @property
    def last_ready_day(self) -> date:
        """The latest day with datacube figures: yesterday from 08:00 Beijing, else the day before."""
        local = self.now.astimezone(BEIJING)
        return local.date() - timedelta(days=1 if local.hour >= WECHAT_READY_HOUR else 2)


WeChatHandler = Callable[["SandboxServer", WeChatRequest], Any]


@dataclass
class _WeChatToken:
    appid: str
    seq: int  # issue order, for expire_wechat_tokens
    expires_at: float  # time.monotonic()
    kind: str  # "stable" | "basic" (GET /cgi-bin/token)
    revoked: bool = False


def _check_credentials(server: SandboxServer, grant_type: Any, appid: Any, secret: Any) -> str:
    if not appid:
        raise WeChatApiError(41002, "appid missing")
    if grant_type != "client_credential":
        raise WeChatApiError(40002, "invalid grant_type")
    if not isinstance(appid, str) or server.wechat_world.app(appid) is None:
        raise WeChatApiError(40013, "invalid appid")
    if not secret:
        raise WeChatApiError(41004, "appsecret missing")
    if secret != server.wechat_world.secret_for(appid):
        raise WeChatApiError(40125, "invalid appsecret")
    return appid


def handle_stable_token(server: SandboxServer, req: WeChatRequest) -> dict[str, Any]:
    body = req.body
    appid = _check_credentials(server, body.get("grant_type"), body.get("appid"), body.get("secret"))
    force = body.get("force_refresh", False)
    if not isinstance(force, bool):
        raise _invalid_args()
    token, expires_in = server._stable_token(appid, force, req.today)
    return {"access_token": token, "expires_in": expires_in}


def handle_basic_token(server: SandboxServer, req: WeChatRequest) -> dict[str, Any]:
    params = req.params
    appid = _check_credentials(server, params.get("grant_type"), params.get("appid"), params.get("secret"))
    token, expires_in = server._basic_token(appid)
    return {"access_token": token, "expires_in": expires_in}


def _body_int(req: WeChatRequest, name: str, default: int | None) -> int:
    value = req.body.get(name, default)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if value is None or isinstance(value, bool) or not isinstance(value, int):
        raise _invalid_args()
    return value


def handle_batchget(server: SandboxServer, req: WeChatRequest) -> dict[str, Any]:
    offset = _body_int(req, "offset", 0)
    count = _body_int(req, "count", None)
    no_content = _body_int(req, "no_content", 0)
    if offset < 0 or not 1 <= count <= BATCHGET_MAX_COUNT or no_content not in (0, 1):
        raise _invalid_args()
    assert req.appid is not None
    messages = server.wechat_world.messages(req.appid, req.now, no_content=no_content == 1)
    page = messages[offset : offset + count]
    return {"total_count": len(messages), "item_count": len(page), "item": page}


_DATE_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}")


def _datacube_dates(req: WeChatRequest, max_span: int) -> list[date]:
    """The days of [begin_date, end_date] after the real API's checks (61500 format, 61501 range)."""
    parsed: list[date] = []
    for name in ("begin_date", "end_date"):
        raw = req.body.get(name)
        if not isinstance(raw, str) or not _DATE_TEXT.fullmatch(raw):
            raise WeChatApiError(61500, f"date format error {_hint()}")
        try:
            parsed.append(date.fromisoformat(raw))
        except ValueError:
            raise WeChatApiError(61500, f"date format error {_hint()}") from None
    begin, end = parsed
    span = (end - begin).days + 1
    if begin > end or span > max_span or end >= req.today or begin < FIRST_DATA_DAY:
        raise WeChatApiError(61501, f"date range error {_hint()}")
    return [begin + timedelta(days=k) for k in range(span)]


def handle_datacube(server: SandboxServer, req: WeChatRequest) -> dict[str, Any]:
    name = req.endpoint.split("/", 1)[1]
    if server._wechat_retired(req.endpoint):
        raise WeChatApiError(47009, "this api is offline, please use the new api")
    days = _datacube_dates(req, DATACUBE_SPANS[name])
    ready = [day for day in days if day <= req.last_ready_day]  # not yet ready: simply absent
    world, appid = server.wechat_world, req.appid
    assert appid is not None
    rows: list[dict[str, Any]] = []
    for day in ready:
        if name == "getusersummary":
            rows.extend(world.user_summary(appid, day))
        elif name == "getusercumulate":
            rows.append(world.user_cumulate(appid, day))
        elif name in ("getarticlesummary", "getarticleread"):
            rows.extend(world.article_summaries(appid, day))
        elif name in ("getarticletotal", "getarticletotaldetail"):
            rows.extend(world.article_totals(appid, day, req.last_ready_day))
        elif name == "getuserread":
            rows.extend(world.user_read(appid, day))
        elif name == "getusershare":
            rows.extend(world.user_share(appid, day))
    return {"list": rows}


def handle_quota_get(server: SandboxServer, req: WeChatRequest) -> dict[str, Any]:
    cgi_path = req.body.get("cgi_path")
    if not isinstance(cgi_path, str) or not cgi_path:
        raise _invalid_args()
    route = server.routes.get(("POST", cgi_path)) or server.routes.get(("GET", cgi_path))
    if route is None or route.family != "wechat" or not route.consumes_budget:
        raise WeChatApiError(76021, "cgi_path not found, please check")
    assert req.appid is not None
    limit, used = server.wechat_quota(req.appid, route.endpoint, req.today)
    return {
        "errcode": 0,
        "errmsg": "ok",
        "quota": {"daily_limit": limit, "used": used, "remain": max(0, limit - used)},
    }


WECHAT_ROUTES: tuple[tuple[str, str, WeChatHandler, bool, bool], ...] = (
    # (method, endpoint, handler, consumes the daily quota / 48001 applies, needs an access token)
    ("POST", "cgi-bin/stable_token", handle_stable_token, False, False),
    ("GET", "cgi-bin/token", handle_basic_token, False, False),
    ("POST", "cgi-bin/freepublish/batchget", handle_batchget, True, True),
    ("POST", "cgi-bin/openapi/quota/get", handle_quota_get, False, True),
    *(("POST", f"datacube/{name}", handle_datacube, True, True) for name in DATACUBE_SPANS),
)


# ----- HTTP plumbing -----


class _Handler(BaseHTTPRequestHandler):
    server: _HttpServer
    protocol_version = "HTTP/1.1"
    # TCP_NODELAY: headers and body go out as two writes; with Nagle the body waited for the client's
    # delayed ACK, about 40 ms on every answer.
    disable_nagle_algorithm = True
    server_version = "nginx/1.6.1"
    sys_version = ""

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        try:
            self.server.sandbox.handle(self, method)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.close_connection = True  # the client gave up (e.g. during an injected timeout)

    def send_body(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def send_broken(self, kind: str) -> None:
        """A "truncated" answer (half a JSON body, then the connection closes) or a "drop"."""
        self.close_connection = True
        if kind == "drop":
            return
        body = b'{"statuses":[{"id":1,"text":"cut sho'
        self.send_response(200)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(body) * 4))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s %s", self.address_string(), redact_tokens(format % args))


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    sandbox: SandboxServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection error from %s", client_address, exc_info=True)


class SandboxServer:
    """The sandbox HTTP server; knobs are plain attributes and may be changed while it runs."""

    def __init__(
        self,
        world: WeiboWorld | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        latency_seconds: float = 0.0,
        error_rate: float = 0.0,
        timeout_rate: float = 0.0,
        timeout_sleep_seconds: float = 2.0,
        rate_limit_per_window: int = 150,
        rate_window_seconds: float = 3600.0,
        now: datetime | None = None,
        random_seed: int = 0,
        wechat_world: WeChatWorld | None = None,
        wechat_token_ttl_seconds: float = WECHAT_TOKEN_TTL_SECONDS,
    ) -> None:
        self.world = world or WeiboWorld()
        self.wechat_world = wechat_world or WeChatWorld(self.world.config)
        self.host = host
        self.port = port
        self.latency_seconds = latency_seconds
        self.error_rate = error_rate
        self.timeout_rate = timeout_rate
        self.timeout_sleep_seconds = timeout_sleep_seconds
        self.rate_limit_per_window = rate_limit_per_window
        self.rate_window_seconds = rate_window_seconds
        self.call_counts: collections.Counter[str] = collections.Counter()
        self.routes: dict[tuple[str, str], Route] = {}
        self._frozen_now = self._as_utc(now) if now is not None else None
        self._rng = random.Random(random_seed)
        self._lock = threading.Lock()
        self._faults: collections.deque[str] = collections.deque()
        self._expired: set[str] = set()
        self._budgets: dict[str, _Budget] = {}
        self._ip_budget = _Budget(window_start=time.monotonic())
        self._httpd: _HttpServer | None = None
        self._thread: threading.Thread | None = None
        # WeChat knobs (plain attributes; tokens live on real monotonic time, quotas per sandbox day).
        self.wechat_token_ttl_seconds = wechat_token_ttl_seconds
        # stable_token hands out a new token once the current one has less than this left;
        # None: 1/24 of the lifetime (5 minutes of 2 hours), so tiny test TTLs behave alike.
        self.wechat_token_refresh_margin_seconds: float | None = None
        self.wechat_force_refreshes: collections.Counter[str] = collections.Counter()  # per appid
        self.wechat_force_refresh_limit = WECHAT_FORCE_REFRESH_LIMIT
        # (appid, endpoint) -> calls allowed per sandbox day; endpoint as in call_counts
        # ("datacube/getarticletotal"); the bare name ("getarticletotal") is accepted too.
        self.wechat_daily_quota: dict[tuple[str, str], int] = {}
        self.wechat_default_daily_quota = WECHAT_DEFAULT_DAILY_QUOTA
        self.wechat_unauthorized_apps: set[str] = set()
        self.wechat_retire_legacy_article_endpoints = False
        self.wechat_new_article_endpoints_available = True
        self._wechat_tokens: dict[str, _WeChatToken] = {}
        self._wechat_current: dict[tuple[str, str], str] = {}  # (appid, kind) -> newest token
        self._wechat_token_seq = 0
        self._wechat_expired_upto: dict[str, int] = {}
        self._wechat_force_by_day: collections.Counter[tuple[str, date]] = collections.Counter()
        self._wechat_quota_used: collections.Counter[tuple[str, str, date]] = collections.Counter()
        for endpoint, handler, consumes in WEIBO_ENDPOINTS:
            self.add_route(
                Route("GET", f"{WEIBO_PREFIX}{endpoint}{WEIBO_SUFFIX}", "weibo", endpoint, handler, consumes)
            )
        for method, endpoint, handler, guarded, needs_token in WECHAT_ROUTES:
            self.add_route(Route(method, f"/{endpoint}", "wechat", endpoint, handler, guarded, needs_token))

    # ----- lifecycle -----

    def add_route(self, route: Route) -> None:
        self.routes[(route.method, route.path)] = route

    def start(self) -> SandboxServer:
        if self._httpd is not None:
            return self
        if self.host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the sandbox binds to the loopback interface only")
        httpd = _HttpServer((self.host, self.port), _Handler)
        httpd.sandbox = self
        self._httpd = httpd
        self.port = httpd.server_address[1]
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="weibo-sandbox", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def weibo_base_url(self) -> str:
        """What replaces https://api.weibo.com/2/ when pointing the pipeline at the sandbox."""
        return f"{self.base_url}{WEIBO_PREFIX}"

    @property
    def wechat_base_url(self) -> str:
        """What replaces https://api.weixin.qq.com/ when pointing the pipeline at the sandbox."""
        return f"{self.base_url}/"

    # ----- clock -----

    @staticmethod
    def _as_utc(moment: datetime) -> datetime:
        aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
        return aware.astimezone(UTC)

    def now(self) -> datetime:
        frozen = self._frozen_now
        return frozen if frozen is not None else datetime.now(UTC)

    def set_now(self, moment: datetime | None) -> None:
        """Freeze the world clock at moment (None: follow the real clock again)."""
        self._frozen_now = self._as_utc(moment) if moment is not None else None

    # ----- test controls -----

    def token_for(self, uid: str) -> str:
        return self.world.token_for(uid)

    def fail_next(self, n: int = 1, kind: str = "5xx") -> None:
        """Make the next n requests fail: "5xx" (503), "500", "502", "503", "timeout", "busy",
        "truncated" (half a body, then the connection closes) or "drop" (closed, no answer)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"kind must be one of {FAULT_KINDS}")
        with self._lock:
            self._faults.extend([kind] * n)

    def expire_token(self, uid: str) -> None:
        with self._lock:
            self._expired.add(str(uid))

    def restore_token(self, uid: str) -> None:
        with self._lock:
            self._expired.discard(str(uid))

    def reset_counts(self) -> None:
        """Clear call_counts and wechat_force_refreshes (not the daily limits or quotas)."""
        with self._lock:
            self.call_counts.clear()
            self.wechat_force_refreshes.clear()

    # ----- WeChat tokens and quotas -----

    def wechat_secret_for(self, appid: str) -> str:
        return self.wechat_world.secret_for(appid)

    def expire_wechat_tokens(self, appid: str) -> None:
        """Every token issued so far for appid answers 42001 from now on; later tokens work."""
        with self._lock:
            self._wechat_expired_upto[appid] = self._wechat_token_seq

    def _wechat_margin(self) -> float:
        margin = self.wechat_token_refresh_margin_seconds
        return self.wechat_token_ttl_seconds * WECHAT_REFRESH_MARGIN_SHARE if margin is None else margin

    def _wechat_token_state(self, token: _WeChatToken, clock: float) -> str:
        """ "ok", "revoked" (40001) or "expired" (42001)."""
        if token.revoked:
            return "revoked"
        if token.seq <= self._wechat_expired_upto.get(token.appid, 0) or clock >= token.expires_at:
            return "expired"
        return "ok"

    def _issue_wechat_token(self, appid: str, kind: str, clock: float) -> _WeChatToken:
        """A new token (caller holds the lock), remembered as the app's current one of its kind."""
        self._wechat_token_seq += 1
        text = f"{90 + self._wechat_token_seq % 10}_{secrets.token_urlsafe(96)}"
        token = _WeChatToken(appid, self._wechat_token_seq, clock + self.wechat_token_ttl_seconds, kind)
        self._wechat_tokens[text] = token
        self._wechat_current[(appid, kind)] = text
        return token

    def _expires_in(self, token: _WeChatToken, clock: float) -> int:
        return max(1, math.ceil(round(token.expires_at - clock, 3)))

    def _stable_token(self, appid: str, force: bool, today: date) -> tuple[str, int]:
        with self._lock:
            clock = time.monotonic()
            current_text = self._wechat_current.get((appid, "stable"))
            current = self._wechat_tokens.get(current_text) if current_text else None
            if force:
                if self._wechat_force_by_day[(appid, today)] >= self.wechat_force_refresh_limit:
                    raise WeChatApiError(45009, "reach max api daily quota limit")
                self._wechat_force_by_day[(appid, today)] += 1
                self.wechat_force_refreshes[appid] += 1
                if current is not None:
                    current.revoked = True
            elif (
                current is not None
                and self._wechat_token_state(current, clock) == "ok"
                and current.expires_at - clock > self._wechat_margin()
            ):
                assert current_text is not None
                return current_text, self._expires_in(current, clock)
            token = self._issue_wechat_token(appid, "stable", clock)  # the old one lives on, unless forced
            return self._wechat_current[(appid, "stable")], self._expires_in(token, clock)

    def _basic_token(self, appid: str) -> tuple[str, int]:
        """GET /cgi-bin/token: a new token on every call; the previous one stops working (40001)."""
        with self._lock:
            clock = time.monotonic()
            previous = self._wechat_tokens.get(self._wechat_current.get((appid, "basic"), ""))
            if previous is not None:
                previous.revoked = True
            token = self._issue_wechat_token(appid, "basic", clock)
            return self._wechat_current[(appid, "basic")], self._expires_in(token, clock)

    def _wechat_app_for_token(self, text: str) -> str:
        if not text:
            raise WeChatApiError(41001, "access_token missing")
        with self._lock:
            token = self._wechat_tokens.get(text)
            state = "revoked" if token is None else self._wechat_token_state(token, time.monotonic())
        if state == "revoked":
            raise WeChatApiError(40001, "invalid credential, access_token is invalid or not latest")
        if state == "expired":
            raise WeChatApiError(42001, "access_token expired")
        assert token is not None
        return token.appid

    def _quota_limit(self, appid: str, endpoint: str) -> int:
        quota = self.wechat_daily_quota
        short = endpoint.rsplit("/", 1)[-1]
        return quota.get((appid, endpoint), quota.get((appid, short), self.wechat_default_daily_quota))

    def wechat_quota(self, appid: str, endpoint: str, day: date | None = None) -> tuple[int, int]:
        """(daily limit, calls used) of an app's endpoint ("datacube/getarticletotal") on a sandbox day
        (default: today on the sandbox clock)."""
        day = day or self.now().astimezone(BEIJING).date()
        with self._lock:
            return self._quota_limit(appid, endpoint), self._wechat_quota_used[(appid, endpoint, day)]

    def _consume_wechat_quota(self, appid: str, endpoint: str, day: date) -> None:
        with self._lock:
            key = (appid, endpoint, day)
            if self._wechat_quota_used[key] >= self._quota_limit(appid, endpoint):
                raise WeChatApiError(45009, "reach max api daily quota limit")
            self._wechat_quota_used[key] += 1

    def reset_rate_limits(self) -> None:
        with self._lock:
            self._budgets.clear()

    # ----- rate limits (real monotonic time) -----

    def _current_budget(self, uid: str, clock: float) -> _Budget:
        budget = self._budgets.get(uid)
        if budget is None or clock - budget.window_start >= self.rate_window_seconds:
            budget = _Budget(window_start=clock)
            self._budgets[uid] = budget
        return budget

    def _consume(self, uid: str) -> bool:
        with self._lock:
            budget = self._current_budget(uid, time.monotonic())
            if budget.used >= self.rate_limit_per_window:
                return False
            budget.used += 1
            return True

    def budget_status(self, uid: str) -> tuple[int, int]:
        """(remaining calls, seconds until the window resets) for an account."""
        with self._lock:
            clock = time.monotonic()
            budget = self._current_budget(uid, clock)
            remaining = max(0, self.rate_limit_per_window - budget.used)
            left = budget.window_start + self.rate_window_seconds - clock
            reset = max(0, math.ceil(round(left, 3)))
            return remaining, reset

    def ip_calls_in_window(self) -> int:
        with self._lock:
            return self._ip_budget.used

    def _count_ip_call(self) -> None:
        with self._lock:
            clock = time.monotonic()
            if clock - self._ip_budget.window_start >= self.rate_window_seconds:
                self._ip_budget = _Budget(window_start=clock)
            self._ip_budget.used += 1

    # ----- request handling -----

    def _next_fault(self, family: str = "weibo") -> str | None:
        with self._lock:
            if self._faults:
                return self._faults.popleft()
            draw = self._rng.random()
            if draw < self.error_rate:
                kinds = ("busy", "500", "502") if family == "wechat" else ("500", "502", "503")
                return self._rng.choice(kinds)
            if draw < self.error_rate + self.timeout_rate:
                return "timeout"
            return None

    def handle(self, request: _Handler, method: str) -> None:
        split = urlsplit(request.path)
        route = self.routes.get((method, split.path))
        if self.latency_seconds > 0:
            time.sleep(self.latency_seconds)
        if route is None:
            other = [r for r in self.routes.values() if r.path == split.path and r.family == "wechat"]
            if other:  # a WeChat path with the wrong method
                self._discard_body(request)
                wanted = other[0].method
                code = 43002 if wanted == "POST" else 43001
                self._send_json(request, 200, {"errcode": code, "errmsg": f"require {wanted} method"})
            elif split.path.startswith(WEIBO_PREFIX):
                known = any(r.path == split.path for r in self.routes.values())
                error = (
                    WeiboApiError(405, 10021, "HTTP method is not suported for this request!")
                    if known
                    else WeiboApiError(404, 10020, "Request Api not found!")
                )
                self._send_weibo_error(request, split.path, error)
            else:
                self._discard_body(request)
                request.send_body(404, b"Not Found", "text/plain; charset=utf-8")
            return
        with self._lock:
            self.call_counts[route.endpoint] += 1
        if route.family == "weibo":
            self._handle_weibo(request, route, split.path, split.query)
        elif route.family == "wechat":
            self._handle_wechat(request, route, split.query)
        else:  # pragma: no cover
            raise NotImplementedError(route.family)

    @staticmethod
    def _discard_body(request: _Handler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        if length:
            request.rfile.read(length)

    def _handle_wechat(self, request: _Handler, route: Route, query: str) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        raw_body = request.rfile.read(length) if length else b""  # always read: keep-alive stays in sync
        fault = self._next_fault("wechat")
        if fault in ("truncated", "drop"):
            request.send_broken(fault)
            return
        if fault == "timeout":
            time.sleep(self.timeout_sleep_seconds)  # then answer normally; the client has likely gone
        elif fault is not None:
            self._send_wechat_fault(request, fault)
            return
        params = {key: values[-1] for key, values in parse_qs(query, keep_blank_values=True).items()}
        try:
            body: Any = {}
            if route.method == "POST":
                try:
                    body = json.loads(raw_body.decode("utf-8")) if raw_body.strip() else {}
                except (UnicodeDecodeError, ValueError):
                    raise WeChatApiError(47001, "data format error") from None
                if not isinstance(body, dict):
                    raise WeChatApiError(47001, "data format error")
            now = self.now()
            appid: str | None = None
            if route.needs_token:
                appid = self._wechat_app_for_token(params.get("access_token", ""))
            if route.consumes_budget and appid is not None:
                if appid in self.wechat_unauthorized_apps:
                    raise WeChatApiError(48001, "api unauthorized")
                if not self._wechat_retired(route.endpoint):  # 47009 answers use no quota
                    self._consume_wechat_quota(appid, route.endpoint, now.astimezone(BEIJING).date())
            req = WeChatRequest(route.endpoint, params, body, appid, now)
            payload = route.handler(self, req)
        except WeChatApiError as error:
            self._send_json(request, 200, {"errcode": error.code, "errmsg": error.message})
            return
        except Exception:  # a sandbox bug: answer like the real API's system error
            log.exception("sandbox handler %s failed", route.endpoint)
            self._send_json(request, 200, {"errcode": -1, "errmsg": "system error"})
            return
        self._send_json(request, 200, payload)

    def _wechat_retired(self, endpoint: str) -> bool:
        """Whether the endpoint currently answers 47009 (see the two switches)."""
        name = endpoint.rsplit("/", 1)[-1]
        if name in LEGACY_ARTICLE_ENDPOINTS:
            return self.wechat_retire_legacy_article_endpoints
        if name in NEW_ARTICLE_ENDPOINTS:
            return not self.wechat_new_article_endpoints_available
        return False

    def _send_wechat_fault(self, request: _Handler, kind: str) -> None:
        if kind == "502":
            request.send_body(502, _BAD_GATEWAY_HTML.encode(), "text/html")
        elif kind == "busy":
            self._send_json(request, 200, {"errcode": -1, "errmsg": "system error"})
        else:
            status = 503 if kind in ("5xx", "503") else 500
            self._send_json(request, status, {"errcode": -1, "errmsg": "system error"})

    def _handle_weibo(self, request: _Handler, route: Route, path: str, query: str) -> None:
        self._count_ip_call()
        fault = self._next_fault()
        if fault in ("truncated", "drop"):
            request.send_broken(fault)
            return
        if fault == "timeout":
            time.sleep(self.timeout_sleep_seconds)  # then answer normally; the client has likely gone
        elif fault is not None:
            self._send_fault(request, path, 503 if fault in ("5xx", "busy") else int(fault))
            return
        params = {key: values[-1] for key, values in parse_qs(query, keep_blank_values=True).items()}
        if route.method == "POST":
            params.update(self._form_body(request))
        try:
            uid = self._authenticate(params, request.headers.get("Authorization", ""))
            if route.consumes_budget and not self._consume(uid):
                raise WeiboApiError(403, 10023, "User requests out of rate limit!")
            req = WeiboRequest(route.endpoint, params, uid, self.now())
            payload = route.handler(self, req)
        except WeiboApiError as error:
            self._send_weibo_error(request, path, error)
            return
        except Exception:  # a sandbox bug: answer like the real API's system error
            log.exception("sandbox handler %s failed", route.endpoint)
            self._send_weibo_error(request, path, WeiboApiError(500, 10001, "system error!"))
            return
        self._send_json(request, 200, payload)

    @staticmethod
    def _form_body(request: _Handler) -> dict[str, str]:
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length).decode("utf-8", "replace") if length else ""
        return {key: values[-1] for key, values in parse_qs(body, keep_blank_values=True).items()}

    def _authenticate(self, params: dict[str, str], authorization: str) -> str:
        token = params.get("access_token", "")
        if not token and authorization.startswith("OAuth2 "):
            token = authorization[len("OAuth2 ") :].strip()
        if not token:
            raise WeiboApiError(401, 21301, "auth faild!", code_as_string=True)
        uid = self.world.uid_for_token(token)
        if uid is None:
            raise WeiboApiError(401, 21332, "invalid_access_token", code_as_string=True)
        with self._lock:
            expired = uid in self._expired
        if expired:
            raise WeiboApiError(401, 21327, "expired_token", code_as_string=True)
        return uid

    def _send_json(self, request: _Handler, status: int, payload: Any) -> None:
        text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        try:
            body = text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate (as tests inject): escaped, as the real APIs do
            body = json.dumps(payload, ensure_ascii=True, separators=(",", ":")).encode("ascii")
        request.send_body(status, body, "application/json;charset=UTF-8")

    def _send_weibo_error(self, request: _Handler, path: str, error: WeiboApiError) -> None:
        code: int | str = str(error.code) if error.code_as_string else error.code
        self._send_json(
            request, error.http_status, {"error": error.message, "error_code": code, "request": path}
        )

    def _send_fault(self, request: _Handler, path: str, status: int) -> None:
        if status == 502:  # the gateway answers, not the API: an nginx page
            request.send_body(502, _BAD_GATEWAY_HTML.encode(), "text/html")
        elif status == 503:
            error = WeiboApiError(503, 10009, "Too many pending tasks, system is busy!")
            self._send_weibo_error(request, path, error)
        else:
            self._send_weibo_error(request, path, WeiboApiError(500, 10001, "system error!"))


# ----- command line -----


def _parse_now(raw: str) -> datetime:
    moment = datetime.fromisoformat(raw)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=BEIJING)


def build_arg_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sandbox", description="Run the local Weibo and WeChat Official Accounts API sandbox."
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback only")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--seed", type=int, default=WorldConfig.seed)
    parser.add_argument("--brands", type=int, default=WorldConfig.brands)
    parser.add_argument("--employees-per-brand", type=int, default=WorldConfig.employees_per_brand)
    parser.add_argument("--days", type=int, default=WorldConfig.days)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every answer")
    parser.add_argument("--error-rate", type=float, default=0.0, help="share of requests answered 5xx")
    parser.add_argument("--timeout-rate", type=float, default=0.0, help="share of requests that stall")
    parser.add_argument("--timeout-sleep", type=float, default=2.0, help="how long a stalled request stalls")
    parser.add_argument("--rate-limit", type=int, default=150, help="calls per token per window")
    parser.add_argument("--rate-window", type=float, default=3600.0, help="rate-limit window in seconds")
    parser.add_argument(
        "--wechat-token-ttl",
        type=float,
        default=WECHAT_TOKEN_TTL_SECONDS,
        help="lifetime of WeChat access tokens in seconds",
    )
    parser.add_argument(
        "--now", type=_parse_now, default=None, help="freeze the clock (ISO, Beijing if naive)"
    )
    return parser


def serve(argv: list[str] | None = None) -> int:
    """Run the sandbox in the foreground until Ctrl-C; prints the base URLs, the Weibo account tokens
    and the WeChat app ids and secrets."""
    args = build_arg_parser().parse_args(argv)
    config = WorldConfig(
        seed=args.seed, brands=args.brands, employees_per_brand=args.employees_per_brand, days=args.days
    )
    server = SandboxServer(
        WeiboWorld(config),
        host=args.host,
        port=args.port,
        latency_seconds=args.latency,
        error_rate=args.error_rate,
        timeout_rate=args.timeout_rate,
        timeout_sleep_seconds=args.timeout_sleep,
        rate_limit_per_window=args.rate_limit,
        rate_window_seconds=args.rate_window,
        now=args.now,
        wechat_token_ttl_seconds=args.wechat_token_ttl,
    )
    server.start()
    print(
        f"Sandbox running at {server.base_url} (Weibo base URL: {server.weibo_base_url}, "
        f"WeChat base URL: {server.wechat_base_url})",
        flush=True,
    )
    print("Sandbox tokens (not secrets; export them for the pipeline):")
    for account in server.world.accounts:
        print(f"  {account.uid}  {account.screen_name}  [{account.kind}]")
        print(f"    export WEIBO_TOKEN_{account.uid}={server.token_for(account.uid)}")
    print("Sandbox WeChat Official Accounts (sandbox-only secrets; export them for the pipeline):")
    for app in server.wechat_world.apps:
        print(f"  {app.appid}  {app.name}")
        print(f"    export WECHAT_SECRET_{app.appid.upper()}={server.wechat_secret_for(app.appid)}")
    print("Press Ctrl-C to stop.", flush=True)
    stop = threading.Event()
    try:
        while not stop.wait(3600):
            pass
    except KeyboardInterrupt:
        print("\nstopping")
    finally:
        server.stop()
    return 0
