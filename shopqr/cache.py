"""A small in-process cache of things rendered or loaded from the database, for keys that hold
the version of what they were made from (a shop's menu_version, a table's cart_version): a new
version is a new key, so an entry is never stale by construction. Entries also expire after
MAX_AGE, the safety net for a change made without bumping a version (by hand in the database).
Bounded: when full, it starts again empty."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import TypeVar

from flask import Flask

MAX_AGE = 60.0
MAX_ENTRIES = 512
T = TypeVar("T")


class MenuCache:
    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._lock = threading.Lock()
        self._entries: dict[Hashable, tuple[float, object]] = {}
        self.max_entries = max_entries

    def get(self, key: Hashable, render: Callable[[], T]) -> T:
        hit = self.peek(key)
        if hit is not None:
            return hit
        html = render()
        self.put(key, html)
        return html

    def peek(self, key: Hashable) -> object | None:
        """The entry under ``key``, or None (none, or expired)."""
        with self._lock:
            hit = self._entries.get(key)
        if hit is not None and time.monotonic() - hit[0] < MAX_AGE:
            return hit[1]
        return None

    def put(self, key: Hashable, value: object) -> None:
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[key] = (time.monotonic(), value)


def app_cache(app: Flask, name: str, max_entries: int = MAX_ENTRIES) -> MenuCache:
    """The app's cache called ``name`` (in ``app.extensions``), made on first use: one per app,
    shared by its threads."""
    cache = app.extensions.get(name)
    if cache is None:
        cache = app.extensions.setdefault(name, MenuCache(max_entries))
    return cache
