"""The platform's Bakong API token: which one is in use, when it expires, and its renewal.

The token is a JWT that lives 90 days (docs/khqr.md). It comes from BAKONG_TOKEN, until the
platform admin renews it on /admin/bakong: ``POST /v1/renew_token`` with BAKONG_EMAIL answers
with a new token, kept in ``bakong_token_renewals`` (with who asked, when, and any error). The
token in use is whichever of the two expires later, so a fresher BAKONG_TOKEN set by the
operator after a renewal wins again, and every process (web and poller) reads the same one.
See docs/bakong-token.md."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from shopqr.models import AdminUser, BakongTokenRenewal
from shopqr.services import DomainError
from shopqr.services.bakong import BakongError, client_from_config, token_expiry

# The admin page warns this many days before the token expires.
WARN_DAYS = 14


@dataclass(frozen=True)
class TokenState:
    token: str | None
    expires_at: datetime | None
    source: str  # "renewed" (the newest renewal), "config" (BAKONG_TOKEN) or "none"
    renewed: BakongTokenRenewal | None = None

    def days_left(self, now: datetime) -> int | None:
        return None if self.expires_at is None else (self.expires_at - now).days

    def level(self, now: datetime) -> str:
        """"ok", "warn" (within WARN_DAYS), "bad" (expired, unreadable or missing)."""
        if self.expires_at is None or self.expires_at <= now:
            return "bad"
        return "warn" if (self.expires_at - now).days < WARN_DAYS else "ok"


def _latest_renewal(db: Session) -> BakongTokenRenewal | None:
    return db.scalar(select(BakongTokenRenewal)
                     .where(BakongTokenRenewal.token.is_not(None))
                     .order_by(BakongTokenRenewal.id.desc()).limit(1))


def current(db: Session, config: Mapping[str, Any]) -> TokenState:
    """The token in use: the renewed one when it outlives BAKONG_TOKEN, else BAKONG_TOKEN."""
    configured = config.get("BAKONG_TOKEN") or None
    configured_expiry = token_expiry(configured)
    renewal = _latest_renewal(db)
    if renewal is not None and renewal.expires_at is not None and (
            configured_expiry is None or renewal.expires_at > configured_expiry):
        return TokenState(renewal.token, renewal.expires_at, "renewed", renewal)
    if configured:
        return TokenState(configured, configured_expiry, "config")
    return TokenState(None, None, "none")


def history(db: Session, limit: int = 10) -> list[BakongTokenRenewal]:
    return list(db.scalars(select(BakongTokenRenewal)
                           .order_by(BakongTokenRenewal.id.desc()).limit(limit)))


def renew(db: Session, config: Mapping[str, Any], *, by: AdminUser,
          now: datetime) -> BakongTokenRenewal:
    """Ask Bakong for a new token with BAKONG_EMAIL and keep the answer (the caller commits).
    A refusal or a failure is kept too, with its reason, and raised as a DomainError (502)."""
    email = (config.get("BAKONG_EMAIL") or "").strip()
    if not email:
        raise DomainError(_l("Set BAKONG_EMAIL (the address registered with the Bakong Open "
                             "API) before renewing the token."), 409)
    try:
        client = client_from_config(config, token=current(db, config).token or "")
    except BakongError:
        raise DomainError(_l("No Bakong API is set up (BAKONG_API_URL)."), 409) from None
    row = BakongTokenRenewal(requested_at=now, admin_id=by.id, email=email[:120])
    db.add(row)
    try:
        token = client.renew_token(email)
    except BakongError as exc:
        row.error = str(exc)[:200]
        raise DomainError(_l("Bakong did not renew the token: %(reason)s",
                             reason=row.error), 502) from None
    expires = token_expiry(token)
    if expires is None:
        row.error = "the new token cannot be read (not a JWT with exp)"
        raise DomainError(_l("Bakong did not renew the token: %(reason)s",
                             reason=row.error), 502)
    row.token, row.expires_at = token, expires
    return row
