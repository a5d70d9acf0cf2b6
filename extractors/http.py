"""A small HTTP layer shared by platforms: one session, timeouts, retries with backoff and jitter.

Platform clients pass a `classify` function that turns a response into an `ApiError` (or None),
so errors inside a 200 body (WeChat) and HTTP errors (Weibo) go through the same path.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import requests

from extractors.errors import ApiError, PermanentError, RetriableError

log = logging.getLogger(__name__)

SECRET_PARAMS = frozenset({"access_token", "secret", "appsecret", "client_secret"})
_SECRET_IN_URL = re.compile(r"\b(access_token|secret|appsecret|client_secret)=[^&\s\"']+")


class RedactSecretsFilter(logging.Filter):
    """Rewrites `access_token=...` in log records, since urllib3 logs every URL at DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _SECRET_IN_URL.sub(r"\1=***", message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


for _name in ("urllib3.connectionpool", "urllib3", "requests"):
    logging.getLogger(_name).addFilter(RedactSecretsFilter())


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter: sleep uniform(0, min(max_delay, base * 2**attempt))."""

    max_attempts: int = 5
    base_delay_seconds: float = 0.5
    max_delay_seconds: float = 30.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        return rng.uniform(0, min(self.max_delay_seconds, self.base_delay_seconds * 2**attempt))


def redact(params: Mapping[str, Any] | None) -> dict[str, Any]:
    """Params safe to log or store: secret values replaced."""
    return {k: ("***" if k in SECRET_PARAMS else v) for k, v in (params or {}).items()}


# After json.loads, a surrogate code point left in a string is a lone one (an escaped "\ud83d" cut
# from its pair); valid pairs are already joined. PostgreSQL refuses NUL ("\u0000") in text.
_UNSAFE_ESCAPE = re.compile(r"\\u(?:0000|d[89a-f][0-9a-f]{2})", re.IGNORECASE)
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def safe_text(value: str) -> str:
    """Text that every store accepts: lone surrogates replaced by U+FFFD, NUL characters removed."""
    return _LONE_SURROGATE.sub("\ufffd", value).replace("\x00", "")


def _make_safe(value: Any) -> Any:
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, list):
        return [_make_safe(item) for item in value]
    if isinstance(value, dict):
        return {safe_text(key): _make_safe(item) for key, item in value.items()}
    return value


def made_safe(payload: Any, text: str) -> Any:
    """The payload parsed from `text`, with every string made safe (see `safe_text`). Raw JSON cannot
    hold a NUL or a lone surrogate unescaped, so only a text with such an escape is walked."""
    return _make_safe(payload) if _UNSAFE_ESCAPE.search(text) else payload


def loads_safe(text: str) -> Any:
    """json.loads with every string made safe."""
    return made_safe(json.loads(text), text)


@dataclass
class HttpResponse:
    status: int
    payload: Any
    text: str
    requested_at: float


Classifier = Callable[[int, Any, str], ApiError | None]


class HttpClient:
    """One `requests.Session` for a platform; `call` returns parsed JSON or raises an ApiError."""

    def __init__(
        self,
        *,
        platform: str,
        base_url: str,
        classify: Classifier,
        timeout_seconds: float = 10.0,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.platform = platform
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.classify = classify
        self.timeout_seconds = timeout_seconds
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.session = requests.Session()
        self.session.headers["User-Agent"] = "shengliang/0.1"
        self.call_counts: Counter[str] = Counter()

    def close(self) -> None:
        self.session.close()

    def call(
        self,
        method: str,
        endpoint: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        suffix: str = "",
    ) -> HttpResponse:
        """Call `endpoint` (a path under base_url), retrying retriable failures with backoff."""
        url = f"{self.base_url}{endpoint}{suffix}"
        attempt = 0
        while True:
            try:
                return self._call_once(method, endpoint, url, params, json_body)
            except RetriableError as error:
                attempt += 1
                if attempt >= self.retry.max_attempts:
                    error.detail += f"; gave up after {attempt} attempts"
                    error.args = (error._render(),)
                    raise
                wait = self.retry.delay(attempt, self.rng)
                log.warning("%s; retry %d/%d in %.2fs", error, attempt, self.retry.max_attempts - 1, wait)
                self.sleep(wait)

    def _call_once(
        self, method: str, endpoint: str, url: str, params: Mapping[str, Any] | None, json_body: Any
    ) -> HttpResponse:
        self.call_counts[endpoint] += 1
        started = time.time()
        try:
            response = self.session.request(
                method, url, params=params, json=json_body, timeout=self.timeout_seconds
            )
        except requests.Timeout:
            raise RetriableError(
                f"no answer within {self.timeout_seconds}s", platform=self.platform, endpoint=endpoint
            ) from None
        except requests.ConnectionError as error:
            # The exception text holds the URL and so the token: keep only its class name.
            raise RetriableError(
                f"connection failed ({type(error).__name__})", platform=self.platform, endpoint=endpoint
            ) from None
        except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError) as error:
            # The body was cut short (the connection dropped mid-answer) or could not be decoded:
            # the same transient failure as a 5xx, retried like one.
            raise RetriableError(
                f"answer cut short ({type(error).__name__})", platform=self.platform, endpoint=endpoint
            ) from None
        text = response.text
        try:
            payload = made_safe(response.json(), text) if text else None
        except ValueError:
            payload = None
        error = self.classify(response.status_code, payload, endpoint)
        if error is not None:
            raise error
        if payload is None:
            raise PermanentError(
                f"HTTP {response.status_code} with a body that is not JSON: {text[:120]!r}",
                platform=self.platform,
                endpoint=endpoint,
                http_status=response.status_code,
            )
        return HttpResponse(response.status_code, payload, text, started)
