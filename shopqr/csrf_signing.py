"""Flask-WTF builds a new signing serializer each time it makes or checks a CSRF token, and
building one costs more than signing with it (itsdangerous checks the serializer's kind with a
JSON round trip). Serializers hold nothing but their keys, so one per (secret key, salt) is
shared by all requests; a new key (rotation, tests) gets its own. README "Benchmark" has the
measured gain."""

from __future__ import annotations

import functools

import flask_wtf.csrf
from itsdangerous import URLSafeTimedSerializer

_library_serializer = URLSafeTimedSerializer


@functools.lru_cache(maxsize=16)
def _shared_serializer(secret_key: str | bytes, salt: str = "itsdangerous"
                       ) -> URLSafeTimedSerializer:
    return _library_serializer(secret_key, salt=salt)


def install(enabled: bool = True) -> None:
    """Make Flask-WTF's token functions use shared serializers (or, off, its own again)."""
    flask_wtf.csrf.URLSafeTimedSerializer = _shared_serializer if enabled \
        else _library_serializer
