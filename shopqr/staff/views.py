"""The PIN pad on the shop's device: pick your name, enter your PIN."""

from __future__ import annotations

from flask import current_app, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from shopqr.extensions import db, limiter
from shopqr.models import Shop, User, utcnow
from shopqr.services import auth as auth_service
from shopqr.services.events import get_bus
from shopqr.services.staff import active_staff
from shopqr.staff import bp
from shopqr.staff.auth import current_staff, sign_out
from shopqr.staff.auth import sign_in as start_session
from shopqr.web import is_htmx, partial, safe_next

PARTIALS = "staff/_partials.html"
LANDING = {"owner": "pos.index", "cashier": "pos.index", "barista": "kitchen.index"}


def _staff_list(shop: Shop) -> list[User]:
    return active_staff(db.session, shop)


def landing_url(shop: Shop, user: User, target: str | None) -> str:
    safe = safe_next(target, f"/s/{shop.slug}/")
    if safe:
        return safe
    endpoint = LANDING[user.role]
    if endpoint in current_app.view_functions:
        return url_for(endpoint, slug=shop.slug)
    return url_for("staff.sign_in", slug=shop.slug)


@bp.get("/")
def sign_in() -> str:
    shop: Shop = g.shop
    chosen = None
    if request.args.get("user"):
        chosen = next((u for u in _staff_list(shop) if str(u.id) == request.args["user"]), None)
    return render_template("staff/sign_in.html", shop=shop, staff=_staff_list(shop),
                           chosen=chosen, error=None, next=request.args.get("next"),
                           signed_in=current_staff(shop, touch=False))


@bp.get("/pin/<int:user_id>")
def pin_pad(user_id: int) -> str:
    shop: Shop = g.shop
    user = next((u for u in _staff_list(shop) if u.id == user_id), None)
    if user is None:
        from flask import abort

        abort(404)
    return partial(PARTIALS, "pin_pad", shop=shop, user=user, error=None,
                   next=request.args.get("next"))


@bp.post("/sign-in")
@limiter.limit("30 per minute")
def submit_pin() -> Response | tuple[str, int]:
    shop: Shop = g.shop
    user_id = request.form.get("user_id")
    try:
        user = auth_service.sign_in_with_pin(
            db.session, get_bus(current_app), shop, user_id, request.form.get("pin", ""),
            device=request.remote_addr or "unknown", now=utcnow(),
        )
    except auth_service.SignInError as exc:
        db.session.commit()  # the failure counts
        chosen = next((u for u in _staff_list(shop) if str(u.id) == str(user_id)), None)
        if is_htmx() and chosen is not None:
            return partial(PARTIALS, "pin_pad", shop=shop, user=chosen, error=exc.message,
                           next=request.form.get("next")), exc.status
        return render_template("staff/sign_in.html", shop=shop, staff=_staff_list(shop),
                               chosen=chosen, error=exc.message, next=request.form.get("next"),
                               signed_in=None), exc.status
    start_session(shop, user)
    db.session.commit()
    target = landing_url(shop, user, request.form.get("next"))
    if is_htmx():
        return Response(status=204, headers={"HX-Redirect": target})
    return redirect(target, 303)


@bp.post("/sign-out")
def submit_sign_out() -> Response:
    shop: Shop = g.shop
    sign_out()
    db.session.commit()
    return redirect(url_for("staff.sign_in", slug=shop.slug), 303)
