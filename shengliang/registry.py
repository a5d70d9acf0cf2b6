"""The account registry: which brand and employee accounts Shengliang reads, and where their tokens are.

The file holds names of secrets, never secrets. Validation turns every mistake into one message
that names the file, the entry and the fix.
"""

from __future__ import annotations

import math
import os
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from extractors.errors import ShengliangError

PLATFORMS = ("weibo", "wechat")
KINDS = ("brand", "employee")
ACCOUNT_FIELDS = ("brand", "platform", "account_id", "display_name", "kind")
ACCOUNT_KEYS = (*ACCOUNT_FIELDS, "department", "token_env", "token_connection")
BRAND_KEYS = ("id", "name", "dictionary", "advocate_leaderboard")
TOP_LEVEL_KEYS = ("brands", "accounts")
# Key names that say "this holds a secret": the registry holds only the names of secrets.
SECRET_KEY_NAME = re.compile(r"token|secret|passw|credential|api_?key|app_?key|private", re.IGNORECASE)


class RegistryError(ShengliangError):
    """The registry file is wrong; the message says where and how to fix it."""


@dataclass(frozen=True)
class Brand:
    brand_id: str
    name: str
    dictionary: Path | None
    advocate_leaderboard: bool = False  # opt-in: leaderboards that name employees


@dataclass(frozen=True)
class TokenRef:
    """Where a token lives: an environment variable or an Airflow connection (its password)."""

    env: str | None = None
    connection: str | None = None

    def describe(self) -> str:
        return f"environment variable {self.env}" if self.env else f"Airflow connection {self.connection}"


@dataclass(frozen=True)
class Account:
    brand: Brand
    platform: str
    account_id: str
    display_name: str
    kind: str
    department: str | None
    token: TokenRef

    @property
    def account_key(self) -> str:
        return f"{self.platform}:{self.account_id}"

    def label(self) -> str:
        return f"{self.display_name} ({self.platform} {self.account_id})"


@dataclass(frozen=True)
class Registry:
    path: Path
    brands: dict[str, Brand]
    accounts: list[Account]

    def for_platform(self, platform: str) -> list[Account]:
        return [a for a in self.accounts if a.platform == platform]

    def account(self, platform: str, account_id: str) -> Account:
        for account in self.accounts:
            if account.platform == platform and account.account_id == account_id:
                return account
        raise RegistryError(f"{self.path}: no {platform} account {account_id} is registered")


SecretLookup = Callable[[TokenRef], str | None]


def env_lookup(ref: TokenRef) -> str | None:
    """Tokens from environment variables; connections as Airflow exports them (AIRFLOW_CONN_<ID>)."""
    if ref.env:
        return os.environ.get(ref.env) or None
    if ref.connection:
        raw = os.environ.get(f"AIRFLOW_CONN_{ref.connection.upper()}")
        return _password_from_conn(raw) if raw else None
    return None


def _password_from_conn(raw: str) -> str | None:
    import json
    from urllib.parse import unquote, urlsplit

    if raw.lstrip().startswith("{"):
        return json.loads(raw).get("password") or None
    password = urlsplit(raw).password
    return unquote(password) if password else None


def _fail(path: Path, where: str, problem: str, fix: str) -> RegistryError:
    return RegistryError(f"{path}: {where}: {problem}. {fix}")


def _entropy(text: str) -> float:
    """Shannon entropy in bits per character."""
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


# A WeChat appid (wx + 16 hex digits) is public: an account id, and part of names such as
# WECHAT_SECRET_WX1A2B3C4D5E6F7A8B. The AppSecret is 32 hex digits without the wx.
WECHAT_APPID = re.compile(r"wx[0-9a-f]{16}(?![0-9a-z])", re.IGNORECASE)


def _class_of(char: str) -> str:
    return "d" if char.isdigit() else "u" if char.isupper() else "l"


def looks_like_secret(value: str) -> bool:
    """A token or secret rather than a name: a Weibo token (2.00...), a long hex string (a WeChat
    AppSecret), or a long run of letters and digits that is random-looking: high entropy, and letter
    case and digits alternating as they do in random strings, not at word boundaries as in
    ShanhaiTeaOfficial2026. Names such as WEIBO_TOKEN_6000000001, WECHAT_SECRET_WX5348000000000001,
    weibo_xiaoli or a WeChat appid are not."""
    if re.match(r"\s*2\.00[A-Za-z0-9_]{8,}", value):
        return True
    for run in re.findall(r"[A-Za-z0-9+/=_\-]{16,}", WECHAT_APPID.sub(" ", value)):
        chars = re.sub(r"[+/=_\-]", "", run)
        if len(chars) < 16:
            continue
        classes = {_class_of(c) for c in chars}
        switches = sum(_class_of(a) != _class_of(b) for a, b in zip(chars, chars[1:], strict=False))
        if len(chars) >= 24 and re.fullmatch(r"[0-9a-f]+|[0-9A-F]+", chars) and len(classes) >= 2:
            return True
        if len(classes) >= 2 and switches / len(chars) >= 0.3 and _entropy(chars) >= 3.0:
            return True
        if len(chars) >= 32 and _entropy(chars) >= 4.2:
            return True
    return False


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for key, item in value.items() for s in (str(key), *_strings(item))]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return [value] if isinstance(value, str) else []


MOVE_THE_SECRET = (
    "The registry holds only names of secrets: put the value in an environment variable or an "
    "Airflow connection, write that name in token_env or token_connection, remove the value from the "
    "file and rotate it (it has been in a file)."
)


def _refuse_secrets(path: Path, where: str, entry: dict) -> None:
    """Before anything echoes a value: no key or value may look like a token or secret. The message
    names the file, the entry and the field, never the value."""
    kind = "key" if where == "top level" else "field"
    for key, value in entry.items():
        name = str(key)
        if looks_like_secret(name):
            raise _fail(path, where, "a key looks like a token or secret (it is not shown)", MOVE_THE_SECRET)
        if any(looks_like_secret(text) for text in _strings(value)):
            raise _fail(
                path,
                where,
                f"{kind} {name!r} holds what looks like a token or secret (the value is not shown)",
                MOVE_THE_SECRET,
            )


def _refuse_unknown_keys(path: Path, where: str, entry: dict, known: tuple[str, ...]) -> None:
    """Every key must be one the registry reads: a misspelt field is not silently ignored, and a
    `secret:` or `access_token_value:` line is refused as what it is."""
    kind = "key" if where == "top level" else "field"
    for key in entry:
        name = str(key)
        if name in known:
            continue
        if SECRET_KEY_NAME.search(name):
            raise _fail(
                path, where, f"{kind} {name!r} holds a token value (it is not shown)", MOVE_THE_SECRET
            )
        raise _fail(
            path,
            where,
            f"unknown {kind} {name!r}",
            f"Use only {', '.join(known)}; fix the name or remove the line.",
        )


def read_yaml_file(path: Path, error: type[ShengliangError], missing: str) -> Any:
    """A configuration file's YAML document; a missing file or bad YAML is one `error` naming the file
    (and the line), with `missing` saying what the file is and how to create it."""
    if not path.exists():
        raise error(f"{path}: {missing}")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as problem:
        mark = getattr(problem, "problem_mark", None)
        at = f"line {mark.line + 1}" if mark else "somewhere"
        raise error(f"{path}: not valid YAML at {at}: {getattr(problem, 'problem', problem)}") from None


def load_registry(path: Path, *, lookup: SecretLookup | None = env_lookup) -> Registry:
    """Read and validate the registry. With `lookup`, every token reference must resolve."""
    path = Path(path)
    document = read_yaml_file(
        path,
        RegistryError,
        "the account registry does not exist. Create it (see config/accounts.yml) "
        "or point SHENGLIANG_ACCOUNTS at it.",
    )
    if not isinstance(document, dict) or not isinstance(document.get("accounts"), list):
        raise _fail(path, "top level", "no 'accounts:' list", "Add 'brands:' and 'accounts:' lists.")
    extra = {key: value for key, value in document.items() if key not in TOP_LEVEL_KEYS}
    _refuse_secrets(path, "top level", extra)
    _refuse_unknown_keys(path, "top level", extra, TOP_LEVEL_KEYS)
    brands = _load_brands(path, document.get("brands") or [])
    accounts: list[Account] = []
    seen: dict[tuple[str, str], int] = {}
    for index, entry in enumerate(document["accounts"]):
        account = _load_account(path, index, entry, brands)
        key = (account.platform, account.account_id)
        if key in seen:
            raise _fail(
                path,
                f"accounts[{index}] ({account.platform} {account.account_id})",
                f"duplicate account id, already registered as accounts[{seen[key]}]",
                "Remove one of the two entries.",
            )
        seen[key] = index
        accounts.append(account)
    # References are resolved once the whole file is valid: a secret pasted into a later entry is
    # reported before a variable that is not set in an earlier one.
    for index, account in enumerate(accounts):
        if lookup is not None and not lookup(account.token):
            raise _fail(
                path,
                f"accounts[{index}] ({account.display_name}, {account.platform} {account.account_id})",
                f"its token reference resolves to nothing: {account.token.describe()} is not set",
                "Set it to the account's access token, or fix the name in the registry.",
            )
    return Registry(path=path, brands=brands, accounts=accounts)


def _load_brands(path: Path, entries: Any) -> dict[str, Brand]:
    if not isinstance(entries, list):
        raise _fail(path, "brands", "is not a list", "Write brands as a list of {id, name, dictionary}.")
    brands: dict[str, Brand] = {}
    for index, entry in enumerate(entries):
        where = f"brands[{index}]"
        if not isinstance(entry, dict) or not entry.get("id") or not entry.get("name"):
            raise _fail(path, where, "needs 'id' and 'name'", "Add both, e.g. id: shanhai, name: 山海茶饮.")
        _refuse_secrets(path, where, entry)
        _refuse_unknown_keys(path, f"{where} ({entry['id']})", entry, BRAND_KEYS)
        brand_id = str(entry["id"])
        if brand_id in brands:
            raise _fail(path, f"{where} ({brand_id})", "duplicate brand id", "Remove one of the two.")
        dictionary = entry.get("dictionary")
        dictionary_path = (path.parent / str(dictionary)).resolve() if dictionary else None
        if dictionary_path is not None and not dictionary_path.exists():
            raise _fail(
                path,
                f"{where} ({brand_id})",
                f"dictionary file {dictionary_path} does not exist",
                "Fix the path (relative to the registry file) or remove the line.",
            )
        leaderboard = entry.get("advocate_leaderboard", False)
        if not isinstance(leaderboard, bool):
            raise _fail(
                path,
                f"{where} ({brand_id})",
                f"advocate_leaderboard is {leaderboard!r}, not true or false",
                "Write advocate_leaderboard: true to publish named employee leaderboards, or remove it.",
            )
        brands[brand_id] = Brand(
            brand_id=brand_id,
            name=str(entry["name"]),
            dictionary=dictionary_path,
            advocate_leaderboard=leaderboard,
        )
    return brands


def _load_account(path: Path, index: int, entry: Any, brands: dict[str, Brand]) -> Account:
    where = f"accounts[{index}]"
    if not isinstance(entry, dict):
        raise _fail(path, where, "is not a mapping", "Write each account as key: value lines.")
    _refuse_secrets(path, where, entry)
    if entry.get("account_id") is not None:
        where += f" ({entry.get('display_name') or entry['account_id']})"
    _refuse_unknown_keys(path, where, entry, ACCOUNT_KEYS)
    for name in ACCOUNT_FIELDS:
        if entry.get(name) in (None, ""):
            raise _fail(path, where, f"missing field '{name}'", f"Add {name}: to the entry.")
    platform = str(entry["platform"])
    if platform not in PLATFORMS:
        raise _fail(path, where, f"unknown platform {platform!r}", f"Use one of: {', '.join(PLATFORMS)}.")
    kind = str(entry["kind"])
    if kind not in KINDS:
        raise _fail(path, where, f"unknown kind {kind!r}", "Use kind: brand or kind: employee.")
    department = entry.get("department")
    if kind == "employee" and not department:
        raise _fail(path, where, "employee without a department", "Add department: (e.g. 市场部).")
    brand_id = str(entry["brand"])
    if brand_id not in brands:
        known = ", ".join(brands) or "none"
        raise _fail(path, where, f"brand {brand_id!r} is not under 'brands:'", f"Use one of: {known}.")
    token_env, token_conn = entry.get("token_env"), entry.get("token_connection")
    if bool(token_env) == bool(token_conn):
        raise _fail(
            path,
            where,
            "needs exactly one of 'token_env' or 'token_connection'",
            "Name the environment variable or Airflow connection that holds the access token "
            "(never the token itself).",
        )
    if token_env and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(token_env)):
        raise _fail(
            path,
            where,
            "token_env is not an environment variable name (was the token itself pasted there?)",
            "Put the name of the variable, e.g. WEIBO_TOKEN_6000000001, and the token in that variable.",
        )
    if token_conn and not re.fullmatch(r"[A-Za-z0-9_.\-]+", str(token_conn)):
        raise _fail(path, where, "token_connection is not an Airflow connection id", "Use a connection id.")
    return Account(
        brand=brands[brand_id],
        platform=platform,
        account_id=str(entry["account_id"]),
        display_name=str(entry["display_name"]),
        kind=kind,
        department=str(department) if department else None,
        token=TokenRef(env=token_env or None, connection=token_conn or None),
    )
