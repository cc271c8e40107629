from shopqr.web import shop_blueprint

bp = shop_blueprint("pos", __name__, "/pos")

from shopqr.pos import views  # noqa: E402,F401
