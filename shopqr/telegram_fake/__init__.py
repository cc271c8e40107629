from flask import Blueprint

bp = Blueprint("telegram_fake", __name__, url_prefix="/_telegram")

from shopqr.telegram_fake import views  # noqa: E402,F401
