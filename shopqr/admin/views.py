"""The platform admin: shops and their subscriptions. Separate accounts, separate session."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, timedelta
from functools import wraps
from typing import Any

from flask import abort, g, redirect, render_template, request, session, url_for
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from shopqr.admin import bp
from shopqr.extensions import db, limiter
from shopqr.models import AdminUser, Order, Shop, ShopTable, User, utcnow
from shopqr.services import DomainError
from shopqr.services.auth import delay_for
from shopqr.services.numbering import business_date
from shopqr.services.shops import add_staff, add_table, check_secret, create_shop, random_pin

SESSION_KEY = "admin"
IDLE_SECONDS = 30 * 60


def current_admin() -> AdminUser | None:
    data = session.get(SESSION_KEY)
    if not isinstance(data, dict) or time.time() - data.get("seen", 0) > IDLE_SECONDS:
        session.pop(SESSION_KEY, None)
        return None
    admin = db.session.get(AdminUser, data.get("id"))
    if admin is not None:
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
    email = (request.form.get("email") or "").strip().lower()
    admin = db.session.scalar(select(AdminUser).where(AdminUser.email == email))
    now = utcnow()
    if admin is not None and admin.last_failed_at is not None:
        wait = delay_for(admin.failed_attempts) - (now - admin.last_failed_at).total_seconds()
        if wait > 0:
            return render_template("admin/login.html", error=(
                f"Too many failed sign-ins. Wait {int(wait) + 1} seconds.")), 429
    if admin is None or not check_secret(admin.password_hash, request.form.get("password", "")):
        if admin is not None:
            admin.failed_attempts += 1
            admin.last_failed_at = now
            db.session.commit()
        return render_template("admin/login.html", error="Email or password is wrong."), 401
    admin.failed_attempts = 0
    admin.last_failed_at = None
    db.session.commit()
    session[SESSION_KEY] = {"id": admin.id, "seen": int(time.time())}
    target = request.args.get("next") or ""
    if not target.startswith("/admin/") or "//" in target:
        target = url_for("admin.index")
    return redirect(target, 303)


@bp.post("/logout")
def logout() -> Response:
    session.pop(SESSION_KEY, None)
    return redirect(url_for("admin.login"), 303)


@bp.get("/")
@admin_required
def index() -> str:
    today = business_date(utcnow())
    since = utcnow() - timedelta(days=30)
    shops = db.session.scalars(select(Shop).order_by(Shop.name)).all()
    tables = dict(db.session.execute(select(ShopTable.shop_id, func.count(ShopTable.id))
                                     .where(ShopTable.is_active.is_(True))
                                     .group_by(ShopTable.shop_id)).all())
    staff = dict(db.session.execute(select(User.shop_id, func.count(User.id))
                                    .where(User.is_active.is_(True))
                                    .group_by(User.shop_id)).all())
    orders = dict(db.session.execute(select(Order.shop_id, func.count(Order.id))
                                     .where(Order.created_at >= since)
                                     .group_by(Order.shop_id)).all())
    rows = [(s, subscription_status(s, today), tables.get(s.id, 0), staff.get(s.id, 0),
             orders.get(s.id, 0)) for s in shops]
    return render_template("admin/index.html", rows=rows, admin=g.admin)


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
        tables = int(form.get("tables") or 0)
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


def _load_shop(shop_id: int) -> Shop:
    shop = db.session.get(Shop, shop_id)
    if shop is None:
        abort(404)
    return shop


@bp.route("/shops/<int:shop_id>", methods=["GET", "POST"])
@admin_required
def shop_detail(shop_id: int) -> str | tuple[str, int] | Response:
    shop = _load_shop(shop_id)
    today = business_date(utcnow())
    if request.method == "POST":
        try:
            shop.subscription_expires_on = _parse_date(request.form.get("expires"))
        except DomainError as exc:
            db.session.rollback()
            return render_template("admin/shop.html", shop=shop, error=exc.message,
                                   status=subscription_status(shop, today),
                                   admin=g.admin), 422
        if "active" in request.form:
            shop.is_active = request.form.get("active") == "1"
        db.session.commit()
        return redirect(url_for("admin.shop_detail", shop_id=shop.id), 303)
    return render_template("admin/shop.html", shop=shop, error=None,
                           status=subscription_status(shop, today), admin=g.admin)
