"""The platform admin: shops and their subscriptions. Separate accounts, separate session."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, timedelta
from functools import wraps
from typing import Any

from flask import abort, current_app, g, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from shopqr.admin import bp
from shopqr.extensions import db, limiter
from shopqr.models import AdminUser, Shop, utcnow
from shopqr.services import DomainError, auth, get_or_404, logins
from shopqr.services.events import get_bus
from shopqr.services.numbering import business_date
from shopqr.services.shops import (
    add_staff,
    add_table,
    create_shop,
    load_staff,
    overview,
    random_pin,
)
from shopqr.services.staff import active_staff
from shopqr.web import rotate_csrf_token, safe_next

SESSION_KEY = "admin"
IDLE_SECONDS = 30 * 60


def current_admin() -> AdminUser | None:
    data = session.get(SESSION_KEY)
    if not isinstance(data, dict) or not isinstance(data.get("seen"), int) \
            or time.time() - data["seen"] > IDLE_SECONDS:
        session.pop(SESSION_KEY, None)
        return None
    admin = logins.live_admin(db.session, data.get("sid"))
    if admin is None:
        session.pop(SESSION_KEY, None)
        return None
    data["seen"] = int(time.time())
    session.modified = True
    return admin


def admin_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        admin = current_admin()
        if admin is None:
            if request.method != "GET":
                abort(401)
            return redirect(url_for("admin.login", next=request.path), 303)
        g.admin = admin
        return view(*args, **kwargs)

    return wrapped


def subscription_status(shop: Shop, today: date) -> str:
    if not shop.is_active:
        return "suspended"
    if shop.subscription_expires_on is None:
        return "active"
    if shop.subscription_expires_on < today:
        return "expired"
    if shop.subscription_expires_on <= today + timedelta(days=14):
        return "expires soon"
    return "active"


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
def login() -> Response | str | tuple[str, int]:
    if request.method == "GET":
        return render_template("admin/login.html", error=None)
    try:
        admin = auth.sign_in_admin(db.session, request.form.get("email") or "",
                                   request.form.get("password", ""),
                                   device=request.remote_addr or "unknown", now=utcnow())
    except auth.SignInError as exc:
        db.session.commit()
        return render_template("admin/login.html", error=exc.message), exc.status
    sid = logins.start(db.session, "admin", admin=admin)
    db.session.commit()
    _end_session()
    rotate_csrf_token()
    session[SESSION_KEY] = {"sid": sid, "seen": int(time.time())}
    target = safe_next(request.args.get("next"), "/admin/") or url_for("admin.index")
    return redirect(target, 303)


def _end_session() -> None:
    data = session.pop(SESSION_KEY, None)
    if isinstance(data, dict):
        logins.end(db.session, data.get("sid"), reason="signed out", now=utcnow())
        db.session.commit()


@bp.post("/logout")
def logout() -> Response:
    _end_session()
    return redirect(url_for("admin.login"), 303)


@bp.get("/")
@admin_required
def index() -> str:
    today = business_date(utcnow())
    since = utcnow() - timedelta(days=30)
    rows = [(r.shop, subscription_status(r.shop, today), r.tables, r.staff, r.orders)
            for r in overview(db.session, orders_since=since)]
    from shopqr.services import telegram

    return render_template("admin/index.html", rows=rows, admin=g.admin,
                           telegram=telegram.platform_status(current_app._get_current_object(),
                                                             db.session, utcnow()))


def _parse_date(raw: str | None) -> date | None:
    text = (raw or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise DomainError("Dates look like 2026-12-31.") from None


@bp.route("/shops/new", methods=["GET", "POST"])
@admin_required
def new_shop() -> str | tuple[str, int]:
    form = request.form.to_dict()
    if request.method == "GET":
        return render_template("admin/new_shop.html", form={}, error=None, admin=g.admin)
    try:
        raw_tables = (form.get("tables") or "0").strip()
        if not (raw_tables.isascii() and raw_tables.isdigit()) or len(raw_tables) > 3:
            raise DomainError("Tables must be a number from 0 to 200.")
        tables = int(raw_tables)
        if not 0 <= tables <= 200:
            raise DomainError("Tables must be a number from 0 to 200.")
        password = form.get("owner_password") or ""
        if not (form.get("owner_email") or "").strip():
            raise DomainError("The owner's email is required.")
        if len(password) < 10:
            raise DomainError("The owner's password must be at least 10 characters.")
        shop = create_shop(db.session, slug=form.get("slug", ""), name=form.get("name", ""),
                           currency=form.get("currency", "USD"),
                           subscription_expires_on=_parse_date(form.get("expires")))
        for i in range(1, tables + 1):
            add_table(db.session, shop, f"Table {i}", sort_order=i)
        pin = random_pin()
        add_staff(db.session, shop, name=form.get("owner_name", ""), role="owner", pin=pin,
                  email=form.get("owner_email", ""), password=password)
    except (DomainError, ValueError) as exc:
        db.session.rollback()
        message = exc.message if isinstance(exc, DomainError) else "Tables must be a number."
        return render_template("admin/new_shop.html", form=form, error=message,
                               admin=g.admin), 422
    db.session.commit()
    return render_template("admin/created.html", shop=shop, pin=pin, admin=g.admin,
                           owner_email=form.get("owner_email"))


@bp.route("/shops/<int:shop_id>", methods=["GET", "POST"])
@admin_required
def shop_detail(shop_id: int) -> str | tuple[str, int] | Response:
    shop = get_or_404(db.session, Shop, shop_id)
    if request.method == "POST":
        try:
            shop.subscription_expires_on = _parse_date(request.form.get("expires"))
        except DomainError as exc:
            db.session.rollback()
            return _shop_page(shop, exc.message, 422)
        if "active" in request.form:
            shop.is_active = request.form.get("active") == "1"
        db.session.commit()
        return redirect(url_for("admin.shop_detail", shop_id=shop.id), 303)
    return _shop_page(shop)


def _shop_page(shop: Shop, error: str | None = None, status: int = 200) -> tuple[str, int]:
    return render_template("admin/shop.html", shop=shop, error=error,
                           staff=active_staff(db.session, shop),
                           status=subscription_status(shop, business_date(utcnow())),
                           admin=g.admin), status


@bp.post("/shops/<int:shop_id>/staff/<int:user_id>/unlock")
@admin_required
def unlock_staff(shop_id: int, user_id: int) -> Response:
    shop = get_or_404(db.session, Shop, shop_id)
    auth.unlock(db.session, shop, load_staff(db.session, shop, user_id), by=None,
                by_admin=g.admin.email)
    db.session.commit()
    return redirect(url_for("admin.shop_detail", shop_id=shop.id), 303)


@bp.post("/shops/<int:shop_id>/staff/<int:user_id>/password")
@admin_required
def reset_password(shop_id: int, user_id: int) -> Response | tuple[str, int]:
    shop = get_or_404(db.session, Shop, shop_id)
    try:
        auth.reset_owner_password(db.session, get_bus(current_app), shop,
                                  load_staff(db.session, shop, user_id),
                                  request.form.get("password", ""), by_admin=g.admin.email,
                                  now=utcnow())
    except DomainError as exc:
        db.session.rollback()
        if exc.status == 404:
            abort(404)
        return _shop_page(shop, exc.message, exc.status)
    db.session.commit()
    return redirect(url_for("admin.shop_detail", shop_id=shop.id), 303)
