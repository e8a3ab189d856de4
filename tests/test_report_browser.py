"""The report page in a real browser: headless Chromium over the DevTools protocol.

The DevTools protocol runs over a pipe (`--remote-debugging-pipe`: commands on fd 3, replies
on fd 4, NUL-separated JSON), so no port, no websocket library and no browser download.
Skipped when no Chromium is installed, except under CI (CI=true), where that is a failure.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import io
import json
import os
import re
import select
import shutil
import struct
import subprocess
import time
from pathlib import Path

import pytest

from dakl_etl.report import write_report
from test_report_data import sample_deliveries

pytestmark = [pytest.mark.browser, pytest.mark.slow]

VIEWPORT = (1240, 1754)  # A4 at 150 dpi
TIMEOUT = 60.0


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def chromium() -> str:
    found = _chromium()
    if found is None:
        message = "no Chromium found (Debian: apt-get install -y chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message + "; CI must have it")
        pytest.skip(message)
    return found


class DevTools:
    """A minimal DevTools-protocol client over Chromium's debugging pipe."""

    def __init__(self, executable: str, profile: Path) -> None:
        low_r, self._to_browser = os.pipe()
        self._from_browser, low_w = os.pipe()
        # The child's ends move above fd 9 so that putting them on 3 and 4 cannot clobber them.
        # bash does that in the child (dash takes single-digit fds only); no preexec_fn: a
        # process running Polars threads must not run Python code between fork and exec.
        to_browser_r = fcntl.fcntl(low_r, fcntl.F_DUPFD_CLOEXEC, 10)
        from_browser_w = fcntl.fcntl(low_w, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(low_r)
        os.close(low_w)
        wire = (
            f'exec "$@" 3<&{to_browser_r} 4>&{from_browser_w} {to_browser_r}<&- {from_browser_w}>&-'
        )
        flags = [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--no-default-browser-check", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-extensions",
            "--disable-default-apps", "--mute-audio", "--hide-scrollbars",
            f"--user-data-dir={profile}", "--remote-debugging-pipe", "about:blank",
        ]  # fmt: skip
        self.process = subprocess.Popen(
            [shutil.which("bash") or "/bin/bash", "-c", wire, "bash", executable, *flags],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(to_browser_r, from_browser_w),
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._to_browser)
        with contextlib.suppress(OSError):
            os.close(self._from_browser)
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    def _receive(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or self.process.poll() is not None:
                raise TimeoutError("Chromium did not answer over the DevTools pipe")
            ready, _, _ = select.select([self._from_browser], [], [], left)
            if ready:
                chunk = os.read(self._from_browser, 1 << 20)
                if not chunk:
                    raise TimeoutError("Chromium closed the DevTools pipe")
                self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + TIMEOUT
        while True:
            reply = self._receive(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def wait_for(self, method: str) -> dict:
        deadline = time.monotonic() + TIMEOUT
        for event in self.events:
            if event.get("method") == method:
                return event
        while True:
            event = self._receive(deadline)
            self.events.append(event)
            if event.get("method") == method:
                return event


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


@pytest.fixture(scope="module")
def sample_page(tmp_path_factory) -> Path:
    """The report of the sample delivery (a real run of pipelines/sample.yaml), with J2023."""
    directory = tmp_path_factory.mktemp("browser")
    deliveries = sample_deliveries(directory)
    page = directory / "report.html"
    write_report(deliveries[2024], page, previous=deliveries[2023])
    return page


def _load(chromium: str, page: Path, profile: Path) -> dict:
    tools = DevTools(chromium, profile)
    try:
        target = tools.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = tools.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Runtime", "Log", "Network", "Page"):
            tools.send(f"{domain}.enable", session=session)
        width, height = VIEWPORT
        tools.send(
            "Emulation.setDeviceMetricsOverride",
            {
                "width": width,
                "height": height,
                "deviceScaleFactor": 1,
                "mobile": False,
            },
            session=session,
        )
        url = page.resolve().as_uri()
        tools.send("Page.navigate", {"url": url}, session=session)
        tools.wait_for("Page.loadEventFired")
        verdict = tools.send(
            "Runtime.evaluate",
            {
                "expression": "document.getElementById('verdict-text').innerText",
                "returnByValue": True,
            },
            session=session,
        )["result"]["value"]
        svg_count = tools.send(
            "Runtime.evaluate",
            {
                "expression": "document.querySelectorAll('svg').length",
                "returnByValue": True,
            },
            session=session,
        )["result"]["value"]
        shot = base64.b64decode(
            tools.send("Page.captureScreenshot", {"format": "png"}, session=session)["data"]
        )
        pdf = base64.b64decode(
            tools.send("Page.printToPDF", {"preferCSSPageSize": True}, session=session)["data"]
        )
        tools.send("Runtime.evaluate", {"expression": "0"}, session=session)  # drain events
        return {
            "url": url,
            "events": tools.events,
            "verdict": verdict,
            "svgs": svg_count,
            "screenshot": shot,
            "pdf": pdf,
        }
    finally:
        tools.close()


@pytest.fixture(scope="module")
def loaded(chromium, sample_page, tmp_path_factory) -> dict:
    return _load(chromium, sample_page, tmp_path_factory.mktemp("profile"))


def test_page_loads_without_console_errors(loaded):
    problems = []
    for event in loaded["events"]:
        method, params = event.get("method"), event.get("params", {})
        console_problem = method == "Runtime.consoleAPICalled" and params.get("type") in {
            "error",
            "warning",
            "assert",
        }
        if method == "Runtime.exceptionThrown" or console_problem:
            problems.append(params)
        elif method == "Log.entryAdded" and params["entry"]["level"] in {"error", "warning"}:
            problems.append(params["entry"])
    assert problems == []


def test_page_makes_no_network_requests(loaded):
    requested = [
        e["params"]["request"]["url"]
        for e in loaded["events"]
        if e.get("method") == "Network.requestWillBeSent"
    ]
    assert set(requested) <= {loaded["url"]}  # only the page itself, from disk
    assert not [e for e in loaded["events"] if e.get("method") == "Network.loadingFailed"]


def test_screenshot_has_the_page_size_and_the_verdict(loaded):
    from PIL import Image

    assert _png_size(loaded["screenshot"]) == VIEWPORT
    assert loaded["verdict"].startswith("Klaar om aan te leveren")
    image = Image.open(io.BytesIO(loaded["screenshot"])).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20) or []
    verdict_green = (0x1B, 0x7A, 0x3A)
    assert any(rgb == verdict_green and n > 200 for n, rgb in colours)  # the verdict box drew
    assert loaded["svgs"] == 4


def test_page_prints_on_a4(loaded):
    pdf = loaded["pdf"]
    assert pdf.startswith(b"%PDF")
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    assert boxes, "no page in the PDF"
    for width, height in boxes:  # A4 is 595 x 842 points
        assert abs(float(width) - 595.3) < 1 and abs(float(height) - 841.9) < 1
    assert 2 <= len(boxes) <= 12
