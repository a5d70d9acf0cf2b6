"""WeChat Official Accounts: token service, published articles and datacube statistics.

Every WeChat failure may come as HTTP 200 with a non-zero `errcode`; `classify_wechat_error` is
the one place that turns those codes into the shared exception hierarchy.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from extractors.errors import (
    ApiError,
    EndpointRetiredError,
    PermanentError,
    PermissionDeniedError,
    QuotaExhaustedError,
    RateLimitedError,
    ReauthorizeError,
    RetriableError,
    TokenRejectedError,
)
from extractors.http import HttpClient, HttpResponse, RetryPolicy, redact
from transforms.wechat import check_published_item
from transforms.weibo_status import MalformedRecord, parse_count

log = logging.getLogger(__name__)

PLATFORM = "wechat"
LIVE_BASE_URL = "https://api.weixin.qq.com/"
STABLE_TOKEN = "cgi-bin/stable_token"
BATCHGET = "cgi-bin/freepublish/batchget"
BATCHGET_MAX_COUNT = 20
DATACUBE = "datacube/"
FIRST_STATS_DATE = date(2014, 12, 1)

# Maximum span in days of each datacube endpoint (span 1 means begin_date == end_date).
DATACUBE_SPANS = {
    "getusersummary": 7,
    "getusercumulate": 7,
    "getarticlesummary": 1,
    "getarticletotal": 1,
    "getuserread": 3,
    "getusershare": 7,
    # The newer family (reported from late 2025, unverified): assumed to answer like the old one.
    "getarticleread": 1,
    "getarticletotaldetail": 1,
}
# 47009 on one family means: use the other one.
OTHER_FAMILY = {
    "getarticletotal": "getarticletotaldetail",
    "getarticlesummary": "getarticleread",
    "getarticletotaldetail": "getarticletotal",
    "getarticleread": "getarticlesummary",
}

TOKEN_CODES = frozenset({40001, 40014, 42001})
CREDENTIAL_CODES = frozenset({40002, 40013, 40125, 41002, 41004})
IP_CODES = frozenset({40164, 61004})


def classify_wechat_error(http_status: int, payload: Any, endpoint: str) -> ApiError | None:
    """Turn a WeChat response into an ApiError, or None when it is a success."""
    kwargs = {"platform": PLATFORM, "endpoint": endpoint, "http_status": http_status}
    if isinstance(payload, dict) and payload.get("errcode") not in (None, 0, "0"):
        try:
            code = int(payload["errcode"])
        except (TypeError, ValueError):
            code = None
        message = str(payload.get("errmsg") or "error")
        kwargs["code"] = code
        if code in TOKEN_CODES:
            return TokenRejectedError(f"access token rejected ({message})", **kwargs)
        if code == 45009:
            return QuotaExhaustedError(
                f"daily API quota reached ({message}); no more calls to this endpoint today", **kwargs
            )
        if code == 45011:
            return RateLimitedError(
                f"per-minute API limit reached ({message})", reset_in_seconds=60, **kwargs
            )
        if code == 47009:
            return EndpointRetiredError(f"endpoint retired ({message})", **kwargs)
        if code == 48001:
            return PermissionDeniedError(
                f"the account lacks permission for this API ({message}); check that the Official "
                "Account is verified and the API is granted to the app",
                **kwargs,
            )
        if code in CREDENTIAL_CODES:
            return ReauthorizeError(
                f"app id or secret rejected ({message}); fix the credentials in the connection or "
                "environment variable",
                **kwargs,
            )
        if code in IP_CODES:
            return PermanentError(
                f"caller IP not whitelisted ({message}); add this server's IP in the account's settings",
                **kwargs,
            )
        if code == -1:
            return RetriableError(f"system busy ({message})", **kwargs)
        if code in (61500, 61501):
            return PermanentError(f"date range refused ({message})", **kwargs)
        return PermanentError(message, **kwargs)
    if http_status >= 500 or http_status == 429:
        return RetriableError(f"HTTP {http_status}", **kwargs)
    if http_status >= 400:
        return PermanentError(f"HTTP {http_status}", **kwargs)
    return None


# --- date spans -----------------------------------------------------------------------------------


class DateRangeError(PermanentError):
    """A statistics range the platform cannot answer."""


def split_date_range(endpoint: str, begin: date, end: date, today: date) -> list[tuple[date, date]]:
    """(begin_date, end_date) requests for `endpoint`, each within its span, ending at most yesterday."""
    if endpoint not in DATACUBE_SPANS:
        raise ValueError(f"unknown datacube endpoint {endpoint!r}")
    if begin < FIRST_STATS_DATE:
        raise DateRangeError(
            f"begin_date {begin} is before {FIRST_STATS_DATE}, the first day WeChat has statistics for; "
            f"start on or after {FIRST_STATS_DATE}",
            platform=PLATFORM,
            endpoint=DATACUBE + endpoint,
        )
    yesterday = today - timedelta(days=1)
    if end > yesterday:
        log.info("wechat %s%s: end_date %s clipped to yesterday, %s", DATACUBE, endpoint, end, yesterday)
        end = yesterday
    span = DATACUBE_SPANS[endpoint]
    requests: list[tuple[date, date]] = []
    start = begin
    while start <= end:
        stop = min(start + timedelta(days=span - 1), end)
        requests.append((start, stop))
        start = stop + timedelta(days=1)
    return requests


# --- token service --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CachedToken:
    access_token: str
    expires_at: float


class FileTokenStore:
    """One JSON file per app, guarded by an flock.

    Why a file and not the warehouse's state table: the embedded warehouse is a DuckDB file that
    allows one writer process, and extract tasks run while loads write; a token write there would
    block on, or break, a load. A locked file works for every worker on the machine (and on a
    shared volume); stable_token itself returns the same token to every caller until near expiry,
    so workers that cannot see this file still agree. Files are created 0600 under the data folder,
    never in the repository.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def _path(self, appid: str) -> Path:
        return self.folder / f"wechat-{appid}.json"

    @contextmanager
    def locked(self, appid: str) -> Iterator[None]:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.folder / f"wechat-{appid}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def read(self, appid: str) -> CachedToken | None:
        try:
            data = json.loads(self._path(appid).read_text(encoding="utf-8"))
            return CachedToken(str(data["access_token"]), float(data["expires_at"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def write(self, appid: str, token: CachedToken) -> None:
        path = self._path(appid)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"access_token": token.access_token, "expires_at": token.expires_at}, handle)
        tmp.replace(path)


SecretSource = Callable[[str], str | None]


class WeChatTokenService:
    """One cached access token per app from POST /cgi-bin/stable_token (never GET /cgi-bin/token,
    which invalidates the token every other worker holds). Refreshes ahead of expiry."""

    def __init__(
        self,
        http: HttpClient,
        store: FileTokenStore,
        secret_for: SecretSource,
        *,
        refresh_margin_seconds: float = 300.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.http = http
        self.store = store
        self.secret_for = secret_for
        self.refresh_margin_seconds = refresh_margin_seconds
        self.clock = clock
        self.fetches = 0

    def token(self, appid: str) -> str:
        with self.store.locked(appid):
            cached = self.store.read(appid)
            if cached and cached.expires_at - self.refresh_margin_seconds > self.clock():
                return cached.access_token
            return self._fetch(appid, force_refresh=False)

    def refresh(self, appid: str, rejected: str) -> str:
        """A new token after `rejected` was refused, unless another worker already got one."""
        with self.store.locked(appid):
            cached = self.store.read(appid)
            if cached and cached.access_token != rejected and cached.expires_at > self.clock():
                return cached.access_token
            return self._fetch(appid, force_refresh=True)

    def _fetch(self, appid: str, *, force_refresh: bool) -> str:
        secret = self.secret_for(appid)
        if not secret:
            raise ReauthorizeError(
                "no app secret found; set the environment variable or connection the registry names",
                platform=PLATFORM,
                endpoint=STABLE_TOKEN,
                account=appid,
            )
        body = {
            "grant_type": "client_credential",
            "appid": appid,
            "secret": secret,
            "force_refresh": force_refresh,
        }
        try:
            payload = self.http.call("POST", STABLE_TOKEN, json_body=body).payload
        except ApiError as error:
            raise error.with_context(account=appid) from None
        if not isinstance(payload, dict) or not payload.get("access_token"):
            raise PermanentError(
                "malformed response: no access_token", platform=PLATFORM, endpoint=STABLE_TOKEN, account=appid
            )
        self.fetches += 1
        expires_in = float(payload.get("expires_in") or 7200)
        token = CachedToken(str(payload["access_token"]), self.clock() + expires_in)
        self.store.write(appid, token)
        log.info(
            "wechat %s: new access token for app %s (force_refresh=%s)", STABLE_TOKEN, appid, force_refresh
        )
        return token.access_token


# --- client ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WeChatSettings:
    base_url: str = LIVE_BASE_URL
    timeout_seconds: float = 10.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)


ResponseSink = Callable[[str, dict[str, Any], HttpResponse], None]
# (endpoint, record, reason): a record skipped because it cannot be read; the caller quarantines it.
MalformedSink = Callable[[str, Any, str], None]


def _log_malformed(endpoint: str, record: Any, reason: str) -> None:
    log.warning("wechat %s: skipped a malformed record (%s)", endpoint, reason)


class WeChatClient:
    """POSTs with the app's cached token; refreshes once and retries once when the token is refused.

    Holds the run's memory: endpoints whose daily quota is spent are not called again, and an
    endpoint family found retired (47009) is swapped for the other one, logged once.
    """

    def __init__(
        self,
        settings: WeChatSettings,
        secret_for: SecretSource,
        token_store: FileTokenStore,
        *,
        sleep: Callable[[float], None] = time.sleep,
        http: HttpClient | None = None,
    ) -> None:
        self.http = http or HttpClient(
            platform=PLATFORM,
            base_url=settings.base_url,
            classify=classify_wechat_error,
            timeout_seconds=settings.timeout_seconds,
            retry=settings.retry,
            sleep=sleep,
        )
        self.tokens = WeChatTokenService(self.http, token_store, secret_for)
        self.exhausted: dict[tuple[str, str], str] = {}
        self.retired: set[str] = set()

    def close(self) -> None:
        self.http.close()

    def post(
        self, endpoint: str, body: dict[str, Any], *, appid: str, on_response: ResponseSink | None = None
    ) -> Any:
        if (appid, endpoint) in self.exhausted:
            earlier = self.exhausted[(appid, endpoint)]
            raise QuotaExhaustedError(
                f"daily quota reached earlier in this run ({earlier}); not called again",
                platform=PLATFORM,
                endpoint=endpoint,
                account=appid,
                code=45009,
            )
        token = self.tokens.token(appid)
        try:
            try:
                response = self.http.call("POST", endpoint, params={"access_token": token}, json_body=body)
            except TokenRejectedError:
                token = self.tokens.refresh(appid, token)
                try:
                    response = self.http.call(
                        "POST", endpoint, params={"access_token": token}, json_body=body
                    )
                except TokenRejectedError as again:
                    raise ReauthorizeError(
                        f"token refused again right after a refresh ({again.detail}); check the credentials",
                        platform=PLATFORM,
                        endpoint=endpoint,
                        code=again.code,
                    ) from None
        except QuotaExhaustedError as error:
            self.exhausted[(appid, endpoint)] = error.detail
            raise error.with_context(account=appid) from None
        except ApiError as error:
            raise error.with_context(account=appid) from None
        if on_response is not None:
            on_response(endpoint, {**redact({"access_token": token}), **body}, response)
        return response.payload

    def datacube(
        self,
        name: str,
        begin: date,
        end: date,
        *,
        appid: str,
        today: date,
        on_response: ResponseSink | None = None,
    ) -> list[dict[str, Any]]:
        """Rows of a datacube endpoint over [begin, end], split by its span; falls back to the other
        family of article endpoints when one is retired."""
        rows: list[dict[str, Any]] = []
        for start, stop in split_date_range(name, begin, end, today):
            rows.extend(self._datacube_once(name, start, stop, appid=appid, on_response=on_response))
        return rows

    def _datacube_once(
        self, name: str, begin: date, end: date, *, appid: str, on_response: ResponseSink | None
    ) -> list[dict[str, Any]]:
        if name in self.retired and name in OTHER_FAMILY:
            name = OTHER_FAMILY[name]
        body = {"begin_date": begin.isoformat(), "end_date": end.isoformat()}
        try:
            payload = self.post(DATACUBE + name, body, appid=appid, on_response=on_response)
        except EndpointRetiredError:
            other = OTHER_FAMILY.get(name)
            if other is None or other in self.retired:
                raise
            self.retired.add(name)
            log.warning(
                "wechat %s%s is retired (47009); using %s%s for the rest of this run",
                DATACUBE,
                name,
                DATACUBE,
                other,
            )
            payload = self.post(DATACUBE + other, body, appid=appid, on_response=on_response)
        if not isinstance(payload, dict) or not isinstance(payload.get("list"), list):
            raise PermanentError(
                "malformed response: no 'list'", platform=PLATFORM, endpoint=DATACUBE + name, account=appid
            )
        return payload["list"]


class OffsetSeenTwice(PermanentError):
    """batchget handed back an offset already used: stop instead of looping."""


def iter_published(
    client: WeChatClient,
    *,
    appid: str,
    since_update_time: int | None,
    stop_before_update_time: int | None,
    on_response: ResponseSink | None = None,
    page_size: int = BATCHGET_MAX_COUNT,
    on_malformed: MalformedSink = _log_malformed,
) -> Iterator[list[dict[str, Any]]]:
    """Pages of published messages, newest first, until one is not newer than the bookmark (or,
    without a bookmark, older than `stop_before_update_time`). An item that cannot be read (see
    `check_published_item`) goes to `on_malformed` and is left out of the page and of the paging."""
    offset, seen = 0, set()
    while True:
        if offset in seen:
            raise OffsetSeenTwice(f"offset {offset} came back twice", platform=PLATFORM, endpoint=BATCHGET)
        seen.add(offset)
        payload = client.post(
            BATCHGET,
            {"offset": offset, "count": page_size, "no_content": 0},
            appid=appid,
            on_response=on_response,
        )
        items = payload.get("item") if isinstance(payload, dict) else None
        if not isinstance(items, list):
            raise PermanentError(
                "malformed response: no 'item' list", platform=PLATFORM, endpoint=BATCHGET, account=appid
            )
        readable = []
        for item in items:
            try:
                check_published_item(item)
            except MalformedRecord as error:
                on_malformed(BATCHGET, item, str(error))
                continue
            readable.append(item)
        yield readable
        if not items:
            return
        offset += len(items)
        total = parse_count(payload.get("total_count"))
        if not readable:
            if total is None or offset >= total:
                return
            continue  # nothing to judge the age by: read the next page
        oldest = min(check_published_item(item)[1] for item in readable)
        if since_update_time is not None and oldest <= since_update_time:
            return
        if (
            since_update_time is None
            and stop_before_update_time is not None
            and oldest < stop_before_update_time
        ):
            return
        if total is None or offset >= total:
            return
