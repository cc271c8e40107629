"""Security headers on every response, pages and static files alike.

The Content-Security-Policy allows scripts, styles, images and connections from this site only:
no inline script or style (the templates carry none; behaviours are in static/js/app.js, driven
by data attributes), no eval (htmx runs with ``allowEval: false``), no framing, no plugins, and
forms post only to this site. Connections name the page's own host for ws:/wss: as well as
'self', because older Safari (iPads on the kitchen counter) does not count a websocket to the
same host as 'self'.

Referrer-Policy is ``same-origin``: guest order pages are capability URLs (whoever has the link
sees the order), so no other site may receive them as a referrer. ``no-referrer`` would be
stricter but breaks sign-in and every form over HTTPS: Flask-WTF's CSRF check there requires a
same-origin Referer.

HSTS is sent only when ``SHOPQR_ENV`` is ``production`` (read for each request, so a test or an
instance config can change it), since development and the demo run over plain HTTP."""

from __future__ import annotations

import functools
import re

from flask import Flask, current_app, request
from werkzeug.wrappers import Response

_POLICY = (
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "font-src 'self'",
    "media-src 'self'",
    "connect-src 'self'{websockets}",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
)
POLICY_TEMPLATE = "; ".join(_POLICY)
HSTS = "max-age=31536000; includeSubDomains"
# A host (name or IPv4, or a bracketed IPv6 address) with an optional port, and nothing else:
# the Host header comes from the client, so anything else is left out of the policy.
_SAFE_HOST = re.compile(r"^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$")


@functools.lru_cache(maxsize=64)  # a site answers to a few host names; a pure function of it
def content_security_policy(host: str | None) -> str:
    """The policy for a page served to ``host`` (the request's Host header)."""
    websockets = f" ws://{host} wss://{host}" if host and _SAFE_HOST.match(host) else ""
    return POLICY_TEMPLATE.format(websockets=websockets)


def _add_headers(response: Response) -> Response:
    rule = request.url_rule
    if rule is not None and rule.websocket:
        # The websocket handshake was written by the socket library before this response
        # existed; nothing set here reaches the browser.
        return response
    headers = response.headers
    # setdefault: a view that sets one of these itself (media.py sets nosniff) keeps its own.
    headers.setdefault("Content-Security-Policy", content_security_policy(request.host))
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    if current_app.config.get("SHOPQR_ENV") == "production":
        headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def init_app(app: Flask) -> None:
    app.after_request(_add_headers)
