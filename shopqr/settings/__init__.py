from shopqr.web import shop_blueprint

bp = shop_blueprint("settings", __name__, "/settings")

from shopqr.settings import auth, reports, views  # noqa: E402,F401
