"""Check an HTML file the way a person reads it: a real headless Chromium, driven over the DevTools Protocol.

`check_page(html, png)` loads the file from a file:// URL, waits for the load event, the images and the
fonts, writes a full-page screenshot and reports what a reader would notice: the title and text, images
that did not load, elements that stick out past the right edge of the page, and console errors.

No selenium or playwright: the browser is started with `--remote-debugging-port=0`, the port is read from
`<user-data-dir>/DevToolsActivePort`, and the page target is driven through `websockets.sync.client`.
Each call starts its own browser (in its own process group, killed in a `finally`) and profile directory.
"""

from __future__ import annotations

import base64
import importlib.util
import itertools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

DEFAULT_TIMEOUT = 30.0

# --no-sandbox: Chromium refuses to start as root with its sandbox (CI runs as root).
# --disable-dev-shm-usage: containers often have a small /dev/shm.
# --hide-scrollbars: scrollbars would otherwise take 15 px off clientWidth and show in the screenshot.
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-extensions",
    "--hide-scrollbars",
    "--mute-audio",
)

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")

# Screenshots of longer pages are cut here, to bound the PNG and the time (a 30 000 px page takes ~3 s).
MAX_SCREENSHOT_HEIGHT = 32768


class BrowserError(RuntimeError):
    """The browser did not start, a DevTools command failed, or the page could not be loaded."""


class BrowserTimeout(BrowserError, TimeoutError):
    """Something the harness waited for did not happen in time; the message says what."""


@dataclass
class PageCheck:
    title: str
    text: str  # document.body.innerText
    images: list[dict]  # {"src": first 60 chars, "alt", "natural_width", "natural_height", "complete"}
    broken_images: list[str]  # alt (or else the src prefix) of each image with naturalWidth == 0
    overflowing: list[str]  # "tag#id.class right=NNNpx" past the right edge, and "document scrollWidth ..."
    viewport_width: int  # document.documentElement.clientWidth
    document_scroll_width: int  # document.documentElement.scrollWidth
    screenshot: Path  # full-page PNG
    console_errors: list[str]  # console.error/assert, uncaught exceptions, Log errors (failed loads)


def find_chromium() -> str | None:
    """$CHROMIUM_BIN if set (a path or a name on PATH), else the first of chromium, chromium-browser,
    google-chrome on PATH; None if there is none."""
    configured = os.environ.get("CHROMIUM_BIN")
    if configured:
        return shutil.which(configured)
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def require_chromium() -> str:
    """The Chromium binary for a test; skips the test without one (fails it in CI, where it is required)."""
    import pytest

    found = find_chromium()
    if found:
        return found
    configured = os.environ.get("CHROMIUM_BIN")
    if configured:
        reason = f"CHROMIUM_BIN={configured!r} is not an executable file or a command on PATH"
    else:
        reason = f"no Chromium on PATH (looked for {', '.join(CHROMIUM_NAMES)}; or set CHROMIUM_BIN)"
    if os.environ.get("CI") == "true":
        pytest.fail(
            f"{reason}; the browser tests are mandatory in CI: .ci/run installs it with "
            "apt-get install chromium"
        )
    print(f"SKIP: {reason}")
    pytest.skip(reason)


_LOADED_JS = 'document.readyState === "complete" && location.protocol === "file:"'

# Loads lazy images (a reader scrolling down would), then waits for every image and the web fonts.
_WAIT_FOR_IMAGES_JS = """
(async () => {
  const images = Array.from(document.images);
  for (const img of images) {
    if (img.loading === "lazy") img.loading = "eager";
  }
  await Promise.all(images.map((img) => img.decode().catch(() => null)));
  if (document.fonts) await document.fonts.ready;
  return images.length;
})()
"""

_MEASURE_JS = """
(() => {
  const root = document.documentElement;
  const body = document.body;
  const limit = root.clientWidth + 1;
  const clipsX = (el) => ["auto", "scroll", "hidden", "clip"].includes(getComputedStyle(el).overflowX);
  // An element inside a horizontally scrolling or clipping box does not widen the page. The walk stops
  // at <body>: overflow on <html>/<body> applies to the viewport, so there it hides content instead.
  const insideScroller = (el) => {
    for (let p = el.parentElement; p && p !== body && p !== root; p = p.parentElement) {
      if (clipsX(p)) return true;
    }
    return false;
  };
  const describe = (el) => {
    let d = el.tagName.toLowerCase();
    if (el.id) d += "#" + el.id;
    const cls = typeof el.className === "string" ? el.className.trim() : "";
    if (cls) d += "." + cls.split(/\\s+/).join(".");
    return d;
  };
  const overflowing = [];
  const reported = [];
  let more = 0;
  for (const el of (body ? body.querySelectorAll("*") : [])) {
    const right = el.getBoundingClientRect().right + window.scrollX;
    if (right <= limit || insideScroller(el)) continue;
    if (reported.some((r) => r.contains(el))) continue;  // report the outermost culprit only
    if (overflowing.length >= 50) { more += 1; continue; }
    reported.push(el);
    overflowing.push(describe(el) + " right=" + Math.round(right) + "px");
  }
  if (more) overflowing.push("... and " + more + " more");
  if (root.scrollWidth > root.clientWidth) {
    overflowing.push(
      "document scrollWidth=" + root.scrollWidth + "px > clientWidth=" + root.clientWidth + "px"
    );
  }
  const images = Array.from(document.images, (img) => ({
    src: (img.getAttribute("src") || img.currentSrc || "").slice(0, 60),
    alt: img.getAttribute("alt") || "",
    natural_width: img.naturalWidth,
    natural_height: img.naturalHeight,
    complete: img.complete,
  }));
  return {
    title: document.title,
    text: body ? body.innerText : "",
    images,
    overflowing,
    viewport_width: root.clientWidth,
    document_scroll_width: root.scrollWidth,
  };
})()
"""


class _DevTools:
    """A minimal synchronous CDP session on one websocket: commands wait for their reply, events are kept."""

    def __init__(self, ws: ClientConnection, timeout: float) -> None:
        self.ws = ws
        self.timeout = timeout
        self.events: list[dict] = []
        self._ids = itertools.count(1)

    def _receive(self, deadline: float, waiting_for: str) -> dict:
        remaining = deadline - time.monotonic()
        try:
            if remaining <= 0:
                raise TimeoutError
            message = json.loads(self.ws.recv(timeout=remaining))
        except TimeoutError:
            raise BrowserTimeout(f"timed out after {self.timeout:g} s waiting for {waiting_for}") from None
        except ConnectionClosed as error:
            raise BrowserError(f"the DevTools connection closed while waiting for {waiting_for}") from error
        if message.get("method") == "Inspector.targetCrashed":
            raise BrowserError(f"the page crashed while waiting for {waiting_for}")
        return message

    def send(self, method: str, params: dict | None = None, *, waiting_for: str | None = None) -> dict:
        call_id = next(self._ids)
        try:
            self.ws.send(json.dumps({"id": call_id, "method": method, "params": params or {}}))
        except ConnectionClosed as error:
            raise BrowserError(f"the DevTools connection closed before {method} was sent") from error
        deadline = time.monotonic() + self.timeout
        while True:
            message = self._receive(deadline, waiting_for or f"the reply to {method}")
            if message.get("id") == call_id:
                if "error" in message:
                    raise BrowserError(f"{method} failed: {message['error']}")
                return message.get("result", {})
            if "method" in message:
                self.events.append(message)

    def wait_for_event(self, method: str, *, after: int, waiting_for: str) -> int:
        """The index in self.events of the first `method` event at index >= `after`, receiving more until
        it comes."""
        for index in range(after, len(self.events)):
            if self.events[index]["method"] == method:
                return index
        deadline = time.monotonic() + self.timeout
        while True:
            message = self._receive(deadline, waiting_for)
            if "method" in message:
                self.events.append(message)
                if message["method"] == method:
                    return len(self.events) - 1

    def evaluate(self, expression: str, *, waiting_for: str, await_promise: bool = False) -> Any:
        result = self.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": await_promise},
            waiting_for=waiting_for,
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise BrowserError(f"the page script for {waiting_for} threw: {text}")
        return result["result"].get("value")


def _console_errors(events: list[dict]) -> list[str]:
    errors = []
    for event in events:
        method, params = event["method"], event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            parts = [str(arg.get("value", arg.get("description", ""))) for arg in params.get("args", [])]
            errors.append(f"console.{params['type']}: " + " ".join(parts))
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            text = details.get("exception", {}).get("description") or details.get("text", "")
            errors.append(f"uncaught: {text}")
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            url = f" ({entry['url']})" if entry.get("url") else ""
            errors.append(f"{entry.get('source', 'log')}: {entry.get('text', '')}{url}")
    return errors


def _cjk_fontconfig(tmp: Path) -> dict[str, str]:
    """Environment for Chromium that adds the CJK fonts of the `mplfonts` package (a project requirement,
    used for the charts) to the system's fontconfig setup. Machines without a system CJK font (Debian's
    chromium package pulls in none) would otherwise paint Chinese as empty boxes in the screenshots."""
    spec = importlib.util.find_spec("mplfonts")
    if spec is None or not spec.submodule_search_locations:
        return {}
    fonts = Path(next(iter(spec.submodule_search_locations))) / "fonts"
    if not fonts.is_dir():
        return {}
    base = os.environ.get("FONTCONFIG_FILE", "/etc/fonts/fonts.conf")
    conf = tmp / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">\n<fontconfig>\n'
        f'  <include ignore_missing="yes">{escape(base)}</include>\n'
        f"  <dir>{escape(str(fonts))}</dir>\n"
        "</fontconfig>\n"
    )
    return {"FONTCONFIG_FILE": str(conf)}


def _stderr_tail(path: Path) -> str:
    try:
        lines = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return ("; chromium stderr: " + " | ".join(lines[-5:])) if lines else ""


def _wait_for_devtools_port(process: subprocess.Popen, profile: Path, stderr: Path, timeout: float) -> int:
    port_file = profile / "DevToolsActivePort"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BrowserError(
                f"chromium exited with status {process.returncode} before it opened its "
                f"DevTools port{_stderr_tail(stderr)}"
            )
        try:
            lines = port_file.read_text().splitlines()
        except OSError:
            lines = []
        if len(lines) >= 2 and lines[0].strip().isdigit():
            return int(lines[0])
        time.sleep(0.05)
    raise BrowserTimeout(
        f"timed out after {timeout:g} s waiting for chromium to write {port_file}{_stderr_tail(stderr)}"
    )


def _page_websocket_url(port: int, timeout: float) -> str:
    # No proxy: an http_proxy in the environment must not see requests to the local browser.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            with opener.open(
                f"http://127.0.0.1:{port}/json/list", timeout=max(0.1, deadline - time.monotonic())
            ) as r:
                targets = json.load(r)
        except OSError as error:
            last = str(error)
            targets = []
        for target in targets:
            if target.get("type") == "page" and target.get("webSocketDebuggerUrl"):
                return target["webSocketDebuggerUrl"]
        time.sleep(0.05)
    raise BrowserTimeout(
        f"timed out after {timeout:g} s waiting for a page target "
        f"at http://127.0.0.1:{port}/json/list ({last})"
    )


def _processes_mentioning(marker: str) -> list[int]:
    """Pids of live processes whose command line contains `marker` (Linux /proc; empty elsewhere)."""
    pids = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if marker in (entry / "cmdline").read_bytes().decode(errors="replace"):
                pids.append(int(entry.name))
        except (OSError, ValueError):
            continue
    return pids


def _kill_browser(process: subprocess.Popen, tmp: str) -> None:
    """SIGKILL the browser's process group (started with start_new_session, so its pgid is its pid): the
    browser, its zygotes, renderers and utility processes. The crash handlers (chrome_crashpad_handler)
    put themselves in sessions of their own, so they are found by this run's directory on their command
    line (their database is under XDG_CONFIG_HOME=<tmp>/config) and killed by pid."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
    for pid in _processes_mentioning(tmp):
        if pid == os.getpid():
            continue
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def check_page(
    html_path: Path,
    screenshot_path: Path,
    *,
    width: int = 1280,
    height: int = 900,
    timeout: float = DEFAULT_TIMEOUT,
) -> PageCheck:
    """Load `html_path` in headless Chromium at a `width` x `height` viewport, write a full-page PNG to
    `screenshot_path` and report what rendered. Raises BrowserError (BrowserTimeout after `timeout`
    seconds for any one step) if the browser or the page fails."""
    chromium = find_chromium()
    if chromium is None:
        raise BrowserError("no Chromium found (set CHROMIUM_BIN or install chromium)")
    html_path = Path(html_path).resolve()
    if not html_path.is_file():
        raise BrowserError(f"{html_path} is not a file")
    screenshot_path = Path(screenshot_path)
    url = html_path.as_uri()

    with tempfile.TemporaryDirectory(prefix="shengliang-chromium-", ignore_cleanup_errors=True) as tmp:
        profile = Path(tmp) / "profile"
        profile.mkdir()
        stderr_path = Path(tmp) / "stderr.log"
        with stderr_path.open("wb") as stderr:
            process = subprocess.Popen(
                [
                    chromium,
                    *CHROMIUM_FLAGS,
                    f"--user-data-dir={profile}",
                    "--remote-debugging-port=0",
                    "about:blank",
                ],
                # Chromium's crash database goes under XDG_CONFIG_HOME: here, not in ~/.config.
                env={
                    **os.environ,
                    "XDG_CONFIG_HOME": str(Path(tmp) / "config"),
                    **_cjk_fontconfig(Path(tmp)),
                },
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,  # its own process group, so the finally kills renderers too
            )
        try:
            port = _wait_for_devtools_port(process, profile, stderr_path, timeout)
            ws_url = _page_websocket_url(port, timeout)
            with connect(ws_url, max_size=None, proxy=None, open_timeout=timeout, ping_interval=None) as ws:
                return _check(_DevTools(ws, timeout), url, screenshot_path, width, height)
        except BrowserError as error:
            if process.poll() is not None and "chromium stderr" not in str(error):
                raise BrowserError(
                    f"{error} (chromium exited with status {process.returncode}{_stderr_tail(stderr_path)})"
                ) from error
            raise
        finally:
            _kill_browser(process, tmp)


def _check(cdp: _DevTools, url: str, screenshot_path: Path, width: int, height: int) -> PageCheck:
    for domain in ("Page", "Runtime", "Log", "Inspector"):
        cdp.send(f"{domain}.enable")
    cdp.send(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
    )
    start = len(cdp.events)
    navigation = cdp.send("Page.navigate", {"url": url}, waiting_for=f"Page.navigate to {url}")
    if navigation.get("errorText"):
        raise BrowserError(f"loading {url} failed: {navigation['errorText']}")
    # A late load event of the initial about:blank must not count: wait until the file's document is done.
    while True:
        start = 1 + cdp.wait_for_event(
            "Page.loadEventFired", after=start, waiting_for=f"the load event of {url}"
        )
        if cdp.evaluate(_LOADED_JS, waiting_for=f"the document state of {url}"):
            break
    cdp.evaluate(
        _WAIT_FOR_IMAGES_JS,
        await_promise=True,
        waiting_for=f"the images and fonts of {url} to finish loading (img.decode())",
    )
    measured = cdp.evaluate(_MEASURE_JS, waiting_for=f"the measurements of {url}")

    metrics = cdp.send("Page.getLayoutMetrics")
    content = metrics.get("cssContentSize") or metrics["contentSize"]
    shot_width = max(width, int(content["width"] + 0.5))
    shot_height = min(max(height, int(content["height"] + 0.5)), MAX_SCREENSHOT_HEIGHT)
    shot = cdp.send(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": shot_width, "height": shot_height, "scale": 1},
        },
        waiting_for=f"the screenshot of {url}",
    )
    screenshot_path.parent.mkdir(parents=True, exist_ok=True)
    screenshot_path.write_bytes(base64.b64decode(shot["data"]))

    images = measured["images"]
    return PageCheck(
        title=measured["title"],
        text=measured["text"],
        images=images,
        broken_images=[image["alt"] or image["src"] for image in images if image["natural_width"] == 0],
        overflowing=measured["overflowing"],
        viewport_width=measured["viewport_width"],
        document_scroll_width=measured["document_scroll_width"],
        screenshot=screenshot_path,
        console_errors=_console_errors(cdp.events),
    )
