from shopqr.web import shop_blueprint

bp = shop_blueprint("staff", __name__, "/staff")

from shopqr.staff import views  # noqa: E402,F401
