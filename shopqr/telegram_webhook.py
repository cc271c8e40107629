"""Telegram's webhook: with TELEGRAM_WEBHOOK_SECRET set, Telegram posts each update here with
that secret in X-Telegram-Bot-Api-Secret-Token (``flask --app app telegram-webhook`` registers
it). A ``/start <code>`` binds the chat; the confirmation goes through the outbox, so this
request never waits for Telegram."""

from __future__ import annotations

import hmac

import click
from flask import Blueprint, Flask, current_app, request
from werkzeug.wrappers import Response

from shopqr.extensions import csrf, db
from shopqr.models import utcnow
from shopqr.services import telegram

bp = Blueprint("telegram_webhook", __name__)


@bp.post("/telegram/webhook")
@csrf.exempt
def webhook() -> Response:
    secret = current_app.config.get("TELEGRAM_WEBHOOK_SECRET")
    if not secret or not telegram.configured(current_app.config):
        return Response("not found", status=404)
    given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
    if not hmac.compare_digest(given.encode(), str(secret).encode()):
        return Response("forbidden", status=403)
    update = request.get_json(silent=True)
    if not isinstance(update, dict):
        return Response("an update is a JSON object", status=400)
    telegram.handle_update(db.session, update, utcnow())
    db.session.commit()
    return Response("", status=200)  # Telegram retries anything else


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

    @app.cli.command("telegram-webhook")
    def telegram_webhook() -> None:
        """Register <PUBLIC_BASE_URL>/telegram/webhook with Telegram (TELEGRAM_WEBHOOK_SECRET)."""
        config = current_app.config
        if not telegram.configured(config) or not config.get("TELEGRAM_WEBHOOK_SECRET"):
            raise click.ClickException("set TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET first")
        try:
            telegram.set_webhook(config)
        except telegram.BotError as exc:
            raise click.ClickException(f"Telegram refused: {exc}") from None
        click.echo(f"webhook set: {config['PUBLIC_BASE_URL'].rstrip('/')}/telegram/webhook")
