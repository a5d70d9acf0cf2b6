"""Report delivery against real servers: aiosmtpd for the e-mail, a local HTTP server for the robots.

Airflow connections come from AIRFLOW_CONN_<ID> environment variables, as for the CLI.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import re
import socket
import threading
import time
import traceback
from collections.abc import Iterator
from datetime import time as clock
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote_plus, urlsplit

import airflow.sdk  # noqa: F401  (Airflow configures logging on import: before caplog attaches)
import pytest
from aiosmtpd.controller import Controller
from tenacity import wait_none

from shengliang import delivery
from shengliang.delivery import (
    ATTEMPTS,
    Delivery,
    DeliveryConfigError,
    DeliveryError,
    Digest,
    DigestFigure,
    EmailContent,
    TransientDeliveryError,
    deliver_all,
    email_delivery,
    post_digest,
    resolve_secret,
    robot_deliveries,
    robot_request,
    send_email,
)
from shengliang.report_config import BrandDelivery, Robot, SecretRef

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
XLSX_BYTES = b"PK\x03\x04" + "山海 workbook".encode() + bytes(range(200))
XLSX_NAME = "山海日报-2026-11-10.xlsx"
WECOM_KEY = "wecom-key-5f1c2d3e4b5a69788796"
DINGTALK_TOKEN = "ding-access-token-0a1b2c3d4e5f60718293"
DINGTALK_SECRET = "SECdingtalk-signing-secret-9f8e7d6c5b4a"
FEISHU_TOKEN = "feishu-hook-token-7a6b5c4d3e2f1a0b"
FEISHU_SECRET = "feishu-signing-secret-1q2w3e4r5t6y"

DIGEST = Digest(
    title="山海 日报 2026-11-10",
    figures=[
        DigestFigure("互动量", "12,345", "+5.2% 较前日"),
        DigestFigure("发帖数", "87", "-3 较前日"),
        DigestFigure("正面占比", "64%", None),
        DigestFigure("新增粉丝", "1,024", "+12.0% 较前日"),
    ],
    top_post=("山海新品 [限定] 桂花乌龙上线\n今天起全国门店", "https://weibo.com/6000000001/Qabc123"),
    warnings=["微信数据缺失"],
    link="https://reports.shengliang.test/shanhai/2026-11-10.html",
)


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(delivery, "RETRY_WAIT", wait_none())


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


# --- a real SMTP server -----------------------------------------------------------------------------


class Mailbox:
    """An aiosmtpd handler that stores accepted envelopes; `replies` scripts DATA answers first."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []
        self.replies: list[str] = []
        self.data_commands = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.data_commands += 1
        if self.replies:
            reply = self.replies.pop(0)
            if not reply.startswith("250"):
                return reply
        self.envelopes.append(envelope)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    """aiosmtpd on 127.0.0.1 and smtp_default pointing at it: plain SMTP (the provider turns SSL and
    STARTTLS off only through the disable_ssl / disable_tls extras), no login, no hook-level retries."""
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    connection = {
        "conn_type": "smtp",
        "host": "127.0.0.1",
        "port": controller.port,
        "extra": {
            "disable_tls": True,
            "disable_ssl": True,
            "from_email": "report@shengliang.test",
            "retry_limit": 0,
            "timeout": 5,
        },
    }
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", json.dumps(connection))
    try:
        yield mailbox
    finally:
        controller.stop()


def report_content() -> EmailContent:
    html = (
        "<html><body><h1>山海 日报</h1><p>互动量 12,345</p>"
        '<img src="cid:trend_weibo.png" alt="微博趋势"><img src="cid:trend_wechat.png"></body></html>'
    )
    return EmailContent(
        subject="山海茶饮 日报 2026-11-10：互动量上升",
        html=html,
        images={"trend_weibo.png": PNG, "trend_wechat.png": PNG[::-1]},
        attachments={XLSX_NAME: XLSX_BYTES},
    )


def parse(envelope: Any) -> EmailMessage:
    message = message_from_bytes(envelope.content, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_email_reaches_a_real_smtp_server_with_inline_images_and_the_workbook(smtp_server: Mailbox) -> None:
    content = report_content()
    recipients = ["marketing@shanhai.test", "ceo@shanhai.test"]

    send_email(content, recipients)

    [envelope] = smtp_server.envelopes
    assert envelope.mail_from == "report@shengliang.test"
    assert envelope.rcpt_tos == recipients
    message = parse(envelope)
    assert message["Subject"] == content.subject
    assert b"=?utf-8?" in envelope.content.split(b"\r\n\r\n", 1)[0]  # the subject travels encoded
    assert message.get_content_type() == "multipart/mixed"
    related, attachment = message.iter_parts()
    assert related.get_content_type() == "multipart/related"
    alternative, *images = related.iter_parts()
    assert alternative.get_content_type() == "multipart/alternative"
    plain, html = alternative.iter_parts()
    assert plain.get_content_type() == "text/plain" and "互动量 12,345" in plain.get_content()
    assert html.get_content_type() == "text/html" and html.get_content().strip() == content.html

    cids = {part["Content-ID"]: part for part in images}
    referenced = re.findall(r'src="cid:([^"]+)"', html.get_content())
    assert sorted(referenced) == sorted(content.images)
    for name in referenced:
        image = cids[f"<{name}>"]
        assert image.get_content_type() == "image/png"
        assert image.get_content_disposition() == "inline"
        assert image.get_content() == content.images[name]

    assert attachment.get_content_type() == delivery.XLSX[0] + "/" + delivery.XLSX[1]
    assert attachment.get_content_disposition() == "attachment"
    assert attachment.get_filename() == XLSX_NAME
    assert attachment.get_content() == XLSX_BYTES


def test_email_delivery_names_its_channel(smtp_server: Mailbox) -> None:
    one = email_delivery(report_content(), ["marketing@shanhai.test", "ceo@shanhai.test"])
    assert one.channel == "e-mail to marketing@shanhai.test (2 recipients)"
    assert deliver_all("shanhai", [one]) == [one.channel]
    assert len(smtp_server.envelopes) == 1


@pytest.mark.parametrize(
    ("reply", "delivered", "data_commands"),
    [
        ("451 4.3.0 Mailbox busy, try again later", True, 2),  # temporary: retried, then accepted
        ("550 5.7.1 Message rejected as spam", False, 1),  # permanent: not retried
    ],
    ids=["451-retried", "550-final"],
)
def test_email_retries_smtp_4xx_but_not_5xx(
    smtp_server: Mailbox, reply: str, delivered: bool, data_commands: int
) -> None:
    smtp_server.replies = [reply]
    if delivered:
        send_email(report_content(), ["marketing@shanhai.test"])
    else:
        with pytest.raises(DeliveryError) as raised:
            send_email(report_content(), ["marketing@shanhai.test"])
        assert "550" in str(raised.value) and not isinstance(raised.value, TransientDeliveryError)
    assert smtp_server.data_commands == data_commands
    assert len(smtp_server.envelopes) == (1 if delivered else 0)


def test_email_to_an_unreachable_server_is_retried_then_transient(monkeypatch: pytest.MonkeyPatch) -> None:
    connection = {"conn_type": "smtp", "host": "127.0.0.1", "port": free_port()}
    connection["extra"] = {"disable_tls": True, "disable_ssl": True, "from_email": "r@x.test", "timeout": 2}
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", json.dumps(connection))
    with pytest.raises(TransientDeliveryError, match=f"gave up after {ATTEMPTS} attempts"):
        send_email(report_content(), ["marketing@shanhai.test"])


@pytest.fixture
def metadata_db_connections() -> Iterator[Any]:
    """Add connections to the Airflow metadata DB (as `airflow connections add` does); removed after."""
    from airflow.models.connection import Connection
    from airflow.utils.session import create_session

    from shengliang.airflow_local import init_metadata_db

    init_metadata_db()
    added: list[str] = []

    def add(conn_id: str, **fields: Any) -> None:
        with create_session() as session:
            session.add(Connection(conn_id=conn_id, **fields))
        added.append(conn_id)

    yield add
    with create_session() as session:
        session.query(Connection).filter(Connection.conn_id.in_(added)).delete(synchronize_session=False)


def test_outside_a_task_connections_in_the_metadata_db_are_found_too(
    smtp_server: Mailbox, metadata_db_connections: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # airflow.sdk.Connection.get outside a task sees AIRFLOW_CONN_* and secrets backends only
    monkeypatch.delenv("AIRFLOW_CONN_SMTP_IN_DB", raising=False)
    port = json.loads(os.environ["AIRFLOW_CONN_SMTP_DEFAULT"])["port"]
    extra = {"disable_tls": True, "disable_ssl": True, "from_email": "db@shengliang.test", "retry_limit": 0}
    metadata_db_connections(
        "smtp_in_db", conn_type="smtp", host="127.0.0.1", port=port, extra=json.dumps(extra)
    )
    metadata_db_connections(
        "feishu_in_db", conn_type="http", host="https://open.feishu.cn/open-apis/bot/v2/hook/x"
    )

    send_email(report_content(), ["marketing@shanhai.test"], conn_id="smtp_in_db")
    assert [e.mail_from for e in smtp_server.envelopes] == ["db@shengliang.test"]
    found = resolve_secret(SecretRef(connection="feishu_in_db"), purpose="the Feishu webhook", field="host")
    assert found == "https://open.feishu.cn/open-apis/bot/v2/hook/x"


def test_missing_smtp_connection_says_how_to_add_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_SMTP_DEFAULT", raising=False)
    with pytest.raises(DeliveryConfigError) as raised:
        send_email(report_content(), ["marketing@shanhai.test"])
    message = str(raised.value)
    assert "smtp_default" in message and "does not exist" in message
    assert "AIRFLOW_CONN_SMTP_DEFAULT='smtp://" in message
    assert "airflow connections add smtp_default" in message


def test_html_referencing_a_missing_image_fails_before_connecting(smtp_server: Mailbox) -> None:
    content = EmailContent("s", '<img src="cid:nope.png">', images={}, attachments={})
    with pytest.raises(DeliveryError, match="images that are not attached: nope.png"):
        send_email(content, ["marketing@shanhai.test"])
    assert smtp_server.data_commands == 0


# --- a local HTTP server for the robots -------------------------------------------------------------


class RobotServer:
    """Records every POST (path, query, JSON body); answers by path with a scripted (status, body)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.answers: dict[str, tuple[int, Any]] = {}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                outer.requests.append(
                    {
                        "path": parts.path,
                        "query": {k: v[0] for k, v in parse_qs(parts.query).items()},
                        "body": json.loads(raw),
                        "content_type": self.headers.get("Content-Type"),
                    }
                )
                status, answer = outer.answers.get(parts.path, (200, {"errcode": 0, "errmsg": "ok"}))
                data = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # the path holds the key
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def to(self, path: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"] == path]


WECOM_PATH = "/cgi-bin/webhook/send"
DINGTALK_PATH = "/robot/send"
FEISHU_PATH = f"/open-apis/bot/v2/hook/{FEISHU_TOKEN}"


@pytest.fixture
def robots(monkeypatch: pytest.MonkeyPatch) -> Iterator[RobotServer]:
    """The server, and the brand's three robots' secrets where config/reports.yml would name them:
    WeCom and DingTalk in environment variables, Feishu in Airflow connections (URL in host,
    secret in password)."""
    server = RobotServer()
    thread = threading.Thread(target=server.httpd.serve_forever, daemon=True)
    thread.start()
    server.answers[FEISHU_PATH] = (200, {"code": 0, "msg": "success", "data": {}})
    monkeypatch.setenv("SHANHAI_WECOM_WEBHOOK", f"{server.base}{WECOM_PATH}?key={WECOM_KEY}")
    monkeypatch.setenv(
        "SHANHAI_DINGTALK_WEBHOOK", f"{server.base}{DINGTALK_PATH}?access_token={DINGTALK_TOKEN}"
    )
    monkeypatch.setenv("SHANHAI_DINGTALK_SECRET", DINGTALK_SECRET)
    monkeypatch.setenv(
        "AIRFLOW_CONN_FEISHU_SHANHAI",
        json.dumps({"conn_type": "http", "host": f"{server.base}{FEISHU_PATH}"}),
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_FEISHU_SHANHAI_SIGNING", json.dumps({"conn_type": "generic", "password": FEISHU_SECRET})
    )
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()


WECOM = Robot(type="wecom", webhook_env="SHANHAI_WECOM_WEBHOOK")
DINGTALK = Robot(
    type="dingtalk", webhook_env="SHANHAI_DINGTALK_WEBHOOK", secret_env="SHANHAI_DINGTALK_SECRET"
)
FEISHU = Robot(type="feishu", webhook_connection="feishu_shanhai", secret_connection="feishu_shanhai_signing")


def brand_with(*robots: Robot) -> BrandDelivery:
    return BrandDelivery(
        brand_id="shanhai",
        email=("marketing@shanhai.test",),
        compliance_email=(),
        robots=robots,
        sections=("key_figures",),
        base_url="https://reports.shengliang.test",
        deadline=clock(9, 30),
    )


def test_each_robot_type_gets_its_json_signed_as_the_platform_checks(robots: RobotServer) -> None:
    before = time.time()
    deliveries = robot_deliveries(brand_with(WECOM, DINGTALK, FEISHU), DIGEST)
    assert [d.channel for d in deliveries] == ["wecom robot 1", "dingtalk robot 1", "feishu robot 1"]
    assert deliver_all("shanhai", deliveries) == ["wecom robot 1", "dingtalk robot 1", "feishu robot 1"]
    after = time.time()

    [wecom] = robots.to(WECOM_PATH)
    assert wecom["query"] == {"key": WECOM_KEY}
    assert wecom["content_type"].startswith("application/json")
    assert set(wecom["body"]) == {"msgtype", "markdown"} and wecom["body"]["msgtype"] == "markdown"
    content = wecom["body"]["markdown"]["content"]
    assert content.startswith("### 山海 日报 2026-11-10\n")
    assert "互动量: 12,345 (+5.2% 较前日)" in content and "正面占比: 64%\n" in content
    assert "[山海新品 ［限定］ 桂花乌龙上线 今天起全国门店](https://weibo.com/6000000001/Qabc123)" in content
    assert "⚠️ 微信数据缺失" in content
    assert content.endswith(f"[查看完整日报]({DIGEST.link})")

    [ding] = robots.to(DINGTALK_PATH)
    assert ding["body"]["msgtype"] == "markdown"
    assert ding["body"]["markdown"]["title"] == DIGEST.title
    assert "互动量: 12,345 (+5.2% 较前日)" in ding["body"]["markdown"]["text"]
    assert ding["query"]["access_token"] == DINGTALK_TOKEN
    timestamp = ding["query"]["timestamp"]
    assert before * 1000 - 1 <= int(timestamp) <= after * 1000 + 1
    expected = base64.b64encode(
        hmac.new(
            DINGTALK_SECRET.encode(), f"{timestamp}\n{DINGTALK_SECRET}".encode(), hashlib.sha256
        ).digest()
    ).decode()
    assert ding["query"]["sign"] == expected  # parse_qs undid the URL quoting

    [feishu] = robots.to(FEISHU_PATH)
    body = feishu["body"]
    assert body["msg_type"] == "post"
    post = body["content"]["post"]["zh_cn"]
    assert post["title"] == DIGEST.title
    assert post["content"][0] == [{"tag": "text", "text": "互动量: 12,345 (+5.2% 较前日)"}]
    assert [{"tag": "text", "text": "⚠️ 微信数据缺失"}] in post["content"]
    assert post["content"][-1] == [{"tag": "a", "text": "查看完整日报", "href": DIGEST.link}]
    assert before - 1 <= int(body["timestamp"]) <= after + 1
    string_to_sign = f"{body['timestamp']}\n{FEISHU_SECRET}".encode()
    assert body["sign"] == base64.b64encode(hmac.new(string_to_sign, b"", hashlib.sha256).digest()).decode()


def test_robot_request_is_pure_and_signs_from_now() -> None:
    url, body = robot_request(
        "dingtalk", DIGEST, "https://oapi.dingtalk.com/robot/send?access_token=t", "s", now=1.5
    )
    sign = base64.b64encode(hmac.new(b"s", b"1500\ns", hashlib.sha256).digest()).decode()
    assert (
        url == f"https://oapi.dingtalk.com/robot/send?access_token=t&timestamp=1500&sign={quote_plus(sign)}"
    )
    assert robot_request("dingtalk", DIGEST, "https://x/robot/send?access_token=t", None)[0].endswith("=t")
    _, feishu = robot_request(
        "feishu", DIGEST, "https://open.feishu.cn/open-apis/bot/v2/hook/t", "s", now=7.9
    )
    assert feishu["timestamp"] == "7"
    _, unsigned = robot_request("feishu", DIGEST, "https://open.feishu.cn/open-apis/bot/v2/hook/t", None)
    assert "sign" not in unsigned and "timestamp" not in unsigned


def test_wecom_content_is_cut_to_4096_bytes_and_keeps_the_report_link() -> None:
    many = Digest(
        title=DIGEST.title,
        figures=DIGEST.figures,
        top_post=DIGEST.top_post,
        warnings=[f"第{i}个账号的微信数据缺失，已重试三次仍未取到完整数据" for i in range(200)],
        link=DIGEST.link,
    )
    _, body = robot_request("wecom", many, "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k", None)
    content = body["markdown"]["content"]
    assert len(content.encode("utf-8")) <= 4096
    content.encode("utf-8").decode("utf-8")  # no character cut in half
    assert content.startswith("### 山海 日报") and "互动量: 12,345" in content
    assert content.endswith(f"…\n[查看完整日报]({DIGEST.link})")


# --- failures ---------------------------------------------------------------------------------------


def test_failing_channel_is_retried_then_named_while_the_others_are_delivered(
    robots: RobotServer, smtp_server: Mailbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # urllib3 logs request paths at DEBUG: the key must not show
    robots.answers[DINGTALK_PATH] = (500, b"<html>Internal Server Error</html>")
    deliveries = [
        email_delivery(report_content(), ["marketing@shanhai.test"]),
        *robot_deliveries(brand_with(WECOM, DINGTALK, FEISHU), DIGEST),
    ]

    with pytest.raises(DeliveryError) as raised:
        deliver_all("shanhai", deliveries)

    error = raised.value
    assert len(robots.to(DINGTALK_PATH)) == ATTEMPTS
    assert len(robots.to(WECOM_PATH)) == 1 and len(robots.to(FEISHU_PATH)) == 1
    assert len(smtp_server.envelopes) == 1
    message = str(error)
    assert "brand shanhai" in message and "dingtalk robot 1" in message and "HTTP 500" in message
    assert not isinstance(error, DeliveryConfigError)  # worth retrying later
    assert error.delivered == ("e-mail to marketing@shanhai.test", "wecom robot 1", "feishu robot 1")
    assert list(error.failures) == ["dingtalk robot 1"]
    shown = [
        message,
        caplog.text,
        "".join(traceback.format_exception(error)),
        "".join(traceback.format_exception(error.failures["dingtalk robot 1"])),
    ]
    webhook = f"{robots.base}{DINGTALK_PATH}?access_token={DINGTALK_TOKEN}"
    for text in shown:
        for secret in (webhook, DINGTALK_TOKEN, DINGTALK_SECRET, WECOM_KEY, FEISHU_TOKEN, FEISHU_SECRET):
            assert secret not in text
    assert "attempt 1 of 3 failed" in caplog.text  # the retries are logged, by channel


@pytest.mark.parametrize(
    ("answer", "attempts", "shown"),
    [
        ((200, {"errcode": 310000, "errmsg": "sign not match"}), 1, "error 310000: sign not match"),
        ((200, {"errcode": 130101, "errmsg": "send too fast"}), ATTEMPTS, "rate-limited"),
        ((400, {"errcode": 300001, "errmsg": "token is not exist"}), 1, "HTTP 400"),
        ((429, {}), ATTEMPTS, "HTTP 429"),
        ((200, b"not json"), 1, "without a result code"),
    ],
    ids=["non-zero-code", "rate-limit-code", "http-400", "http-429", "not-json"],
)
def test_platform_answers_decide_between_failing_and_retrying(
    robots: RobotServer, answer: tuple[int, Any], attempts: int, shown: str
) -> None:
    robots.answers[DINGTALK_PATH] = answer
    with pytest.raises(DeliveryError, match=shown) as raised:
        post_digest(DINGTALK, DIGEST, brand="shanhai")
    assert len(robots.to(DINGTALK_PATH)) == attempts
    assert "the DingTalk robot of brand shanhai" in str(raised.value)
    assert DINGTALK_TOKEN not in str(raised.value)


def test_feishu_legacy_status_code_and_rate_limit(robots: RobotServer) -> None:
    robots.answers[FEISHU_PATH] = (200, {"StatusCode": 0, "StatusMessage": "success"})
    post_digest(FEISHU, DIGEST)
    robots.answers[FEISHU_PATH] = (200, {"code": 9499, "msg": "too many request", "data": {}})
    with pytest.raises(TransientDeliveryError, match="9499"):
        post_digest(FEISHU, DIGEST)
    assert len(robots.to(FEISHU_PATH)) == 1 + ATTEMPTS


def test_unreachable_robot_is_retried_and_the_url_stays_out_of_the_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = f"http://127.0.0.1:{free_port()}/cgi-bin/webhook/send?key={WECOM_KEY}"
    monkeypatch.setenv("SHANHAI_WECOM_WEBHOOK", url)
    with pytest.raises(TransientDeliveryError, match="cannot reach the WeCom robot") as raised:
        post_digest(WECOM, DIGEST, brand="shanhai", timeout=2)
    assert WECOM_KEY not in "".join(traceback.format_exception(raised.value))


def test_unset_webhook_variable_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHANHAI_DINGTALK_WEBHOOK", raising=False)
    with pytest.raises(DeliveryConfigError) as raised:
        post_digest(DINGTALK, DIGEST, brand="shanhai")
    assert str(raised.value).startswith(
        "the DingTalk webhook of brand shanhai: environment variable SHANHAI_DINGTALK_WEBHOOK is not set"
    )
    with pytest.raises(DeliveryConfigError) as raised_all:
        deliver_all("shanhai", robot_deliveries(brand_with(DINGTALK), DIGEST))
    assert "SHANHAI_DINGTALK_WEBHOOK" in str(raised_all.value)  # only config errors: fail fast


def test_unknown_connection_and_a_uri_form_webhook_are_config_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_FEISHU_NOWHERE", raising=False)
    with pytest.raises(DeliveryConfigError, match="Airflow connection feishu_nowhere does not exist"):
        resolve_secret(SecretRef(connection="feishu_nowhere"), purpose="the Feishu webhook", field="host")
    # the URI form splits the URL into conn_type/host/schema: the host alone is no URL
    monkeypatch.setenv(
        "AIRFLOW_CONN_FEISHU_URI", f"https://open.feishu.cn/open-apis/bot/v2/hook/{FEISHU_TOKEN}"
    )
    with pytest.raises(DeliveryConfigError, match="is not a URL") as raised:
        resolve_secret(SecretRef(connection="feishu_uri"), purpose="the Feishu webhook", field="host")
    assert FEISHU_TOKEN not in str(raised.value) and "open.feishu.cn" not in str(raised.value)


def test_a_failing_secrets_backend_is_retryable_not_missing(
    failing_secrets_backend: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_FEISHU_SHANHAI", raising=False)
    with pytest.raises(TransientDeliveryError) as raised:
        resolve_secret(SecretRef(connection="feishu_shanhai"), purpose="the Feishu webhook", field="host")
    assert not isinstance(raised.value, DeliveryConfigError)
    assert "FailingSecretsBackend raised ConnectionError" in str(raised.value)
    # what the environment has is still found first
    monkeypatch.setenv(
        "AIRFLOW_CONN_FEISHU_SHANHAI", json.dumps({"conn_type": "http", "host": "https://x/h"})
    )
    assert resolve_secret(SecretRef(connection="feishu_shanhai"), purpose="p", field="host") == "https://x/h"


def test_a_bug_in_one_channel_does_not_stop_the_others_nor_leak_its_message() -> None:
    sent: list[str] = []

    def broken() -> None:
        raise RuntimeError(f"https://oapi.dingtalk.com/robot/send?access_token={DINGTALK_TOKEN}")

    with pytest.raises(DeliveryError) as raised:
        deliver_all("shanhai", [Delivery("broken", broken), Delivery("fine", lambda: sent.append("fine"))])
    assert sent == ["fine"]
    assert "broken: RuntimeError" in str(raised.value) and DINGTALK_TOKEN not in str(raised.value)
