"""The browser harness (tests/browser.py): real headless Chromium, and pages that must fail its checks."""

from __future__ import annotations

import base64
import os
import struct
import subprocess
import time
import zlib
from pathlib import Path

import pytest
from PIL import Image

from tests.browser import BrowserError, check_page, require_chromium


def tiny_png(width: int = 4, height: int = 3, rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A valid RGB PNG built by hand (signature, IHDR, one IDAT, IEND)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + bytes(rgb) * width  # filter type 0, then the pixels
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def page(tmp_path: Path, body: str, title: str = "test", name: str = "page.html") -> Path:
    path = tmp_path / name
    path.write_text(
        f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>body {{ margin: 0; font-family: sans-serif; }}</style></head><body>{body}</body></html>",
        encoding="utf-8",
    )
    return path


def chromium_processes_of(profile_hint: str) -> list[str]:
    """Command lines of live processes whose arguments mention `profile_hint` (our profile directories)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if profile_hint in cmdline:
            found.append(f"{entry.name}: {cmdline[:120]}")
    return found


def test_embedded_image_renders_with_title_text_and_full_page_screenshot(tmp_path: Path) -> None:
    require_chromium()
    data = base64.b64encode(tiny_png(4, 3)).decode()
    html = page(
        tmp_path,
        "<h1>声量日报</h1><p>微博与微信的品牌声量。</p>"
        f'<img id="logo" alt="标志" src="data:image/png;base64,{data}" width="40" height="30">'
        '<div style="height: 2000px">长页面</div>',
        title="声量日报 2026-11-10",
    )
    started = time.monotonic()
    result = check_page(html, tmp_path / "shot.png")
    elapsed = time.monotonic() - started
    print(f"check_page took {elapsed:.2f} s")

    assert result.title == "声量日报 2026-11-10"
    assert "声量日报" in result.text and "微博与微信的品牌声量。" in result.text
    assert result.broken_images == []
    assert len(result.images) == 1
    image = result.images[0]
    assert image["src"].startswith("data:image/png;base64,") and len(image["src"]) == 60
    assert image["alt"] == "标志"
    assert (image["natural_width"], image["natural_height"], image["complete"]) == (4, 3, True)
    assert result.overflowing == []
    assert result.viewport_width == 1280 and result.document_scroll_width == 1280
    assert result.console_errors == []

    assert result.screenshot == tmp_path / "shot.png"
    assert result.screenshot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(result.screenshot) as shot:
        assert shot.format == "PNG"
        # Full page, not just the 900 px viewport: h1 + p + image + the 2000 px block.
        assert shot.width == 1280
        assert 2000 + 30 < shot.height < 2400
        # The image is really painted: its red shows in the screenshot.
        pixels = shot.convert("RGB")
        assert any(pixels.getpixel((x, y)) == (200, 30, 30) for x in range(0, 60) for y in range(0, 200))
    assert elapsed < 15


def test_short_page_screenshot_is_the_viewport(tmp_path: Path) -> None:
    require_chromium()
    result = check_page(page(tmp_path, "<p>短</p>"), tmp_path / "shot.png", width=800, height=600)
    with Image.open(result.screenshot) as shot:
        assert shot.size == (800, 600)


def test_missing_image_is_reported_broken(tmp_path: Path) -> None:
    require_chromium()
    data = base64.b64encode(tiny_png()).decode()
    html = page(
        tmp_path,
        f'<p>图表</p><img src="missing.png"><img alt="趋势图" src="also-missing.png">'
        f'<img alt="ok" src="data:image/png;base64,{data}">',
    )
    result = check_page(html, tmp_path / "shot.png")

    assert result.broken_images == ["missing.png", "趋势图"]
    assert [image["natural_width"] for image in result.images] == [0, 0, 4]
    # Chromium logs the failed file:// loads.
    assert any("missing.png" in error for error in result.console_errors), result.console_errors
    assert result.screenshot.exists()


def test_lazy_image_below_the_fold_is_loaded(tmp_path: Path) -> None:
    require_chromium()
    png = tmp_path / "chart.png"
    png.write_bytes(tiny_png(5, 2))
    html = page(
        tmp_path, '<div style="height: 5000px"></div><img loading="lazy" alt="chart" src="chart.png">'
    )
    result = check_page(html, tmp_path / "shot.png")
    assert result.broken_images == []
    assert result.images[0]["natural_width"] == 5


def test_wide_element_overflows_the_page(tmp_path: Path) -> None:
    require_chromium()
    html = page(
        tmp_path,
        '<p>ok</p><div id="wide" class="table big" style="width: 3000px"><span>宽表格</span></div>',
    )
    result = check_page(html, tmp_path / "shot.png")

    # The culprit, not its children; and the document itself scrolls sideways.
    assert result.overflowing == [
        "div#wide.table.big right=3000px",
        "document scrollWidth=3000px > clientWidth=1280px",
    ]
    assert result.viewport_width == 1280
    assert result.document_scroll_width == 3000
    with Image.open(result.screenshot) as shot:
        assert shot.width == 3000  # the screenshot shows what sticks out


def test_wide_element_in_a_scrolling_wrapper_is_fine(tmp_path: Path) -> None:
    require_chromium()
    html = page(
        tmp_path,
        '<div class="table-wrap" style="overflow-x: auto">'
        '<div id="wide" style="width: 3000px"><span>宽表格</span></div></div>',
    )
    result = check_page(html, tmp_path / "shot.png")
    assert result.overflowing == []
    assert result.document_scroll_width <= result.viewport_width == 1280


def test_hidden_overflow_on_body_still_counts(tmp_path: Path) -> None:
    """body { overflow-x: hidden } cuts the content off for the reader; it is no excuse."""
    require_chromium()
    html = page(
        tmp_path, '<style>body { overflow-x: hidden }</style><div id="wide" style="width: 3000px">x</div>'
    )
    result = check_page(html, tmp_path / "shot.png")
    assert "div#wide right=3000px" in result.overflowing


def test_narrow_viewport(tmp_path: Path) -> None:
    require_chromium()
    html = page(
        tmp_path,
        '<h1>声量日报</h1><p style="max-width: 100%">一段会自动换行的中文文字，' + "很长" * 100 + "。</p>"
        '<table id="fixed" style="width: 600px"><tr><td>宽</td></tr></table>',
    )
    result = check_page(html, tmp_path / "phone.png", width=390, height=844)

    assert result.viewport_width == 390
    assert "声量日报" in result.text
    assert result.overflowing[0] == "table#fixed right=600px"
    with Image.open(result.screenshot) as shot:
        assert shot.width == 600 and shot.height >= 844


def test_console_errors_are_collected(tmp_path: Path) -> None:
    require_chromium()
    html = page(
        tmp_path,
        "<p>脚本</p><script>console.error('坏数据', 42); console.log('fine')</script>"
        "<script>throw new Error('boom')</script>",
    )
    result = check_page(html, tmp_path / "shot.png")
    assert any("console.error: 坏数据 42" in error for error in result.console_errors), result.console_errors
    assert any("uncaught: Error: boom" in error for error in result.console_errors), result.console_errors
    assert not any("fine" in error for error in result.console_errors)


def test_missing_file_is_an_error_and_the_browser_is_gone(tmp_path: Path) -> None:
    require_chromium()
    with pytest.raises(BrowserError, match="is not a file"):
        check_page(tmp_path / "nope.html", tmp_path / "shot.png")


def test_no_browser_left_behind_after_a_check(tmp_path: Path) -> None:
    require_chromium()
    check_page(page(tmp_path, "<p>x</p>"), tmp_path / "shot.png")
    # Each browser runs with a shengliang-chromium-* profile directory; none of them may still be running.
    assert chromium_processes_of("shengliang-chromium-") == []
    # And the group kill does not leave zombies of ours either.
    zombies = subprocess.run(
        ["ps", "-o", "stat=,comm=", "--ppid", str(os.getpid())], capture_output=True, text=True
    )
    assert "chrom" not in zombies.stdout


def test_chinese_is_painted_with_a_real_font(tmp_path: Path) -> None:
    """Two different characters must give different pixels: missing-glyph boxes would look the same."""
    require_chromium()
    shots = []
    for char in ("声", "报"):
        html = page(tmp_path, f'<span style="font-size: 120px">{char}</span>', name=f"{ord(char)}.html")
        result = check_page(html, tmp_path / f"{ord(char)}.png", width=200, height=200)
        with Image.open(result.screenshot) as shot:
            shots.append(shot.convert("L").tobytes())
    assert shots[0] != shots[1]


def fake_chromium(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str) -> Path:
    fake = tmp_path / "fake-chromium"
    fake.write_text("#!/bin/sh\n" + script)
    fake.chmod(0o755)
    monkeypatch.setenv("CHROMIUM_BIN", str(fake))
    return fake


def test_a_browser_that_never_opens_its_port_times_out_clearly_and_is_killed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_chromium()
    child_pid = tmp_path / "child.pid"
    # A "browser" that starts a child and never writes DevToolsActivePort.
    fake_chromium(tmp_path, monkeypatch, f"sleep 60 &\necho $! > {child_pid}\nwait\n")
    started = time.monotonic()
    with pytest.raises(
        BrowserError, match=r"timed out after 1 s waiting for chromium to write .*DevToolsActivePort"
    ):
        check_page(page(tmp_path, "<p>x</p>"), tmp_path / "shot.png", timeout=1)
    assert time.monotonic() - started < 5
    # The whole process group went, the child too (gone, or a zombie until init reaps it).
    stat = Path(f"/proc/{child_pid.read_text().strip()}/stat")
    assert not stat.exists() or stat.read_text().split(") ")[1].startswith("Z")


def test_a_browser_that_exits_at_once_is_reported_with_its_stderr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_chromium()
    fake_chromium(tmp_path, monkeypatch, "echo 'cannot open display' >&2\nexit 3\n")
    with pytest.raises(BrowserError, match=r"exited with status 3 .*cannot open display"):
        check_page(page(tmp_path, "<p>x</p>"), tmp_path / "shot.png")


def test_require_chromium_skips_locally_and_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    """No browser needed here (so no require_chromium() first): a missing one is a skip, in CI a failure."""
    monkeypatch.setenv("CHROMIUM_BIN", "/nonexistent/chromium")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="CHROMIUM_BIN='/nonexistent/chromium'"):
        require_chromium()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"\.ci/run installs it with apt-get install chromium"):
        require_chromium()
