"""Delivering the daily brand report: the e-mail through Airflow's SMTP connection, and a short digest
to IM group robots (WeCom, DingTalk, Feishu).

Plain functions: nothing here needs an Airflow task context, so `shengliang report --send` uses the
same code as the DAG. Secrets (webhook URLs, signing secrets, the SMTP password) are looked up when a
channel is sent and never written to a log line or an exception message: a webhook URL carries its key
(`?key=`, `?access_token=`, `/hook/<token>`), so a failure names the channel, the brand, the HTTP
status or SMTP code and the exception's class, never ``str()`` of a `requests` exception, and errors
are raised ``from None`` so a traceback does not print the URL either.

Where the secrets live (config/reports.yml names them, see `shengliang.report_config`):

* an environment variable: its value;
* an Airflow connection: for a webhook the full URL is the connection's ``host``, given in Airflow's
  JSON form (the URI form would split the URL apart)::

      AIRFLOW_CONN_FEISHU_JIGUANG='{"conn_type": "http", "host": "https://open.feishu.cn/open-apis/bot/v2/hook/..."}'

  and for a signing secret the connection's ``password``.

Connections are read with `airflow.sdk.Connection.get`. Outside a task (the CLI, tests) that sees
``AIRFLOW_CONN_<ID>`` environment variables and a configured secrets backend, but not the metadata DB
(Airflow 3 keeps that for the API server); there `airflow connections add` connections are read from
the metadata DB through `airflow.models.Connection` instead.

Every channel retries on its own (tenacity, `ATTEMPTS` attempts, waiting `RETRY_WAIT` between them)
on what can pass: connection errors, timeouts, SMTP 4xx, HTTP 5xx and 429, the platforms' rate-limit
codes, a secrets backend that failed. A permanent failure (SMTP 5xx, HTTP 4xx, a non-zero result code,
a missing secret) fails at once. `deliver_all` tries every channel and names each failed one.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import logging
import mimetypes
import os
import re
import smtplib
import ssl
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage, MIMEPart
from email.utils import formatdate, make_msgid
from html.parser import HTMLParser
from typing import Any, ClassVar, Literal, cast
from urllib.parse import parse_qsl, quote_plus, urlsplit

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_base, wait_exponential_jitter

from extractors.errors import ShengliangError
from shengliang.report_config import BrandDelivery, Robot, SecretRef
from shengliang.settings import ConfigError

log = logging.getLogger(__name__)

# Retries of one channel. Tests shrink the wait: monkeypatch.setattr(delivery, "RETRY_WAIT", wait_none()).
ATTEMPTS = 3
RETRY_WAIT: wait_base = wait_exponential_jitter(initial=2, max=30, jitter=2)

PLATFORM_NAMES = {"wecom": "WeCom", "dingtalk": "DingTalk", "feishu": "Feishu"}
# Result codes that mean "too many messages, try later" (retried); every other non-zero code is final.
RATE_LIMIT_CODES: dict[str, frozenset[int]] = {
    "wecom": frozenset({45009}),
    "dingtalk": frozenset({130101}),
    "feishu": frozenset({9499, 11232}),
}
WECOM_MARKDOWN_LIMIT = 4096  # bytes of UTF-8, the WeCom group robot's limit for markdown content
EXCERPT_CHARS = 60  # the top post's excerpt in a digest
XLSX = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
_ATTACHMENT_TYPES = {
    ".xlsx": XLSX,
    ".csv": ("text", "csv"),
    ".pdf": ("application", "pdf"),
    ".html": ("text", "html"),
    ".png": ("image", "png"),
}
_CID = re.compile(r"""src\s*=\s*["']?cid:([^"'\s>]+)""", re.IGNORECASE)
_CID_NAME = re.compile(r"[A-Za-z0-9_.\-@]+")


class DeliveryError(ShengliangError):
    """A report channel failed. The message names the channel (and brand), never a secret.

    `deliver_all`'s error also carries what was delivered and what failed, by channel name."""

    delivered: Sequence[str] = ()
    failures: Mapping[str, BaseException] = {}


class DeliveryConfigError(DeliveryError, ConfigError):
    """A secret reference that resolves to nothing, a missing SMTP connection, a refused login:
    retrying cannot help (a ConfigError, so `airflow_glue.fail_fast_on_config_errors` fails the task)."""


class TransientDeliveryError(DeliveryError):
    """Worth retrying: a dropped connection, a timeout, SMTP 4xx, HTTP 5xx/429, a rate-limit code,
    a secrets backend that failed."""


# --- what is delivered ------------------------------------------------------------------------------


@dataclass(frozen=True)
class EmailContent:
    subject: str
    html: str  # the report HTML; images referenced as src="cid:<name>"
    images: Mapping[str, bytes]  # cid name -> PNG bytes, e.g. "trend_weibo.png" -> b"..."
    attachments: Mapping[str, bytes]  # file name -> bytes, e.g. "shanhai.xlsx"
    text: str = ""  # plain-text alternative; derived from the HTML when empty


@dataclass(frozen=True)
class DigestFigure:
    label: str  # e.g. "互动量"
    value: str  # already formatted, e.g. "12,345"
    change: str | None  # e.g. "+5.2% 较前日"


@dataclass(frozen=True)
class Digest:
    title: str  # e.g. "山海 日报 2026-11-10"
    figures: Sequence[DigestFigure]  # 4-6
    top_post: tuple[str, str] | None  # (text excerpt, URL)
    warnings: Sequence[str]  # completeness warnings, e.g. "微信数据缺失"
    link: str  # URL of the HTML report


@dataclass
class Delivery:
    """One channel to deliver: a name for messages (e.g. "dingtalk robot 1") and what sends it."""

    channel: str
    send: Callable[[], None]


# --- secrets ----------------------------------------------------------------------------------------

# conn_id -> the connection (with .host, .password, .login, .port, .extra_dejson), or None when it does
# not exist; raises TransientDeliveryError when a secrets backend failed.
ConnectionLookup = Callable[[str], Any]


def _in_task() -> bool:
    runner = sys.modules.get("airflow.sdk.execution_time.task_runner")
    return getattr(runner, "SUPERVISOR_COMMS", None) is not None


def airflow_connection(conn_id: str) -> Any | None:
    """The Airflow connection `conn_id`, or None if no secrets backend has it.

    A backend that raised (a secrets manager that is down) is a TransientDeliveryError naming the
    backend and the exception's class, so it never reads as "not configured"."""
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return Connection.get(conn_id)
    except AirflowNotFoundException:
        pass
    except PermissionError as error:  # AirflowSecretsBackendAccessDenied: an authoritative "no"
        raise DeliveryConfigError(
            f"the secrets backend denied access to Airflow connection {conn_id} ({type(error).__name__}): "
            "grant this process access to it"
        ) from None
    except Exception as error:
        raise TransientDeliveryError(
            f"looking up Airflow connection {conn_id} failed ({type(error).__name__})"
        ) from None
    if not _in_task():
        connection = _metadata_db_connection(conn_id)
        if connection is not None:
            return connection
    from shengliang.airflow_glue import secrets_backend_failure

    failure = secrets_backend_failure(conn_id)
    if failure:
        backend, cause = failure
        raise TransientDeliveryError(
            f"looking up Airflow connection {conn_id} failed: "
            f"the secrets backend {backend} raised {type(cause).__name__}"
        )
    return None


def _metadata_db_connection(conn_id: str) -> Any | None:
    """Outside a task, a connection added with `airflow connections add` (the metadata DB)."""
    try:
        from airflow.exceptions import AirflowNotFoundException
        from airflow.models.connection import Connection as DbConnection

        return DbConnection.get_connection_from_secrets(conn_id)
    except AirflowNotFoundException:
        return None
    except Exception as error:  # no metadata DB where the CLI runs: the env and backends were asked
        log.debug("Airflow connection %s: metadata DB not readable (%s)", conn_id, type(error).__name__)
        return None


def _connection_example(conn_id: str, field: str) -> str:
    variable = f"AIRFLOW_CONN_{conn_id.upper()}"
    if field == "host":
        return f"""{variable}='{{"conn_type": "http", "host": "https://..."}}'"""
    return f"""{variable}='{{"conn_type": "generic", "password": "..."}}'"""


def resolve_secret(
    ref: SecretRef,
    *,
    purpose: str,
    lookup: ConnectionLookup | None = None,
    field: Literal["password", "host"] = "password",
) -> str:
    """The secret `ref` names: an environment variable's value, or an Airflow connection's `field`
    (``"host"`` for a webhook URL, ``"password"`` for a signing secret).

    `purpose` says what it is for ("the DingTalk webhook of brand shanhai") and starts every error.
    Nothing found is a DeliveryConfigError naming the variable or connection and the fix, never a
    value; a failing secrets backend is a TransientDeliveryError. `lookup` replaces
    `airflow_connection` (conn_id -> connection or None)."""
    if ref.env:
        value = os.environ.get(ref.env, "").strip()
        if not value:
            raise DeliveryConfigError(
                f"{purpose}: environment variable {ref.env} is not set. Set it, or name another "
                "environment variable or an Airflow connection in config/reports.yml."
            )
        where = f"environment variable {ref.env}"
    elif ref.connection:
        connection = (lookup or airflow_connection)(ref.connection)
        if connection is None:
            raise DeliveryConfigError(
                f"{purpose}: Airflow connection {ref.connection} does not exist. Add it, e.g. "
                f"{_connection_example(ref.connection, field)}, or `airflow connections add "
                f"{ref.connection}`; or name an environment variable in config/reports.yml."
            )
        value = (getattr(connection, field, None) or "").strip()
        if not value:
            raise DeliveryConfigError(
                f"{purpose}: Airflow connection {ref.connection} has no {field}. Put the "
                f"{'webhook URL' if field == 'host' else 'secret'} in its {field}, e.g. "
                f"{_connection_example(ref.connection, field)}."
            )
        where = f"the {field} of Airflow connection {ref.connection}"
    else:
        raise DeliveryConfigError(f"{purpose}: no environment variable or Airflow connection is named")
    if field == "host" and not value.lower().startswith(("https://", "http://")):
        raise DeliveryConfigError(
            f"{purpose}: {where} is not a URL. Give the full webhook URL (https://...)"
            + (
                f", as the host of the connection's JSON form: {_connection_example(ref.connection, field)}"
                if ref.connection
                else ""
            )
            + "."
        )
    _hide(value, *(_url_parts(value) if field == "host" else ()))
    return value


# --- keeping secrets out of logs --------------------------------------------------------------------


class _Redactor(logging.Filter):
    """Replaces known secrets in urllib3's records (at DEBUG it logs the request path with its query:
    a WeCom key, a DingTalk access token, a Feishu hook token)."""

    secrets: ClassVar[frozenset[str]] = frozenset()  # replaced, never mutated: safe across threads

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = self.secrets
        if secrets:
            text = record.getMessage()
            hits = [secret for secret in secrets if secret in text]
            if hits:
                for secret in sorted(hits, key=len, reverse=True):
                    text = text.replace(secret, "***")
                record.msg, record.args = text, None
        return True


@functools.cache
def _install_redactor() -> None:
    for name in ("urllib3.connectionpool", "urllib3.util.retry", "requests"):
        logging.getLogger(name).addFilter(_Redactor())


def _url_parts(url: str) -> list[str]:
    """The parts of a webhook URL that reveal its key: path+query, query values, long path segments."""
    parts = urlsplit(url)
    found = [parts.path + (f"?{parts.query}" if parts.query else "")]
    found += [value for _, value in parse_qsl(parts.query) if len(value) >= 6]
    found += [segment for segment in parts.path.split("/") if len(segment) >= 16]
    return [part for part in found if len(part) >= 6]


def _hide(*secrets: str) -> None:
    """Register secrets with Airflow's secrets masker and with the urllib3 log filter."""
    _install_redactor()
    _Redactor.secrets = _Redactor.secrets | {secret for secret in secrets if secret}
    try:
        from airflow.sdk.log import mask_secret

        for secret in secrets:
            if len(secret) >= 5:
                mask_secret(secret)
    except Exception:  # the masker is an extra layer; the messages here never hold secrets anyway
        pass


def _scrub(text: str, secrets: Sequence[str | None], limit: int = 200) -> str:
    """A platform's message made safe to show: known secrets removed, one line, at most `limit` chars."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, "***")
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- retries ----------------------------------------------------------------------------------------


def _with_retries(action: Callable[[], None], channel: str) -> None:
    """Run `action`, retrying TransientDeliveryError up to ATTEMPTS times with RETRY_WAIT between."""

    def before_sleep(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0
        log.warning(
            "%s: attempt %d of %d failed (%s); retrying in %.1f s",
            channel,
            state.attempt_number,
            ATTEMPTS,
            error,
            wait,
        )

    retrying = Retrying(
        stop=stop_after_attempt(ATTEMPTS),
        wait=RETRY_WAIT,
        retry=retry_if_exception_type(TransientDeliveryError),
        before_sleep=before_sleep,
        reraise=True,
    )
    try:
        retrying(action)
    except TransientDeliveryError as error:
        raise TransientDeliveryError(f"{error} (gave up after {ATTEMPTS} attempts)") from None


# --- e-mail -----------------------------------------------------------------------------------------


class _TextOfHtml(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.chunks: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script", "head"):
            self._skip += 1
        elif tag in ("br", "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "table", "section"):
            self.chunks.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script", "head"):
            self._skip = max(0, self._skip - 1)
        elif tag in ("td", "th"):
            self.chunks.append("\t")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.chunks.append(data)


def html_to_text(html: str) -> str:
    """A rough plain-text version of the report HTML, for the text/plain alternative."""
    parser = _TextOfHtml()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.chunks).splitlines())
    return "\n".join(line for line in lines if line)


def _attachment_type(name: str) -> tuple[str, str]:
    extension = os.path.splitext(name)[1].lower()
    if extension in _ATTACHMENT_TYPES:
        return _ATTACHMENT_TYPES[extension]
    guessed, _ = mimetypes.guess_type(name)
    if guessed and "/" in guessed:
        maintype, subtype = guessed.split("/", 1)
        return maintype, subtype
    return "application", "octet-stream"


def _check_images(content: EmailContent) -> None:
    missing = sorted(set(_CID.findall(content.html)) - set(content.images))
    if missing:
        raise ValueError(f"the report HTML references images that are not attached: {', '.join(missing)}")
    for name in content.images:
        if not _CID_NAME.fullmatch(name):
            raise ValueError(f"image name {name!r} cannot be a Content-ID: use letters, digits, _ . - @")


def build_message(content: EmailContent, recipients: Sequence[str], sender: str) -> EmailMessage:
    """The report e-mail: multipart/mixed [ multipart/related [ multipart/alternative [text, html],
    image/png parts (Content-ID <name>, inline) ], attachments ].

    Every ``cid:`` the HTML references must be one of `content.images` (ValueError otherwise)."""
    _check_images(content)
    message = EmailMessage()
    message["Subject"] = content.subject
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)

    # base64 bodies: Chinese text and long HTML lines need neither 8BITMIME nor the 998-octet limit
    text = content.text or html_to_text(content.html)
    if content.images:
        alternative = MIMEPart()
        alternative.set_content(text, cte="base64")
        alternative.add_alternative(content.html, subtype="html", cte="base64")
        message["MIME-Version"] = "1.0"
        message["Content-Type"] = 'multipart/related; type="multipart/alternative"'
        message.attach(cast(EmailMessage, alternative))
        for name, png in content.images.items():
            image = MIMEPart()
            image.set_content(png, "image", "png", cid=f"<{name}>", disposition="inline", filename=name)
            message.attach(cast(EmailMessage, image))
    else:
        message.set_content(text, cte="base64")
        message.add_alternative(content.html, subtype="html", cte="base64")
    for name, data in content.attachments.items():
        maintype, subtype = _attachment_type(name)
        # filename only (RFC 2231-encoded when not ASCII): a non-ASCII `name` parameter on Content-Type
        # makes Python's folding encode the media type itself.
        message.add_attachment(data, maintype, subtype, filename=name)
    return message


@functools.cache
def _smtp_hook_class() -> type:
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    class ResolvedSmtpHook(SmtpHook):
        """SmtpHook on the connection this module already looked up (outside a task, one from the
        metadata DB that `SmtpHook.get_connection` would not see)."""

        def __init__(self, connection: Any) -> None:
            super().__init__(smtp_conn_id=connection.conn_id)
            self._resolved = connection

        def get_connection(self, conn_id: str) -> Any:  # type: ignore[override]
            return self._resolved

    return ResolvedSmtpHook


def _smtp_reply(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return _scrub(text, [], limit=160)


def _smtp_failure(error: BaseException, conn_id: str, where: str) -> DeliveryError:
    """The DeliveryError for an exception from the SMTP conversation (no password in any of them)."""
    server = f"the SMTP server of Airflow connection {conn_id}"
    kind = type(error).__name__
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = {address: code for address, (code, _reply) in error.recipients.items()}
        listing = ", ".join(f"{address} ({code})" for address, code in codes.items())
        temporary = all(400 <= code < 500 for code in codes.values())
        cls = TransientDeliveryError if temporary else DeliveryError
        return cls(f"{server} refused every recipient: {listing}")
    if isinstance(error, smtplib.SMTPAuthenticationError) and not 400 <= error.smtp_code < 500:
        return DeliveryConfigError(
            f"{server} refused the login ({error.smtp_code} {_smtp_reply(error.smtp_error)}): "
            "check the connection's login and password"
        )
    if isinstance(error, smtplib.SMTPResponseException):
        code = error.smtp_code
        cls = TransientDeliveryError if 400 <= code < 500 else DeliveryError
        return cls(f"{server} answered {code} {_smtp_reply(error.smtp_error)} ({kind})")
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return TransientDeliveryError(f"{server} closed the connection ({kind})")
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return DeliveryConfigError(
            f"{server}: {_smtp_reply(str(error))} ({kind}); check the connection's disable_tls extra "
            "and whether it needs a login"
        )
    if isinstance(error, smtplib.SMTPException):
        return DeliveryError(f"{server}: {_smtp_reply(str(error))} ({kind})")
    if isinstance(error, ssl.SSLEOFError | ssl.SSLZeroReturnError):  # the TLS stream was cut
        return TransientDeliveryError(f"{server} closed the TLS connection ({kind})")
    if isinstance(error, ssl.SSLError):  # a plaintext port, a certificate the context rejects
        return DeliveryError(
            f"TLS with {server} at {where} failed ({kind}): check the port and the connection's "
            "disable_ssl / disable_tls / ssl_context extras"
        )
    if isinstance(error, OSError):
        return TransientDeliveryError(f"cannot reach {server} at {where} ({kind})")
    if kind == "AirflowException":  # the hook's own fixed messages, e.g. "Unable to connect to smtp server"
        return TransientDeliveryError(f"{server}: {_smtp_reply(str(error))}")
    if isinstance(error, RuntimeError | ValueError):  # a bad extra, e.g. ssl_context
        return DeliveryConfigError(f"Airflow connection {conn_id}: {_smtp_reply(str(error))}")
    return DeliveryError(f"sending through {server} failed ({kind})")


def _smtp_connection(conn_id: str) -> Any:
    connection = airflow_connection(conn_id)
    if connection is None:
        variable = f"AIRFLOW_CONN_{conn_id.upper()}"
        raise DeliveryConfigError(
            f"the report e-mail: Airflow connection {conn_id} (the SMTP server) does not exist. Add it, "
            f"e.g. {variable}='smtp://user:password@smtp.example.com:465' (implicit TLS) or "
            f"{variable}='smtp://user:password@smtp.example.com:587?disable_ssl=true' (STARTTLS), "
            f"or `airflow connections add {conn_id} --conn-type smtp --conn-host smtp.example.com "
            "--conn-port 465 --conn-login user --conn-password ...`; put the sender in the extra "
            '"from_email". In the URI form the provider reads any disable_ssl / disable_tls value, even '
            '"false", as true: leave a flag out to keep SSL / STARTTLS on.'
        )
    return connection


def send_email(
    content: EmailContent,
    recipients: Sequence[str],
    *,
    conn_id: str = "smtp_default",
    from_email: str | None = None,
) -> None:
    """Send the report e-mail to `recipients` (all in To:) through Airflow connection `conn_id`,
    with the SMTP provider's hook (host, port, login, SSL/STARTTLS, timeout and retry limit from the
    connection). The sender is the connection's "from_email" extra, else `from_email`, else its login.

    Retries connection errors and SMTP 4xx; an SMTP 5xx or some refused recipients fail at once."""
    if isinstance(recipients, str):
        recipients = [recipients]
    if not recipients:
        raise DeliveryError(f"the report e-mail {content.subject!r} has no recipients")
    try:
        _check_images(content)  # a broken image reference fails before any connection
    except ValueError as error:
        raise DeliveryError(f"the report e-mail {content.subject!r}: {error}") from None

    def attempt() -> None:
        connection = _smtp_connection(conn_id)
        extra = connection.extra_dejson or {}
        sender = extra.get("from_email") or from_email or connection.login or ""
        if "@" not in sender:
            raise DeliveryConfigError(
                f'the report e-mail: no sender address. Put one in the "from_email" extra of Airflow '
                f"connection {conn_id} (or pass from_email)."
            )
        _hide(connection.password or "")
        message = build_message(content, recipients, sender)
        where = f"{connection.host}:{connection.port or 'default port'}"
        try:
            with _smtp_hook_class()(connection) as hook:
                client = hook._smtp_client  # the provider (3.2.0) has no public accessor
                refused = client.send_message(message, from_addr=sender, to_addrs=list(recipients))
                try:
                    client.quit()
                except (smtplib.SMTPException, OSError):
                    pass  # sent already: a failed QUIT must not send it again
        except DeliveryError:
            raise
        except Exception as error:
            raise _smtp_failure(error, conn_id, where) from None
        if refused:
            listing = ", ".join(f"{address} ({code})" for address, (code, _reply) in refused.items())
            raise DeliveryError(
                f"the SMTP server of Airflow connection {conn_id} refused {listing}; "
                f"the others of {len(recipients)} recipients got the e-mail"
            )
        log.info("report e-mail %r sent to %d recipients", content.subject, len(recipients))

    _with_retries(attempt, f"e-mail via Airflow connection {conn_id}")


# --- IM robots --------------------------------------------------------------------------------------


def _md(text: str) -> str:
    """Text for a markdown line: one line, no brackets that would break a link."""
    return " ".join(text.split()).replace("[", "［").replace("]", "］")


def _md_url(url: str) -> str:
    return url.strip().replace(" ", "%20").replace("(", "%28").replace(")", "%29")


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"


def _figure_line(figure: DigestFigure) -> str:
    change = f" ({figure.change})" if figure.change else ""
    return f"{figure.label}: {figure.value}{change}"


def _cut_utf8(text: str, size: int) -> str:
    return text.encode("utf-8")[: max(size, 0)].decode("utf-8", "ignore")


def _fit(parts: list[str], tail: str, sep: str, limit: int | None) -> str:
    """parts + tail joined by sep; over `limit` bytes, the parts that fit, "…" and always the tail."""
    full = sep.join([*parts, tail])
    if limit is None or len(full.encode("utf-8")) <= limit:
        return full
    budget = limit - len(f"{sep}…{sep}{tail}".encode())
    kept: list[str] = []
    for part in parts:
        size = len(((sep if kept else "") + part).encode("utf-8"))
        if size > budget:
            if not kept:
                kept.append(_cut_utf8(part, budget))
            break
        kept.append(part)
        budget -= size
    return _cut_utf8(sep.join([*kept, "…", tail]), limit)


def digest_markdown(digest: Digest, *, sep: str = "\n", limit: int | None = None) -> str:
    """The digest as markdown: title, "label: value (change)" per figure, the top post as a link,
    ⚠️ warnings, the link to the full report (kept even when cut to `limit` bytes)."""
    parts = [f"### {_md(digest.title)}"]
    parts += [_md(_figure_line(figure)) for figure in digest.figures]
    if digest.top_post:
        text, url = digest.top_post
        parts.append(f"热帖：[{_md(_excerpt(text))}]({_md_url(url)})")
    parts += [f"⚠️ {_md(warning)}" for warning in digest.warnings]
    return _fit(parts, f"[查看完整日报]({_md_url(digest.link)})", sep, limit)


def _feishu_post(digest: Digest) -> dict[str, Any]:
    lines: list[list[dict[str, str]]] = [
        [{"tag": "text", "text": _figure_line(figure)}] for figure in digest.figures
    ]
    if digest.top_post:
        text, url = digest.top_post
        lines.append([{"tag": "text", "text": "热帖："}, {"tag": "a", "text": _excerpt(text), "href": url}])
    lines += [[{"tag": "text", "text": f"⚠️ {warning}"}] for warning in digest.warnings]
    lines.append([{"tag": "a", "text": "查看完整日报", "href": digest.link}])
    return {"msg_type": "post", "content": {"post": {"zh_cn": {"title": digest.title, "content": lines}}}}


def _hmac_b64(key: bytes, message: bytes) -> str:
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode("ascii")


def robot_request(
    robot_type: str, digest: Digest, webhook_url: str, secret: str | None, *, now: float | None = None
) -> tuple[str, dict[str, Any]]:
    """The URL to POST and the JSON body for one robot type, signed when there is a secret. Pure.

    * wecom: markdown content, at most 4096 bytes of UTF-8; no signing.
    * dingtalk: markdown; signed with ``&timestamp=<ms>&sign=<urlquoted base64 HMAC-SHA256>`` where
      the key is the secret and the message ``f"{timestamp}\\n{secret}"``.
    * feishu: a post; signed with body "timestamp" (seconds) and "sign", the base64 HMAC-SHA256 of an
      empty message keyed with ``f"{timestamp}\\n{secret}"``."""
    now = time.time() if now is None else now
    if robot_type == "wecom":
        if secret:
            raise ValueError("a WeCom group robot has no signing secret")
        content = digest_markdown(digest, limit=WECOM_MARKDOWN_LIMIT)
        return webhook_url, {"msgtype": "markdown", "markdown": {"content": content}}
    if robot_type == "dingtalk":
        body = {
            "msgtype": "markdown",
            "markdown": {"title": digest.title, "text": digest_markdown(digest, sep="\n\n")},
        }
        if not secret:
            return webhook_url, body
        timestamp = int(now * 1000)
        sign = _hmac_b64(secret.encode("utf-8"), f"{timestamp}\n{secret}".encode())
        joiner = "&" if "?" in webhook_url else "?"
        return f"{webhook_url}{joiner}timestamp={timestamp}&sign={quote_plus(sign)}", body
    if robot_type == "feishu":
        body = _feishu_post(digest)
        if secret:
            timestamp = int(now)
            body["timestamp"] = str(timestamp)
            body["sign"] = _hmac_b64(f"{timestamp}\n{secret}".encode(), b"")
        return webhook_url, body
    raise ValueError(f"unknown robot type {robot_type!r}; use one of: {', '.join(PLATFORM_NAMES)}")


def _result_code(robot_type: str, payload: Any) -> tuple[int | None, str]:
    """The platform's result code and message in a response body (None if there is none)."""
    if not isinstance(payload, dict):
        return None, ""
    if robot_type == "feishu":
        code = payload.get("code", payload.get("StatusCode"))
        message = payload.get("msg", payload.get("StatusMessage", ""))
    else:
        code, message = payload.get("errcode"), payload.get("errmsg", "")
    try:
        return (int(code) if code is not None else None), str(message or "")
    except (TypeError, ValueError):
        return None, ""


def _check_response(
    robot_type: str, response: requests.Response, who: str, secrets: Sequence[str | None]
) -> None:
    status = response.status_code
    try:
        payload = response.json()
    except ValueError:
        payload = None
    code, message = _result_code(robot_type, payload)
    said = f" (error {code}: {_scrub(message, secrets)})" if code not in (None, 0) else ""
    if code is not None and code in RATE_LIMIT_CODES[robot_type]:
        raise TransientDeliveryError(f"{who} is rate-limited{said}")
    if status == 429 or status >= 500:
        raise TransientDeliveryError(f"{who} answered HTTP {status}{said}")
    if status >= 300:
        raise DeliveryError(f"{who} answered HTTP {status}{said}")
    if code is None:
        raise DeliveryError(f"{who} answered HTTP {status} without a result code")
    if code != 0:
        raise DeliveryError(f"{who} refused the message{said}")


def post_digest(
    robot: Robot,
    digest: Digest,
    *,
    lookup: ConnectionLookup | None = None,
    timeout: float = 10,
    brand: str | None = None,
) -> None:
    """Post the digest to one group robot: resolve its webhook (and secret), sign, POST the JSON,
    check the platform's result code. Retries connection errors, timeouts, HTTP 5xx/429 and the
    platform's rate-limit code; fails at once on HTTP 4xx, other non-zero codes and missing secrets.
    `brand` only words the messages ("the DingTalk robot of brand shanhai")."""
    platform = PLATFORM_NAMES[robot.type]
    of_brand = f" of brand {brand}" if brand else ""
    who = f"the {platform} robot{of_brand}"

    def attempt() -> None:
        webhook = resolve_secret(
            robot.webhook, purpose=f"the {platform} webhook{of_brand}", lookup=lookup, field="host"
        )
        secret = None
        if robot.secret is not None:
            secret = resolve_secret(
                robot.secret, purpose=f"the {platform} signing secret{of_brand}", lookup=lookup
            )
        url, body = robot_request(robot.type, digest, webhook, secret)
        try:
            response = requests.post(url, json=body, timeout=timeout, allow_redirects=False)
        except requests.Timeout as error:  # never str(error): it holds the URL with its key
            raise TransientDeliveryError(
                f"{who} did not answer in {timeout:g} s ({type(error).__name__})"
            ) from None
        except requests.ConnectionError as error:
            raise TransientDeliveryError(f"cannot reach {who} ({type(error).__name__})") from None
        except requests.RequestException as error:
            raise DeliveryError(f"posting to {who} failed ({type(error).__name__})") from None
        _check_response(robot.type, response, who, [webhook, url, secret, *_url_parts(webhook)])
        log.info("digest %r posted to %s", digest.title, who)

    _with_retries(attempt, who)


# --- all channels -----------------------------------------------------------------------------------


def email_delivery(
    content: EmailContent,
    recipients: Sequence[str],
    *,
    conn_id: str = "smtp_default",
    from_email: str | None = None,
) -> Delivery:
    """The e-mail to `recipients` as a Delivery named "e-mail to a@x (3 recipients)"."""
    recipients = list(recipients)
    count = f" ({len(recipients)} recipients)" if len(recipients) > 1 else ""
    channel = f"e-mail to {recipients[0] if recipients else 'nobody'}{count}"
    return Delivery(channel, lambda: send_email(content, recipients, conn_id=conn_id, from_email=from_email))


def robot_deliveries(
    brand: BrandDelivery, digest: Digest, *, lookup: ConnectionLookup | None = None, timeout: float = 10
) -> list[Delivery]:
    """One Delivery per robot of the brand, named "<type> robot <n>" (numbered per type)."""
    deliveries: list[Delivery] = []
    counts: dict[str, int] = {}
    for robot in brand.robots:
        counts[robot.type] = counts.get(robot.type, 0) + 1

        def send(robot: Robot = robot) -> None:
            post_digest(robot, digest, lookup=lookup, timeout=timeout, brand=brand.brand_id)

        deliveries.append(Delivery(f"{robot.type} robot {counts[robot.type]}", send))
    return deliveries


def deliver_all(brand_id: str, deliveries: Sequence[Delivery]) -> list[str]:
    """Send every channel (each with its own retries); returns the channels delivered.

    If any failed, raises after trying all: a DeliveryError naming the brand and each failed channel
    with its reason (a DeliveryConfigError when every failure was a configuration error), carrying
    `.delivered` and `.failures` (channel -> exception). Retrying the caller resends the delivered
    channels too."""
    delivered: list[str] = []
    failures: dict[str, BaseException] = {}
    for delivery in deliveries:
        try:
            delivery.send()
        except DeliveryError as error:
            failures[delivery.channel] = error
            log.error("brand %s: %s failed: %s", brand_id, delivery.channel, error)
        except Exception as error:  # not ours: its message may hold a URL, so only its class
            failures[delivery.channel] = error
            log.error("brand %s: %s failed (%s)", brand_id, delivery.channel, type(error).__name__)
        else:
            delivered.append(delivery.channel)
            log.info("brand %s: %s delivered", brand_id, delivery.channel)
    if not failures:
        return delivered
    reasons = "; ".join(
        f"{channel}: {error if isinstance(error, DeliveryError) else type(error).__name__}"
        for channel, error in failures.items()
    )
    done = f" Delivered: {', '.join(delivered)}." if delivered else " Nothing was delivered."
    config_only = all(isinstance(error, DeliveryConfigError) for error in failures.values())
    cls = DeliveryConfigError if config_only else DeliveryError
    failure = cls(
        f"brand {brand_id}: {len(failures)} of {len(deliveries)} report channels failed: "
        f"{reasons.rstrip('.')}.{done}"
    )
    failure.delivered = tuple(delivered)
    failure.failures = dict(failures)
    raise failure
