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

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from shopqr.extensions import db, limiter
from shopqr.models import Shop, User, utcnow
from shopqr.services import auth as auth_service
from shopqr.services import logins
from shopqr.settings import bp
from shopqr.staff.auth import current_staff, session_user
from shopqr.web import rotate_csrf_token, safe_next, send_to_sign_in

SESSION_KEY = "settings"


def current_owner(shop: Shop) -> User | None:
    """The owner of this shop signed in here with the password, while the login session is
    open and used within SETTINGS_IDLE_SECONDS."""
    return session_user(SESSION_KEY, "owner", shop, current_app.config["SETTINGS_IDLE_SECONDS"],
                        still_valid=lambda user: user.role == "owner")


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
    target = safe_next(request.values.get("next"), f"/s/{shop.slug}/settings") \
        or url_for("settings.index", slug=shop.slug)
    if request.method == "GET":
        return render_template("settings/login.html", shop=shop, email=email, error=None,
                               next=target)
    try:
        signed_in = auth_service.sign_in_with_password(
            db.session, shop, email or "", request.form.get("password", ""),
            device=request.remote_addr or "unknown", now=utcnow())
    except auth_service.SignInError as exc:
        db.session.commit()
        return render_template("settings/login.html", shop=shop, email=email, error=exc.message,
                               next=target), exc.status
    sid = logins.start(db.session, "owner", user=signed_in.user)
    db.session.commit()
    end_previous_session()
    rotate_csrf_token()
    session.permanent = True
    session[SESSION_KEY] = {"shop_id": shop.id, "sid": sid, "seen": int(time.time())}
    if signed_in.unlocked_pin is not None:
        flash(_("Your PIN had been locked after too many wrong tries (since %(time)s). "
                "Signing in with your password unlocked it.",
                time=format_datetime(signed_in.unlocked_pin, "short")), "warn")
    return redirect(target, 303)


def end_previous_session() -> None:
    data = session.pop(SESSION_KEY, None)
    if isinstance(data, dict):
        logins.end(db.session, data.get("sid"), reason="signed in again", now=utcnow())
        db.session.commit()


@bp.post("/logout")
def logout() -> Response:
    end_previous_session()
    return redirect(url_for("settings.login", slug=g.shop.slug), 303)
