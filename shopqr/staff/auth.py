"""Who is signed in on this shop's device, and the decorator every staff screen uses.

The cookie holds the id of a login session kept in the database (services/logins.py): signing
out, a PIN reset, a PIN lock or a removal ends it, and a copy of the cookie dies with it."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort, current_app, g, request, session, url_for

from shopqr.extensions import db
from shopqr.models import Shop, User, utcnow
from shopqr.services import logins
from shopqr.services.auth import can_use
from shopqr.web import send_to_sign_in

SESSION_KEY = "staff"


def sign_in(shop: Shop, user: User) -> None:
    """Start a PIN session in this browser (the caller commits)."""
    sid = logins.start(db.session, "staff", user=user)
    session.clear()  # a fresh session (and CSRF token) for every sign-in
    session.permanent = True
    session[SESSION_KEY] = {"shop_id": shop.id, "sid": sid, "seen": int(time.time())}


def sign_out() -> None:
    """End this browser's PIN session, on the server too (the caller commits)."""
    data = session.pop(SESSION_KEY, None)
    if isinstance(data, dict):
        logins.end(db.session, data.get("sid"), reason="signed out", now=utcnow())


def session_user(key: str, kind: str, shop: Shop, idle_seconds: int, *,
                 still_valid: Callable[[User], bool], touch: bool = True) -> User | None:
    """The person signed in under ``session[key]`` for this shop: their ``kind`` login session
    is open on the server, was used within ``idle_seconds``, and ``still_valid(user)``. Else
    None, and the key leaves this browser's session. The PIN pad and the owner's settings
    sign-in both read their sessions through this."""
    data = session.get(key)
    if not isinstance(data, dict) or data.get("shop_id") != shop.id:
        return None
    now = int(time.time())
    seen = data.get("seen")
    user = None
    if isinstance(seen, int) and now - seen <= idle_seconds:
        user = logins.live_user(db.session, data.get("sid"), kind, shop.id)
    if user is None or not still_valid(user):
        session.pop(key, None)
        return None
    if touch and now - seen > 30:
        data["seen"] = now
        session.modified = True
    return user


def current_staff(shop: Shop, *, touch: bool = True) -> User | None:
    """The staff member signed in on this device for this shop; None for another shop's
    session, an ended one (signed out, PIN reset or locked, removed), or after the idle
    time-out."""
    return session_user(SESSION_KEY, "staff", shop, current_app.config["STAFF_IDLE_SECONDS"],
                        still_valid=lambda user: user.locked_at is None, touch=touch)


def staff_required(screen: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Views of a staff screen: signed in for THIS shop, with a role allowed on `screen`."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            shop: Shop = g.shop
            user = current_staff(shop)
            if user is None:
                return send_to_sign_in(url_for("staff.sign_in", slug=shop.slug,
                                               next=request.path))
            if not can_use(user.role, screen):
                abort(403)
            g.staff = user
            return view(*args, **kwargs)

        return wrapped

    return decorator
