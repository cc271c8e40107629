from shopqr.web import shop_blueprint

bp = shop_blueprint("settings", __name__, "/settings")

# One module per section; every route is on this blueprint, so endpoints stay settings.<view>.
from shopqr.settings import (  # noqa: E402,F401
    auth,
    charges,
    kitchen,
    menu,
    overview,
    payments,
    reports,
    shifts,
    staff,
    tables,
    telegram,
)
