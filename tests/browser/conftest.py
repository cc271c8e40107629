"""Browser tests: Debian's Chromium driven by Playwright, against the app on a real server
thread with the Bakong simulator and the poller running."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from shopqr.services.poller import PollerThread

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM = os.environ.get("SHOPQR_CHROMIUM", "/usr/bin/chromium")
PHONE = {"width": 390, "height": 844}


def sign_in(page, base: str, slug: str, name: str, pin: str) -> None:
    """Tap a name on the shop's PIN pad and key in the PIN, as staff do."""
    page.goto(f"{base}/s/{slug}/staff/")
    page.get_by_role("link", name=re.compile(name)).click()
    for digit in pin:
        page.locator(f".pin-key[data-key='{digit}']").click()
    page.locator(".pin-enter").click()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is needed at {CHROMIUM} (apt-get install chromium)")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--autoplay-policy=no-user-gesture-required"],
    }


@pytest.fixture
def poller_running(app, live_server) -> Iterator[PollerThread]:
    """The Bakong poller, as production runs it (tests never start it unless they ask)."""
    poller = PollerThread(app)
    poller.start()
    yield poller
    poller.stop()


@pytest.fixture
def shot():
    """Save a screenshot as a test artifact: tests/artifacts/<name>.png."""
    ARTIFACTS.mkdir(exist_ok=True)

    def take(page, name: str, *, phone_too: bool = False) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        if phone_too:  # the same screen on a phone-sized viewport
            size = page.viewport_size
            page.set_viewport_size(PHONE)
            page.screenshot(path=str(ARTIFACTS / f"{name}-phone.png"), full_page=True)
            page.set_viewport_size(size)
        return path

    return take
