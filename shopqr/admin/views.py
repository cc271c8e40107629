"""The platform admin: shops and their subscriptions. Separate accounts, separate session."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any

from flask import abort, current_app, g, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from shopqr.admin import bp
from shopqr.extensions import db, limiter
from shopqr.models import AdminUser, BakongTokenRenewal, Shop, utcnow
from shopqr.services import (
    DomainError,
    auth,
    bakong_token,
    get_or_404,
    logins,
    parse_id,
    platform,
)
from shopqr.services.events import get_bus
from shopqr.services.numbering import business_date
from shopqr.services.shops import load_staff
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
    args = request.args
    status = args.get("status", "") if args.get("status") in platform.STATUSES else ""
    expiry = args.get("expiry", "") if args.get("expiry") in platform.EXPIRIES else ""
    page = parse_id(args.get("page")) or 1
    listing = platform.shop_list(db.session, today=business_date(utcnow()),
                                 since=utcnow() - timedelta(days=30), q=args.get("q", ""),
                                 status=status, expiry=expiry, page=page)
    from shopqr.services import telegram

    config = current_app.config
    token = bakong_token.current(db.session, config)
    simulator = bool(config.get("BAKONG_SIMULATOR") and not config.get("BAKONG_API_URL"))
    return render_template("admin/index.html", listing=listing, admin=g.admin,
                           q=args.get("q", ""), status=status, expiry=expiry,
                           # the development simulator needs no token
                           bakong_level="ok" if simulator and token.source == "none"
                           else token.level(utcnow()),
                           telegram=telegram.platform_status(current_app._get_current_object(),
                                                             db.session, utcnow()))


@bp.post("/language")
def set_language() -> Response:
    """English or Khmer for the admin pages (the same cookie as the shops' pages)."""
    lang = request.form.get("lang", "")
    if lang not in current_app.config["LANGUAGES"]:
        abort(400)
    response = redirect(safe_next(request.form.get("next"), "/admin/") or url_for("admin.index"),
                        303)
    response.set_cookie(current_app.config["LANG_COOKIE_NAME"], lang, max_age=365 * 86400,
                        httponly=True, samesite="Lax",
                        secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response


@bp.route("/shops/new", methods=["GET", "POST"])
@admin_required
def new_shop() -> str | tuple[str, int]:
    form = request.form.to_dict()
    if request.method == "GET":
        return render_template("admin/new_shop.html", form={}, errors={}, admin=g.admin)
    try:
        shop, pin = platform.create_shop_with_owner(db.session, form, by_admin=g.admin.email)
    except DomainError as exc:
        db.session.rollback()
        errors = exc.errors if isinstance(exc, platform.FormErrors) else {}
        return render_template("admin/new_shop.html", form=form, errors=errors,
                               error=exc.message, admin=g.admin), exc.status
    db.session.commit()
    return render_template("admin/created.html", shop=shop, pin=pin, admin=g.admin,
                           owner_email=form.get("owner_email"))


@bp.route("/shops/<int:shop_id>", methods=["GET", "POST"])
@admin_required
def shop_detail(shop_id: int) -> str | tuple[str, int] | Response:
    shop = get_or_404(db.session, Shop, shop_id)
    if request.method == "POST":
        try:
            platform.set_subscription(db.session, shop, expires=request.form.get("expires"),
                                      active=request.form.get("active"),
                                      by_admin=g.admin.email)
        except DomainError as exc:
            db.session.rollback()
            return _shop_page(shop, exc.message, exc.status)
        db.session.commit()
        return _saved(shop)
    return _shop_page(shop)


def _saved(shop: Shop) -> Response:
    return redirect(url_for("admin.shop_detail", shop_id=shop.id, saved=1), 303)


def _shop_page(shop: Shop, error: str | None = None, status: int = 200, *,
               field_errors: dict[str, str] | None = None) -> tuple[str, int]:
    return render_template("admin/shop.html", shop=shop, error=error,
                           field_errors=field_errors or {},
                           saved=request.args.get("saved") == "1" and error is None,
                           staff=active_staff(db.session, shop),
                           audit=platform.recent_audit(db.session, shop),
                           status=platform.subscription_status(shop, business_date(utcnow())),
                           admin=g.admin), status


@bp.post("/shops/<int:shop_id>/staff/<int:user_id>/unlock")
@admin_required
def unlock_staff(shop_id: int, user_id: int) -> Response:
    shop = get_or_404(db.session, Shop, shop_id)
    auth.unlock(db.session, shop, load_staff(db.session, shop, user_id), by=None,
                by_admin=g.admin.email)
    db.session.commit()
    return _saved(shop)


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
    return _saved(shop)


@bp.post("/shops/<int:shop_id>/staff/<int:user_id>/email")
@admin_required
def change_email(shop_id: int, user_id: int) -> Response | tuple[str, int]:
    shop = get_or_404(db.session, Shop, shop_id)
    user = load_staff(db.session, shop, user_id)
    try:
        platform.change_owner_email(db.session, shop, user, request.form.get("email"),
                                    by_admin=g.admin.email)
    except DomainError as exc:
        db.session.rollback()
        if exc.status == 404:
            abort(404)
        return _shop_page(shop, exc.message, exc.status,
                          field_errors={f"email-{user.id}": exc.message})
    db.session.commit()
    return _saved(shop)


def _bakong_page(error: str | None = None, status: int = 200, *,
                 renewed: BakongTokenRenewal | None = None) -> tuple[str, int]:
    now = utcnow()
    config = current_app.config
    return render_template(
        "admin/bakong.html", admin=g.admin, error=error, renewed=renewed, now=now,
        state=bakong_token.current(db.session, config), history=bakong_token.history(db.session),
        email=config.get("BAKONG_EMAIL"), warn_days=bakong_token.WARN_DAYS,
        simulator=bool(config.get("BAKONG_SIMULATOR") and not config.get("BAKONG_API_URL")),
    ), status


@bp.get("/bakong")
@admin_required
def bakong() -> tuple[str, int]:
    """The Bakong API token: its expiry (read from the JWT), a warning 14 days before, and
    renewal (docs/bakong-token.md). ``?renewed=<id>``: the renewal just made, confirmed."""
    renewed_id = parse_id(request.args.get("renewed"))
    renewed = db.session.get(BakongTokenRenewal, renewed_id) if renewed_id else None
    return _bakong_page(renewed=renewed if renewed is not None and renewed.token else None)


@bp.post("/bakong/renew")
@admin_required
def renew_bakong_token() -> Response | tuple[str, int]:
    try:
        row = bakong_token.renew(db.session, current_app.config, by=g.admin, now=utcnow())
    except DomainError as exc:
        db.session.commit()  # a failed renewal is kept with its reason
        return _bakong_page(exc.message, exc.status)
    db.session.commit()
    return redirect(url_for("admin.bakong", renewed=row.id), 303)
