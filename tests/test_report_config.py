"""config/reports.yml: the shipped file loads, and every mistake is one message naming the file, the
entry and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from shengliang.report_config import COMPLIANCE, ReportConfigError, load_report_config
from shengliang.settings import PROJECT_ROOT

SHIPPED = PROJECT_ROOT / "config" / "reports.yml"
BRANDS = ("shanhai", "jiguang")


def write(tmp_path: Path, document: dict) -> Path:
    path = tmp_path / "reports.yml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


def shipped() -> dict:
    return yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))


def test_the_shipped_configuration_loads() -> None:
    reports = load_report_config(SHIPPED, BRANDS)
    assert set(reports) == {"shanhai", "jiguang"}
    shanhai = reports["shanhai"]
    assert [r.type for r in shanhai.robots] == ["wecom", "dingtalk"]
    assert (
        shanhai.robots[1].secret is not None
        and shanhai.robots[1].secret.env == "SHENGLIANG_DINGTALK_SECRET_SHANHAI"
    )
    assert reports["jiguang"].robots[0].webhook.describe() == "Airflow connection feishu_jiguang"
    assert shanhai.base_url == "http://127.0.0.1:8000/reports" and shanhai.deadline.hour == 9


def test_the_compliance_section_reaches_only_its_own_list() -> None:
    shanhai = load_report_config(SHIPPED, BRANDS)["shanhai"]
    assert COMPLIANCE not in shanhai.sections
    assert COMPLIANCE not in shanhai.sections_for("marketing@shanhai.example")
    assert COMPLIANCE in shanhai.sections_for("compliance@shanhai.example")
    assert COMPLIANCE not in shanhai.sections_for("someone@else.example")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["brands"].update(nobrand={"email": ["a@b.cn"]}),
            r"brands\.nobrand: not a brand of the account registry\. Use one of: jiguang, shanhai\.",
        ),
        (
            lambda d: d["brands"]["shanhai"]["robots"][0].update(
                webhook_env="https://qyapi.weixin.qq.com/x?key=1"
            ),
            r"brands\.shanhai\.robots\[0\]\.webhook_env: the reference holds a URL, not the name",
        ),
        (
            lambda d: d["brands"]["shanhai"]["robots"][0].update(type="slack"),
            r"brands\.shanhai\.robots\[0\]\.type: .*Use one of: wecom, dingtalk, feishu\.",
        ),
        (
            lambda d: d["brands"]["shanhai"]["robots"][1].pop("webhook_env"),
            r"brands\.shanhai\.robots\[1\]: give exactly one of webhook_env or webhook_connection",
        ),
        (
            lambda d: d["brands"]["shanhai"]["robots"][0].update(secret_env="X"),
            r"a WeCom group robot has no signing secret",
        ),
        (
            lambda d: d["brands"]["shanhai"].update(email=["not-an-address"]),
            r"brands\.shanhai\.email: 'not-an-address' is not an e-mail address",
        ),
        (
            lambda d: d["brands"]["shanhai"].update(sections=["key_figures", "horoscope"]),
            r"unknown section 'horoscope'",
        ),
        (
            lambda d: d["brands"]["jiguang"].update(password="hunter2"),
            r"brands\.jiguang\.password: .*Remove it, or check its spelling\.",
        ),
        (lambda d: d["defaults"].pop("base_url"), r"defaults\.base_url: Field required\. Add it\."),
        (
            lambda d: d["brands"]["jiguang"].update(email=[], robots=[]),
            r"brands\.jiguang: no e-mail recipient and no robot",
        ),
    ],
)
def test_a_mistake_is_one_message_naming_the_file_the_entry_and_the_fix(
    tmp_path: Path, change, message
) -> None:
    document = shipped()
    change(document)
    path = write(tmp_path, document)
    with pytest.raises(ReportConfigError, match=message) as caught:
        load_report_config(path, BRANDS)
    assert str(caught.value).startswith(f"{path}: ")
    assert "qyapi.weixin.qq.com" not in str(caught.value) and "hunter2" not in str(caught.value)


def test_a_missing_or_broken_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(ReportConfigError, match="does not exist. Copy config/reports.yml there"):
        load_report_config(tmp_path / "none.yml", BRANDS)
    broken = tmp_path / "broken.yml"
    broken.write_text("defaults: [\n", encoding="utf-8")
    with pytest.raises(ReportConfigError, match="not valid YAML at line"):
        load_report_config(broken, BRANDS)


def test_the_shipped_configuration_names_the_shipped_registrys_brands() -> None:
    from shengliang.registry import load_registry

    registry = load_registry(PROJECT_ROOT / "config" / "accounts.yml", lookup=None)
    assert set(load_report_config(SHIPPED, registry.brands)) == set(registry.brands)
