from flask import Blueprint

bp = Blueprint("bakong_sim", __name__, url_prefix="/_bakong")

from shopqr.bakong_sim import views  # noqa: E402,F401
