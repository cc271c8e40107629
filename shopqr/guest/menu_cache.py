"""The menu's categories and product cards, rendered once per shop, menu version and language.

The key holds the shop's menu_version, read from the database on every request, so every
process drops its copy as soon as the owner changes the menu. A short lifetime is the safety
net for anything that changes a product without bumping the version. One cache per app."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from flask import Flask
from markupsafe import Markup

MAX_AGE = 60.0
MAX_ENTRIES = 512


class MenuCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[int, int, str], tuple[float, Markup]] = {}

    def get(self, shop_id: int, version: int, locale: str,
            render: Callable[[], Markup]) -> Markup:
        key = (shop_id, version, locale)
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(key)
        if hit is not None and now - hit[0] < MAX_AGE:
            return hit[1]
        html = render()
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = (now, html)
        return html


def for_app(app: Flask) -> MenuCache:
    cache = app.extensions.get("shopqr_menu_cache")
    if cache is None:
        cache = app.extensions.setdefault("shopqr_menu_cache", MenuCache())
    return cache
