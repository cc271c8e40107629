"""Flask's signed-cookie session, with its signing serializer built once instead of on every
request (building one runs a JSON round trip to detect the serializer's kind; every request,
even one that never touches the session, paid for it)."""

from __future__ import annotations

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer


class CachedSerializerSessionInterface(SecureCookieSessionInterface):
    def __init__(self) -> None:
        self._cached: tuple[tuple[object, ...], URLSafeTimedSerializer | None] | None = None

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        # the same keys give the same serializer; a changed key (tests do it) builds a new one
        keys = (app.secret_key, *(app.config["SECRET_KEY_FALLBACKS"] or ()))
        cached = self._cached
        if cached is None or cached[0] != keys:
            cached = (keys, super().get_signing_serializer(app))
            self._cached = cached
        return cached[1]
