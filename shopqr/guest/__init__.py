from shopqr.web import shop_blueprint

bp = shop_blueprint("guest", __name__)

from shopqr.guest import views  # noqa: E402,F401
