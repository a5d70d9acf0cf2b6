"""The account registry: a good file loads; each bad entry fails with a message a person can act on."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.weibo_world import WeiboWorld
from shengliang.registry import RegistryError, TokenRef, env_lookup, load_registry
from shengliang.settings import PROJECT_ROOT

GOOD = """
brands:
  - id: shanhai
    name: 山海茶饮
accounts:
  - brand: shanhai
    platform: weibo
    account_id: "6000000001"
    display_name: 山海茶饮官方微博
    kind: brand
    token_env: TEST_TOKEN_A
  - brand: shanhai
    platform: weibo
    account_id: "6000000101"
    display_name: 小李
    kind: employee
    department: 市场部
    token_connection: weibo_xiaoli
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "accounts.yml"
    path.write_text(text, encoding="utf-8")
    return path


def always(ref: TokenRef) -> str:
    return "resolved"


def test_good_registry_loads(tmp_path: Path) -> None:
    registry = load_registry(write(tmp_path, GOOD), lookup=always)
    assert [a.account_key for a in registry.accounts] == ["weibo:6000000001", "weibo:6000000101"]
    employee = registry.accounts[1]
    assert (employee.kind, employee.department, employee.brand.name) == ("employee", "市场部", "山海茶饮")
    assert employee.token == TokenRef(env=None, connection="weibo_xiaoli")


def test_shipped_registry_is_valid_and_holds_no_tokens() -> None:
    path = PROJECT_ROOT / "config" / "accounts.yml"
    registry = load_registry(path, lookup=None)
    weibo = [
        (a.brand.brand_id, a.account_id, a.display_name, a.kind, a.department, a.token.env)
        for a in registry.for_platform("weibo")
    ]
    sandbox = [  # exactly the sandbox's default Weibo accounts
        (a.brand_id, a.uid, a.screen_name, a.kind, a.department, f"WEIBO_TOKEN_{a.uid}")
        for a in WeiboWorld().accounts
    ]
    assert weibo == sandbox and len(weibo) == 26
    assert all(a.brand.dictionary and a.brand.dictionary.exists() for a in registry.accounts)
    assert "2.00" not in path.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("    kind: brand\n", "", ["accounts[0] (山海茶饮官方微博)", "missing field 'kind'", "Add kind:"]),
        (
            "    kind: employee\n",
            "    kind: intern\n",
            ["accounts[1] (小李)", "unknown kind 'intern'", "kind: brand or kind: employee"],
        ),
        (
            'account_id: "6000000101"',
            'account_id: "6000000001"',
            ["accounts[1]", "duplicate account id", "accounts[0]"],
        ),
        ("    department: 市场部\n", "", ["accounts[1] (小李)", "employee without a department"]),
        (
            "    token_env: TEST_TOKEN_A\n",
            "",
            ["accounts[0]", "exactly one of 'token_env' or 'token_connection'"],
        ),
        (
            "    token_env: TEST_TOKEN_A\n",
            "    token_env: TEST_TOKEN_A\n    token: 2.00abc\n",
            ["accounts[0]", "holds a token value"],
        ),
        (
            '  - brand: shanhai\n    platform: weibo\n    account_id: "6000000101"',
            '  - brand: nobody\n    platform: weibo\n    account_id: "6000000101"',
            ["accounts[1]", "brand 'nobody'", "shanhai"],
        ),
    ],
)
def test_bad_entries_name_file_entry_and_fix(tmp_path: Path, old: str, new: str, expected: list[str]) -> None:
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(RegistryError) as caught:
        load_registry(path, lookup=always)
    message = str(caught.value)
    assert message.startswith(str(path))
    for fragment in expected:
        assert fragment in message


def test_unresolved_token_reference_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TEST_TOKEN_A", raising=False)
    with pytest.raises(RegistryError, match=r"accounts\[0\].*environment variable TEST_TOKEN_A is not set"):
        load_registry(write(tmp_path, GOOD), lookup=env_lookup)


def test_connection_tokens_resolve_from_airflow_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_TOKEN_A", "tok-a")
    monkeypatch.setenv("AIRFLOW_CONN_WEIBO_XIAOLI", '{"conn_type": "generic", "password": "tok-b"}')
    registry = load_registry(write(tmp_path, GOOD), lookup=env_lookup)
    assert [env_lookup(a.token) for a in registry.accounts] == ["tok-a", "tok-b"]
    monkeypatch.setenv("AIRFLOW_CONN_WEIBO_XIAOLI", "generic://:tok%2Fc@")
    assert env_lookup(registry.accounts[1].token) == "tok/c"


def test_bad_yaml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="not valid YAML at line"):
        load_registry(write(tmp_path, "accounts: [\n  - {"), lookup=always)
    with pytest.raises(RegistryError, match="does not exist.*SHENGLIANG_ACCOUNTS"):
        load_registry(tmp_path / "missing.yml", lookup=always)


def test_a_pasted_token_is_never_echoed(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("token_env: TEST_TOKEN_A", "token_env: 2.00SecretValue123"))
    with pytest.raises(RegistryError) as caught:
        load_registry(path, lookup=always)
    assert "2.00SecretValue123" not in str(caught.value)


SECRET = "RELSECRETq7Zk2Vx9Lm4Pw8Rt3Yb6Nc1Hd5Jf0Gs"  # what a pasted token looks like
WEIBO_LIKE = "2.00Ab3CdEfGh4IjKlMn5OpQrStUvWxYz"


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        # a key the registry does not know, holding a secret: refused, not silently accepted
        ("    token_env: TEST_TOKEN_A\n", f"    token_env: TEST_TOKEN_A\n    secret: {SECRET}\n", "secret"),
        (
            "    token_env: TEST_TOKEN_A\n",
            f"    token_env: TEST_TOKEN_A\n    access_token_value: {WEIBO_LIKE}\n",
            "access_token_value",
        ),
        (
            "    token_env: TEST_TOKEN_A\n",
            f"    token_env: TEST_TOKEN_A\n    app_secret: {SECRET}\n",
            "app_secret",
        ),
        # a secret pasted where a name belongs: refused, and the value never echoed
        ("token_env: TEST_TOKEN_A", f"token_env: {SECRET}", "token_env"),
        ("token_env: TEST_TOKEN_A", f"token_env: {WEIBO_LIKE}", "token_env"),
        ("token_connection: weibo_xiaoli", f"token_connection: {SECRET}", "token_connection"),
        ("token_connection: weibo_xiaoli", f"token_connection: {WEIBO_LIKE}", "token_connection"),
        # a token in a free-text field
        ("display_name: 小李", f"display_name: {SECRET}", "display_name"),
        ("department: 市场部", f"department: {WEIBO_LIKE}", "department"),
    ],
)
def test_a_secret_anywhere_in_an_entry_is_refused_and_never_echoed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, old: str, new: str, field: str
) -> None:
    assert old in GOOD
    monkeypatch.delenv(SECRET, raising=False)
    path = write(tmp_path, GOOD.replace(old, new, 1))
    for lookup in (always, env_lookup, None):  # with or without resolving the references
        with pytest.raises(RegistryError) as caught:
            load_registry(path, lookup=lookup)
        message = str(caught.value)
        assert message.startswith(str(path)) and "accounts[" in message and repr(field) in message
        for secret in (SECRET, WEIBO_LIKE, SECRET[:12], WEIBO_LIKE[:12]):
            assert secret not in message
        assert "RELSECRET" not in message and "2.00" not in message


def test_an_unknown_key_is_refused_by_name(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("    kind: brand\n", "    kind: brand\n    departmnet: 市场部\n", 1))
    with pytest.raises(RegistryError) as caught:
        load_registry(path, lookup=always)
    message = str(caught.value)
    assert "accounts[0] (山海茶饮官方微博)" in message and "unknown field 'departmnet'" in message
    assert "department" in message  # the known fields are listed
    path = write(tmp_path, GOOD.replace("    name: 山海茶饮\n", "    name: 山海茶饮\n    colour: red\n", 1))
    with pytest.raises(RegistryError, match=r"brands\[0\] \(shanhai\): unknown field 'colour'"):
        load_registry(path, lookup=always)
    path = write(tmp_path, GOOD.replace("    name: 山海茶饮\n", "    name: 山海茶饮\n    api_key: x\n", 1))
    with pytest.raises(RegistryError, match=r"brands\[0\] \(shanhai\): field 'api_key' holds a token value"):
        load_registry(path, lookup=always)
    path = write(tmp_path, GOOD.replace("    name: 山海茶饮\n", f"    name: {SECRET}\n", 1))
    with pytest.raises(RegistryError, match=r"brands\[0\]: field 'name' holds what looks like") as caught:
        load_registry(path, lookup=always)
    assert SECRET not in str(caught.value)
    path = write(tmp_path, GOOD + f"tokens:\n  weibo: {SECRET}\n")
    with pytest.raises(
        RegistryError, match="top level: key 'tokens' holds what looks like a token"
    ) as caught:
        load_registry(path, lookup=always)
    assert SECRET not in str(caught.value)
    path = write(tmp_path, GOOD + "defaults:\n  kind: brand\n")
    with pytest.raises(RegistryError, match="top level: unknown key 'defaults'"):
        load_registry(path, lookup=always)


def test_ordinary_names_are_not_taken_for_secrets(tmp_path: Path) -> None:
    text = GOOD.replace("token_env: TEST_TOKEN_A", "token_env: WEIBO_TOKEN_6000000001").replace(
        "token_connection: weibo_xiaoli", "token_connection: weibo_token_xiaoli_marketing_2026"
    )
    text += (
        "  - brand: shanhai\n    platform: wechat\n    account_id: wx1a2b3c4d5e6f7a8b\n"
        "    display_name: ShanhaiTeaOfficial2026\n    kind: brand\n"
        "    token_env: WECHAT_SECRET_WX1A2B3C4D5E6F7A8B\n"
    )
    registry = load_registry(write(tmp_path, text), lookup=always)
    assert [a.token for a in registry.accounts] == [
        TokenRef(env="WEIBO_TOKEN_6000000001"),
        TokenRef(connection="weibo_token_xiaoli_marketing_2026"),
        TokenRef(env="WECHAT_SECRET_WX1A2B3C4D5E6F7A8B"),
    ]


def test_what_looks_like_a_secret() -> None:
    import base64
    import random

    from shengliang.registry import looks_like_secret

    rng = random.Random(13)
    base62 = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    for _ in range(300):
        assert looks_like_secret("".join(rng.choice(base62) for _ in range(32)))
        assert looks_like_secret(rng.randbytes(16).hex())  # a WeChat AppSecret
        assert looks_like_secret(base64.urlsafe_b64encode(rng.randbytes(32)).decode())
        assert looks_like_secret("2.00" + "".join(rng.choice(base62) for _ in range(28)))  # Weibo
        assert looks_like_secret(f"山海 {rng.randbytes(16).hex()} 市场部")
    names = [
        "WEIBO_TOKEN_6000000001",
        "WECHAT_SECRET_WX5348000000000001",
        "WECHAT_SECRET_WX1A2B3C4D5E6F7A8B",
        "wx1a2b3c4d5e6f7a8b",  # a real-looking appid: public, not a secret
        "weibo_token_xiaoli_marketing_2026",
        "ShanhaiTeaOfficial2026",
        "山海茶饮官方微博",
        "ACCESS_TOKEN_FOR_THE_SHANHAI_BRAND_ACCOUNT",
        "internationalization_department",
        "6000000000000000101",
    ]
    assert [name for name in names if looks_like_secret(name)] == []
