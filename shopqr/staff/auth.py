"""Who is signed in on this shop's device, and the decorator every staff screen uses."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort, current_app, g, request, session, url_for

from shopqr.extensions import db
from shopqr.models import Shop, User
from shopqr.services.auth import can_use
from shopqr.web import send_to_sign_in

SESSION_KEY = "staff"


def sign_in(shop: Shop, user: User) -> None:
    session.clear()  # a fresh session (and CSRF token) for every sign-in
    session.permanent = True
    session[SESSION_KEY] = {"shop_id": shop.id, "user_id": user.id, "seen": int(time.time())}


def sign_out() -> None:
    session.pop(SESSION_KEY, None)


def current_staff(shop: Shop, *, touch: bool = True) -> User | None:
    """The staff member signed in on this device for this shop; None for another shop's
    session, a removed user, a locked one, or after the idle time-out."""
    data = session.get(SESSION_KEY)
    if not isinstance(data, dict) or data.get("shop_id") != shop.id:
        return None
    now = int(time.time())
    idle = current_app.config["STAFF_IDLE_SECONDS"]
    if now - int(data.get("seen", 0)) > idle:
        sign_out()
        return None
    user = db.session.get(User, data.get("user_id"))
    if user is None or user.shop_id != shop.id or not user.is_active or user.locked_at:
        sign_out()
        return None
    if touch and now - int(data.get("seen", 0)) > 30:
        data["seen"] = now
        session.modified = True
    return user


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
