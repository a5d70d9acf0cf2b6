"""Where things live and how the pipeline is tuned, read from the environment at run time."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from extractors.errors import ShengliangError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BEIJING = ZoneInfo("Asia/Shanghai")


class ConfigError(ShengliangError):
    """Bad configuration: the message names the setting and the fix."""


def data_dir() -> Path:
    return Path(os.environ.get("SHENGLIANG_DATA_DIR") or PROJECT_ROOT / "data")


def default_warehouse_url() -> str:
    return f"duckdb:///{data_dir() / 'warehouse.duckdb'}"


def warehouse_url() -> str:
    return os.environ.get("WAREHOUSE_URL") or default_warehouse_url()


def lake_dir() -> Path:
    return Path(os.environ.get("SHENGLIANG_LAKE_DIR") or data_dir() / "lake")


def staging_dir() -> Path:
    return data_dir() / "staging"


def token_dir() -> Path:
    """Cached WeChat access tokens (0600 files; see extractors.wechat.FileTokenStore)."""
    return Path(os.environ.get("SHENGLIANG_TOKEN_DIR") or data_dir() / "tokens")


def accounts_file() -> Path:
    return Path(os.environ.get("SHENGLIANG_ACCOUNTS") or PROJECT_ROOT / "config" / "accounts.yml")


def reports_file() -> Path:
    """Who receives the daily report (config/reports.yml)."""
    return Path(os.environ.get("SHENGLIANG_REPORTS") or PROJECT_ROOT / "config" / "reports.yml")


def _env_number(name: str, default: float, *, minimum: float = 0) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number; set it to a number like {default:g}") from None
    if value < minimum:
        raise ConfigError(f"{name}={raw!r} is below {minimum:g}; set it to a number like {default:g}")
    return value


def privacy_k() -> int:
    """METRICS.md's privacy threshold: employee sentiment cells with fewer employees are suppressed."""
    return int(_env_number("SHENGLIANG_PRIVACY_K", 5, minimum=1))


@dataclass(frozen=True)
class PipelineSettings:
    weibo_base_url: str
    wechat_base_url: str
    tracking_days: int
    accounts_per_batch: int
    http_timeout_seconds: float
    http_max_attempts: int
    http_backoff_seconds: float
    max_rate_limit_wait_seconds: float

    @classmethod
    def from_env(cls) -> PipelineSettings:
        return cls(
            weibo_base_url=os.environ.get("WEIBO_API_BASE") or "https://api.weibo.com/2/",
            wechat_base_url=os.environ.get("WECHAT_API_BASE") or "https://api.weixin.qq.com/",
            tracking_days=int(_env_number("SHENGLIANG_TRACKING_DAYS", 7, minimum=1)),
            accounts_per_batch=int(_env_number("SHENGLIANG_ACCOUNTS_PER_BATCH", 4, minimum=1)),
            http_timeout_seconds=_env_number("SHENGLIANG_HTTP_TIMEOUT", 10.0, minimum=0.1),
            http_max_attempts=int(_env_number("SHENGLIANG_HTTP_MAX_ATTEMPTS", 5, minimum=1)),
            http_backoff_seconds=_env_number("SHENGLIANG_HTTP_BACKOFF", 0.5),
            max_rate_limit_wait_seconds=_env_number("SHENGLIANG_MAX_RATE_LIMIT_WAIT", 900.0),
        )


SEGMENTER_BACKENDS = ("jieba-c", "rjieba", "jieba")


def segmenter_backend() -> str:
    """The segmentation backend from SHENGLIANG_SEGMENTER: "jieba-c" (default: jieba in C, jieba's
    tokens), "rjieba" (jieba-rs) or "jieba" (the Python reference)."""
    raw = os.environ.get("SHENGLIANG_SEGMENTER")
    if raw is None or raw.strip() == "":
        return SEGMENTER_BACKENDS[0]
    value = raw.strip().lower()
    if value not in SEGMENTER_BACKENDS:
        allowed = ", ".join(SEGMENTER_BACKENDS[:-1]) + " or " + SEGMENTER_BACKENDS[-1]
        raise ConfigError(f"SHENGLIANG_SEGMENTER={raw!r} is not a segmenter backend; set it to {allowed}")
    return value
