"""Weibo Open API v2 client and the three streams the pipeline reads.

- timeline: new posts per account since the bookmark (statuses/user_timeline, 100 a page);
- counts: engagement of posts still inside the tracking window (statuses/count, 100 ids a call);
- profile: follower counts (users/show).

Every response is handed to `on_response` before it is parsed, so the raw lake sees it first.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from extractors.errors import (
    ApiError,
    PermanentError,
    RateLimitedError,
    ReauthorizeError,
    RetriableError,
)
from extractors.http import HttpClient, HttpResponse, RetryPolicy, redact
from transforms.weibo_status import MalformedRecord, check_status, status_id

log = logging.getLogger(__name__)

PLATFORM = "weibo"
LIVE_BASE_URL = "https://api.weibo.com/2/"
TIMELINE = "statuses/user_timeline"
COUNTS = "statuses/count"
USERS_SHOW = "users/show"
COMMENTS = "comments/show"
RATE_LIMIT_STATUS = "account/rate_limit_status"
PAGE_SIZE = 100
COUNT_IDS_PER_CALL = 100

RATE_LIMIT_CODES = frozenset({10022, 10023, 10024})
REAUTHORIZE_CODES = frozenset({21301, 21314, 21315, 21316, 21317, 21318, 21319, 21327, 21332})


def classify_weibo_error(http_status: int, payload: Any, endpoint: str) -> ApiError | None:
    """Turn a Weibo response into an ApiError, or None when it is a success."""
    code: int | None = None
    message = ""
    if isinstance(payload, dict) and "error_code" in payload:
        try:
            code = int(payload["error_code"])
        except (TypeError, ValueError):
            code = None
        message = str(payload.get("error", "")) or "error"
    elif http_status < 400:
        return None
    kwargs = {"platform": PLATFORM, "endpoint": endpoint, "code": code, "http_status": http_status}
    if code in RATE_LIMIT_CODES:
        return RateLimitedError(f"rate limit reached: {message}", **kwargs)
    if code in REAUTHORIZE_CODES:
        return ReauthorizeError(
            f"token rejected ({message}); the account owner must re-authorize the app", **kwargs
        )
    if http_status >= 500 or http_status == 429:
        return RetriableError(f"HTTP {http_status} {message}".strip(), **kwargs)
    if code is not None or http_status >= 400:
        return PermanentError(f"HTTP {http_status}: {message or 'request refused'}", **kwargs)
    return None


@dataclass(frozen=True)
class WeiboSettings:
    base_url: str = LIVE_BASE_URL
    timeout_seconds: float = 10.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    max_rate_limit_wait_seconds: float = 900.0


ResponseSink = Callable[[str, dict[str, Any], HttpResponse], None]
# (endpoint, record, reason): a record skipped because it cannot be read; the caller quarantines it.
MalformedSink = Callable[[str, Any, str], None]


def _log_malformed(endpoint: str, record: Any, reason: str) -> None:
    log.warning("weibo %s: skipped a malformed record (%s)", endpoint, reason)


class RateLimitWaitTooLong(RateLimitedError):
    """Waiting out the window would take longer than allowed: stop this account for this run."""


class WeiboClient:
    """Calls one account's endpoints with its token; waits out rate limits within a maximum."""

    def __init__(
        self,
        settings: WeiboSettings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        http: HttpClient | None = None,
    ) -> None:
        self.settings = settings
        self.sleep = sleep
        self.http = http or HttpClient(
            platform=PLATFORM,
            base_url=settings.base_url,
            classify=classify_weibo_error,
            timeout_seconds=settings.timeout_seconds,
            retry=settings.retry,
            sleep=sleep,
        )

    def close(self) -> None:
        self.http.close()

    def get(
        self,
        endpoint: str,
        params: dict[str, Any],
        *,
        token: str,
        account: str,
        on_response: ResponseSink | None = None,
    ) -> Any:
        """GET `endpoint`; hands the raw response to `on_response`; returns the JSON payload."""
        waited = 0.0
        while True:
            try:
                response = self.http.call(
                    "GET", endpoint, params={**params, "access_token": token}, suffix=".json"
                )
            except RateLimitedError as error:
                reset_in = self._reset_in_seconds(token, account)
                if reset_in is None or waited + reset_in > self.settings.max_rate_limit_wait_seconds:
                    raise RateLimitWaitTooLong(
                        "rate limit reached and the window resets in "
                        f"{'an unknown time' if reset_in is None else f'{reset_in:.0f}s'}, more than "
                        f"the allowed wait of {self.settings.max_rate_limit_wait_seconds:.0f}s "
                        "(SHENGLIANG_MAX_RATE_LIMIT_WAIT); this account stops for this run",
                        platform=PLATFORM,
                        endpoint=endpoint,
                        account=account,
                        code=error.code,
                        reset_in_seconds=reset_in,
                    ) from None
                log.warning(
                    "weibo %s, account %s: rate limit reached; waiting %.0fs for the window to reset",
                    endpoint,
                    account,
                    reset_in,
                )
                self.sleep(reset_in)
                waited += reset_in
                continue
            except ApiError as error:
                raise error.with_context(account=account) from None
            if on_response is not None:
                on_response(endpoint, redact(params), response)
            return response.payload

    def _reset_in_seconds(self, token: str, account: str) -> float | None:
        try:
            response = self.http.call(
                "GET", RATE_LIMIT_STATUS, params={"access_token": token}, suffix=".json"
            )
        except ApiError as error:
            log.warning("weibo %s, account %s: %s", RATE_LIMIT_STATUS, account, error)
            return None
        payload = response.payload
        if not isinstance(payload, dict) or "reset_time_in_seconds" not in payload:
            return None
        try:
            # One extra second so the call lands in the new window.
            return float(payload["reset_time_in_seconds"]) + 1.0
        except (TypeError, ValueError):
            return None


class CursorSeenTwice(PermanentError):
    """A paginator was handed the same cursor twice: the API is looping, stop."""


class MaxIdPaginator:
    """Pages a newest-first Weibo list backwards: next max_id = smallest id seen - 1.

    Stops on an empty page, when the API's next_cursor says there is no more, or once a page reaches
    posts older than `stop_before`. Not on a short page: Weibo returns short pages when it hides
    deleted or restricted posts. Refuses a cursor it has already used, so an API cannot loop it.
    """

    def __init__(self, page_size: int, stop_before: datetime | None = None) -> None:
        self.page_size = page_size
        self.stop_before = stop_before
        self.max_id: int | None = None
        self._more = True
        self._seen: set[int] = set()

    def has_more(self) -> bool:
        return self._more

    def advance(self, items: Sequence[dict[str, Any]], endpoint: str, next_cursor: Any = None) -> None:
        """Move past a page of valid statuses (see `check_status`): ids and dates already checked."""
        if not items or str(next_cursor) == "0":
            self._more = False
            return
        ids = [int(status_id(item)) for item in items]
        next_max_id = min(ids) - 1
        if next_max_id in self._seen:
            raise CursorSeenTwice(
                f"max_id {next_max_id} came back twice; stopping", platform=PLATFORM, endpoint=endpoint
            )
        self._seen.add(next_max_id)
        self.max_id = next_max_id
        if self.stop_before is not None:
            oldest = min(check_status(item)[1] for item in items)
            if oldest < self.stop_before:
                self._more = False


def _validated_list(payload: Any, key: str | None, endpoint: str) -> list[Any]:
    """The response's list (under `key`); a response of another shape is an error of the call."""
    if key is None:
        items = payload
    else:
        items = payload.get(key) if isinstance(payload, dict) else None
    if not isinstance(items, list):
        raise PermanentError(
            f"malformed response: expected a list{f' under {key!r}' if key else ''}, "
            f"got {type(items).__name__}",
            platform=PLATFORM,
            endpoint=endpoint,
        )
    return items


def _readable(
    items: Sequence[Any],
    endpoint: str,
    check: Callable[[Any], object],
    on_malformed: MalformedSink,
) -> list[dict[str, Any]]:
    """The items `check` accepts; each one it refuses goes to `on_malformed` with the reason."""
    good = []
    for item in items:
        try:
            check(item)
        except MalformedRecord as error:
            on_malformed(endpoint, item, str(error))
            continue
        good.append(item)
    return good


def iter_timeline(
    client: WeiboClient,
    *,
    uid: str,
    token: str,
    since_id: str | None,
    stop_before: datetime | None,
    on_response: ResponseSink | None = None,
    page_size: int = PAGE_SIZE,
    on_malformed: MalformedSink = _log_malformed,
) -> Iterator[list[dict[str, Any]]]:
    """Yield pages of the account's posts newer than since_id (all of them when it is None,
    back to `stop_before`). A post without a valid id or created_at goes to `on_malformed` and is
    left out of the page, of the paging and of the bookmark."""
    paginator = MaxIdPaginator(page_size, stop_before=None if since_id else stop_before)
    while paginator.has_more():
        params: dict[str, Any] = {"uid": uid, "count": page_size, "trim_user": 0}
        if since_id:
            params["since_id"] = since_id
        if paginator.max_id is not None:
            params["max_id"] = paginator.max_id
        payload = client.get(TIMELINE, params, token=token, account=uid, on_response=on_response)
        raw = _validated_list(payload, "statuses", TIMELINE)
        statuses = _readable(raw, TIMELINE, check_status, on_malformed)
        if raw and not statuses:
            log.warning(
                "weibo %s, account %s: none of the %d posts of a page could be read; paging stops here",
                TIMELINE,
                uid,
                len(raw),
            )
        paginator.advance(statuses, TIMELINE, payload.get("next_cursor"))
        yield statuses


def fetch_counts(
    client: WeiboClient,
    *,
    uid: str,
    token: str,
    post_ids: Sequence[str],
    on_response: ResponseSink | None = None,
    on_malformed: MalformedSink = _log_malformed,
) -> list[dict[str, Any]]:
    """Current reposts/comments/attitudes of known posts, 100 ids a call. An entry without a valid id
    goes to `on_malformed`."""
    rows: list[dict[str, Any]] = []
    for start in range(0, len(post_ids), COUNT_IDS_PER_CALL):
        chunk = post_ids[start : start + COUNT_IDS_PER_CALL]
        payload = client.get(
            COUNTS, {"ids": ",".join(chunk)}, token=token, account=uid, on_response=on_response
        )
        rows.extend(_readable(_validated_list(payload, None, COUNTS), COUNTS, status_id, on_malformed))
    return rows


def fetch_user(
    client: WeiboClient, *, uid: str, token: str, on_response: ResponseSink | None = None
) -> dict[str, Any]:
    """The account's profile (followers_count, friends_count, statuses_count)."""
    payload = client.get(USERS_SHOW, {"uid": uid}, token=token, account=uid, on_response=on_response)
    if not isinstance(payload, dict) or "followers_count" not in payload:
        raise PermanentError(
            "malformed response: no followers_count", platform=PLATFORM, endpoint=USERS_SHOW, account=uid
        )
    return payload
