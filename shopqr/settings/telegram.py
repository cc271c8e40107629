"""Telegram notifications for the owner: link a chat (a one-time t.me link), choose the
messages, unlink. Sending happens in the scheduler's Telegram job, never here."""

from __future__ import annotations

from flask import current_app, g, render_template, request, url_for
from flask_babel import get_locale
from sqlalchemy import select
from werkzeug.wrappers import Response

from shopqr.extensions import db
from shopqr.models import TelegramMessage, utcnow
from shopqr.services import telegram as telegram_service
from shopqr.settings import bp
from shopqr.settings.auth import owner_required
from shopqr.settings.common import attempt, done, page


def telegram_page(error: str | None = None, status: int = 200, *, code: str | None = None,
                  form: dict[str, str] | None = None) -> tuple[str, int]:
    app = current_app._get_current_object()
    link = telegram_service.link_for(db.session, g.shop.id)
    failed = []
    if link is not None and link.chat_id is not None:
        failed = list(db.session.scalars(
            select(TelegramMessage).where(TelegramMessage.shop_id == g.shop.id,
                                          TelegramMessage.status == "failed")
            .order_by(TelegramMessage.id.desc()).limit(5)))
    return page("settings/telegram.html", status=status, error=error, link=link,
                configured=telegram_service.configured(app.config),
                start_url=telegram_service.start_url(app, code) if code else None,
                code_made=code is not None, failed=failed, form=form or {})


@bp.get("/telegram")
@owner_required
def telegram() -> tuple[str, int]:
    return telegram_page()


@bp.post("/telegram/link")
@owner_required
def telegram_link() -> tuple[str, int]:
    """A new one-time link; shown on this answer only (the code is kept hashed)."""
    if not telegram_service.configured(current_app.config):
        return telegram_page(status=409)
    code = telegram_service.start_link(db.session, g.shop, str(get_locale()), utcnow())
    db.session.commit()
    return telegram_page(code=code)


@bp.get("/telegram/status")
@owner_required
def telegram_status() -> Response | str:
    """Polled while the owner is in Telegram: 204 while waiting; reloads the page once the
    chat is linked; says so when the link expired (and polling stops)."""
    link = telegram_service.link_for(db.session, g.shop.id)
    if link is not None and link.chat_id is not None:
        response = Response(status=200)
        response.headers["HX-Redirect"] = url_for("settings.telegram")
        return response
    if link is not None and link.code_expires_at is not None \
            and link.code_expires_at > utcnow():
        return Response(status=204)
    return render_template("settings/_telegram_expired.html")


@bp.post("/telegram/unlink")
@owner_required
def telegram_unlink() -> Response:
    telegram_service.unlink(db.session, g.shop, utcnow())
    return done("settings.telegram")


@bp.post("/telegram/choices")
@owner_required
def telegram_choices() -> Response | tuple[str, int]:
    form = request.form.to_dict()
    return attempt(lambda: telegram_service.save_choices(db.session, g.shop, form, utcnow()),
                   lambda message, status: telegram_page(message, status, form=form),
                   "settings.telegram")
