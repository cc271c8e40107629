"""What every settings page shares: the banners, the page frame, and the pattern of a
change (commit and redirect, or roll back and show the page again with the message)."""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app, flash, g, get_flashed_messages, redirect, render_template, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from shopqr.extensions import db
from shopqr.models import Shop, utcnow
from shopqr.services import DomainError, NotFound, bakong_token
from shopqr.services import staff as staff_service
from shopqr.services.bakong import token_warning
from shopqr.services.numbering import business_date
from shopqr.services.platform import expires_soon

PARTIALS = "settings/_partials.html"


def notices_for(shop: Shop) -> list[dict[str, str]]:
    """Banners for every settings page: subscription, Bakong token, KHQR set-up."""
    notices = []
    today = business_date(utcnow())
    if shop.subscription_expires_on is not None:
        if shop.subscription_expires_on < today:
            notices.append({"level": "bad", "text": _(
                "Your subscription expired on %(date)s: guests cannot order by QR code. "
                "Please renew.", date=format_date(shop.subscription_expires_on, "medium"))})
        elif expires_soon(shop.subscription_expires_on, today):
            notices.append({"level": "warn", "text": _(
                "Your subscription ends on %(date)s. Please renew.",
                date=format_date(shop.subscription_expires_on, "medium"))})
    if not current_app.config["BAKONG_SIMULATOR"] or current_app.config.get("BAKONG_API_URL"):
        warning = token_warning(bakong_token.current(db.session, current_app.config).token,
                                utcnow())
        if warning:
            notices.append({"level": "bad", "text": warning})
    if not shop.bakong_account_id:
        notices.append({"level": "warn", "text": _(
            "Set up your Bakong account under Payments so guests can pay by KHQR.")})
    locked = [u.name for u in staff_service.active_staff(db.session, shop)
              if u.locked_at is not None]
    if locked:
        notices.append({"level": "bad", "text": _(
            "Locked after too many wrong PINs: %(names)s. Unlock them under Staff.",
            names=", ".join(locked))})
    notices += [{"level": level, "text": text}
                for level, text in get_flashed_messages(with_categories=True)]
    return notices


def page(template: str, *, status: int = 200, error: str | None = None,
         **context: object) -> tuple[str, int]:
    shop: Shop = g.shop
    return render_template(template, shop=shop, owner=g.owner, notices=notices_for(shop),
                           error=error, **context), status


def done(endpoint: str, **values: object) -> Response:
    """Commit a change and go back to the page (303), which then says "Saved."."""
    db.session.commit()
    flash(_("Saved."), "ok")
    return redirect(url_for(endpoint, **values), 303)


def attempt(action: Callable[[], object], failed: Callable[[str, int], tuple[str, int]],
            endpoint: str, **values: object) -> Response | tuple[str, int]:
    """Run a change; on bad input roll back and re-render the page with the message (4xx),
    else commit and go back to `endpoint` (303). Other shops' ids stay 404."""
    try:
        action()
    except NotFound:
        raise
    except DomainError as exc:
        db.session.rollback()
        return failed(exc.message, exc.status)
    return done(endpoint, **values)


def attempts(failed: Callable[[str, int], tuple[str, int]],
             endpoint: str) -> Callable[[Callable[[], object]], Response | tuple[str, int]]:
    """``attempt`` for the changes of one page: failures show ``failed``, success goes back
    to ``endpoint``."""
    return lambda action: attempt(action, failed, endpoint)
