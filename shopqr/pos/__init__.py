from shopqr.web import shop_blueprint

bp = shop_blueprint("pos", __name__, "/pos")

from shopqr.pos import refunds, shifts, views  # noqa: E402,F401
