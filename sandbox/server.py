"""A local stand-in for the Weibo Open API v2 (stdlib HTTP server, 127.0.0.1 only).

Paths, parameters, response shapes and error bodies follow the real API (see PLATFORMS.md), so the
pipeline goes live by changing only the base URL and the tokens. Routing is a table from
(method, path) to a handler; each route names its family ("weibo" today, "wechat" later) so that
WeChat endpoints (POST, errcode in HTTP 200 bodies) can be added to the same server.
"""

from __future__ import annotations

import argparse
import collections
import json
import logging
import math
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sandbox.weibo_world import BEIJING, WeiboWorld, WorldConfig

log = logging.getLogger(__name__)

WEIBO_PREFIX = "/2/"
WEIBO_SUFFIX = ".json"
TIMELINE_MAX_COUNT = 100
COMMENTS_MAX_COUNT = 200
COUNT_MAX_IDS = 100
SHOW_BATCH_MAX_IDS = 50
IP_LIMIT = 10_000
FAULT_KINDS = ("5xx", "500", "502", "503", "timeout")

_TOKEN_IN_TEXT = re.compile(r"(access_token=)[^&\s]+")

_BAD_GATEWAY_HTML = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)


def redact_tokens(text: str) -> str:
    return _TOKEN_IN_TEXT.sub(r"\1***", text)


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
    family: str  # "weibo" (later "wechat"): decides auth, errors and accounting
    endpoint: str  # name used in call_counts, e.g. "statuses/user_timeline"
    handler: Callable[..., Any]
    consumes_budget: bool = True


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


# ----- HTTP plumbing -----


class _Handler(BaseHTTPRequestHandler):
    server: _HttpServer
    protocol_version = "HTTP/1.1"
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
    ) -> None:
        self.world = world or WeiboWorld()
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
        for endpoint, handler, consumes in WEIBO_ENDPOINTS:
            self.add_route(
                Route("GET", f"{WEIBO_PREFIX}{endpoint}{WEIBO_SUFFIX}", "weibo", endpoint, handler, consumes)
            )

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
        """Make the next n requests fail: "5xx" (503), "500", "502", "503" or "timeout"."""
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
        with self._lock:
            self.call_counts.clear()

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

    def _next_fault(self) -> str | None:
        with self._lock:
            if self._faults:
                return self._faults.popleft()
            draw = self._rng.random()
            if draw < self.error_rate:
                return self._rng.choice(("500", "502", "503"))
            if draw < self.error_rate + self.timeout_rate:
                return "timeout"
            return None

    def handle(self, request: _Handler, method: str) -> None:
        split = urlsplit(request.path)
        route = self.routes.get((method, split.path))
        if self.latency_seconds > 0:
            time.sleep(self.latency_seconds)
        if route is None:
            if split.path.startswith(WEIBO_PREFIX):
                known = any(r.path == split.path for r in self.routes.values())
                error = (
                    WeiboApiError(405, 10021, "HTTP method is not suported for this request!")
                    if known
                    else WeiboApiError(404, 10020, "Request Api not found!")
                )
                self._send_weibo_error(request, split.path, error)
            else:
                request.send_body(404, b"Not Found", "text/plain; charset=utf-8")
            return
        with self._lock:
            self.call_counts[route.endpoint] += 1
        if route.family == "weibo":
            self._handle_weibo(request, route, split.path, split.query)
        else:  # pragma: no cover - other families are added later
            raise NotImplementedError(route.family)

    def _handle_weibo(self, request: _Handler, route: Route, path: str, query: str) -> None:
        self._count_ip_call()
        fault = self._next_fault()
        if fault == "timeout":
            time.sleep(self.timeout_sleep_seconds)  # then answer normally; the client has likely gone
        elif fault is not None:
            self._send_fault(request, path, 503 if fault == "5xx" else int(fault))
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
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
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
    parser = argparse.ArgumentParser(prog="sandbox", description="Run the local Weibo API sandbox.")
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
        "--now", type=_parse_now, default=None, help="freeze the clock (ISO, Beijing if naive)"
    )
    return parser


def serve(argv: list[str] | None = None) -> int:
    """Run the sandbox in the foreground until Ctrl-C; prints the base URL and the account tokens."""
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
    )
    server.start()
    print(f"Weibo sandbox running at {server.base_url} (Weibo base URL: {server.weibo_base_url})", flush=True)
    print("Sandbox tokens (not secrets; export them for the pipeline):")
    for account in server.world.accounts:
        print(f"  {account.uid}  {account.screen_name}  [{account.kind}]")
        print(f"    export WEIBO_TOKEN_{account.uid}={server.token_for(account.uid)}")
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
