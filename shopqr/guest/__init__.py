from flask import Blueprint

bp = Blueprint("guest", __name__, url_prefix="/s/<slug>")

from shopqr.guest import views  # noqa: E402,F401
