"""The daily report's configuration (`config/reports.yml`): per brand, who receives what and where.

The file names where secrets live (an environment variable or an Airflow connection), never a
webhook URL, signing secret or password. Validation turns every mistake into one message that
names the file, the entry and the fix.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from shengliang.registry import read_yaml_file
from shengliang.settings import ConfigError

SECTIONS = (
    "completeness",
    "key_figures",
    "trends",
    "top_posts",
    "growth",
    "sentiment",
    "advocacy",
    "climate",
    "rising_terms",
    "leaderboard",
    "compliance",
)
# The compliance section (employee posts naming a confidential term) goes only to its own list.
COMPLIANCE = "compliance"
ROBOT_TYPES = ("wecom", "dingtalk", "feishu")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CONNECTION_ID = re.compile(r"[A-Za-z0-9_.\-]+")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class ReportConfigError(ConfigError):
    """config/reports.yml is wrong; the message says where and how to fix it."""


def _secret_ref(value: str | None, what: str, kind: str) -> str | None:
    if value is None:
        return None
    if "://" in value or value.lower().startswith("http"):
        raise ValueError(
            f"{what} holds a URL, not the name of the {kind} that holds it: put the URL in an environment "
            "variable or an Airflow connection and name that here"
        )
    pattern = _ENV_NAME if kind == "environment variable" else _CONNECTION_ID
    if not pattern.fullmatch(value):
        raise ValueError(f"{what} {value!r} is not an {kind} name")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SecretRef(_Strict):
    """Where a secret lives: exactly one of an environment variable or an Airflow connection (its
    password, or for a webhook its host/extra as Airflow stores it)."""

    env: str | None = None
    connection: str | None = None

    def describe(self) -> str:
        return f"environment variable {self.env}" if self.env else f"Airflow connection {self.connection}"


class Robot(_Strict):
    """An IM group robot: its type, where its webhook URL lives and (DingTalk, Feishu) its signing secret."""

    type: Literal["wecom", "dingtalk", "feishu"]
    webhook_env: str | None = None
    webhook_connection: str | None = None
    secret_env: str | None = None
    secret_connection: str | None = None

    @field_validator("webhook_env", "secret_env")
    @classmethod
    def _env_names(cls, value: str | None) -> str | None:
        return _secret_ref(value, "the reference", "environment variable")

    @field_validator("webhook_connection", "secret_connection")
    @classmethod
    def _connection_ids(cls, value: str | None) -> str | None:
        return _secret_ref(value, "the reference", "Airflow connection")

    @model_validator(mode="after")
    def _one_place_each(self) -> Robot:
        if (self.webhook_env is None) == (self.webhook_connection is None):
            raise ValueError(
                "give exactly one of webhook_env or webhook_connection (where the webhook URL lives)"
            )
        if self.secret_env is not None and self.secret_connection is not None:
            raise ValueError("give at most one of secret_env or secret_connection")
        if self.type == "wecom" and (self.secret_env or self.secret_connection):
            raise ValueError("a WeCom group robot has no signing secret: remove secret_env/secret_connection")
        return self

    @property
    def webhook(self) -> SecretRef:
        return SecretRef(env=self.webhook_env, connection=self.webhook_connection)

    @property
    def secret(self) -> SecretRef | None:
        if self.secret_env is None and self.secret_connection is None:
            return None
        return SecretRef(env=self.secret_env, connection=self.secret_connection)


class BrandReport(_Strict):
    email: list[str] = Field(default_factory=list)
    compliance_email: list[str] = Field(default_factory=list)
    robots: list[Robot] = Field(default_factory=list)
    sections: list[str] | None = None
    base_url: str | None = None

    @field_validator("email", "compliance_email")
    @classmethod
    def _addresses(cls, values: list[str]) -> list[str]:
        for value in values:
            if not _EMAIL.fullmatch(value):
                raise ValueError(f"{value!r} is not an e-mail address")
        return values

    @field_validator("sections")
    @classmethod
    def _known_sections(cls, values: list[str] | None) -> list[str] | None:
        for value in values or []:
            if value not in SECTIONS:
                raise ValueError(f"unknown section {value!r}; use some of: {', '.join(SECTIONS)}")
        return values


class Defaults(_Strict):
    deadline: time = time(9, 30)
    base_url: str
    sections: list[str] = Field(default_factory=lambda: [s for s in SECTIONS if s != COMPLIANCE])

    @field_validator("sections")
    @classmethod
    def _known_sections(cls, values: list[str]) -> list[str]:
        return BrandReport._known_sections(values) or []


class ReportsFile(_Strict):
    defaults: Defaults
    brands: dict[str, BrandReport]


class BrandDelivery(BaseModel):
    """One brand's resolved report settings."""

    model_config = ConfigDict(frozen=True)

    brand_id: str
    email: tuple[str, ...]
    compliance_email: tuple[str, ...]
    robots: tuple[Robot, ...]
    sections: tuple[str, ...]
    base_url: str
    deadline: time

    def sections_for(self, recipient: str) -> tuple[str, ...]:
        """The sections one e-mail recipient may receive: compliance only for the compliance list."""
        if recipient in self.compliance_email:
            return self.sections + ((COMPLIANCE,) if COMPLIANCE not in self.sections else ())
        return tuple(s for s in self.sections if s != COMPLIANCE)


def _where(location: Iterable[int | str]) -> str:
    parts = [str(p) for p in location]
    out = ""
    for part in parts:
        out += f"[{part}]" if part.isdigit() else (f".{part}" if out else part)
    return out or "top level"


def load_report_config(path: Path, known_brands: Iterable[str]) -> dict[str, BrandDelivery]:
    """Read and validate the report configuration against the brands of the account registry."""
    path = Path(path)
    document = read_yaml_file(
        path,
        ReportConfigError,
        "the report configuration does not exist. Copy config/reports.yml there and list your brands.",
    )
    try:
        parsed = ReportsFile.model_validate(document or {})
    except ValidationError as error:
        first = error.errors()[0]
        problem = str(first["msg"]).removeprefix("Value error, ")
        fix = {
            "missing": "Add it.",
            "extra_forbidden": "Remove it, or check its spelling.",
            "literal_error": f"Use one of: {', '.join(ROBOT_TYPES)}.",
        }.get(first["type"], "Fix the value.")
        raise ReportConfigError(f"{path}: {_where(first['loc'])}: {problem}. {fix}") from None
    known = set(known_brands)
    result = {}
    for brand_id, brand in parsed.brands.items():
        if brand_id not in known:
            raise ReportConfigError(
                f"{path}: brands.{brand_id}: not a brand of the account registry. "
                f"Use one of: {', '.join(sorted(known)) or 'none'}."
            )
        if not brand.email and not brand.robots:
            raise ReportConfigError(
                f"{path}: brands.{brand_id}: no e-mail recipient and no robot. Add email: or robots:, "
                "or remove the brand."
            )
        sections = tuple(brand.sections if brand.sections is not None else parsed.defaults.sections)
        result[brand_id] = BrandDelivery(
            brand_id=brand_id,
            email=tuple(brand.email),
            compliance_email=tuple(brand.compliance_email),
            robots=tuple(brand.robots),
            sections=tuple(s for s in sections if s != COMPLIANCE),
            base_url=(brand.base_url or parsed.defaults.base_url).rstrip("/"),
            deadline=parsed.defaults.deadline,
        )
    return result
