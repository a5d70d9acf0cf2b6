"""Exception hierarchy shared by every platform.

Each platform has one place that turns its error codes into these classes
(`extractors.weibo.classify_weibo_error`); everything else catches the class, never the code.
"""

from __future__ import annotations


class ShengliangError(Exception):
    """Base of every error the pipeline raises on purpose; its message is meant for people."""


class ApiError(ShengliangError):
    """An API call failed. Names the platform, endpoint, account and date, never the token."""

    def __init__(
        self,
        message: str,
        *,
        platform: str,
        endpoint: str,
        account: str | None = None,
        data_date: str | None = None,
        code: int | None = None,
        http_status: int | None = None,
    ) -> None:
        self.platform = platform
        self.endpoint = endpoint
        self.account = account
        self.data_date = data_date
        self.code = code
        self.http_status = http_status
        self.detail = message
        super().__init__(self._render())

    def _render(self) -> str:
        where = [f"{self.platform} {self.endpoint}"]
        if self.account:
            where.append(f"account {self.account}")
        if self.data_date:
            where.append(f"date {self.data_date}")
        code = f" (error {self.code})" if self.code is not None else ""
        return f"{', '.join(where)}: {self.detail}{code}"

    def with_context(self, *, account: str | None = None, data_date: str | None = None) -> ApiError:
        """Fill in the account and date once the caller knows them."""
        self.account = self.account or account
        self.data_date = self.data_date or data_date
        self.args = (self._render(),)
        return self


class RetriableError(ApiError):
    """5xx, timeouts, dropped connections: worth retrying with backoff."""


class RateLimitedError(ApiError):
    """The platform's rate limit or quota is spent. `reset_in_seconds` is known when the API says."""

    def __init__(self, message: str, *, reset_in_seconds: float | None = None, **kwargs) -> None:
        self.reset_in_seconds = reset_in_seconds
        super().__init__(message, **kwargs)


class ReauthorizeError(ApiError):
    """The token is expired, revoked or invalid: the account owner must sign in again."""


class PermanentError(ApiError):
    """Retrying cannot help: unknown user, no permission, bad parameter, malformed response."""


class TokenRejectedError(ApiError):
    """The access token was refused (WeChat 40001/40014/42001): refresh it once and retry once."""


class QuotaExhaustedError(RateLimitedError):
    """A daily quota is spent (WeChat 45009): stop calling that endpoint for today, never loop."""


class EndpointRetiredError(PermanentError):
    """The endpoint is offline (WeChat 47009): use the other endpoint family."""


class PermissionDeniedError(PermanentError):
    """The account lacks permission for this API (WeChat 48001, e.g. an unverified account)."""
