from shopqr.web import shop_blueprint

bp = shop_blueprint("kitchen", __name__, "/kitchen")

from shopqr.kitchen import views  # noqa: E402,F401
