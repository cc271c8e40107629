"""Owner sign-in for the settings pages: email + password, throttled like the PIN pad.

The rule: settings need a password sign-in in this browser within the last
SETTINGS_IDLE_SECONDS (touched by every settings request). An owner who signed in on the shop
device by PIN is asked for the password again: the PIN is for the till, not for changing the
menu, the staff or the Bakong wallet."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import current_app, g, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from shopqr.extensions import db, limiter
from shopqr.models import Shop, User, utcnow
from shopqr.services import auth as auth_service
from shopqr.settings import bp
from shopqr.staff.auth import current_staff
from shopqr.web import send_to_sign_in

SESSION_KEY = "settings"


def current_owner(shop: Shop) -> User | None:
    data = session.get(SESSION_KEY)
    if not isinstance(data, dict) or data.get("shop_id") != shop.id:
        return None
    now = int(time.time())
    if now - int(data.get("seen", 0)) > current_app.config["SETTINGS_IDLE_SECONDS"]:
        session.pop(SESSION_KEY, None)
        return None
    user = db.session.get(User, data.get("user_id"))
    if user is None or user.shop_id != shop.id or user.role != "owner" or not user.is_active \
            or user.locked_at:
        session.pop(SESSION_KEY, None)
        return None
    if now - int(data.get("seen", 0)) > 30:
        data["seen"] = now
        session.modified = True
    return user


def owner_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Settings views: an owner of THIS shop who signed in with the password."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        shop: Shop = g.shop
        user = current_owner(shop)
        if user is None:
            return send_to_sign_in(url_for("settings.login", slug=shop.slug, next=request.path))
        g.owner = user
        return view(*args, **kwargs)

    return wrapped


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
def login() -> Response | str | tuple[str, int]:
    shop: Shop = g.shop
    staff = current_staff(shop, touch=False)
    email = request.form.get("email") or (staff.email if staff and staff.role == "owner" else "")
    target = request.values.get("next") or ""
    if not (target.startswith(f"/s/{shop.slug}/settings") and "//" not in target):
        target = url_for("settings.index", slug=shop.slug)
    if request.method == "GET":
        return render_template("settings/login.html", shop=shop, email=email, error=None,
                               next=target)
    try:
        user = auth_service.sign_in_with_password(
            db.session, shop, email or "", request.form.get("password", ""),
            device=request.remote_addr or "unknown", now=utcnow())
    except auth_service.SignInError as exc:
        db.session.commit()
        return render_template("settings/login.html", shop=shop, email=email, error=exc.message,
                               next=target), exc.status
    db.session.commit()
    session.permanent = True
    session[SESSION_KEY] = {"shop_id": shop.id, "user_id": user.id, "seen": int(time.time())}
    return redirect(target, 303)


@bp.post("/logout")
def logout() -> Response:
    session.pop(SESSION_KEY, None)
    return redirect(url_for("settings.login", slug=g.shop.slug), 303)
