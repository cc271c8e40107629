"""The menu page, rendered once per shop, menu version and language.

Two things are cached: the categories and product cards, and the page around them with holes
for what belongs to one table (its name, its orders, the cart button) and to one phone (the CSRF
token). Keys hold the shop's menu_version, read from the database on every request, so every
process drops its copies as soon as the owner changes the menu. A short lifetime is the safety
net for anything that changes without bumping the version. One cache per app."""

from __future__ import annotations

import re
from collections.abc import Mapping

from flask import Flask
from markupsafe import Markup

from shopqr.cache import MAX_AGE, MenuCache, app_cache  # noqa: F401  (re-exported)

HOLE = re.compile("\x00hole:(\\w+)\x00")


def hole(name: str) -> Markup:
    """A marker for ``Shell``: rendered into the page where a per-request value goes."""
    return Markup(f"\x00hole:{name}\x00")


class Shell:
    """A rendered page cut at its holes; ``fill`` puts one request's values in, already safe
    markup (the values are never searched for markers themselves)."""

    def __init__(self, html: str) -> None:
        self.parts = HOLE.split(str(html))  # text, name, text, name, ..., text

    def fill(self, values: Mapping[str, Markup]) -> Markup:
        out = self.parts[:]
        for i in range(1, len(out), 2):
            out[i] = values[out[i]]
        return Markup("".join(out))


def table_fragments(app: Flask) -> MenuCache:
    """The cache of one table's fragments (cart badge, cart panel, order strip). Their keys hold
    the table session's cart_version and the shop's menu_version, read before the fragment's
    data is, so an entry is never older than its key: a cached fragment is never stale."""
    return app_cache(app, "shopqr_table_fragments", 4096)


def for_app(app: Flask) -> MenuCache:
    return app_cache(app, "shopqr_menu_cache")
